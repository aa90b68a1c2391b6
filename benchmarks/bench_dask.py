"""Benchmark: rows per second of the Dask audit of Parquet logs vs the in-memory engine.

For each size, a prediction log of ``n`` rows (true labels inline, predicted labels
and gender probabilities, FairFace vocabularies, categorical columns) is generated
as Parquet files of ``--rows-per-file`` rows in a temporary folder. Then:

- the Dask path: ``dask.dataframe.read_parquet`` on the glob, audited partition by
  partition on a ``dask.distributed`` local cluster of ``--workers`` processes
  (1 thread each; cluster start-up timed apart, the audit including the reads);
- the in-memory engine: ``pandas.read_parquet`` of the whole folder, then
  ``audit_table`` (read and audit timed apart), up to ``--max-in-memory`` rows;
- a check that the count tensors are equal.

Usage::

    python benchmarks/bench_dask.py                                 # 1e7 3e7 1e8 rows
    python benchmarks/bench_dask.py --sizes 200000 --rows-per-file 50000   # smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.model_audit import audit_dask_distributed, audit_table
from fairaudit.vocab import FAIRFACE_VOCABULARIES

TASKS = ("gender", "age", "race")


def write_log(folder: Path, n: int, rows_per_file: int, seed: int = 0) -> int:
    """Write ``n`` rows of predictions as Parquet files; returns the number of files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_files = 0
    for start in range(0, n, rows_per_file):
        m = min(rows_per_file, n - start)
        columns = {}
        for task in TASKS:
            classes = list(FAIRFACE_VOCABULARIES[task].classes)
            c = len(classes)
            true = rng.integers(0, c, m, dtype=np.int8)
            pred = np.where(rng.random(m) < 0.8, true, rng.integers(0, c, m, dtype=np.int8))
            columns[task] = pd.Categorical.from_codes(true, classes)
            columns[f"{task}_pred"] = pd.Categorical.from_codes(pred, classes)
        p = rng.random(m)
        male = columns["gender_pred"].codes == 0  # the predicted class is the most probable
        p = np.where(male, np.maximum(p, 1.0 - p), np.minimum(p, 1.0 - p))
        columns["gender_prob_Male"] = p
        columns["gender_prob_Female"] = 1.0 - p
        pd.DataFrame(columns).to_parquet(folder / f"part-{n_files:05d}.parquet", index=False)
        n_files += 1
    return n_files


def bench_dask(folder: Path, client) -> tuple[float, object]:
    import dask.dataframe as dd

    start = time.perf_counter()
    frame = dd.read_parquet(str(folder / "*.parquet"))
    result = audit_dask_distributed(
        frame, client=client, tasks=dict(FAIRFACE_VOCABULARIES), progress=False
    )
    return time.perf_counter() - start, result


def bench_memory(folder: Path) -> tuple[float, float, object]:
    start = time.perf_counter()
    table = pd.read_parquet(folder)
    read = time.perf_counter() - start
    start = time.perf_counter()
    result = audit_table(table, tasks=dict(FAIRFACE_VOCABULARIES))
    return read, time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e7, 3e7, 1e8])
    parser.add_argument("--rows-per-file", type=int, default=2_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--max-in-memory",
        type=float,
        default=3e7,
        help="largest size also audited in memory (default: 3e7 rows)",
    )
    parser.add_argument("--tmp", default=None, help="folder for the generated logs")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    startup = time.perf_counter() - start
    print(f"local cluster: {args.workers} worker processes x 1 thread, started in {startup:.1f} s")
    print(f"cpu cores on this machine: {os.cpu_count()}")
    header = (
        f"{'rows':>12} {'files':>6} {'write s':>8} {'dask s':>8} {'dask rows/s':>12} "
        f"{'read s':>7} {'memory s':>9} {'memory rows/s':>14} {'equal':>6}"
    )
    print(header)
    try:
        for size in args.sizes:
            n = int(size)
            folder = Path(tempfile.mkdtemp(prefix="bench_dask_", dir=args.tmp))
            try:
                t0 = time.perf_counter()
                n_files = write_log(folder, n, args.rows_per_file)
                written = time.perf_counter() - t0
                dask_s, dask_result = bench_dask(folder, client)
                line = f"{n:>12,} {n_files:>6} {written:>8.1f} {dask_s:>8.1f} {n / dask_s:>12,.0f}"
                if n <= args.max_in_memory:
                    read_s, mem_s, mem_result = bench_memory(folder)
                    equal = all(
                        np.array_equal(dask_result.counts[t], mem_result.counts[t]) for t in TASKS
                    )
                    line += (
                        f" {read_s:>7.1f} {mem_s:>9.1f} {n / (read_s + mem_s):>14,.0f} "
                        f"{str(equal):>6}"
                    )
                    if not equal:
                        raise SystemExit("the Dask and in-memory counts differ")
                else:
                    line += f" {'-':>7} {'-':>9} {'(skipped)':>14} {'-':>6}"
                print(line, flush=True)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
