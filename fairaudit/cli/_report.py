"""``fairaudit report``: the self-contained HTML bias report of a saved audit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fairaudit.cli._options import add_output, add_quiet, add_resamples
from fairaudit.cli._pandas import python_strings

__all__ = ["register", "run_report"]


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="write the HTML bias report of a saved audit (one self-contained file)",
        description=(
            "Render a saved audit (fairaudit audit --output, fairaudit evaluate --audit) as "
            "one HTML file that opens from disk without any network request: ranked "
            "disparities with intervals and p-values, small slices, four-fifths failures, "
            "the dataset audit, per-task metrics, confusion matrices, heatmaps, fairness, "
            "calibration, the model card, metadata and a glossary. Prints the written path "
            "(stdout) and the largest supported disparities per task (stderr)."
        ),
    )
    parser.add_argument("audit", metavar="AUDIT.json", help="a saved audit")
    add_output(parser, help="the HTML file to write (default: AUDIT.html beside the audit)")
    parser.add_argument("--title", help="title of the report (default: from the audit)")
    parser.add_argument(
        "--model-card",
        metavar="NAME_OR_JSON",
        help="a shipped model's name or a model card JSON file (default: the shipped model "
        "the audit's metadata names, if any)",
    )
    parser.add_argument(
        "--confusion-by",
        nargs="*",
        metavar="ATTR",
        default=None,
        help="attributes whose groups get their own confusion matrix "
        "(default: gender if the audit has it; none: pass the flag alone)",
    )
    add_resamples(parser, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--min-support",
        type=int,
        default=30,
        help="slices with fewer rows are marked too small to judge (default: 30)",
    )
    parser.add_argument(
        "--csv",
        metavar="FINDINGS.csv",
        help="also write every ranked disparity as CSV (rank, task, attribute, metric, "
        "class, gap with its interval, groups, p-values) for a spreadsheet",
    )
    add_quiet(parser, help="print only the written path(s), not the summary of disparities")
    parser.set_defaults(func=run_report)


@python_strings
def run_report(args: argparse.Namespace) -> int:
    """Load the audit, write the report, print its path; returns the exit status."""
    import sys

    from fairaudit.findings import rank_disparities
    from fairaudit.models._cards import audited_model_card, load_model_card
    from fairaudit.publish._redact import PublishedAudit, read_audit_file
    from fairaudit.report import terminal_summary, write_findings_csv, write_report

    audit = read_audit_file(args.audit)
    if isinstance(audit, PublishedAudit):  # what it publishes, with what it suppressed
        output = Path(args.output) if args.output else Path(args.audit).with_suffix(".html")
        print(audit.write_html(output, title=args.title))
        return 0
    confusion_by = args.confusion_by
    if confusion_by is None:
        confusion_by = ["gender"] if "gender" in audit.attributes else []
    if args.model_card:
        card = load_model_card(args.model_card)
    else:  # the card of the shipped model the audit names, if any
        card = audited_model_card(audit.metadata)
    output = Path(args.output) if args.output else Path(args.audit).with_suffix(".html")
    path = write_report(
        audit,
        output,
        title=args.title,
        model_card=card,
        confusion_by=confusion_by,
        n_resamples=args.resamples,
        random_state=args.seed,
        min_support=args.min_support,
    )
    print(path)
    if args.csv or not args.quiet:
        disparities = rank_disparities(audit, min_support=args.min_support)
        if args.csv:
            print(
                write_findings_csv(
                    audit, args.csv, min_support=args.min_support, disparities=disparities
                )
            )
        if not args.quiet:
            # stderr: stdout stays the written path(s), for scripts
            summary = terminal_summary(audit, min_support=args.min_support, disparities=disparities)
            print(summary, file=sys.stderr)
    return 0
