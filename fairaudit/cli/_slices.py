"""``fairaudit slices``: the worst slices of a saved audit, discoveries controlled by FDR."""

from __future__ import annotations

import argparse
from typing import Any

from fairaudit.cli._pandas import python_strings

__all__ = ["register", "run_slices"]


def register(subparsers: Any) -> None:
    """Add the ``slices`` subcommand."""
    parser = subparsers.add_parser(
        "slices",
        help="find the slices where a task does worst (Benjamini-Hochberg FDR control)",
        description=(
            "Compare every combination of up to --order attribute values with the rest of "
            "the rows (one-sided z-test, Newcombe interval of the shortfall), control the "
            "false discovery rate over all of them (Benjamini-Hochberg), prune slices that "
            "add nothing to a discovered parent, and print the discoveries ranked by the "
            "smallest shortfall the data support."
        ),
    )
    parser.add_argument("audit", metavar="AUDIT.json", help="a saved audit")
    parser.add_argument("--task", action="append", help="task(s) to search (default: all)")
    parser.add_argument(
        "--rate",
        default="accuracy",
        choices=("accuracy", "recall", "selection_rate"),
        help="the rate compared (recall and selection_rate need --class)",
    )
    parser.add_argument("--class", dest="cls", help="the class of a per-class rate")
    parser.add_argument("--order", type=int, default=2, help="attributes per slice, at most (2)")
    parser.add_argument("--min-support", type=int, default=30, help="rows a slice needs (30)")
    parser.add_argument("--fdr", type=float, default=0.05, help="false discovery rate (0.05)")
    parser.add_argument("--top", type=int, default=10, help="discoveries shown per task (10)")
    parser.add_argument("--csv", help="write every tested slice of every task to this CSV")
    parser.set_defaults(func=run_slices)


@python_strings
def run_slices(args: argparse.Namespace) -> int:
    """Print the worst slices of each task; exit 0."""
    import pandas as pd

    from fairaudit._io import atomic_write_text
    from fairaudit.findings import worst_slices
    from fairaudit.model_audit import AuditResult

    audit = AuditResult.load(args.audit)
    tables = []
    for task in args.task or list(audit.tasks):
        table = worst_slices(
            audit,
            task,
            rate=args.rate,
            cls=args.cls,
            max_order=args.order,
            min_support=args.min_support,
            fdr=args.fdr,
        )
        kept = table[table["discovered"] & (table["pruned_by"] == "")]
        explained = int(table["discovered"].sum()) - len(kept)
        what = args.rate if args.cls is None else f"{args.rate} of {args.cls}"
        print(
            f"{task}: {len(kept)} slice(s) with a lower {what} than the rest "
            f"(FDR {args.fdr:g}; {int(table['discovered'].sum())} discovered, "
            f"{len(table)} tested"
            + (
                f"; {explained} more explained by a broader slice shown, whose interval "
                "holds its shortfall: see --csv's pruned_by"
                if explained
                else ""
            )
            + ")"
        )
        for row in kept.head(args.top).itertuples():
            print(
                f"  {row.slice}: {row.rate:.3f} vs {row.rest_rate:.3f} (n={row.n}), "
                f"shortfall {row.effect:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}], "
                f"q={row.q_value:.2g}"
            )
        tables.append(table.assign(task=task))
    if args.csv:
        frame = pd.concat(tables, ignore_index=True)
        atomic_write_text(args.csv, frame.to_csv(index=False))
        print(f"every tested slice written to {args.csv}")
    return 0
