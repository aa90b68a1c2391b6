"""Benchmark: peak memory and time of a file audit read at once vs in chunks.

For each size ``n`` a synthetic prediction log (key ``file``, predicted gender, age
and race, gender probabilities, 1% of rows with status ``no_face``) and its labels
table (``file``, gender, age, race; the rows in another order) are written to a
temporary folder, the predictions as CSV and as Parquet (row groups of 1,000,000
rows), the labels as CSV. Each audit then runs in a child process of its own:

- at once: ``audit_table(predictions, labels, chunk_rows=0)`` (the whole table read);
- in chunks: ``audit_table(predictions, labels, chunk_rows=--chunk-rows)``.

The peak resident memory of each child (``ru_maxrss`` from ``os.wait4``, which covers
Python, pandas and pyarrow allocations alike) and its wall time are printed, and the
count tensors of the two audits of the same file are checked equal.

Usage::

    python benchmarks/bench_audit_memory.py                     # 1e6 and 1e7 rows
    python benchmarks/bench_audit_memory.py --sizes 1000000 --formats csv
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.vocab import FAIRFACE_VOCABULARIES

TASKS = ("gender", "age", "race")
BLOCK = 1_000_000


def write_tables(folder: Path, n: int, *, formats: list[str], seed: int = 0) -> dict[str, Path]:
    """Write ``n`` rows of predictions (per format) and their labels, block by block."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    paths = {fmt: folder / f"predictions_{n}.{fmt}" for fmt in formats}
    paths["labels"] = folder / f"labels_{n}.csv"
    writer = None
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        ids = np.arange(start, start + m)
        files = pd.Series([f"img/{i:09d}.jpg" for i in ids], dtype=object)
        labels = {"file": files}
        preds: dict[str, object] = {"file": files}
        for task in TASKS:
            classes = np.array(FAIRFACE_VOCABULARIES[task].classes, dtype=object)
            true = rng.integers(0, len(classes), m)
            pred = np.where(rng.random(m) < 0.8, true, rng.integers(0, len(classes), m))
            labels[task] = classes[true]
            preds[f"{task}_pred"] = classes[pred]
        p = rng.random(m)
        male = preds["gender_pred"] == "Male"  # the predicted class is the most probable
        p = np.round(np.where(male, np.maximum(p, 1.0 - p), np.minimum(p, 1.0 - p)), 4)
        preds["gender_prob_Male"] = p
        preds["gender_prob_Female"] = np.round(1.0 - p, 4)
        preds["status"] = np.where(rng.random(m) < 0.01, "no_face", "ok")
        frame = pd.DataFrame(preds)
        label_frame = pd.DataFrame(labels).iloc[rng.permutation(m)]
        header = start == 0
        label_frame.to_csv(paths["labels"], mode="w" if header else "a", header=header, index=False)
        if "csv" in paths:
            frame.to_csv(paths["csv"], mode="w" if header else "a", header=header, index=False)
        if "parquet" in paths:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(paths["parquet"], table.schema)
            writer.write_table(table, row_group_size=BLOCK)
    if writer is not None:
        writer.close()
    return paths


def child(predictions: str, labels: str, chunk_rows: int, output: str) -> None:
    """The audit measured, in a process of its own; writes its time and counts."""
    import warnings

    from fairaudit.model_audit._ingest import audit_table

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = audit_table(predictions, labels, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - start
    np.savez(output, **{t: c for t, c in result.counts.items()})
    Path(output + ".json").write_text(
        json.dumps(
            {"seconds": seconds, "n_rows": result.n_rows, "left_out": result.metadata["left_out"]}
        )
    )


def measure(predictions: Path, labels: Path, chunk_rows: int, output: Path) -> dict[str, object]:
    """Run one audit in a child process: its peak resident memory, time and counts."""
    command = [
        sys.executable,
        __file__,
        "--child",
        str(predictions),
        str(labels),
        str(chunk_rows),
        str(output),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return {"failed": process.returncode, "peak_mib": usage.ru_maxrss / 1024, "wall_s": wall}
    report = json.loads(Path(str(output) + ".json").read_text())
    return {
        "peak_mib": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        "wall_s": wall,
        "audit_s": report["seconds"],
        "n_rows": report["n_rows"],
        "counts": dict(np.load(str(output) + ".npz")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--folder", help="where to write the tables (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the tables written")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="fairaudit_memory_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, pandas {pd.__version__}, {os.cpu_count()} cpus")
    print(
        f"{'rows':>10} {'format':>7} {'file MiB':>9} {'how':>18} {'peak MiB':>9} "
        f"{'audit s':>8} {'wall s':>7}  same counts"
    )
    try:
        for n in args.sizes:
            start = time.perf_counter()
            paths = write_tables(folder, n, formats=args.formats)
            print(f"# wrote {n:,} rows in {time.perf_counter() - start:.0f} s", flush=True)
            for fmt in args.formats:
                size = paths[fmt].stat().st_size / 2**20
                runs = {}
                for how, chunk_rows in (
                    ("at once", 0),
                    (f"chunks of {args.chunk_rows:,}", args.chunk_rows),
                ):
                    out = folder / f"result_{n}_{fmt}_{chunk_rows}"
                    runs[how] = run = measure(paths[fmt], paths["labels"], chunk_rows, out)
                    same = ""
                    if len(runs) == 2 and all("counts" in r for r in runs.values()):
                        a, b = (r["counts"] for r in runs.values())
                        same = str(
                            a.keys() == b.keys() and all(np.array_equal(a[t], b[t]) for t in a)
                        )
                    if "failed" in run:
                        print(
                            f"{n:>10,} {fmt:>7} {size:>9.0f} {how:>18} {run['peak_mib']:>9.0f} "
                            f"failed (exit {run['failed']})"
                        )
                        continue
                    print(
                        f"{n:>10,} {fmt:>7} {size:>9.0f} {how:>18} {run['peak_mib']:>9.0f} "
                        f"{run['audit_s']:>8.1f} {run['wall_s']:>7.1f}  {same}",
                        flush=True,
                    )
            for path in paths.values():
                path.unlink(missing_ok=True)
    finally:
        if not args.keep and not args.folder:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main()
