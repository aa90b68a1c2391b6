"""``fairaudit redact``: the publishable form of a saved audit (no small group revealed)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "run_redact"]


def register(subparsers: Any) -> None:
    """Add the ``redact`` subcommand."""
    parser = subparsers.add_parser(
        "redact",
        help="write an audit that can be shared: no count under --min-count, none derivable",
        description=(
            "Publish only groupings whose every cell holds 0 or at least --min-count people, "
            "and only if no smaller group's count (the tasks' true labels included) can then "
            "be narrowed to within --min-count from the published counts and accuracies by "
            "any integer solution; with per cell accuracy and per grouping the accuracy gap, "
            "from the full counts. The file lists what was suppressed and why. Refuses to "
            "write over the audit."
        ),
    )
    parser.add_argument("audit", metavar="AUDIT.json", help="a saved audit")
    parser.add_argument("--min-count", type=int, default=10, help="smallest published count (10)")
    parser.add_argument(
        "-o", "--output", help="the published audit (default: AUDIT.published.json beside it)"
    )
    parser.add_argument("--html", help="also write a self-contained HTML page of it")
    parser.set_defaults(func=run_redact)


def run_redact(args: argparse.Namespace) -> int:
    """Write the published audit (and page); print what was published and suppressed."""
    from fairaudit.exceptions import DataValidationError
    from fairaudit.model_audit import AuditResult
    from fairaudit.publish import redact_audit

    source = Path(args.audit)
    output = Path(args.output) if args.output else source.with_suffix(".published.json")
    written = {"-o/--output": output} | ({"--html": Path(args.html)} if args.html else {})
    for option, path in written.items():
        if path.resolve() == source.resolve():
            raise DataValidationError(
                f"{option} {path} is the audit being redacted: writing there would replace "
                "the full audit by its published form; choose another path"
            )
    if args.html and Path(args.html).resolve() == output.resolve():
        raise DataValidationError(f"--html {args.html} is also the -o/--output path")
    published = redact_audit(AuditResult.load(source), min_count=args.min_count)
    published.save(output)
    protection = published.metadata["protection"]
    print(f"published audit written to {output}")
    print(f"  groupings published: {', '.join(protection['published_groupings'])}")
    for row in published.suppressed.itertuples():
        print(f"  suppressed {row.grouping}: {row.reason}")
    print(
        f"  {protection['targets']} count(s) under {args.min_count} protected; the narrowest "
        f"interval a reader can infer for one spans {protection['narrowest_interval']} people"
    )
    if args.html:
        print(f"page written to {published.write_html(args.html)}")
    return 0
