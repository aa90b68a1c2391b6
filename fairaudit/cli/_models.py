"""``fairaudit predict`` and ``fairaudit export``: thin shells over :mod:`fairaudit.inference`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fairaudit.cli._options import add_deprecated_alias
from fairaudit.exceptions import DataValidationError

__all__ = ["DEFAULT_PHOTO_MODEL", "DETECTOR_PRESETS", "detector_from_preset", "register"]

#: The model ``fairaudit predict`` uses without --checkpoint or --model.
DEFAULT_PHOTO_MODEL = "fairface-mobilenet_v2-112"
#: Haar cascade presets selectable on the command line.
DETECTOR_PRESETS: tuple[str, ...] = ("photos", "crops")

_PREDICT_EPILOG = """\
Inputs (choose one):
  PHOTO ... / --images PATH ...  a folder (every image under it, recursive, sorted)
                                 or image files
  --fairface ROOT --split val
  --utkface ROOT
  --labels CSV --image-root DIR   a FairFace-format labels file and its image folder

Model: --checkpoint FILE (.pt or .onnx) or --model NAME (a shipped model);
default the shipped model fairface-mobilenet_v2-112. A model fairaudit did not
train: --model-file FILE (.onnx, or TorchScript .pt/.pth/.ts) with --spec SPEC.toml,
which declares its input (size, layout, channels, scaling, crop, batch size) and
outputs (task, class order, logits or probabilities, age in years or over ages
0..N); the table's provenance (file, sha256, spec) goes to OUTPUT.provenance.json.

The table has one row per image: file, the true labels when known (gender, age,
race), {task}_pred, {task}_prob_{class} per class, status (ok | unreadable) and
error. Unreadable images are kept with status 'unreadable' (or refused with
--on-unreadable raise) and listed in the summary.

With --detect (raw photos), faces are found first (--face-detector, default the
best installed: dlib's CNN, else dlib's HOG, else OpenCV's Haar cascade) and cropped
FairFace style: one row per face, largest first, with face (0-based) and its box
x, y, width, height in the photo's pixels; a photo without a face keeps one row
with status 'no_face'. The summary counts images, faces, images with no face and
unreadable files. Without --output the table is printed.

Examples:
  fairaudit predict holiday/ --detect -o faces.csv
  fairaudit predict --checkpoint model.pt --fairface data/fairface --split val \\
      --output preds.parquet
  fairaudit predict --model-file vendor.onnx --spec vendor.toml --images faces/ \\
      -o preds.csv
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
    model = predict.add_mutually_exclusive_group()
    model.add_argument("--checkpoint", type=Path, help="model checkpoint (.pt) or .onnx file")
    model.add_argument(
        "--model", metavar="NAME", help=f"a shipped model (default: {DEFAULT_PHOTO_MODEL})"
    )
    model.add_argument(
        "--model-file",
        type=Path,
        metavar="FILE",
        help="a model fairaudit did not train (.onnx or TorchScript), run as --spec says",
    )
    predict.add_argument(
        "--spec",
        type=Path,
        metavar="TOML",
        help="with --model-file: how to run it (input size, layout, channels, scaling, "
        "crop; each output's task, classes, logits or probabilities)",
    )
    predict.add_argument(
        "photos", nargs="*", type=Path, metavar="PHOTO", help="folder or image files"
    )
    source = predict.add_mutually_exclusive_group()
    source.add_argument("--images", nargs="+", type=Path, metavar="PATH", help="folder or files")
    source.add_argument("--fairface", type=Path, metavar="ROOT", help="FairFace folder")
    source.add_argument("--utkface", type=Path, metavar="ROOT", help="UTKFace image folder")
    source.add_argument("--labels", type=Path, metavar="CSV", help="FairFace-format labels CSV")
    predict.add_argument("--split", default="val", help="FairFace split (default: val)")
    predict.add_argument(
        "--image-root", type=Path, metavar="DIR", help="folder the --labels file paths start from"
    )
    predict.add_argument(
        "--output",
        "-o",
        type=Path,
        help="predictions file (.csv or .parquet); default: print the table",
    )
    predict.add_argument(
        "--detect",
        action="store_true",
        help="detect and crop the faces first (raw photos): one row per face",
    )
    predict.add_argument(
        "--preset",
        choices=DETECTOR_PRESETS,
        default="photos",
        help="with --detect: the detector's settings preset, photos (raw photos) or crops "
        "(tight face crops) (default: photos)",
    )
    add_deprecated_alias(
        predict, "--detector", new="--preset", dest="preset", choices=DETECTOR_PRESETS
    )
    predict.add_argument(
        "--face-detector",
        choices=("best", "haar", "dlib-hog", "dlib-cnn"),
        default="best",
        help="with --detect: the face detector (default best: dlib-cnn > dlib-hog > haar, "
        "whichever is installed; the dlib ones crop FairFace's aligned chips)",
    )
    predict.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    predict.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per forward pass (default: 64, or the --spec's batch_size)",
    )
    predict.add_argument("--threads", type=int, default=None, help="CPU threads of the model")
    predict.add_argument(
        "--num-workers", type=int, default=0, help="processes decoding images (default: 0)"
    )
    predict.add_argument("--limit", type=int, default=None, help="predict only the first N images")
    predict.add_argument(
        "--on-unreadable",
        choices=("keep", "raise"),
        default="keep",
        help="keep: unreadable images stay as rows with status 'unreadable', or raise: stop "
        "(default: keep)",
    )
    predict.add_argument(
        "--no-optimize",
        action="store_true",
        help="torch backend: run the plain model (no batch-norm folding, no channels_last)",
    )
    predict.add_argument(
        "--chunk-size",
        type=int,
        default=1000,
        metavar="N",
        help="with --output: write every N images to OUTPUT.parts/ as they are done, so a "
        "killed run can be continued with --resume (default: 1000)",
    )
    predict.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed run of the same --output: predict only the chunks not written",
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
    exported = export.add_mutually_exclusive_group(required=True)
    exported.add_argument("--checkpoint", type=Path, help="model checkpoint (.pt)")
    exported.add_argument("--model", metavar="NAME", help="a shipped model")
    export.add_argument("--onnx", required=True, type=Path, help="ONNX file to write")
    export.add_argument(
        "--spec",
        type=Path,
        metavar="SPEC.toml",
        help="also write the model spec that runs the ONNX file as a model fairaudit did "
        "not train (docs/outside-models.md)",
    )
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
    from fairaudit.datasets import load_fairface, load_utkface
    from fairaudit.datasets._fairface import load_fairface_labels

    if args.image_root is not None and args.labels is None:
        raise DataValidationError("--image-root goes with --labels")
    given = [args.images, args.fairface, args.utkface, args.labels]
    chosen = sum(value is not None for value in given) + bool(args.photos)
    if chosen != 1:
        raise DataValidationError(
            "give the images to predict once: PHOTO ... (or --images), --fairface, --utkface "
            "or --labels" + (" (got several)" if chosen else "")
        )
    if args.photos:
        args.images = args.photos
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


def detector_from_preset(name: str, detector: str = "haar") -> object:
    """The detector (``haar``, ``dlib-hog``, ``dlib-cnn``) with the preset named on the
    command line (``photos`` or ``crops``); dlib detectors crop aligned chips."""
    from fairaudit.detect import make_detector

    if name not in DETECTOR_PRESETS:
        raise DataValidationError(f"unknown detector preset {name!r}; choose {DETECTOR_PRESETS}")
    return make_detector(detector, preset=name, align=True)


def _checkpoint_argument(args: argparse.Namespace) -> Path:
    from fairaudit.models import shipped_model_path

    if args.checkpoint is not None:
        return args.checkpoint
    return shipped_model_path(args.model or DEFAULT_PHOTO_MODEL)


def _print_table(table: object) -> None:
    import pandas as pd

    assert isinstance(table, pd.DataFrame)
    shown = [
        c
        for c in table.columns
        if not (isinstance(c, str) and "_prob_" in c) and c not in ("path", "error")
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table[shown].to_string(index=False))


def run_predict(args: argparse.Namespace) -> int:
    """Run ``fairaudit predict``."""
    from fairaudit.inference import Predictor

    if args.output is not None and args.output.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise DataValidationError(f"--output {args.output}: use a .csv or .parquet file name")
    if (args.model_file is None) != (args.spec is None):
        raise DataValidationError(
            "--model-file and --spec go together: the model file and how to run it"
        )
    images = _images_argument(args)
    if args.model_file is not None:
        predictor = Predictor.from_model_file(
            args.model_file,
            args.spec,
            batch_size=args.batch_size,
            threads=args.threads,
            num_workers=args.num_workers,
            on_unreadable=args.on_unreadable,
        )
    else:
        predictor = Predictor.from_checkpoint(
            _checkpoint_argument(args),
            backend=args.backend,
            optimize=not args.no_optimize,
            batch_size=args.batch_size or 64,
            threads=args.threads,
            num_workers=args.num_workers,
            on_unreadable=args.on_unreadable,
        )
    detector = None
    detect = args.detect or predictor.detect_default
    if args.detect:
        from fairaudit.detect._choice import best_detector_name

        chosen = best_detector_name() if args.face_detector == "best" else args.face_detector
        detector = detector_from_preset(args.preset, chosen)
        how = "Haar cascade, margin crops" if chosen == "haar" else "aligned FairFace chips"
        print(f"face detector: {chosen} ({how}, {args.preset} preset)", file=sys.stderr)
    elif detect:
        detector = predictor.default_detector()
        print(f"face detector: {detector!r} (the spec's crop)", file=sys.stderr)
    if args.output is None:
        if args.resume:
            raise DataValidationError("--resume continues a run that writes --output")
        run = predictor.run(
            images, limit=args.limit, progress=not args.quiet, detect=detect, detector=detector
        )
        _print_table(run.table)
    else:
        from fairaudit.inference import predict_to_file

        run = predict_to_file(
            predictor,
            images,
            args.output,
            chunk_size=args.chunk_size,
            resume=args.resume,
            limit=args.limit,
            progress=not args.quiet,
            detect=detect,
            detector=detector,
        )
        path = args.output
    print(run.summary.format())
    if args.output is not None:
        print(f"wrote {len(run.table)} rows to {path}")
        if predictor.provenance is not None:
            from fairaudit.inference._outputs import provenance_path

            print(f"wrote the model's provenance (sha256, spec) to {provenance_path(path)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Run ``fairaudit export``."""
    from fairaudit.inference import export_onnx
    from fairaudit.inference._onnx import DEFAULT_OPSET

    result = export_onnx(
        _checkpoint_argument(args),
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
    if args.spec is not None:
        from fairaudit.inference._onnx import OnnxSession

        name = args.model or Path(args.checkpoint).stem
        OnnxSession(result.path).model_spec(name=name).write_toml(args.spec)
        print(f"wrote {args.spec} (predict --model-file {result.path} --spec {args.spec})")
    return 0
