"""Benchmark: the CLI commands people wait for, end to end as they run (issue 30).

Each command runs in a fresh interpreter (``python -m fairaudit ...``), so imports
count, as they do for a user or a CI pipeline. Measured: the CPU time of the child
(user + system, from ``os.wait4``), median of ``--repeat`` runs, and its wall time.
On a busy machine wall times grow with the load; CPU times much less. Each command
runs once untimed first, writing the bytecode of the sources as an installed package
has it (``PYTHONDONTWRITEBYTECODE`` is dropped for the children).

- ``check``: ``fairaudit check`` of the shipped demo audit with two thresholds;
  beside it the import floor, ``python -c "import numpy, json"``.
- ``audit``: ``fairaudit audit`` of 5,000 FairFace val predictions (the committed
  predictions of the shipped model ``fairface-mobilenet_v2_face_descriptor-112``,
  ``tests/data/shipped_predictions``; seeded synthetic ones without it) joined to
  their labels (the first 5,000 rows of
  ``../shared/data/fairface/labels/fairface_label_val.csv``); skipped with a
  message when the labels are absent.
- ``report``: ``fairaudit report`` of the shipped FairFace-val audit.
- ``demo``: ``fairaudit demo`` (wall time; three reports).

Targets (issue 30): check <= 0.5 s CPU, audit <= 1.0 s CPU, report <= 1.5 s CPU,
demo <= 4 s wall.

Timings on a shared machine drift (the import floor measured 0.15 to 0.27 s CPU on
the same kind of machine within a day). ``--instructions`` also runs each command
once under ``valgrind --tool=callgrind`` and prints the instructions it executed, with
their ratio to the floor's: a count that does not depend on the machine's speed or
load (valgrind needed; about fifty times slower than the command; the demo is left out).

Usage::

    python benchmarks/bench_cli.py                    # median of 5
    python benchmarks/bench_cli.py --repeat 1         # smoke run
    python benchmarks/bench_cli.py --instructions     # and the instruction counts
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "fairaudit" / "data" / "demo"
CHECK_AUDIT = DEMO / "audit-fairface-lightweight-112.json"
REPORT_AUDIT = DEMO / "audit-fairface-mobilenet_v2-112.json"
PREDICTIONS = (
    REPO
    / "tests"
    / "data"
    / "shipped_predictions"
    / "fairface-mobilenet_v2_face_descriptor-112.csv.gz"
)
SHARED = Path(os.environ.get("FAIRAUDIT_SHARED_DATA", REPO.parent / "shared" / "data"))
VAL_LABELS = SHARED / "fairface" / "labels" / "fairface_label_val.csv"


def run_child(argv: list[str]) -> tuple[float, float]:
    """CPU (user + system) and wall seconds of one child process; it must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=_env()
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}:\n{stderr[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # bytecode as an installed package has it (pip compiles at install): without it
    # every run would compile fairaudit's sources again, a cost no user pays
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # this checkout first, whatever the installed copy points at
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def measure(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median CPU and median wall seconds of ``repeat`` runs, after an untimed one
    (which writes the bytecode and warms the file cache)."""
    run_child(argv)
    runs = [run_child(argv) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def instructions(argv: list[str]) -> int:
    """Instructions one run of ``argv`` executes, counted by ``valgrind --tool=callgrind``."""
    process = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=_env(),
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", process.stderr)
    if process.returncode != 0 or not found:
        raise RuntimeError(
            f"valgrind {' '.join(argv)} exited {process.returncode}:\n{process.stderr[-2000:]}"
        )
    return int(found.group(1))


def audit_inputs(folder: Path) -> tuple[Path, Path, str] | str:
    """The predictions and labels CSVs of the audit timing and what the predictions are,
    or why there are none."""
    if not VAL_LABELS.is_file():
        return f"no FairFace val labels at {VAL_LABELS} (../shared/data absent)"
    import numpy as np
    import pandas as pd

    labels = pd.read_csv(VAL_LABELS, nrows=5000)
    if PREDICTIONS.is_file():
        predictions = pd.read_csv(PREDICTIONS).drop(columns=["status"], errors="ignore")
        if set(predictions["file"]) != set(labels["file"]):
            return "the committed predictions are not of the first 5,000 val images"
        what = f"predictions of the shipped model ({PREDICTIONS.name})"
    else:
        # seeded synthetic predictions: each label kept with probability 0.8
        rng = np.random.default_rng(0)
        predictions = pd.DataFrame({"file": labels["file"]})
        for task in ("gender", "age", "race"):
            truth = labels[task].to_numpy()
            other = rng.choice(np.unique(truth), len(truth))
            predictions[f"{task}_pred"] = np.where(rng.random(len(truth)) < 0.8, truth, other)
        what = "seeded synthetic predictions (no committed predictions table)"
    labels_csv, predictions_csv = folder / "labels.csv", folder / "predictions.csv"
    labels.to_csv(labels_csv, index=False)
    predictions.to_csv(predictions_csv, index=False)
    return predictions_csv, labels_csv, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo's timing")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each command's instructions under valgrind (not the demo's)",
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    python = [sys.executable]
    cli = [*python, "-m", "fairaudit"]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (at start)")
    print(f"median of {args.repeat} runs; CPU = user + system of the child process\n")
    rows: list[tuple[str, float, float, str]] = []
    counted: list[tuple[str, list[str]]] = []  # (row name, argv) of the instruction counts
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor_argv = [*python, "-c", "import numpy, json"]
        floor = measure(floor_argv, args.repeat)
        rows.append(("import floor: python -c 'import numpy, json'", *floor, ""))
        counted.append((rows[-1][0], floor_argv))
        check = [
            *cli,
            "check",
            str(CHECK_AUDIT),
            "--max",
            "equalized_odds_difference=0.9",
            "--min",
            "accuracy=0.1",
        ]
        rows.append(
            ("fairaudit check (shipped demo audit)", *measure(check, args.repeat), "CPU <= 0.5 s")
        )
        counted.append((rows[-1][0], check))
        inputs = audit_inputs(folder)
        if isinstance(inputs, str):
            print(f"audit: skipped: {inputs}")
        else:
            predictions_csv, labels_csv, what = inputs
            print(f"audit: {what}")
            audit = [
                *cli,
                "audit",
                "--predictions",
                str(predictions_csv),
                "--labels",
                str(labels_csv),
                "--no-progress",
                "--output",
                str(folder / "audit.json"),
            ]
            rows.append(
                (
                    "fairaudit audit (5,000 FairFace val rows)",
                    *measure(audit, args.repeat),
                    "CPU <= 1.0 s",
                )
            )
            counted.append((rows[-1][0], audit))
        report = [*cli, "report", str(REPORT_AUDIT), "-o", str(folder / "report.html"), "--quiet"]
        rows.append(
            (
                "fairaudit report (shipped FairFace-val audit)",
                *measure(report, args.repeat),
                "CPU <= 1.5 s",
            )
        )
        counted.append((rows[-1][0], report))
        if not args.no_demo:
            demo = [*cli, "demo", "-o", str(folder / "demo"), "--no-progress"]
            rows.append(("fairaudit demo", *measure(demo, args.repeat), "wall <= 4 s"))
        counts = [(name, instructions(argv)) for name, argv in counted] if args.instructions else []
    width = max(len(r[0]) for r in rows)
    print(f"{'command':<{width}}  {'CPU s':>6}  {'wall s':>6}  {'x floor':>7}  target")
    for name, cpu, wall, target in rows:
        print(f"{name:<{width}}  {cpu:6.2f}  {wall:6.2f}  {cpu / floor[0]:7.1f}  {target}")
    if counts:
        print(f"\n{'command':<{width}}  {'instructions':>13}  {'x floor':>7}")
        for name, count in counts:
            print(f"{name:<{width}}  {count / 1e9:11.2f} G  {count / counts[0][1]:7.1f}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
