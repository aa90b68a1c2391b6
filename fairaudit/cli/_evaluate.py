"""Subcommands ``evaluate`` (a checkpoint on labelled data) and ``model-card`` (package a run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fairaudit.cli._options import (
    add_json,
    add_output,
    add_quiet,
    add_resamples,
    shipped_model_name,
    write_json,
)
from fairaudit.exceptions import DataValidationError

__all__ = ["register"]

_SPLITS = {"fairface": ("val", "train"), "utkface": ("test", "val", "train")}


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=sorted(_SPLITS))
    parser.add_argument("--data-root", required=True, help="FairFace root or UTKFace image folder")
    parser.add_argument(
        "--split",
        help="split to evaluate (FairFace: val (default) or train; UTKFace: the protocol's "
        "test (default), val or train, cut with --seed as in training)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="UTKFace protocol split seed (default: 0)"
    )
    parser.add_argument("--limit", type=int, help="evaluate only the first N images")
    add_resamples(
        parser,
        default=1000,
        deprecated=("--bootstrap",),
        help="bootstrap replicates for the interval of an age MAE",
    )
    parser.add_argument("--threads", type=int, help="torch threads")
    add_quiet(parser, deprecated=("--no-progress",))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` and ``model-card`` to the ``fairaudit`` parser."""
    evaluate = subparsers.add_parser(
        "evaluate",
        help="accuracy (or age MAE) per task of a checkpoint, with 95% intervals",
        description=(
            "Predict a labelled split with a checkpoint and print each task's headline "
            "figure with a 95% interval: accuracy with its exact interval (the one every "
            "rate gets), the mean absolute error in years of an age regression with a "
            "percentile bootstrap of the images (--resamples). --audit also saves the full "
            "audit of the predictions."
        ),
    )
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a fairaudit checkpoint (.pt)")
    source.add_argument(
        "--model",
        type=shipped_model_name,
        help="a shipped model's name (docs/models.md lists them; an unknown name is "
        "refused with the list)",
    )
    _add_data_arguments(evaluate)
    add_json(evaluate, help="write the summary as JSON")
    evaluate.add_argument("--audit", metavar="FILE", help="save the full AuditResult as JSON")
    evaluate.add_argument("--predictions", metavar="FILE", help="save the predictions table")
    evaluate.set_defaults(func=_run_evaluate)

    card = subparsers.add_parser(
        "model-card",
        help="package a training run: lean checkpoint + model card (JSON and Markdown)",
        description=(
            "Evaluate RUN/best.pt on a labelled split and write OUTPUT/NAME.pt (weights, tasks, "
            "input size; no optimiser state), OUTPUT/NAME.json and OUTPUT/NAME.md (data, recipe, "
            "command, seed, training time, metrics with intervals, references)."
        ),
    )
    card.add_argument("run", help="a 'fairaudit train' output folder")
    card.add_argument("--name", required=True)
    add_output(card, required=True, help="folder for NAME.pt/.json/.md", deprecated=("--out",))
    card.add_argument("--command", required=True, help="the exact training command")
    card.add_argument("--train-data", required=True, help="description of the training data")
    card.add_argument("--reference", help="JSON: {'source': ..., 'figures': {task: value}}")
    card.add_argument("--notes", default="", help="limits, missed targets and why")
    _add_data_arguments(card)
    card.set_defaults(func=_run_model_card)


def _evaluation_table(args: argparse.Namespace) -> tuple[Any, str]:
    from fairaudit.training import load_training_tables

    split = args.split or _SPLITS[args.dataset][0]
    if split not in _SPLITS[args.dataset]:
        raise DataValidationError(
            f"--split {split!r} is not a split of {args.dataset}: {_SPLITS[args.dataset]}"
        )
    tables = load_training_tables(args.dataset, args.data_root, seed=args.seed)
    table = getattr(tables, split)
    if args.limit:
        table = table.head(args.limit)
    what = f"{args.dataset} {split} split of {args.data_root}: {len(table):,} labelled images" + (
        " (UTKFace protocol: ages 10-65, seed " + str(args.seed) + ")"
        if args.dataset == "utkface"
        else ""
    )
    return table, what


def _evaluate(args: argparse.Namespace, checkpoint: Path) -> tuple[Any, str]:
    from fairaudit.evaluate import evaluate_checkpoint

    table, what = _evaluation_table(args)
    evaluation = evaluate_checkpoint(
        checkpoint,
        table,
        n_resamples=args.resamples,
        threads=args.threads,
        progress=not args.quiet,
        model=getattr(args, "model", None) or getattr(args, "name", None) or checkpoint.stem,
        data=what,
    )
    return evaluation, what


def _print_summary(evaluation: Any, what: str) -> None:
    print(f"evaluated on {what}")
    for task, note in evaluation.audit.metadata.get("cross_dataset", {}).items():
        print(f"  {task}: {note}")
    level = round(100 * evaluation.confidence)
    for row in evaluation.summary.itertuples(index=False):
        print(
            f"  {row.task:<7} {row.metric:<10} {row.estimate:.4f}  "
            f"{level}% CI [{row.lower:.4f}, {row.upper:.4f}]  n={row.n:,}"
        )


def _run_evaluate(args: argparse.Namespace) -> int:
    from fairaudit.models import shipped_model_path

    checkpoint = shipped_model_path(args.model) if args.model else Path(args.checkpoint)
    evaluation, what = _evaluate(args, checkpoint)
    _print_summary(evaluation, what)
    if args.json:
        payload = {"checkpoint": str(checkpoint), "data": what, **evaluation.to_dict()}
        write_json(payload, args.json)
    if args.audit:
        evaluation.audit.save(args.audit)
    if args.predictions:
        from fairaudit.inference._outputs import write_predictions

        write_predictions(evaluation.predictions, args.predictions)
    return 0


def _run_model_card(args: argparse.Namespace) -> int:
    from fairaudit.model_card import build_model_card, package_run

    evaluation, what = _evaluate(args, Path(args.run) / "best.pt")
    _print_summary(evaluation, what)
    reference = json.loads(args.reference) if args.reference else None
    card = build_model_card(
        args.run,
        evaluation,
        name=args.name,
        data={"train": args.train_data, "evaluation": what},
        command=args.command,
        reference=reference,
        notes=args.notes,
    )
    path = package_run(args.run, args.output, card)
    print(f"shipped model written: {path} (+ .json, .md)")
    return 0
