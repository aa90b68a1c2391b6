"""``fairaudit audit``: sliced performance, fairness and uncertainty of a model's predictions."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fairaudit.cli._options import (
    add_coding_and_repairs,
    add_output,
    add_quiet,
    add_resamples,
    add_unmatched,
    codings_from_args,
    deprecation_warning,
    repairs_from_args,
    write_json,
)
from fairaudit.cli._pandas import python_strings
from fairaudit.exceptions import DataValidationError

if TYPE_CHECKING:
    import pandas as pd

    from fairaudit.model_audit import AuditResult

__all__ = ["register", "run_audit"]


def register(subparsers: Any) -> None:
    """Add the ``audit`` subcommand."""
    parser = subparsers.add_parser(
        "audit",
        help="audit a model's predictions (performance per slice, fairness, uncertainty)",
        description=(
            "Join a predictions table to a labels table by image name and audit every task "
            "across slices of the sensitive attributes. Or print a saved audit (--result)."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--predictions",
        help="predictions table (.csv or .parquet), or Parquet logs audited with Dask: "
        "a glob in quotes ('logs/*.parquet') or a folder",
    )
    source.add_argument("--result", help="a saved audit (.json) to print again")
    parser.add_argument("--labels", help="labels table (.csv or .parquet) joined on --on")
    parser.add_argument("--on", default="file", help="join key column (default: file)")
    parser.add_argument(
        "--by",
        nargs="+",
        default=None,
        help="sensitive attribute columns (default: the tasks and every face attribute "
        "(gender, age, race) the labels hold)",
    )
    parser.add_argument(
        "--vocab",
        choices=["fairface", "utkface"],
        default=None,
        help="class vocabularies of the tasks (default: from the labels, else FairFace)",
    )
    parser.add_argument(
        "--map",
        nargs="+",
        action="extend",
        default=[],
        metavar="TASK=SPEC",
        help="audit a model with another vocabulary through an explicit mapping: "
        "age=years (ages in years -> age groups), race=fairface-to-utkface, or "
        'TASK=mapping.json ({"model label": "audited class"}); unmapped labels are errors',
    )
    add_coding_and_repairs(parser)
    parser.add_argument(
        "--format",
        choices=["fairaudit", "fairface"],
        default="fairaudit",
        help="predictions format: fairaudit's table, or fairface: the FairFace authors' "
        "predict.py output (face_name_align, race, race4, gender, age, *_scores_fair) "
        "(default: fairaudit)",
    )
    parser.add_argument(
        "--key-prefix",
        default="",
        help="with --format fairface: prefix of the image names recovered from "
        "face_name_align, to match the labels' keys (e.g. val/)",
    )
    parser.add_argument(
        "--exclude",
        metavar="FILE",
        help="leave out the suspect rows listed in FILE (fairaudit's label-issues table, a "
        "table with the --on column, or one file a line), counted as left out with status "
        "'suspect_label': does a disparity survive without them?",
    )
    parser.add_argument("--model", help="name of the audited model, recorded in the audit")
    parser.add_argument("--description", help="description recorded in the audit")
    add_resamples(parser, default=0, deprecated=("--bootstrap",))
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--min-support",
        type=int,
        default=30,
        help="slices with fewer rows are marked 'small' (default: 30)",
    )
    add_unmatched(parser, what="prediction rows without a label row")
    parser.add_argument(
        "--missing",
        choices=["error", "group"],
        default="error",
        help="missing sensitive values: an error, or group: a 'missing' group (default: error)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        metavar="N",
        help="read a --predictions file N rows at a time and count each chunk as it is read "
        "(memory: one chunk and the labels; the same audit); 0: read it at once; "
        "default: files over 256 MiB in chunks of 500,000 rows",
    )
    parser.add_argument(
        "--dask",
        action="store_true",
        help="audit --predictions (Parquet) partition by partition on a dask.distributed "
        "cluster; implied by a glob, a folder, --scheduler or --workers",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler (e.g. tcp://host:8786); "
        "default: a local cluster of --workers processes",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of the local Dask cluster (default: 2)",
    )
    add_quiet(parser, help="no progress bar over Dask partitions", deprecated=("--no-progress",))
    add_output(parser, help="save the audit to this JSON file (for report, compare, check)")
    parser.add_argument(
        "--json",
        metavar="PATH",
        nargs="?",
        const=_JSON_SWITCH,
        help="write a JSON summary to PATH ('-' for stdout, instead of the tables)",
    )
    parser.set_defaults(func=run_audit)


#: The dask configuration of distributed's log level, as an environment variable.
_DASK_LOG_VARIABLE = "DASK_LOGGING__DISTRIBUTED"
#: What a bare ``--json`` (the deprecated switch of earlier releases) stores.
_JSON_SWITCH = "\0switch"


def _summary(result: AuditResult, *, min_support: int, boot: pd.DataFrame | None) -> dict[str, Any]:
    out: dict[str, Any] = {"n_rows": result.n_rows, "metadata": result.metadata, "tasks": {}}
    for task in result.tasks:
        entry: dict[str, Any] = {
            "overall": result.metrics(task, min_support=min_support).to_dict(orient="records")
        }
        for attr in result.attributes:
            entry[f"by_{attr}"] = (
                result.metrics(task, by=attr, min_support=min_support)
                .astype({attr: str})
                .to_dict(orient="records")
            )
            fair = result.fairness(task, by=attr, min_support=min_support)
            entry[f"fairness_by_{attr}"] = fair[fair["class"] == "all"].to_dict(orient="records")
        out["tasks"][task] = entry
    if boot is not None:
        out["bootstrap"] = boot.to_dict(orient="records")
    return out


def _mappings(items: list[str], vocab: str | None) -> dict[str, Any]:
    from fairaudit.exceptions import DataValidationError
    from fairaudit.vocab import (
        FAIRFACE_VOCABULARIES,
        UTKFACE_VOCABULARIES,
        class_mapping_from_spec,
    )

    vocabularies = UTKFACE_VOCABULARIES if vocab == "utkface" else FAIRFACE_VOCABULARIES
    mappings = {}
    for item in items:
        task, sep, spec = item.partition("=")
        if not sep or task not in vocabularies:
            raise DataValidationError(
                f"--map {item!r}: expected TASK=SPEC with TASK in {list(vocabularies)}"
            )
        mappings[task] = class_mapping_from_spec(spec, target=vocabularies[task])
    return mappings


def _use_dask(args: argparse.Namespace) -> bool:
    """Whether ``--predictions`` goes through the Dask path (flag, glob or folder)."""
    import os

    path = args.predictions
    return bool(
        args.dask
        or args.scheduler
        or args.workers
        or any(c in path for c in "*?[")
        or os.path.isdir(path)
    )


@contextlib.contextmanager
def _quiet_dask(*, verbose: bool) -> Iterator[None]:
    """Keep dask.distributed's INFO chatter (cluster start and stop, and the closed
    connection it logs with a traceback at shutdown) off stderr, in this process and in
    the worker processes it starts, for the duration; ``fairaudit -v`` keeps it."""
    import logging
    import os

    if verbose:
        yield
        return
    logger = logging.getLogger("distributed")
    saved = os.environ.get(_DASK_LOG_VARIABLE), logger.level
    # read by distributed when it is imported, here and in the workers (inherited)
    os.environ[_DASK_LOG_VARIABLE] = "error"
    logger.setLevel(logging.ERROR)  # if it is already imported
    try:
        yield
    finally:
        if saved[0] is None:
            os.environ.pop(_DASK_LOG_VARIABLE, None)
        else:
            os.environ[_DASK_LOG_VARIABLE] = saved[0]
        logger.setLevel(saved[1])


@python_strings
def run_audit(args: argparse.Namespace) -> int:
    """Run the audit and print it; returns the exit status."""
    if args.result:
        from fairaudit.model_audit import AuditResult

        result = AuditResult.load(args.result)
    elif _use_dask(args):
        from fairaudit.model_audit import audit_parquet

        if args.exclude:
            raise DataValidationError(
                "--exclude is not supported for Dask logs yet: audit one table without --dask"
            )

        with _quiet_dask(verbose=getattr(args, "verbose", False)):
            result = audit_parquet(
                args.predictions,
                args.labels,
                scheduler=args.scheduler,
                on=args.on,
                tasks=args.vocab,
                attributes=args.by,
                unmatched=args.unmatched,
                missing=args.missing,
                mappings=_mappings(args.map, args.vocab),
                coding=codings_from_args(args.coding),
                label_repairs=repairs_from_args(args.repair),
                progress=not args.quiet,
                **({} if args.workers is None else {"n_workers": args.workers}),
                description=args.description
                or f"predictions {args.predictions}, labels {args.labels}",
            )
        if args.model:
            result.metadata["model"] = args.model
    else:
        from fairaudit.model_audit import audit_table as _audit_table

        predictions: Any = args.predictions
        on = args.on
        if args.format == "fairface":
            from fairaudit.model_audit import read_fairface_predictions

            predictions = read_fairface_predictions(args.predictions, prefix=args.key_prefix)
            on = "file"
        if args.exclude:
            from fairaudit.attributes._label_quality import exclude_suspect_rows

            predictions, excluded = exclude_suspect_rows(predictions, args.exclude, on=on)
            print(
                f"leaving out {excluded['left_out']:,} suspect row(s) of {args.exclude} "
                f"(status {excluded['status']!r}; {excluded['already_left_out']:,} already "
                "left out for their own status)",
                file=sys.stderr,
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _audit_table(
                predictions,
                args.labels,
                on=on,
                tasks=args.vocab,
                attributes=args.by,
                unmatched=args.unmatched,
                missing=args.missing,
                mappings=_mappings(args.map, args.vocab),
                coding=codings_from_args(args.coding),
                label_repairs=repairs_from_args(args.repair),
                model=args.model,
                description=args.description
                or f"predictions {args.predictions}, labels {args.labels}",
                chunk_rows=args.chunk_rows,
            )
        for warning in caught:
            if issubclass(warning.category, UserWarning):
                print(f"warning: {warning.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        if args.format == "fairface":
            result.metadata["data"]["predictions"] = str(args.predictions)
    if args.output:
        path = result.save(args.output)
    boot = None
    if args.resamples:
        boot = result.bootstrap(n_resamples=args.resamples, random_state=args.seed)
    if args.json == _JSON_SWITCH:
        deprecation_warning("fairaudit audit", "--json without a PATH", "--json -")
        args.json = "-"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small slices are marked in the 'status' columns
        if args.json:
            write_json(_summary(result, min_support=args.min_support, boot=boot), args.json)
        if args.json != "-":
            _print_tables(result, min_support=args.min_support, boot=boot)
            if result.tasks and result.attributes:
                from fairaudit.report import terminal_summary

                # the three best-supported disparities per task, after the tables
                print(
                    "\n" + terminal_summary(result, min_support=args.min_support), file=sys.stderr
                )
    if args.output:
        print(f"saved audit to {path}")
    if args.json and args.json != "-":
        print(f"wrote {args.json}")
    return 0


def _print_tables(result: AuditResult, *, min_support: int, boot: pd.DataFrame | None) -> None:
    print(repr(result))
    join = result.metadata.get("join")
    if join:
        print(
            f"join on {join['key']!r}: {join['matched_rows']} matched, "
            f"{join['unmatched_prediction_rows']} prediction row(s) without labels (left out), "
            f"{join['labels_without_prediction']} label row(s) without predictions"
        )
    left_out = result.metadata.get("left_out") or {}
    for status, n in (left_out.get("status") or {}).items():
        print(f"left out: {n} prediction row(s) with status {status!r}")
    for repair in result.metadata.get("repairs") or []:
        print(
            f"repaired {repair['column']}: {repair['from']!r} -> {repair['to']!r} in "
            f"{repair['n_rows']} row(s) of {repair['source']}"
        )
    attrs = list(result.attributes)
    cols = ["support", "accuracy", "balanced_accuracy", "f1_macro", "status"]
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for task in result.tasks:
            print(f"\n=== {task} ===")
            print(
                result.metrics(task, min_support=min_support)[cols].round(4).to_string(index=False)
            )
            for attr in attrs:
                print(f"\n{task} by {attr}:")
                frame = result.metrics(task, by=attr, min_support=min_support)
                print(frame[[attr, *cols]].round(4).to_string(index=False))
            others = [a for a in attrs if a != task]
            if len(others) >= 2:
                print(f"\n{task} accuracy across {others[0]} x {others[1]}:")
                print(result.table(task, rows=others[0], columns=others[1]).round(3).to_string())
            for attr in attrs:
                fair = result.fairness(task, by=attr, min_support=min_support)
                fair = fair[fair["class"] == "all"]
                print(f"\n{task} fairness between {attr} groups:")
                keep = ["metric", "from_class", "value", "low_group", "high_group", "n_groups"]
                print(fair[keep].round(4).to_string(index=False))
            if task in result.calibration_sums:
                print(f"\n{task} calibration:")
                print(
                    result.calibration(task, min_support=min_support)
                    .round(4)
                    .to_string(index=False)
                )
    if boot is not None:
        print("\nbootstrap intervals (gaps between groups, class 'all'):")
        gaps = boot[(boot["group"] == "all") & (boot["class"] == "all")]
        print(gaps.round(4).to_string(index=False))
