"""``fairaudit attributes``: skin tone and image conditions of a dataset's images."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "run_attributes"]


def register(subparsers: Any) -> None:
    """Add the ``attributes`` subcommand."""
    parser = subparsers.add_parser(
        "attributes",
        help="derive skin tone (ITA) and image conditions of a dataset's images, as audit groups",
        description=(
            "Compute, for every image, the skin's Individual Typology Angle (ITA, CIELAB) over "
            "the cheeks and forehead (dlib's 68 landmarks, else fixed boxes of the aligned "
            "chip), its six ITA categories (skin_tone) and the lighter/darker split "
            "(skin_type), and the image's brightness, RMS contrast, sharpness (variance of the "
            "Laplacian) and face size, each binned. The table (one row per image, key 'file') "
            "joins any labels table: audit by its columns with 'fairaudit audit --by'. See "
            "docs/derived-attributes.md."
        ),
    )
    parser.add_argument(
        "dataset",
        nargs="?",
        type=Path,
        help="FairFace folder, UTKFace folder or FairFace-format labels CSV",
    )
    parser.add_argument(
        "--images", nargs="+", type=Path, metavar="PATH", help="instead: a folder or image files"
    )
    parser.add_argument("--split", help="keep only this split of the dataset (e.g. val)")
    parser.add_argument(
        "--output", "-o", type=Path, required=True, help="the table to write (.parquet or .csv)"
    )
    parser.add_argument(
        "--landmarks",
        choices=("auto", "dlib", "chip"),
        default="auto",
        help="skin region: dlib's 68 landmarks (auto: when installed) or the chip's fixed boxes",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=500,
        metavar="N",
        help="write every N images to OUTPUT.parts/ as they are done (default: 500)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue a killed run of the same --output"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_attributes)


def run_attributes(args: argparse.Namespace) -> int:
    """Run ``fairaudit attributes``."""
    from fairaudit.attributes import derive_attributes
    from fairaudit.datasets import load_dataset
    from fairaudit.exceptions import DataValidationError

    if (args.dataset is None) == (args.images is None):
        raise DataValidationError("give a DATASET or --images (one of them)")
    if args.images is not None:
        images: Any = [str(p) for p in args.images]
        images = images[0] if len(images) == 1 else images
        if args.split is not None:
            raise DataValidationError("--split needs a DATASET, not --images")
    else:
        loaded = load_dataset(args.dataset)
        images = loaded.table
        if args.split is not None:
            splits = sorted(map(str, images["split"].unique())) if "split" in images else []
            if args.split not in splits:
                raise DataValidationError(
                    f"{args.dataset}: no split {args.split!r}; the dataset has {splits}"
                )
            images = images[images["split"].astype(str) == args.split].reset_index(drop=True)
    table = derive_attributes(
        images,
        output=args.output,
        resume=args.resume,
        chunk_size=args.chunk_size,
        landmarks=args.landmarks,
        limit=args.limit,
        progress=not args.quiet,
    )
    status = table["attributes_status"].value_counts()
    counts = ", ".join(f"{int(n)} {s}" for s, n in status.items() if n)
    print(f"wrote {args.output}: {len(table)} row(s) ({counts})")
    tones = table["skin_tone"].value_counts(sort=False)
    print("skin_tone: " + ", ".join(f"{k} {int(v)}" for k, v in tones.items()))
    return 0
