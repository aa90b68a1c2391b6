"""Benchmark: the count-tensor audit engine vs fairlearn's MetricFrame.

For each size, 126 intersectional slices (gender x age x race) and all three
tasks: per-group accuracy and confusion matrices from the engine and from
MetricFrame, the speed-up, a check that the numbers agree, and peak memory
(tracemalloc, numpy allocations included). Then 1,000 multinomial bootstrap
replicates of all slices.

Usage::

    python benchmarks/bench_audit_engine.py                       # 1e5 1e6 1e7
    python benchmarks/bench_audit_engine.py --sizes 100000 --bootstrap 100   # smoke run
"""

from __future__ import annotations

import argparse
import functools
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


def run_engine(y_true: dict, y_pred: dict, *, repeats: int = 3) -> tuple[float, float, dict]:
    """Median wall time of ``repeats`` warm runs, then peak memory in one traced run.

    Time and memory come from separate runs: tracemalloc slows every numpy
    allocation, so timing under it would understate the engine's speed.
    """
    _engine_tables(*make_codes(1000, seed=1))  # warm-up: imports, first-call costs
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = _engine_tables(y_true, y_pred)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    _engine_tables(y_true, y_pred)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(np.median(times)), peak, out


def run_metricframe(y_true: dict, y_pred: dict) -> tuple[float, dict]:
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score, confusion_matrix

    start = time.perf_counter()
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
    return time.perf_counter() - start, out


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
    print(
        f"{'rows':>10} {'engine s':>9} {'MetricFrame s':>14} {'speed-up':>9} "
        f"{'agree':>6} {'peak MiB':>9}"
    )
    for size in args.sizes:
        n = int(size)
        y_true, y_pred = make_codes(n)
        t_engine, peak, engine = run_engine(y_true, y_pred)
        if n <= args.fairlearn_max:
            t_fair, fair = run_metricframe(y_true, y_pred)
            ok = "yes" if agree(engine, fair) else "NO"
            fair_text, ratio = f"{t_fair:14.2f}", f"{t_fair / t_engine:8.0f}x"
        else:
            fair_text, ratio, ok = f"{'skipped':>14}", f"{'-':>9}", "-"
        print(f"{n:>10} {t_engine:9.3f} {fair_text} {ratio} {ok:>6} {peak / 2**20:9.1f}")
    if args.fairlearn_max < max(args.sizes):
        print(f"(MetricFrame skipped above {int(args.fairlearn_max)} rows: it takes minutes there)")
    if args.bootstrap:
        n = int(args.bootstrap_rows)
        y_true, y_pred = make_codes(n, seed=1)
        result = audit_predictions(y_true=y_true, y_pred=y_pred)
        start = time.perf_counter()
        boot = result.bootstrap(n_resamples=args.bootstrap, random_state=0, progress=False)
        elapsed = time.perf_counter() - start
        print(
            f"bootstrap: {args.bootstrap} replicates, {n} rows, all slices of every grouping "
            f"(incl. 126 cells), 3 tasks: {elapsed:.2f} s, {len(boot)} intervals"
        )


if __name__ == "__main__":
    main()
