"""Benchmark: the count-tensor audit engine against its floor and fairlearn's MetricFrame.

For each size, 126 intersectional slices (gender x age x race) and all three tasks:

- the engine: ``audit_predictions`` of the codes, then per task the per-slice accuracy
  (``AuditResult.metrics``, the whole table) and the confusion matrices
  (``AuditResult.grouped_counts``);
- the floor: the same counting in bare numpy from the same int8 codes, one
  ``np.bincount`` per task over the joint codes ``(cell * C + true) * C + pred`` (the
  cell ``(gender * 9 + age) * 7 + race``), with no validation and no table;
- the ratio engine / floor against the targets of issue 30 (<= 5x at 10^5 rows,
  <= 2x at 10^6, <= 1.5x at 10^7), and whether the engine's counts equal the floor's
  (and its accuracies the floor's ``trace / n``) exactly;
- fairlearn's ``MetricFrame`` on the same work, with the speed-up and the agreement
  of the numbers, up to ``--fairlearn-max`` rows (10^6: at 10^7 it takes minutes);
- peak memory of the engine (tracemalloc, numpy allocations included, separate run).

Times are CPU seconds of this process (``time.process_time``; the work is
single-threaded), the median of interleaved engine and floor runs (21 at 10^5, 7 at
10^6, 3 at 10^7), so both see the same load of a shared machine; each timed run
follows an untimed run of the same code. The load average is printed. Then 1,000
multinomial bootstrap replicates of all slices.

Usage::

    python benchmarks/bench_audit_engine.py                       # 1e5 1e6 1e7
    python benchmarks/bench_audit_engine.py --sizes 100000 --bootstrap 100   # smoke run
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from fairaudit.model_audit import audit_predictions

SIZES = {"gender": 2, "age": 9, "race": 7}


def make_codes(n: int, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    y_true = {t: rng.integers(0, c, n, dtype=np.int8) for t, c in SIZES.items()}
    y_pred = {
        t: np.where(rng.random(n) < 0.8, y_true[t], rng.integers(0, c, n, dtype=np.int8))
        for t, c in SIZES.items()
    }
    return y_true, y_pred


def _engine_tables(y_true: dict, y_pred: dict) -> dict:
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            t: (
                result.metrics(t, by=("gender", "age", "race"))["accuracy"].to_numpy(),
                result.grouped_counts(t, by=("gender", "age", "race")).reshape(
                    126, SIZES[t], SIZES[t]
                ),
            )
            for t in SIZES
        }


#: Issue 30's bound on engine / floor at each size (CPU time).
TARGETS = {100_000: 5.0, 1_000_000: 2.0, 10_000_000: 1.5}


def floor_counts(y_true: dict, y_pred: dict) -> dict:
    """The engine's counting in bare numpy: one bincount per task over the joint codes."""
    cell = (y_true["gender"].astype(np.int64) * SIZES["age"] + y_true["age"]) * SIZES[
        "race"
    ] + y_true["race"]
    n_cells = SIZES["gender"] * SIZES["age"] * SIZES["race"]
    out = {}
    for t, c in SIZES.items():
        joint = (cell * c + y_true[t]) * c + y_pred[t]
        out[t] = np.bincount(joint, minlength=n_cells * c * c).reshape(n_cells, c, c)
    return out


def _cpu(fn, *args) -> tuple[float, object]:
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def run_engine_and_floor(
    y_true: dict, y_pred: dict, *, repeats: int
) -> tuple[float, float, float, dict, dict]:
    """Median CPU seconds of the engine and of the floor (interleaved runs), the engine's
    peak memory in one traced run, and the last tables of both.

    Time and memory come from separate runs: tracemalloc slows every numpy
    allocation, so timing under it would understate the engine's speed.
    """
    # glibc serves large arrays by mmap until one of that size is freed, and the
    # threshold only grows: which code ran before decides whether the floor's arrays
    # need fresh pages (2x at 10^5 rows). Freeing a 30 MiB array first puts the engine
    # and the floor on the same footing (arrays under 30 MiB reuse the heap).
    np.ones(30 * 2**20, dtype=np.uint8)  # allocated, touched and freed
    warm = make_codes(1000, seed=1)  # warm-up: imports, first-call costs
    _engine_tables(*warm)
    floor_counts(*warm)
    engine_times, floor_times = [], []
    for _ in range(repeats):
        # each timed run right after an untimed one of the same code: the allocator's
        # state (pages already mapped or not) then comes from that code alone, not
        # from the other one, which can shift the floor at 10^5 rows by 2x
        _engine_tables(y_true, y_pred)
        t_engine, out = _cpu(_engine_tables, y_true, y_pred)
        floor_counts(y_true, y_pred)
        t_floor, floor = _cpu(floor_counts, y_true, y_pred)
        engine_times.append(t_engine)
        floor_times.append(t_floor)
    tracemalloc.start()
    _engine_tables(y_true, y_pred)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (
        statistics.median(engine_times),
        statistics.median(floor_times),
        peak,
        out,
        floor,
    )


def equals_floor(engine: dict, floor: dict) -> bool:
    """The engine's counts are the floor's, and its accuracies the floor's trace / n."""
    for t in SIZES:
        acc, cms = engine[t]
        counts = floor[t]
        n = counts.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            floor_acc = np.where(n > 0, np.trace(counts, axis1=1, axis2=2) / n, np.nan)
        if not np.array_equal(cms, counts) or not np.array_equal(acc, floor_acc, equal_nan=True):
            return False
    return True


def run_metricframe(y_true: dict, y_pred: dict) -> tuple[float, dict]:
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score, confusion_matrix

    start = time.process_time()
    sf = pd.DataFrame({a: y_true[a] for a in SIZES})
    out = {}
    for t, c in SIZES.items():
        frame = MetricFrame(
            metrics={
                "accuracy": accuracy_score,
                "cm": functools.partial(confusion_matrix, labels=list(range(c))),
            },
            y_true=y_true[t],
            y_pred=y_pred[t],
            sensitive_features=sf,
        )
        out[t] = frame.by_group
    return time.process_time() - start, out


def agree(engine: dict, fair: dict) -> bool:
    for t in SIZES:
        acc, cms = engine[t]
        by_group = fair[t]
        for (g, a, r), row in by_group.iterrows():
            i = (int(g) * 9 + int(a)) * 7 + int(r)
            if not np.isclose(acc[i], row["accuracy"]) or not np.array_equal(cms[i], row["cm"]):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument(
        "--fairlearn-max",
        type=float,
        default=1e6,
        help="skip MetricFrame above this many rows (it takes minutes)",
    )
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--bootstrap-rows", type=float, default=1e6)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (at start)")
    print("CPU seconds (time.process_time), medians of interleaved engine and floor runs\n")
    print(
        f"{'rows':>10} {'engine s':>9} {'floor s':>9} {'ratio':>6} {'target':>7} {'met':>4} "
        f"{'counts=':>7} {'MetricFrame s':>14} {'speed-up':>9} {'agree':>6} {'peak MiB':>9}"
    )
    for size in args.sizes:
        n = int(size)
        y_true, y_pred = make_codes(n)
        repeats = max(3, min(21, round(7e6 / n)))
        t_engine, t_floor, peak, engine, floor = run_engine_and_floor(
            y_true, y_pred, repeats=repeats
        )
        ratio = t_engine / t_floor
        target = TARGETS.get(n)
        target_text = f"{target:6.1f}x" if target else f"{'-':>7}"
        met = ("yes" if ratio <= target else "NO") if target else "-"
        same = "yes" if equals_floor(engine, floor) else "NO"
        if n <= args.fairlearn_max:
            t_fair, fair = run_metricframe(y_true, y_pred)
            ok = "yes" if agree(engine, fair) else "NO"
            fair_text, speedup = f"{t_fair:14.2f}", f"{t_fair / t_engine:8.0f}x"
        else:
            fair_text, speedup, ok = f"{'skipped':>14}", f"{'-':>9}", "-"
        print(
            f"{n:>10} {t_engine:9.4f} {t_floor:9.4f} {ratio:5.2f}x {target_text} {met:>4} "
            f"{same:>7} {fair_text} {speedup} {ok:>6} {peak / 2**20:9.1f}"
        )
    if args.fairlearn_max < max(args.sizes):
        print(
            f"(MetricFrame timed up to {int(args.fairlearn_max):,} rows only: above, it takes "
            "minutes)"
        )
    if args.bootstrap:
        n = int(args.bootstrap_rows)
        y_true, y_pred = make_codes(n, seed=1)
        result = audit_predictions(y_true=y_true, y_pred=y_pred)
        start = time.perf_counter()
        boot = result.bootstrap(n_resamples=args.bootstrap, random_state=0, progress=False)
        elapsed = time.perf_counter() - start
        print(
            f"bootstrap: {args.bootstrap} replicates, {n} rows, all slices of every grouping "
            f"(incl. 126 cells), 3 tasks: {elapsed:.2f} s wall, {len(boot)} intervals"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
