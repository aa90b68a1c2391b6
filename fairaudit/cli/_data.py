"""Subcommands over datasets: ``audit-data`` and ``integrity``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fairaudit._io import atomic_path
from fairaudit.cli._options import add_json, write_json
from fairaudit.exceptions import DataValidationError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the dataset subcommands to the ``fairaudit`` parser."""
    audit = subparsers.add_parser(
        "audit-data",
        help="label distribution and imbalance of a dataset (default: FairFace, embedded)",
        description=(
            "Audit a dataset's label distribution: per attribute counts, proportions and six "
            "imbalance statistics (max/min ratio, ratio range, coefficient of variation, "
            "entropy, Gini), joint distributions with the smallest intersectional cells, and "
            "a train-vs-val comparison (chi-square test, Jensen-Shannon divergence).\n\n"
            "Without PATH it audits FairFace's official label files from the aggregate counts "
            "shipped inside the package (nothing to download). PATH may be a FairFace folder "
            "(labels/fairface_label_{train,val}.csv), a UTKFace folder of *.jpg.chip.jpg "
            "images, a FairFace-format labels CSV, or a CSV of aggregate counts (columns "
            "gender, age, race, count)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("path", nargs="?", help="dataset folder or CSV (default: embedded FairFace)")
    audit.add_argument(
        "--min-cell",
        type=int,
        default=30,
        metavar="N",
        help="flag intersectional cells with fewer rows than N (default: 30)",
    )
    audit.add_argument("--decimals", type=int, default=6, help="decimals printed (default: 6)")
    audit.add_argument(
        "--label-issues",
        metavar="FILE",
        help="rate of likely label errors per group: fairaudit's label-issues table "
        "(find_label_issues) or the flagged files, keyed by file (needs PATH per image)",
    )
    audit.add_argument(
        "--near-duplicates",
        metavar="CSV",
        help="rate of rows in a near-duplicate pair with conflicting labels per group: the "
        "pairs of 'fairaudit integrity --near-duplicates-csv'",
    )
    audit.add_argument(
        "--derived",
        metavar="FILE",
        help="derived attributes ('fairaudit attributes'), joined by file: the suspect-label "
        "rates are also given per skin tone",
    )
    add_json(audit, help="also write every table as JSON")
    audit.add_argument(
        "--plots", metavar="DIR", help="save distribution bars and joint heatmaps as PNG in DIR"
    )
    audit.set_defaults(func=_run_audit_data)

    integrity = subparsers.add_parser(
        "integrity",
        help="unreadable files and duplicate images of a dataset",
        description=(
            "Check a dataset before trusting it: labels whose image is missing, unreadable or "
            "non-image files, byte-identical duplicate images within and across splits, and "
            "duplicates whose labels conflict. With --near-duplicates, also copies that were "
            "resized or re-encoded (a perceptual hash, verified on the pixels)."
        ),
    )
    integrity.add_argument("path", help="FairFace folder, UTKFace folder or labels CSV")
    add_json(integrity, help="write the report as JSON")
    integrity.add_argument(
        "--duplicates", metavar="CSV", help="write the table of duplicate images to CSV"
    )
    integrity.add_argument(
        "--near-duplicates",
        action="store_true",
        help="also find near-duplicate pairs (perceptual hash), across splits and with "
        "conflicting labels",
    )
    integrity.add_argument(
        "--max-distance",
        type=int,
        default=None,
        metavar="D",
        help="largest Hamming distance of 64 bits between near-duplicates' hashes (default: 6)",
    )
    integrity.add_argument(
        "--min-correlation",
        type=float,
        default=None,
        metavar="R",
        help="smallest correlation of the 32x32 grayscale downscales of a near-duplicate "
        "pair (default: 0.95; 0 keeps every pair within the distance)",
    )
    integrity.add_argument(
        "--near-duplicates-csv", metavar="CSV", help="write the near-duplicate pairs to CSV"
    )
    integrity.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="threads decoding images (default: 1)"
    )
    integrity.set_defaults(func=_run_integrity)


def _audits_from_path(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    """The audits to print (one per split) and notes about the loading."""
    import pandas as pd

    from fairaudit.dataset_audit import audit_dataset, fairface_label_counts
    from fairaudit.datasets import load_dataset

    if args.path is None:
        audits = [
            audit_dataset(
                fairface_label_counts(split=s), name=f"FairFace {s}", min_cell_count=args.min_cell
            )
            for s in ("train", "val")
        ]
        return audits, ["source: FairFace label counts embedded in fairaudit (aggregate figures)"]
    path = Path(args.path)
    if path.suffix.lower() == ".csv" and path.is_file():
        try:
            header = pd.read_csv(path, nrows=0).columns
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataValidationError(f"{path}: not a readable CSV file ({exc})") from None
        if "count" in header:
            counts = pd.read_csv(path)
            return [audit_dataset(counts, name=path.name, min_cell_count=args.min_cell)], [
                f"source: aggregate counts in {path}"
            ]
    loaded = load_dataset(path)
    table = loaded.table
    notes = [loaded.report.summary()]
    table, suspect = _suspect_sources(args, table)
    audits = []
    splits = table["split"].cat.categories if "split" in table else [None]
    for split in splits:
        part = table if split is None else table[table["split"] == split]
        if len(part) == 0:
            continue
        name = f"{loaded.report.dataset} {split}" if split is not None else loaded.report.dataset
        audits.append(audit_dataset(part, name=name, min_cell_count=args.min_cell, **suspect(part)))
    return audits, notes


def _suspect_sources(args: argparse.Namespace, table: Any) -> tuple[Any, Any]:
    """The table with the derived skin columns, and per split the suspect-label options."""
    import pandas as pd

    from fairaudit.attributes._derive import DERIVED_VOCABULARIES
    from fairaudit.attributes._label_quality import ANY_LABEL_ISSUE, suspect_files

    def read(path: str) -> pd.DataFrame:
        try:
            return (
                pd.read_parquet(path) if path.endswith((".parquet", ".pq")) else pd.read_csv(path)
            )
        except (OSError, ValueError, ImportError) as exc:
            raise DataValidationError(f"cannot read {path}: {exc}") from exc

    issues = pairs = None
    if args.label_issues:
        path = str(args.label_issues)
        issues = read(path) if path.endswith((".csv", ".parquet", ".pq")) else None
        if issues is None or ANY_LABEL_ISSUE not in issues.columns:
            issues = pd.DataFrame({"file": suspect_files(issues if issues is not None else path)})
        unknown = sorted(set(issues["file"].astype(str)) - set(table["file"].astype(str)))
        if unknown:
            raise DataValidationError(
                f"{len(unknown)} row(s) of {path} are not in {args.path}: {unknown[:5]}"
            )
    if args.near_duplicates:
        pairs = read(str(args.near_duplicates))
    if args.derived:
        derived = read(str(args.derived))
        columns = [c for c in ("skin_type", "skin_tone") if c in derived.columns]
        derived = derived[["file", *columns]].astype(
            {c: DERIVED_VOCABULARIES[c].dtype for c in columns}
        )
        table = table.drop(columns=[c for c in columns if c in table.columns]).merge(
            derived, on="file", how="left", validate="one_to_one"
        )

    def options(part: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if issues is not None:
            mine = issues[issues["file"].astype(str).isin(set(part["file"].astype(str)))]
            if len(mine):
                out["label_issues"] = mine if ANY_LABEL_ISSUE in mine else mine["file"].tolist()
        if pairs is not None:
            out["near_duplicates"] = pairs
        return out

    return table, options


def _run_audit_data(args: argparse.Namespace) -> int:
    from fairaudit.dataset_audit import compare_splits
    from fairaudit.dataset_audit._plots import plot_distributions, plot_joint_heatmap
    from fairaudit.dataset_audit._text import format_dataset_audit, format_split_comparison

    audits, notes = _audits_from_path(args)
    for note in notes:
        print(note)
    print()
    for audit in audits:
        print(format_dataset_audit(audit, decimals=args.decimals))
        print()
    comparisons = [compare_splits(a, b) for a, b in zip(audits, audits[1:])]
    for comparison in comparisons:
        print(format_split_comparison(comparison, decimals=args.decimals))
        print()
    if args.plots:
        import matplotlib.pyplot as plt

        out = Path(args.plots)
        out.mkdir(parents=True, exist_ok=True)
        for audit in audits:
            stem = audit.name.replace(" ", "_")
            figures = {f"{stem}_distributions.png": plot_distributions(audit)}
            for i, rows in enumerate(audit.attributes):
                for columns in audit.attributes[i + 1 :]:
                    figures[f"{stem}_{rows}_x_{columns}.png"] = plot_joint_heatmap(
                        audit, rows, columns
                    )
            for name, figure in figures.items():
                with atomic_path(out / name) as tmp:
                    figure.savefig(tmp, dpi=110, format="png")
                plt.close(figure)
        print(f"plots written to {out}")
    if args.json:
        write_json(
            {
                "audits": [a.to_dict() for a in audits],
                "comparisons": [c.to_dict() for c in comparisons],
                "notes": notes,
            },
            args.json,
        )
    return 0


def _run_integrity(args: argparse.Namespace) -> int:
    from fairaudit.datasets import check_integrity, load_dataset

    near = bool(args.near_duplicates or args.near_duplicates_csv)
    loaded = load_dataset(args.path)
    print(loaded.report.summary())
    thresholds = {
        name: value
        for name, value in (
            ("max_distance", args.max_distance),
            ("min_correlation", args.min_correlation),
        )
        if value is not None
    }
    report = check_integrity(loaded.table, n_jobs=args.jobs, near_duplicates=near, **thresholds)
    print(report.summary())
    if args.duplicates:
        with atomic_path(args.duplicates) as tmp:
            report.duplicates.to_csv(tmp, index=False)
        print(f"duplicates written to {args.duplicates}")
    if args.near_duplicates_csv and report.near_duplicates is not None:
        with atomic_path(args.near_duplicates_csv) as tmp:
            report.near_duplicates.to_csv(tmp, index=False)
        print(f"near-duplicate pairs written to {args.near_duplicates_csv}")
    if args.json:
        write_json({"load": loaded.report.to_dict(), "integrity": report.to_dict()}, args.json)
    return 0
