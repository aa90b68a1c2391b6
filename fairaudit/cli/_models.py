"""``fairaudit predict`` and ``fairaudit export``: thin shells over :mod:`fairaudit.inference`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fairaudit.exceptions import DataValidationError

__all__ = ["register"]

_PREDICT_EPILOG = """\
Inputs (choose one):
  --images DIR              every image under DIR (recursive, sorted)
  --images A.jpg B.png ...  these image files
  --fairface ROOT --split val
  --utkface ROOT
  --labels CSV --image-root DIR   a FairFace-format labels file and its image folder

The table has one row per image: file, the true labels when known (gender, age,
race), {task}_pred, {task}_prob_{class} per class, status (ok | unreadable) and
error. Unreadable images are kept with status 'unreadable' (or refused with
--on-unreadable raise) and listed in the summary.

Example:
  fairaudit predict --checkpoint model.pt --fairface data/fairface --split val \\
      --output preds.parquet
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` and ``export`` subcommands."""
    predict = subparsers.add_parser(
        "predict",
        help="predict gender, age and race of images with a model; write a predictions table",
        description="Predict every task of a model on images and write the predictions table.",
        epilog=_PREDICT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument(
        "--checkpoint", required=True, type=Path, help="model checkpoint (.pt) or .onnx file"
    )
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", nargs="+", type=Path, metavar="PATH", help="folder or files")
    source.add_argument("--fairface", type=Path, metavar="ROOT", help="FairFace folder")
    source.add_argument("--utkface", type=Path, metavar="ROOT", help="UTKFace image folder")
    source.add_argument("--labels", type=Path, metavar="CSV", help="FairFace-format labels CSV")
    predict.add_argument("--split", default="val", help="FairFace split (default: val)")
    predict.add_argument(
        "--image-root", type=Path, metavar="DIR", help="folder the --labels file paths start from"
    )
    predict.add_argument(
        "--output", "-o", required=True, type=Path, help="predictions file (.csv or .parquet)"
    )
    predict.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    predict.add_argument("--batch-size", type=int, default=64)
    predict.add_argument("--threads", type=int, default=None, help="CPU threads of the model")
    predict.add_argument(
        "--num-workers", type=int, default=0, help="processes decoding images (default: 0)"
    )
    predict.add_argument("--limit", type=int, default=None, help="predict only the first N images")
    predict.add_argument(
        "--on-unreadable",
        choices=("keep", "raise"),
        default="keep",
        help="keep unreadable images as rows with status 'unreadable' (default) or stop",
    )
    predict.add_argument(
        "--no-optimize",
        action="store_true",
        help="torch backend: run the plain model (no batch-norm folding, no channels_last)",
    )
    predict.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    predict.set_defaults(func=run_predict)

    export = subparsers.add_parser(
        "export",
        help="export a checkpoint to ONNX (verified against torch)",
        description=(
            "Export a checkpoint to ONNX: input 'images' (N, 3, S, S), one output per task "
            "(softmax probabilities; regression values in years). The export is checked "
            "with ONNX Runtime against torch (max difference <= 1e-4)."
        ),
    )
    export.add_argument("--checkpoint", required=True, type=Path, help="model checkpoint (.pt)")
    export.add_argument("--onnx", required=True, type=Path, help="ONNX file to write")
    export.add_argument(
        "--input-size", type=int, default=None, help="image side in pixels (default: checkpoint's)"
    )
    export.add_argument("--opset", type=int, default=None, help="ONNX opset (default: 17)")
    export.add_argument(
        "--static-batch", action="store_true", help="fix the batch size at 1 (default: dynamic)"
    )
    export.set_defaults(func=run_export)


def _images_argument(args: argparse.Namespace) -> object:
    """The images to predict on, as :func:`fairaudit.inference.resolve_images` takes them."""
    from fairaudit.datasets import load_fairface, load_fairface_labels, load_utkface

    if args.image_root is not None and args.labels is None:
        raise DataValidationError("--image-root goes with --labels")
    if args.images is not None:
        return args.images[0] if len(args.images) == 1 else list(args.images)
    if args.fairface is not None:
        return load_fairface(args.fairface, splits=(args.split,))
    if args.utkface is not None:
        nested = args.utkface / "UTKFace"
        return load_utkface(nested if nested.is_dir() else args.utkface)
    if args.image_root is None:
        raise DataValidationError(
            f"--labels {args.labels} needs --image-root: the folder its 'file' paths start from"
        )
    return load_fairface_labels(args.labels, image_root=args.image_root)


def run_predict(args: argparse.Namespace) -> int:
    """Run ``fairaudit predict``."""
    from fairaudit.inference import Predictor

    suffix = args.output.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataValidationError(f"--output {args.output}: use a .csv or .parquet file name")
    images = _images_argument(args)
    predictor = Predictor.from_checkpoint(
        args.checkpoint,
        backend=args.backend,
        optimize=not args.no_optimize,
        batch_size=args.batch_size,
        threads=args.threads,
        num_workers=args.num_workers,
        on_unreadable=args.on_unreadable,
    )
    run = predictor.run(images, limit=args.limit, progress=not args.quiet)
    path = run.save(args.output)
    print(run.summary.format())
    print(f"wrote {len(run.table)} rows to {path}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Run ``fairaudit export``."""
    from fairaudit.inference import DEFAULT_OPSET, export_onnx

    result = export_onnx(
        args.checkpoint,
        args.onnx,
        input_size=args.input_size,
        dynamic_batch=not args.static_batch,
        opset=args.opset if args.opset is not None else DEFAULT_OPSET,
    )
    print(
        f"wrote {result.path} (opset {result.opset}, input {result.input_size}x"
        f"{result.input_size}, outputs {', '.join(result.output_names)}; ONNX Runtime vs "
        f"torch max difference {result.max_abs_diff:.2e})",
        file=sys.stdout,
    )
    return 0
