"""Subcommand ``demo``: the shipped models compared on FairFace val, nothing downloaded."""

from __future__ import annotations

import argparse

from fairaudit.cli._options import add_output, add_quiet, add_resamples
from fairaudit.cli._pandas import python_strings

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the ``fairaudit`` parser."""
    demo = subparsers.add_parser(
        "demo",
        help="render the comparison report of the shipped models (nothing to download)",
        description=(
            "Render, from the audits shipped inside the package (aggregate counts of the "
            "shipped FairFace models on the first 5,000 FairFace val images), the comparison "
            "report of the two models and one bias report per model, and print where they "
            "are. --rebuild-from recomputes those audits from a FairFace folder first."
        ),
    )
    add_output(
        demo,
        default="fairaudit-demo",
        help="output folder (default: fairaudit-demo)",
        deprecated=("--out",),
    )
    add_resamples(demo, default=1000)
    demo.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    demo.add_argument(
        "--rebuild-from",
        metavar="FAIRFACE_ROOT",
        help="predict FairFace val with the shipped models and the detector, and write the "
        "recomputed audits to OUTPUT/audits before rendering from them",
    )
    add_quiet(demo, help="no progress bar (with --rebuild-from)", deprecated=("--no-progress",))
    demo.set_defaults(func=_run_demo)


@python_strings
def _run_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fairaudit.demo import (
        build_demo_audits,
        detect_demo,
        load_demo_labels,
        predict_demo,
        run_demo,
    )

    audits = None
    if args.rebuild_from:
        progress = not args.quiet
        labels = load_demo_labels(args.rebuild_from)
        predictions = predict_demo(labels, progress=progress)
        detections = detect_demo(labels, progress=progress)
        audits = build_demo_audits(predictions, labels, detections)
        saved = audits.save(Path(args.output) / "audits")
        print(f"recomputed demo audits: {saved}")
    written = run_demo(
        args.output, n_resamples=args.resamples, random_state=args.seed, audits=audits
    )
    for name, path in written.reports.items():
        print(f"report of {name}: {path}")
    print(f"comparison of the shipped models: {written.comparison}")
    print(f"comparison of the face detectors: {written.detectors}")
    return 0
