"""Benchmark: the derived attributes of FairFace's 5,000 val images (time, memory, and what
they show).

Runs :func:`fairaudit.attributes.derive_attributes` over the val images of the shared
data (``../shared/data/fairface``), one process, one thread (run it with
``OMP_NUM_THREADS=1 nice -n 10``), and prints:

- wall and CPU time, images per second, and the process's peak resident memory
  (``ru_maxrss``: dlib's 68-point model included) before and after the run;
- the statuses and where the skin regions came from (landmarks in a detected face
  box, in the chip's nominal box, or fixed boxes);
- the ITA per FairFace race label: median and interquartile range, the share of
  "lighter" faces, and the six categories;
- how ITA moves with the image's brightness: Pearson and Spearman correlations,
  overall and within each race label, and the slope (degrees of ITA per unit of
  mean L*) within race labels;
- how far ITA moves when the same faces are darkened (sRGB values x 0.8 and x 0.6, the
  first ``--exposure`` images): the median drop and how many faces change side of the
  lighter/darker split;
- with ``--compare-chip``: the same images with the chip's fixed boxes instead of
  landmarks, and how far their ITA is from the landmark ITA;
- with ``--gender-shades PREDICTIONS...``: the Gender Shades table (accuracy of each
  task by lighter/darker x gender, 95% Wilson intervals) of each predictions table (from
  ``fairaudit predict --fairface ../shared/data/fairface``), joined with the attributes;
- with ``--label-issues PREDICTIONS``: the rows whose label the model's (out-of-sample)
  probabilities contradict (cleanlab), their rate per race, gender and skin type with 95%
  Wilson intervals, and each task's largest accuracy gap between race labels and the
  Gender Shades gap, with and without those rows;
- with ``--masks PNG``: draws the skin regions of six val images, with their ITA, into a
  small PNG (the picture of docs/derived-attributes.md).

Usage::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_attributes.py -o attrs_val.parquet
    python benchmarks/bench_attributes.py --limit 200          # smoke run
    python benchmarks/bench_attributes.py --limit 0 --masks docs/images/skin-masks.png
    python benchmarks/bench_attributes.py --attributes attrs_val.parquet \
        --gender-shades preds-*.parquet                         # reuse a finished table
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from fairaudit.attributes import derive_attributes
from fairaudit.attributes._colour import SKIN_TONE
from fairaudit.datasets import load_fairface

FAIRFACE = Path(__file__).resolve().parents[1].parent / "shared/data/fairface"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _val_images(limit: int | None) -> pd.DataFrame:
    table = load_fairface(FAIRFACE, splits=("val",)).table
    table = table[table["has_image"]].reset_index(drop=True)
    return table.head(limit) if limit else table


def _run(images: pd.DataFrame, landmarks: str, output: Path | None) -> tuple[pd.DataFrame, dict]:
    before = _peak_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    table = derive_attributes(images, landmarks=landmarks, output=output, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return table, {
        "images": len(images),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "images_per_s": round(len(images) / wall, 1),
        "peak_rss_before_mib": round(before, 0),
        "peak_rss_after_mib": round(_peak_mib(), 0),
    }


def _ita_by_race(joined: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for race, part in joined.groupby("race", observed=True):
        ita = part["ita"].dropna()
        q1, med, q3 = np.percentile(ita, [25, 50, 75])
        tones = part["skin_tone"].value_counts(normalize=True).reindex(SKIN_TONE.classes)
        r_brightness = stats.pearsonr(part["ita"], part["brightness"]).statistic
        slope = stats.linregress(part["brightness"], part["ita"]).slope
        rows.append(
            {
                "race": race,
                "n": len(ita),
                "median": round(med, 1),
                "q1": round(q1, 1),
                "q3": round(q3, 1),
                "iqr": round(q3 - q1, 1),
                "lighter": round(float((part["skin_type"] == "lighter").sum() / len(ita)), 3),
                **{t: round(float(v), 3) for t, v in tones.items()},
                "r_brightness": round(float(r_brightness), 2),
                "slope_per_L": round(float(slope), 2),
            }
        )
    return pd.DataFrame(rows).sort_values("median", ascending=False)


#: The val images of the picture (``7.jpg`` a lit face, ``1.jpg`` a dim one).
MASK_IMAGES = ("1.jpg", "2.jpg", "4.jpg", "5.jpg", "6.jpg", "7.jpg")


def draw_masks(path: Path, *, tile: int = 112) -> None:
    """The skin regions of :data:`MASK_IMAGES` over the faces, ITA written below, as a PNG."""
    from PIL import Image, ImageDraw

    from fairaudit._io import atomic_path
    from fairaudit.attributes._derive import face_attributes
    from fairaudit.attributes._skin import FaceLandmarker, skin_mask

    landmarker = FaceLandmarker()
    tiles = []
    for name in MASK_IMAGES:
        rgb = np.asarray(Image.open(FAIRFACE / "val" / name).convert("RGB"))
        regions, _, _ = landmarker.skin_regions(rgb)
        mask = skin_mask(rgb.shape[:2], regions)
        shown = rgb.astype(np.float64)
        shown[mask] = 0.55 * shown[mask] + 0.45 * np.array([0.0, 255.0, 0.0])
        image = Image.fromarray(shown.astype(np.uint8)).resize((tile, tile), Image.BILINEAR)
        canvas = Image.new("RGB", (tile, tile + 14), "white")
        canvas.paste(image, (0, 0))
        ita = face_attributes(rgb, landmarker=landmarker)["ita"]
        ImageDraw.Draw(canvas).text((4, tile + 1), f"val/{name} ITA {ita:.0f}", fill="black")
        tiles.append(np.asarray(canvas))
    rows = [np.concatenate(tiles[i : i + 3], axis=1) for i in range(0, len(tiles), 3)]
    with atomic_path(path) as tmp:
        picture = Image.fromarray(np.concatenate(rows, axis=0)).quantize(colors=192)
        picture.save(tmp, format="PNG", optimize=True)
    print(f"wrote {path}")


def _exposure(images: pd.DataFrame, n: int) -> None:
    from PIL import Image

    from fairaudit.attributes._colour import SKIN_TYPE_EDGE
    from fairaudit.attributes._derive import face_attributes
    from fairaudit.attributes._skin import FaceLandmarker

    landmarker = FaceLandmarker()
    drops: dict[float, list[float]] = {0.8: [], 0.6: []}
    flips = {0.8: 0, 0.6: 0}
    for path in images["path"].head(n):
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.float64)
        base = face_attributes(rgb.astype(np.uint8), landmarker=landmarker)["ita"]
        if np.isnan(base):
            continue
        for gain in drops:
            darker = np.clip(np.rint(rgb * gain), 0, 255).astype(np.uint8)
            ita = face_attributes(darker, landmarker=landmarker)["ita"]
            drops[gain].append(base - ita)
            flips[gain] += (base > SKIN_TYPE_EDGE) != (ita > SKIN_TYPE_EDGE)
    for gain, values in drops.items():
        q1, med, q3 = np.percentile(values, [25, 50, 75])
        print(
            f"  sRGB x {gain}: ITA drops by a median {med:.1f} degrees (IQR {q1:.1f}-{q3:.1f}); "
            f"{flips[gain]} of {len(values)} faces change side of the lighter/darker split"
        )


def _print_gender_shades(path: Path, table: pd.DataFrame) -> None:
    from fairaudit.attributes import gender_shades_table
    from fairaudit.model_audit import audit_table

    predictions = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    predictions = predictions[predictions["file"].isin(table["file"])]
    audit = audit_table(
        predictions, table, attributes=["gender", "skin_type"], missing="group", unmatched="report"
    )
    shades = gender_shades_table(audit)
    shades = shades[shades["skin"] != "missing"]
    shades["accuracy (95% Wilson)"] = [
        f"{a:.3f} [{lo:.3f}, {hi:.3f}]"
        for a, lo, hi in zip(shades["accuracy"], shades["lower"], shades["upper"], strict=True)
    ]
    print(f"\nGender Shades table of {path.name} ({audit.n_rows} rows; greyscale left out):")
    print(shades[["task", "skin", "gender", "n", "accuracy (95% Wilson)"]].to_string(index=False))


def _print_label_issues(path: Path, table: pd.DataFrame, images: pd.DataFrame) -> None:
    import warnings

    from fairaudit.attributes import find_label_issues, gender_shades_table, label_issue_rates
    from fairaudit.attributes._label_quality import ANY_LABEL_ISSUE
    from fairaudit.model_audit import audit_table

    predictions = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    predictions = predictions[predictions["file"].isin(table["file"])].reset_index(drop=True)
    issues = find_label_issues(predictions)
    groups = images[["file", "race", "gender"]].merge(table[["file", "skin_type"]], on="file")
    print(f"\nlabel issues found with {path.name}: {int(issues[ANY_LABEL_ISSUE].sum())} rows")
    for by in ("race", "gender", "skin_type"):
        rates = label_issue_rates(issues, groups, by=by)
        rates["rate (95% Wilson)"] = [
            f"{r:.3f} [{lo:.3f}, {hi:.3f}]"
            for r, lo, hi in zip(rates["rate"], rates["lower"], rates["upper"], strict=True)
        ]
        print(rates[["task", by, "n", "issues", "rate (95% Wilson)"]].to_string(index=False))
    print("\nlargest accuracy gap between race labels, per task, and the Gender Shades gap of")
    print("gender (lighter men - darker women): with all rows, and without the rows flagged for")
    print("that task (the flags of one task do not remove rows from another's audit):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task in ("gender", "age", "race"):
            for name, keep in (
                ("all rows", np.ones(len(predictions), dtype=bool)),
                ("flagged left out", ~issues[f"{task}_label_issue"].fillna(False).to_numpy(bool)),
            ):
                audit = audit_table(
                    predictions[keep],
                    table,
                    tasks=[task],
                    attributes=["race", "gender", "skin_type"],
                    missing="group",
                )
                fair = audit.fairness(task, by="race")
                gap = float(fair.loc[fair["metric"] == "accuracy_difference", "value"].iloc[0])
                line = f"  {task}, {name} (n = {audit.n_rows}): race accuracy gap {gap:.3f}"
                if task == "gender":
                    shades = gender_shades_table(audit).set_index(["skin", "gender"])["accuracy"]
                    shade_gap = shades[("lighter", "Male")] - shades[("darker", "Female")]
                    line += f"; Gender Shades gap {shade_gap:.3f}"
                print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N val images")
    parser.add_argument("--output", "-o", type=Path, help="also write the attributes table")
    parser.add_argument(
        "--compare-chip", action="store_true", help="also run with the chip's fixed boxes"
    )
    parser.add_argument(
        "--exposure", type=int, default=200, metavar="N", help="darken the first N faces (200)"
    )
    parser.add_argument(
        "--label-issues",
        nargs="+",
        type=Path,
        default=(),
        metavar="PREDICTIONS",
        help="predictions tables of the val images: their label issues per group",
    )
    parser.add_argument("--masks", type=Path, help="draw the skin regions into this PNG")
    parser.add_argument(
        "--attributes", type=Path, help="read this attributes table instead of computing it"
    )
    parser.add_argument(
        "--gender-shades",
        nargs="+",
        type=Path,
        default=(),
        metavar="PREDICTIONS",
        help="predictions tables of the val images: print their Gender Shades tables",
    )
    args = parser.parse_args()
    if args.masks:
        draw_masks(args.masks)
    if args.limit == 0:
        return
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load {os.getloadavg()}")
    images = _val_images(args.limit)
    if args.attributes:
        table = pd.read_parquet(args.attributes)
        table = table[table["file"].isin(images["file"])].reset_index(drop=True)
    else:
        table, timing = _run(images, "auto", args.output)
        print("landmarks:", timing)
    print(table["attributes_status"].value_counts().to_dict())
    print(table["skin_region"].value_counts().to_dict())
    for path in args.gender_shades:
        _print_gender_shades(path, table)
    for path in args.label_issues:
        _print_label_issues(path, table, images)
    joined = images[["file", "race", "gender"]].merge(table, on="file", validate="one_to_one")
    ok = joined[joined["ita"].notna()]
    pd.set_option("display.width", 200)
    print("\nITA per FairFace race label (degrees):")
    print(_ita_by_race(ok).to_string(index=False))
    print("\nITA vs brightness (mean L* of the image):")
    pearson = stats.pearsonr(ok["ita"], ok["brightness"]).statistic
    spearman = stats.spearmanr(ok["ita"], ok["brightness"]).statistic
    print(f"  overall: Pearson r = {pearson:.2f}, Spearman rho = {spearman:.2f} (n = {len(ok)})")
    centred = ok.groupby("race", observed=True)[["ita", "brightness"]].transform(
        lambda s: s - s.mean()
    )
    within = stats.linregress(centred["brightness"], centred["ita"])
    print(
        f"  within race labels: r = {within.rvalue:.2f}, slope {within.slope:.2f} degrees of ITA "
        "per unit of mean L*"
    )
    by_level = ok.pivot_table(
        index="race", columns="brightness_level", values="ita", aggfunc="median", observed=True
    )
    print("\nmedian ITA per race label within each brightness level:")
    print(by_level.round(1).to_string())
    print(f"\nthe same faces darkened (first {args.exposure} images):")
    _exposure(images, args.exposure)
    ks = {
        c: table[c].value_counts(sort=False).to_dict()
        for c in ("brightness_level", "contrast_level", "sharpness", "face_size_level")
    }
    print("\nconditions:", ks)
    if args.compare_chip:
        chip, timing_chip = _run(images, "chip", None)
        print("\nfixed boxes:", timing_chip)
        both = table[["file", "ita", "skin_type"]].merge(
            chip[["file", "ita", "skin_type"]], on="file", suffixes=("", "_chip")
        )
        both = both.dropna(subset=["ita", "ita_chip"])
        diff = (both["ita_chip"] - both["ita"]).abs()
        r_chip = stats.pearsonr(both["ita"], both["ita_chip"]).statistic
        same = (both["skin_type"] == both["skin_type_chip"]).mean()
        print(
            f"  |ITA fixed boxes - ITA landmarks|: median {diff.median():.1f}, 90th percentile "
            f"{diff.quantile(0.9):.1f}; Pearson r {r_chip:.3f}; same lighter/darker {same:.3f}"
        )


if __name__ == "__main__":
    main()
