"""The ``train`` subcommand: a thin shell over :func:`fairaudit.training.train`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fairaudit.cli._options import add_output, add_quiet
from fairaudit.exceptions import DataValidationError

__all__ = ["register"]

_DESCRIPTION = """\
Train a multi-task face-attribute model (gender, age, race).

The defaults follow the dataset's recipe: FairFace -> the reference recipe (Adam
lr 1e-3, sum of the three cross-entropies, at most 10 epochs, stop when the training
loss falls by less than 0.1; validate on 10% of the train split held out, stratified by
gender x age x race, so the val images serve only the final evaluation); UTKFace ->
the original study's protocol (ages 10-65, train/val/test 9115:3907:5581, RMSprop,
batch 16). Options given on the command line
override the recipe (or the --config file).

Writes OUTPUT/best.pt (lowest validation loss), OUTPUT/last.pt (resumable),
OUTPUT/history.csv, history.json, curves.png and config.json. Running the same
command again resumes from OUTPUT/last.pt. For several GPUs or machines launch it
with torchrun, e.g. `torchrun --nproc_per_node 4 -m fairaudit train ...`.
"""

# (option, config field) pairs copied when given.
_OVERRIDES = (
    ("arch", "arch"),
    ("image_size", "image_size"),
    ("batch_size", "batch_size"),
    ("epochs", "max_epochs"),
    ("optimizer", "optimizer"),
    ("lr", "lr"),
    ("early_stopping", "early_stopping"),
    ("min_delta", "min_delta"),
    ("patience", "patience"),
    ("class_weighting", "class_weighting"),
    ("seed", "seed"),
    ("num_workers", "num_workers"),
    ("threads", "threads"),
    ("channels_last", "channels_last"),
    ("augment", "augment"),
    ("limit_train", "limit_train"),
    ("limit_val", "limit_val"),
    ("holdout_fraction", "holdout_fraction"),
    ("freeze_backbone", "freeze_backbone"),
    ("freeze_batchnorm", "freeze_batchnorm"),
    ("pretrained", "pretrained"),
    ("weights", "weights_path"),
    ("checkpoint_every", "checkpoint_every_steps"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand to the ``fairaudit`` parser."""
    p = subparsers.add_parser(
        "train",
        help="train a gender/age/race model (FairFace recipe or UTKFace protocol)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", choices=("fairface", "utkface"), help="dataset and task set")
    p.add_argument("--data-root", help="dataset folder (FairFace root or UTKFace image folder)")
    add_output(p, required=True, help="run folder for checkpoints and logs")
    p.add_argument("--config", metavar="JSON", help="start from this TrainConfig JSON file")
    p.add_argument("--arch", help="architecture (default: lightweight; UTKFace: mobilenet_v2)")
    p.add_argument(
        "--arch-kwargs", metavar="JSON", help="architecture options, e.g. '{\"width\": 0.5}'"
    )
    p.add_argument("--image-size", type=int, help="input side in pixels (default 112)")
    p.add_argument("--batch-size", type=int, help="global batch size (FairFace 32, UTKFace 16)")
    p.add_argument("--epochs", type=int, help="maximum number of epochs (default 10)")
    p.add_argument("--optimizer", choices=("adam", "rmsprop"))
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3)")
    p.add_argument(
        "--early-stopping",
        choices=("train_loss_delta", "val_patience", "none"),
        help="train_loss_delta: stop when the training loss falls by < --min-delta; "
        "val_patience: stop after --patience epochs without a better validation loss",
    )
    p.add_argument("--min-delta", type=float)
    p.add_argument("--patience", type=int)
    p.add_argument(
        "--class-weighting",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="weight the cross-entropies by n / (C * count_c) (default: off)",
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--num-workers", type=int, help="DataLoader worker processes (default 0)")
    p.add_argument("--threads", type=int, help="torch threads per process (default 1)")
    p.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=None, help="(default on)"
    )
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--limit-train", type=int, metavar="N", help="use N training rows only")
    p.add_argument("--limit-val", type=int, metavar="N", help="use N validation rows only")
    p.add_argument(
        "--holdout-fraction",
        type=float,
        metavar="F",
        help="FairFace: validate on this stratified share of the training split, keeping the "
        "official val split for the final evaluation (recipe default 0.1)",
    )
    p.add_argument(
        "--official-val",
        action="store_true",
        help="FairFace: validate on the official val split instead (the seed system's way)",
    )
    p.add_argument("--freeze-backbone", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--freeze-batchnorm", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--weights", metavar="PATH", help="local backbone weights file")
    p.add_argument(
        "--checkpoint-every", type=int, metavar="STEPS", help="also checkpoint every N steps"
    )
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from OUTPUT/last.pt when it exists (default: yes)",
    )
    add_quiet(p, help="no progress bars", deprecated=("--no-progress",))
    p.set_defaults(func=_run_train)
    register_heads(subparsers)


def _config_from_args(args: argparse.Namespace) -> Any:
    from fairaudit.training import TrainConfig

    if args.config:
        config = TrainConfig.from_json(args.config)
        if args.dataset and args.dataset != config.dataset:
            config = config.replace(dataset=args.dataset)
    elif args.dataset == "utkface":
        config = TrainConfig.utkface_protocol()
    elif args.dataset == "fairface":
        config = TrainConfig.fairface_reference()
    else:
        raise DataValidationError("give --dataset fairface|utkface (or --config FILE)")
    changes: dict[str, Any] = {
        field: getattr(args, option)
        for option, field in _OVERRIDES
        if getattr(args, option) is not None
    }
    if args.data_root:
        changes["data_root"] = str(Path(args.data_root).expanduser().resolve())
    if args.arch_kwargs:
        try:
            changes["arch_kwargs"] = json.loads(args.arch_kwargs)
        except json.JSONDecodeError as exc:
            raise DataValidationError(f"--arch-kwargs is not valid JSON: {exc}") from exc
    if args.official_val:
        if args.holdout_fraction is not None:
            raise DataValidationError("give --holdout-fraction or --official-val, not both")
        changes["holdout_fraction"] = None
    config = config.replace(**changes)
    if not config.data_root:
        raise DataValidationError("give --data-root DIR (or a config file with data_root)")
    return config


def _run_train(args: argparse.Namespace) -> int:
    from fairaudit.training import load_training_tables, train
    from fairaudit.training._distributed import init_distributed

    config = _config_from_args(args)
    output = Path(args.output)
    tables = load_training_tables(
        config.dataset,
        config.data_root,
        seed=config.seed,
        holdout_fraction=config.holdout_fraction,
    )
    ctx = init_distributed()
    is_main = ctx.is_main
    try:
        if is_main:
            print(tables.summary)
            output.mkdir(parents=True, exist_ok=True)
            config.to_json(output / "config.json")
        result = train(
            config,
            train_table=tables.train,
            val_table=tables.val,
            output_dir=output,
            resume=args.resume,
            progress=not args.quiet,
        )
    finally:
        ctx.close()
    if is_main:
        last = result.history.iloc[-1] if len(result.history) else None
        if last is not None:
            print(
                f"{len(result.history)} epoch(s); last: train loss {last['train_loss']:.4f}, "
                f"val loss {last['val_loss']:.4f}"
            )
        print(f"stopped: {result.stopped_reason}")
        if result.n_corrupt_skipped:
            print(f"{result.n_corrupt_skipped} unreadable image(s) skipped (see history.csv)")
        print(f"best checkpoint (epoch {result.best_epoch}): {result.best_checkpoint}")
        print(f"last checkpoint: {result.last_checkpoint}")
    return 0


_HEADS_DESCRIPTION = """\
Train the task heads of a fused model (MobileNetV2 features + dlib's face
descriptor, arch mobilenet_v2_face_descriptor) on frozen features.

The CNN is the backbone of --trunk (a shipped model's name or a checkpoint) and
stays frozen, as does dlib's descriptor: their features of every image are computed
once and cached in chunks (a killed run resumes at the first missing chunk).

FairFace: the heads learn on 90% of the train split; the validation loss on the
10% held out (stratified by gender x age x race) picks the best epoch and stops
the run, so the val images serve only the final evaluation. UTKFace: the study
protocol's split (ages 10-65); the heads learn on its train rows and validate on
its val rows (age is a regression), keeping the test rows for the final
evaluation. Writes OUTPUT/best.pt,
history.csv/json and config.json, like `fairaudit train`. Needs the extras
"models" and "detect".
"""


def register_heads(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train-heads`` subcommand (options left out keep ``HeadsConfig``'s defaults)."""
    p = subparsers.add_parser(
        "train-heads",
        help="train the heads of a fused CNN + dlib face-descriptor model on frozen features",
        description=_HEADS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--dataset", choices=("fairface", "utkface"), default="fairface", help="tasks and split"
    )
    p.add_argument(
        "--data-root",
        required=True,
        help="FairFace root (labels/, train/, val/) or UTKFace image folder",
    )
    add_output(p, required=True, help="run folder")
    p.add_argument(
        "--trunk", help="shipped model or checkpoint (default: fairface-mobilenet_v2-112)"
    )
    p.add_argument("--cache", metavar="DIR", help="feature cache (default: OUTPUT/features)")
    p.add_argument("--head-units", help="hidden units per head, e.g. 256 (default) or 512,256")
    p.add_argument("--dropout", type=float, help="on the fused features (default 0.3)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, help="(default 1e-4)")
    p.add_argument("--epochs", type=int, help="maximum epochs (default 100)")
    p.add_argument("--patience", type=int, help="epochs without a better val loss (default 8)")
    p.add_argument("--holdout-fraction", type=float, help="FairFace only (default 0.1)")
    p.add_argument(
        "--select",
        choices=("best", "last"),
        help="best: the epoch with the lowest held-out loss; last: exactly --epochs epochs, "
        "nothing chosen on the held-out rows (required when the trunk trained on them) "
        "(default: best)",
    )
    p.add_argument("--seed", type=int, help="(default 0)")
    p.add_argument("--threads", type=int, help="torch threads (default 1)")
    p.add_argument("--limit-train", type=int, metavar="N", help="first N training rows only")
    add_quiet(p, help="no progress bars", deprecated=("--no-progress",))
    p.set_defaults(func=_run_train_heads)


def _run_train_heads(args: argparse.Namespace) -> int:
    from fairaudit.training import HeadsConfig, load_training_tables, train_heads

    given: dict[str, Any] = {
        field: getattr(args, option)
        for option, field in (
            ("trunk", "trunk"),
            ("dropout", "dropout"),
            ("lr", "lr"),
            ("weight_decay", "weight_decay"),
            ("epochs", "max_epochs"),
            ("patience", "patience"),
            ("holdout_fraction", "holdout_fraction"),
            ("select", "select"),
            ("seed", "seed"),
            ("threads", "threads"),
            ("cache", "cache_dir"),
        )
        if getattr(args, option) is not None
    }
    if args.head_units:
        try:
            given["head_units"] = [int(u) for u in args.head_units.split(",") if u.strip()]
        except ValueError as exc:
            raise DataValidationError(f"--head-units {args.head_units!r}: {exc}") from exc
    config = HeadsConfig(
        dataset=args.dataset, data_root=str(Path(args.data_root).expanduser().resolve()), **given
    )
    tables = load_training_tables(
        config.dataset,
        config.data_root,
        seed=config.seed,
        holdout_fraction=config.holdout_fraction,
    )
    print(tables.summary)
    train_table = tables.train if args.limit_train is None else tables.train.head(args.limit_train)
    result = train_heads(
        config,
        train_table=train_table,
        val_table=tables.val,
        output_dir=args.output,
        progress=not args.quiet,
    )
    last = result.history.iloc[-1]
    print(
        f"{len(result.history)} epoch(s) in {result.history['seconds'].sum():.0f} s (features "
        f"{result.feature_seconds:.0f} s); last: train loss {last['train_loss']:.4f}, val loss "
        f"{last['val_loss']:.4f}"
    )
    print(f"stopped: {result.stopped_reason}")
    print(f"best checkpoint (epoch {result.best_epoch}): {result.best_checkpoint}")
    return 0
