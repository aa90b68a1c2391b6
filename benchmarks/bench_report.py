"""Benchmark: the HTML bias report of a FairFace-val-sized audit (render time, file size).

The audit: the labels of the 5,000 FairFace val images of the shared data (the
first 5,000 rows of ``fairface_label_val.csv``; without the shared data, 5,000
labels drawn from FairFace val's embedded counts) with seeded synthetic
predictions and probabilities for the three tasks. No model runs.

Printed: the report's render time (median of ``--repeat`` runs, 1,000 bootstrap
replicates by default; wall clock and this process's CPU time) and file size, the
time spent in the bootstrap alone, and the same for the reference: a plain
``pandas.DataFrame.to_html`` dump of the report's tables (the same audit calls and
the same bootstrap, no styling), with the ratios; then the demo (``fairaudit demo``:
two model reports and the comparison of the shipped audits, comparison included).
Targets (issue 14): the report in <= 1.5 s and <= 2 MB, the demo in <= 4 s. The
machine's load average is printed too: on a busy machine every wall time grows with
it, the CPU times much less.

Usage::

    python benchmarks/bench_report.py                 # 1,000 replicates, 3 runs
    python benchmarks/bench_report.py --resamples 100 --repeat 1   # smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.model_audit import AuditResult, audit_predictions
from fairaudit.report import render_report
from fairaudit.report._render import default_heatmaps, task_random_state
from fairaudit.vocab import FAIRFACE_VOCABULARIES

VAL_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/fairface/labels"
VAL_CSV = VAL_CSV / "fairface_label_val.csv"
TASKS = ("gender", "age", "race")


def fairface_val_labels(n: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """The first ``n`` FairFace val labels, or ``n`` labels drawn from its counts."""
    if VAL_CSV.is_file():
        table = pd.read_csv(VAL_CSV, nrows=n)
        return table[list(TASKS)].astype(str), f"FairFace val ({VAL_CSV}, first {n:,} rows)"
    from fairaudit.dataset_audit import fairface_label_counts

    counts = fairface_label_counts(split="val").to_frame()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(counts), size=n, p=counts["count"] / counts["count"].sum())
    table = counts.iloc[picks][list(TASKS)].astype(str).reset_index(drop=True)
    return table, f"{n:,} labels drawn from FairFace val's embedded counts"


def synthetic_audit(labels: pd.DataFrame, description: str, seed: int = 0) -> AuditResult:
    """Seeded predictions (70-90% right, worse for some groups) and softmax probabilities."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    race = FAIRFACE_VOCABULARIES["race"].encode(labels["race"])
    y_pred, y_proba = {}, {}
    for task in TASKS:
        vocab = FAIRFACE_VOCABULARIES[task]
        codes = vocab.encode(labels[task])
        right = rng.random(n) < 0.9 - 0.05 * (race % 4)
        pred = np.where(right, codes, rng.integers(0, len(vocab), n))
        logits = rng.normal(size=(n, len(vocab)))
        logits[np.arange(n), pred] += 2.5
        proba = np.exp(logits)
        y_proba[task] = proba / proba.sum(axis=1, keepdims=True)
        y_pred[task] = np.asarray(vocab.classes)[pred]
    return audit_predictions(
        y_true={t: labels[t] for t in TASKS},
        y_pred=y_pred,
        y_proba=y_proba,
        description=description + " with synthetic predictions",
    )


def plain_dump(audit: AuditResult, *, n_resamples: int, seed: int) -> str:
    """The reference: the report's tables from the same audit calls, as bare to_html."""
    attributes = list(audit.attributes)
    heatmaps = default_heatmaps(audit)
    tables: list[pd.DataFrame] = []
    for i, task in enumerate(audit.tasks):
        by = [(), *[(a,) for a in attributes]]  # the report's bootstrap groupings
        tables.append(
            audit.bootstrap(
                n_resamples=n_resamples,
                tasks=[task],
                by=by,
                random_state=task_random_state(seed, i),
                progress=False,
            )
        )
        tables.append(audit.metrics(task))
        tables.append(audit.per_class(task))
        tables.append(audit.metrics(task, by=tuple(attributes)))
        tables.append(audit.confusion_matrix(task))
        tables.append(audit.confusion_matrix(task, by="gender"))
        for rows, columns in heatmaps[task]:
            tables.append(audit.table(task, rows=rows, columns=columns))
            tables.append(audit.metrics(task, by=(rows, columns)))
        for attribute in attributes:
            tables.append(audit.metrics(task, by=attribute))
            tables.append(audit.fairness(task, by=attribute))
            tables.append(audit.significance(task, by=attribute))
            tables.append(audit.disparate_impact(task, by=attribute))
            if task in audit.calibration_sums:
                tables.append(audit.calibration(task, by=attribute))
    from fairaudit.dataset_audit import LabelCounts, audit_dataset
    from fairaudit.vocab import Vocabulary

    first = next(iter(audit.counts.values()))
    counts = LabelCounts(
        first.sum(axis=(-2, -1)).reshape(audit.shape),
        tuple(Vocabulary(a, v.classes, v.ordered) for a, v in audit.attributes.items()),
    )
    data = audit_dataset(counts, attributes=attributes)
    tables += [data.distribution(a) for a in attributes]
    tables += [data.imbalance(), data.cells()]
    tables += [data.joint(list(pair)) for pair in combinations(attributes, 2)]
    return "\n".join(table.to_html() for table in tables)


def _median_time(function, repeat: int, cpu: list | None = None) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls (and, into ``cpu``, the median CPU time)."""
    times, cpu_times, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return statistics.median(times), result


def demo_run(output: Path) -> float:
    """The demo as ``fairaudit demo`` renders it (audits loaded once, outside the timing)."""
    from fairaudit.demo import load_demo_audits, run_demo

    audits = load_demo_audits()
    start = time.perf_counter()
    run_demo(output, audits=audits)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo's timing")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    labels, description = fairface_val_labels()
    audit = synthetic_audit(labels, description)
    print(f"audit: {audit!r}; {description}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")

    def bootstrap_only():
        # the report's groupings: overall and each attribute (pair cells: Wilson intervals)
        for i, task in enumerate(audit.tasks):
            audit.bootstrap(
                n_resamples=args.resamples,
                tasks=[task],
                by=[(), *[(a,) for a in audit.attributes]],
                random_state=task_random_state(0, i),
                progress=False,
            )

    boot_s, _ = _median_time(bootstrap_only, args.repeat)
    cpu: list[float] = []
    report_s, html = _median_time(
        lambda: render_report(audit, n_resamples=args.resamples), args.repeat, cpu
    )
    plain_s, plain = _median_time(
        lambda: plain_dump(audit, n_resamples=args.resamples, seed=0), args.repeat
    )
    size = len(html.encode("utf-8"))
    plain_size = len(plain.encode("utf-8"))
    if args.output:
        args.output.write_text(html, encoding="utf-8")
    print(f"bootstrap alone ({args.resamples:,} replicates, 3 tasks): {boot_s:.2f} s")
    print(
        f"report: {report_s:.2f} s (CPU {cpu[0]:.2f} s), {size / 1e6:.2f} MB ({size:,} bytes)"
        f"; target <= 1.5 s, <= 2 MB"
    )
    print(f"plain to_html dump of the same tables: {plain_s:.2f} s, {plain_size / 1e6:.2f} MB")
    print(
        f"ratio report / plain dump: time x{report_s / plain_s:.2f}, size x{size / plain_size:.2f}"
    )
    if not args.no_demo:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            demo_times = [demo_run(Path(folder)) for _ in range(args.repeat)]
            sizes = {p.name: p.stat().st_size for p in sorted(Path(folder).glob("*.html"))}
        print(
            "demo (2 model reports + the comparison, 1,000 replicates): "
            f"{statistics.median(demo_times):.2f} s; target <= 4 s; "
            + ", ".join(f"{name} {n / 1e6:.2f} MB" for name, n in sizes.items())
        )
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
