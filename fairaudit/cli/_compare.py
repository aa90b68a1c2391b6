"""``fairaudit compare``, ``pair`` and ``check``: model versions side by side, and the gate."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from fairaudit.cli._options import (
    add_coding_and_repairs,
    add_json,
    add_output,
    add_quiet,
    add_resamples,
    add_unmatched,
    codings_from_args,
    repairs_from_args,
)
from fairaudit.cli._pandas import python_strings

if TYPE_CHECKING:
    from fairaudit.gate._result import GateResult
    from fairaudit.model_audit._result import AuditResult

__all__ = ["register", "run_check", "run_compare", "run_pair"]


def register(subparsers: Any) -> None:
    """Add the ``compare``, ``pair`` and ``check`` subcommands."""
    compare = subparsers.add_parser(
        "compare",
        help="compare model versions audited on the same data (HTML report of changes)",
        description=(
            "Compare saved audits of versions of a model on the same labelled rows: every "
            "metric and gap with its change from the first (baseline) audit, an interval and "
            "a test; what improved and what regressed, where. Without --paired the "
            "comparison is unpaired (independent bootstraps)."
        ),
    )
    compare.add_argument("audits", nargs="+", metavar="AUDIT", help="saved audits (.json)")
    compare.add_argument(
        "--names",
        nargs="+",
        help="version names (default: each audit's model name, else its file name)",
    )
    compare.add_argument(
        "--paired",
        nargs="+",
        default=[],
        metavar="PAIRED",
        help="paired counts of the baseline and a candidate (from 'fairaudit pair')",
    )
    compare.add_argument("--tasks", nargs="+", help="tasks to compare (default: all)")
    add_output(compare, default="compare.html", help="HTML report (default: compare.html)")
    compare.add_argument("--json", metavar="PATH", help="also write the changes as JSON")
    add_resamples(compare, default=1000)
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    compare.add_argument(
        "--confidence", type=float, default=0.95, help="interval coverage (default: 0.95)"
    )
    compare.add_argument(
        "--min-support",
        type=int,
        default=30,
        help="slices with fewer rows are never flagged (default: 30)",
    )
    compare.add_argument("--findings", type=int, default=10, help="findings to print (default: 10)")
    compare.add_argument("--title", help="report title")
    add_quiet(compare, help="no progress bar")
    compare.set_defaults(func=run_compare)

    pair = subparsers.add_parser(
        "pair",
        help="pair two versions' predictions on the same rows (aggregate counts for compare)",
        description=(
            "Join two predictions tables to the labels and count, per cell of the sensitive "
            "attributes and true class, the rows both versions got right, only one, or "
            "neither. Only these aggregates are written; rows that cannot be paired are "
            "counted and reported."
        ),
    )
    pair.add_argument("predictions_a", metavar="PREDICTIONS_A", help="baseline predictions")
    pair.add_argument("predictions_b", metavar="PREDICTIONS_B", help="candidate predictions")
    pair.add_argument("--labels", required=True, help="labels table joined on --on")
    pair.add_argument("--on", default="file", help="join key column (default: file)")
    pair.add_argument("--names", nargs=2, help="names of the two versions")
    pair.add_argument(
        "--by",
        nargs="+",
        default=["gender", "age", "race"],
        help="sensitive attributes (default: gender age race; use the audits' ones)",
    )
    pair.add_argument(
        "--vocab",
        choices=["fairface", "utkface"],
        default=None,
        help="class vocabularies (default: from the labels, else FairFace)",
    )
    add_coding_and_repairs(pair)
    add_unmatched(
        pair,
        what="rows that cannot be paired (unreadable image, no label row, absent from the "
        "other version)",
    )
    add_output(pair, required=True, help="paired counts file (.json)")
    pair.set_defaults(func=run_pair)

    check = subparsers.add_parser(
        "check",
        help="fairness gate: exit 1 when the data show a threshold exceeded, 4 when they "
        "cannot tell, 3 when nothing can be judged",
        description=(
            "Check a saved audit against fairness thresholds, absolute (--max, --min) or "
            "relative to a baseline audit (--baseline with --max-increase, --max-decrease). "
            "Each check is decided on its interval (all checks together at --confidence, "
            "Bonferroni): exit status 0 when the data show every check within its "
            "threshold, 1 when they show a threshold exceeded, 4 when some check is "
            "inconclusive (its interval straddles the threshold; the summary says how many "
            "rows per group would settle it), 3 when some check cannot be judged (an "
            "undefined metric, fewer than two groups with --min-support rows; "
            "--allow-unjudged lets those pass) or none was judged at all, 2 on bad input. "
            "--decide point judges point estimates instead (noise can fail a fair model). "
            "Metrics: fairness gaps (e.g. equalized_odds_difference, disparate_impact_ratio) "
            "and worst-slice metrics (e.g. accuracy). See docs/gate.md."
        ),
    )
    check.add_argument("audit", metavar="AUDIT", help="saved audit (.json)")
    check.add_argument(
        "--max",
        nargs="+",
        default=[],
        metavar="[TASK:]METRIC=VALUE",
        help="upper bounds, e.g. equalized_odds_difference=0.1 race:fpr_difference=0.05",
    )
    check.add_argument(
        "--min",
        nargs="+",
        default=[],
        metavar="[TASK:]METRIC=VALUE",
        help="lower bounds, e.g. disparate_impact_ratio=0.8 accuracy=0.7",
    )
    check.add_argument(
        "--baseline",
        metavar="AUDIT",
        help="saved audit that --max-increase / --max-decrease compare with (e.g. the last "
        "release's), with the same tasks, classes and attributes",
    )
    check.add_argument(
        "--max-increase",
        nargs="+",
        default=[],
        metavar="[TASK:]METRIC=VALUE",
        help="largest increase over the baseline, e.g. equalized_odds_difference=0.02",
    )
    check.add_argument(
        "--max-decrease",
        nargs="+",
        default=[],
        metavar="[TASK:]METRIC=VALUE",
        help="largest decrease from the baseline, e.g. accuracy=0.01",
    )
    check.add_argument("--config", help="thresholds in a .toml or .json file (see docs/gate.md)")
    check.add_argument(
        "--by",
        nargs="+",
        help="groupings, e.g. gender race gender*race (default: each attribute but the task's own)",
    )
    check.add_argument("--tasks", nargs="+", help="tasks to check (default: all)")
    check.add_argument(
        "--min-support",
        type=int,
        default=None,
        help="rates resting on fewer rows are not judged (default: 30)",
    )
    check.add_argument(
        "--allow-unjudged",
        action="store_true",
        default=None,
        help="let checks that cannot be judged pass (default: they fail, exit status 3)",
    )
    check.add_argument(
        "--decide",
        choices=["interval", "point"],
        default="interval",
        help="interval (default): a check fails only when its interval lies beyond the "
        "threshold, passes when it lies within, else is inconclusive (exit 4); point: the "
        "point estimate alone decides",
    )
    check.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="coverage of the checks' intervals, all checks together (default: 0.95)",
    )
    check.add_argument(  # deprecated: its behaviour is now the default
        "--strict", action="store_true", default=False, help=argparse.SUPPRESS
    )
    add_json(check, help="write a JSON summary")
    check.add_argument(
        "--junit",
        metavar="GATE.xml",
        help="also write the checks as JUnit XML for CI dashboards (one test case per "
        "check: a failure per exceeded threshold, an error per check not judged or "
        "inconclusive)",
    )
    check.set_defaults(func=run_check)


@python_strings
def run_compare(args: argparse.Namespace) -> int:
    """Compare the audits, write the report, print the verdict, the top findings, the path."""
    from fairaudit.compare import PairedCounts, compare_audits
    from fairaudit.compare._verdict import comparison_verdict
    from fairaudit.report import write_comparison_report

    paired = [PairedCounts.load(p) for p in args.paired] or None
    comparison = compare_audits(
        args.audits,
        names=args.names,
        paired=paired,
        tasks=args.tasks,
        confidence=args.confidence,
        n_resamples=args.resamples,
        random_state=args.seed,
        min_support=args.min_support,
        progress=sys.stderr.isatty() and not args.quiet,
    )
    path = write_comparison_report(comparison, args.output, title=args.title)
    if args.json:
        comparison.save(args.json)
    print("verdict:")
    for sentence in comparison_verdict(comparison):
        print(f"- {sentence}")
    print()
    for note in comparison.pairing_notes():
        print(note)
    print(comparison.summary().to_string(index=False))
    findings = comparison.findings(limit=args.findings)
    if findings:
        print(f"\ntop {len(findings)} finding(s):")
        for sentence in findings:
            print(f"- {sentence}")
    else:
        print("\nno significant change.")
    print(f"\nwrote {path}")
    if args.json:
        print(f"wrote {args.json}")
    return 0


@python_strings
def run_pair(args: argparse.Namespace) -> int:
    """Pair the two predictions tables and save the counts."""
    import warnings

    from fairaudit.compare import paired_counts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rows left out are printed below
        pairs = paired_counts(
            args.predictions_a,
            args.predictions_b,
            args.labels,
            names=args.names,
            tasks=args.vocab,
            attributes=args.by,
            on=args.on,
            unmatched=args.unmatched,
            coding=codings_from_args(args.coding),
            label_repairs=repairs_from_args(args.repair),
        )
    path = pairs.save(args.output)
    join = pairs.metadata["join"]
    print(repr(pairs))
    for role, name in zip("ab", pairs.names, strict=True):
        r = join[role]
        print(
            f"{name}: {r['prediction_rows']} prediction rows, {r['unreadable_rows']} unreadable, "
            f"{r['rows_without_label']} without a label row, {r['rows_not_in_other']} not "
            "predicted by the other version (left out)"
        )
    print(f"paired rows: {join['paired_rows']}")
    print(f"wrote {path}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Run the gate; exit status 0 passed, 1 exceeded, 3 not judged, 4 inconclusive."""
    from fairaudit.exceptions import ConfigurationError
    from fairaudit.gate import check_published
    from fairaudit.gate._config import parse_thresholds
    from fairaudit.publish._redact import PublishedAudit, read_audit_file

    if args.strict:
        if args.allow_unjudged:
            raise ConfigurationError("--strict and --allow-unjudged contradict each other")
        print(
            "fairaudit check: --strict is deprecated: checks that cannot be judged now fail "
            "by default (exit status 3)",
            file=sys.stderr,
        )
    audit = read_audit_file(args.audit)
    if isinstance(audit, PublishedAudit):  # judged on what it publishes
        if args.baseline or args.max_increase or args.max_decrease or args.config:
            raise ConfigurationError(
                "a published audit is gated on --max/--min alone (no baseline or configuration)"
            )
        result = check_published(
            audit,
            max=parse_thresholds(args.max, option="--max"),
            min=parse_thresholds(args.min, option="--min"),
            by=args.by,
            min_support=args.min_support,
            allow_unjudged=bool(args.allow_unjudged),
            confidence=args.confidence,
            decide=args.decide,
            source=str(args.audit),
        )
    else:
        result = _check_full_audit(args, audit)
    return _report_check(args, result)


def _check_full_audit(args: argparse.Namespace, audit: AuditResult) -> GateResult:
    """``check_audit`` of a full audit with the command's options."""
    from fairaudit.gate import check_audit
    from fairaudit.gate._config import parse_thresholds

    result = check_audit(
        audit,
        max=parse_thresholds(args.max, option="--max"),
        min=parse_thresholds(args.min, option="--min"),
        max_increase=parse_thresholds(args.max_increase, option="--max-increase"),
        max_decrease=parse_thresholds(args.max_decrease, option="--max-decrease"),
        baseline=args.baseline,
        config=args.config,
        tasks=args.tasks,
        by=args.by,
        min_support=args.min_support,
        allow_unjudged=False if args.strict else args.allow_unjudged,
        confidence=args.confidence,
        decide=args.decide,
    )
    result.source = str(args.audit)  # the file, as the summary quotes it
    return result


def _report_check(args: argparse.Namespace, result: GateResult) -> int:
    """Print or save the gate's result; returns its exit status."""
    if args.json == "-":
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.format())
        if args.json:
            result.save(args.json)
            print(f"wrote {args.json}")
    if getattr(args, "junit", None):
        result.save_junit(args.junit)
        # stdout may be the JSON document: the note goes to stderr then
        print(f"wrote {args.junit}", file=sys.stderr if args.json == "-" else sys.stdout)
    return result.exit_code
