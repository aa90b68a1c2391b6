"""``fairaudit audit-detector``: how often the face detector finds the face, per group."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairaudit.cli._models import DETECTOR_PRESETS, detector_from_preset
from fairaudit.exceptions import DataValidationError

if TYPE_CHECKING:
    from fairaudit.metrics import AuditResult

__all__ = ["register", "run_audit_detector"]

_EPILOG = """\
DATA is a FairFace folder (labels/ and the split's images; --split, default val),
a FairFace-format labels CSV, a UTKFace folder, or a folder of images with
--labels CSV (joined on the 'file' column: the path relative to the folder).

Every readable image counts once in its gender x age x race cell; it is 'detected'
when the detector finds at least one face. Printed per attribute: images,
detected, rate and its 95% Wilson interval, and the gap between the groups with
the lowest and highest rate (groups of at least --min-support images) with a
chi-square test of homogeneity. Unreadable images and labelled rows without an
image are counted, never dropped silently.

The default detector is the Haar cascade's preset for tight face crops
(--detector crops), the framing of FairFace's and UTKFace's images; --detector
photos audits the preset 'fairaudit predict --detect' uses on raw photos (2.5 times
slower on FairFace's images).

Examples:
  fairaudit audit-detector data/fairface -o detection-audit.json
  fairaudit audit-detector data/fairface --merge-into classifier-audit.json
  fairaudit audit-detector photos/ --labels photos.csv --detector photos
"""


def register(subparsers: Any) -> None:
    """Add the ``audit-detector`` subcommand."""
    parser = subparsers.add_parser(
        "audit-detector",
        help="audit the face detector: detection rate per gender, age, race, with intervals",
        description=(
            "Run the face detector over a labelled set and audit its detection rate "
            "across gender, age group, race and their intersections."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="labelled images (see below)")
    parser.add_argument(
        "--labels", type=Path, metavar="CSV", help="labels joined on 'file' when DATA is a folder"
    )
    parser.add_argument("--split", default="val", help="FairFace split (default: val)")
    parser.add_argument(
        "--detector",
        choices=DETECTOR_PRESETS,
        default="crops",
        help="Haar cascade preset: crops (default, tight face crops) or photos",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument(
        "--output", "-o", type=Path, help="save the detector audit (JSON, fairaudit-audit format)"
    )
    parser.add_argument(
        "--merge-into",
        type=Path,
        metavar="AUDIT",
        help="add the detection statistics to this saved classifier audit (rewritten in place)",
    )
    parser.add_argument(
        "--detections", type=Path, metavar="FILE", help="also save the per-image table (.csv)"
    )
    parser.add_argument(
        "--min-support",
        type=int,
        default=30,
        help="groups with fewer images are marked 'small' and left out of gaps (default: 30)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_audit_detector)


def _dataset(args: argparse.Namespace) -> object:
    """What to run the detector on: a loaded labelled dataset, or a folder of images."""
    from fairaudit.datasets import load_dataset, load_fairface

    path = args.data.expanduser()
    if not path.exists():
        raise DataValidationError(f"no such file or folder: {path}")
    if args.labels is not None:
        if not path.is_dir():
            raise DataValidationError(f"--labels goes with a folder of images, not {path}")
        return path
    fairface = path.is_dir() and (
        any((path / "labels").glob("fairface_label_*.csv"))
        or any(path.glob("fairface_label_*.csv"))
    )
    if fairface:
        return load_fairface(path, splits=(args.split,))
    return load_dataset(path)


def run_audit_detector(args: argparse.Namespace) -> int:
    """Run the detector, audit it, print the rates; returns the exit status."""
    from fairaudit.detect import detect_dataset
    from fairaudit.metrics import AuditResult, audit_detection

    merge_target = None
    if args.merge_into is not None:  # fail before the long run, not after it
        merge_target = AuditResult.load(args.merge_into)
    data = _dataset(args)
    run = detect_dataset(
        data,
        detector=detector_from_preset(args.detector),
        limit=args.limit,
        progress=not args.quiet,
    )
    print(run.summary.format())
    if args.detections is not None:
        print(f"saved the per-image table to {run.save(args.detections)}")
    result = audit_detection(
        run,
        args.labels,
        unmatched="error",
        description=f"detector audit ({args.detector} preset) of {args.data}",
    )
    _print_rates(result, min_support=args.min_support)
    if args.output is not None:
        print(f"saved the detector audit to {result.save(args.output)}")
    if merge_target is not None:
        merged = merge_target.with_detection(result)
        merged.save(args.merge_into)
        print(f"added the detection statistics to {args.merge_into}")
    return 0


def _print_rates(result: AuditResult, *, min_support: int) -> None:
    import pandas as pd

    meta = result.metadata.get("detection", {})
    print(
        f"\naudited images: {meta.get('n_images')}; left out: {meta.get('unreadable')} "
        f"unreadable, {meta.get('labels_without_detection')} labelled row(s) without image"
    )
    columns = ["n", "detected", "rate", "ci_low", "ci_high", "status"]
    with warnings.catch_warnings(), pd.option_context("display.width", 160):
        warnings.simplefilter("ignore")  # small groups are marked in the 'status' column
        print("\ndetection rate (95% Wilson interval), overall:")
        print(
            result.detection_rates(min_support=min_support)[columns].round(4).to_string(index=False)
        )
        attrs = list(result.attributes)
        for attr in attrs:
            print(f"\nby {attr}:")
            frame = result.detection_rates(by=attr, min_support=min_support)
            print(frame[[attr, *columns]].round(4).to_string(index=False))
        groupings: list[str | tuple[str, ...]] = list(attrs)
        if "gender" in attrs and "race" in attrs:
            frame = result.detection_rates(by=("race", "gender"), min_support=min_support)
            print("\nby race x gender:")
            print(frame[["race", "gender", *columns]].round(4).to_string(index=False))
            groupings.append(("race", "gender"))
        print("\ngaps between groups (judged: at least --min-support images):")
        gaps = pd.concat(
            [result.detection_gaps(by=by, min_support=min_support) for by in groupings],
            ignore_index=True,
        )
        print(gaps.round(4).to_string(index=False))
