"""``fairaudit audit-detector``: how often the face detector finds the face, per group."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairaudit.cli._models import DETECTOR_PRESETS
from fairaudit.cli._options import add_deprecated_alias
from fairaudit.exceptions import ConfigurationError, DataValidationError

if TYPE_CHECKING:
    from fairaudit.model_audit import AuditResult

__all__ = ["register", "run_audit_detector"]

_EPILOG = """\
DATA is a FairFace folder (labels/ and the split's images; --split, default val),
a FairFace-format labels CSV, a UTKFace folder, or a folder of images with
--labels CSV (joined on the 'file' column: the path relative to the folder).

Every readable image counts once in its gender x age x race cell; it is 'detected'
when the detector finds at least one face. Printed per attribute: images,
detected, rate and its 95% exact interval, and the gap between the groups with
the lowest and highest rate (groups of at least --min-support images) with a
chi-square test of homogeneity. Unreadable images and labelled rows without an
image are counted, never dropped silently.

--detectors lists the detectors audited (default haar): haar (OpenCV's Haar
cascade), dlib-hog and dlib-cnn (dlib's HOG and MMOD CNN detectors, the one the
FairFace authors used; extra "detect"). With several, every image is searched by
each, and the detectors are also compared pairwise on the same images: per group,
the paired 2x2 table, the rate difference with Newcombe's paired 95% interval and
an exact McNemar test (Holm-adjusted over the groups).

The detectors' settings preset is that for tight face crops (--preset crops),
the framing of FairFace's and UTKFace's images; --preset photos audits the preset
'fairaudit predict --detect' uses on raw photos (its default there).

Examples:
  fairaudit audit-detector data/fairface -o detection-audit.json
  fairaudit audit-detector data/fairface --merge-into classifier-audit.json
  fairaudit audit-detector photos/ --labels photos.csv --preset photos
  fairaudit audit-detector data/fairface --detectors haar,dlib-hog,dlib-cnn \\
      --output-dir detector-audit/
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
        "--preset",
        choices=DETECTOR_PRESETS,
        default="crops",
        help="the detectors' settings preset: crops (tight face crops, as in FairFace and "
        "UTKFace) or photos (raw photos) (default: crops)",
    )
    add_deprecated_alias(
        parser, "--detector", new="--preset", dest="preset", choices=DETECTOR_PRESETS
    )
    parser.add_argument(
        "--detectors",
        default="haar",
        metavar="NAMES",
        help="comma-separated detectors: haar, dlib-hog, dlib-cnn, best (default: haar)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="save detector-NAME.json (one audit per detector) and, with several "
        "detectors, detector-pairs.json (the paired counts)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="HTML",
        help="with several detectors, write the comparison report (rates per group, paired "
        "differences, figures)",
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


def _detector_names(text: str) -> list[str]:
    from fairaudit.detect._choice import DETECTOR_NAMES, best_detector_name

    names = [n.strip() for n in text.split(",") if n.strip()]
    names = [best_detector_name() if n == "best" else n for n in names]
    unknown = [n for n in names if n not in DETECTOR_NAMES]
    if not names or unknown:
        raise ConfigurationError(
            f"--detectors: unknown detector(s) {unknown or [text]}; choose from "
            f"{', '.join((*DETECTOR_NAMES, 'best'))}"
        )
    if len(set(names)) != len(names):
        raise ConfigurationError(f"--detectors lists a detector twice: {text}")
    return names


def _table_path(path: Path, name: str, several: bool) -> Path:
    return path.with_name(f"{path.stem}-{name}{path.suffix}") if several else path


def run_audit_detector(args: argparse.Namespace) -> int:
    """Run the detectors, audit them, compare them; returns the exit status."""
    from fairaudit.compare import detector_pairs
    from fairaudit.detect import detect_dataset, make_detector
    from fairaudit.model_audit import AuditResult, audit_detection

    names = _detector_names(args.detectors)
    several = len(names) > 1
    if several and (args.output is not None or args.merge_into is not None):
        raise ConfigurationError(
            "with several --detectors, save with --output-dir (one audit per detector); "
            "--output and --merge-into take one detector"
        )
    if args.report is not None and not several:
        raise ConfigurationError("--report compares detectors: give several --detectors")
    merge_target = None
    if args.merge_into is not None:  # fail before the long run, not after it
        merge_target = AuditResult.load(args.merge_into)
    detectors = {n: make_detector(n, preset=args.preset, align=False) for n in names}
    data = _dataset(args)
    runs = {}
    for name, detector in detectors.items():
        print(f"\n=== {name} ===")
        run = detect_dataset(data, detector=detector, limit=args.limit, progress=not args.quiet)
        runs[name] = run
        print(run.summary.format())
        if args.detections is not None:
            saved = run.save(_table_path(args.detections, name, several))
            print(f"saved the per-image table to {saved}")
        result = audit_detection(
            run,
            args.labels,
            unmatched="error",
            description=f"detector audit ({name}, {args.preset} preset) of {args.data}",
        )
        result.metadata["detection"]["detector_name"] = name
        _print_rates(result, min_support=args.min_support)
        if args.output is not None:
            print(f"saved the detector audit to {result.save(args.output)}")
        if args.output_dir is not None:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            path = result.save(args.output_dir / f"detector-{name}.json")
            print(f"saved the detector audit to {path}")
        if merge_target is not None:
            merged = merge_target.with_detection(result)
            merged.save(args.merge_into)
            print(f"added the detection statistics to {args.merge_into}")
    if several:
        labels = args.labels
        if labels is not None:  # the runs on a folder carry no labels: join them first
            runs = {n: _with_labels(r, labels) for n, r in runs.items()}
        pairs = detector_pairs(
            runs,
            metadata={
                "source": str(args.data),
                "preset": args.preset,
                "limit": args.limit,
                "detectors": {n: repr(d) for n, d in detectors.items()},
                "seconds": {n: round(r.summary.seconds, 3) for n, r in runs.items()},
            },
        )
        _print_pairs(pairs)
        if args.output_dir is not None:
            print(
                f"saved the paired counts to {pairs.save(args.output_dir / 'detector-pairs.json')}"
            )
        if args.report is not None:
            from fairaudit.report import write_detector_report

            path = write_detector_report(pairs, args.report, min_support=args.min_support)
            print(f"wrote the detector comparison report to {path}")
    return 0


def _with_labels(run: Any, labels: Path) -> Any:
    import pandas as pd

    label_table = pd.read_csv(labels)
    table = run.table.drop(columns=[c for c in ("gender", "age", "race") if c in run.table])
    label_table["file"] = label_table["file"].astype(str)
    return table.merge(label_table, on="file", how="left", validate="one_to_one")


def _print_pairs(pairs: Any) -> None:
    import pandas as pd

    columns = ["n", "both", "a_only", "b_only", "neither", "rate_a", "rate_b", "difference"]
    columns += ["ci_low", "ci_high", "p_mcnemar", "p_holm"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print("\n=== paired comparison (same images; difference = rate_b - rate_a) ===")
        print("\noverall:")
        frame = pairs.comparisons()
        print(frame[["detector_a", "detector_b", *columns]].round(4).to_string(index=False))
        for attr in pairs.attributes:
            print(f"\nby {attr}:")
            frame = pairs.comparisons(by=attr)
            print(
                frame[["detector_a", "detector_b", attr, *columns]].round(4).to_string(index=False)
            )


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
        print("\ndetection rate (95% exact interval), overall:")
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
