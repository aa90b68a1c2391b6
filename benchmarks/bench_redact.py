"""Benchmark: redaction time (``fairaudit redact``) against the number of cells.

The audits: seeded synthetic FairFace-like audits of gender x age x race (126 cells),
crossed with a made-up ``site`` attribute of 3 values (378 cells) and of 12 values
(1,512 cells); 20,000 rows per audit by default, drawn with uneven cell shares so
that many cells hold 1 to K - 1 people; the three tasks' true labels are the
attributes, the model right 80% of the time. No model runs.

Printed per audit: cells, hidden counts checked (targets), groupings published, the
narrowest exact interval, the programmes solved (linear, integer), the hidden counts
settled by moves from the truth (``moved``), and the wall time of
:func:`fairaudit.publish.redact_audit`. Target (issue 26): 126 cells in seconds,
1,512 cells in under a minute.

Usage::

    python benchmarks/bench_redact.py                 # K = 10, 20,000 rows
    python benchmarks/bench_redact.py --min-count 20 --rows 50000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fairaudit.model_audit import AuditResult
from fairaudit.publish import redact_audit
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER, Vocabulary


def synthetic_audit(n_sites: int, *, rows: int, seed: int = 0) -> AuditResult:
    """A seeded audit whose attributes are the three tasks' true labels (and sites)."""
    rng = np.random.default_rng(seed)
    attributes = {"gender": GENDER, "age": FAIRFACE_AGE, "race": FAIRFACE_RACE}
    if n_sites:
        attributes["site"] = Vocabulary("site", tuple(f"s{i}" for i in range(n_sites)))
    shape = tuple(len(v) for v in attributes.values())
    share = rng.dirichlet(np.full(int(np.prod(shape)), 0.7))
    z = rng.multinomial(rows, share)
    index = np.unravel_index(np.arange(z.size), shape)
    counts = {}
    for axis, task in enumerate(("gender", "age", "race")):
        n_classes = shape[axis]
        cm = np.zeros((z.size, n_classes, n_classes), dtype=np.int64)
        for cell, n in enumerate(z):
            true = index[axis][cell]
            hits = rng.binomial(n, 0.8)
            cm[cell, true, true] = hits
            wrong = rng.multinomial(n - hits, np.full(n_classes - 1, 1 / (n_classes - 1)))
            cm[cell, true, [c for c in range(n_classes) if c != true]] = wrong
        counts[task] = cm
    tasks = {task: attributes[task] for task in ("gender", "age", "race")}
    return AuditResult(tasks=tasks, attributes=attributes, counts=counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-count", type=int, default=10)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--sites", type=int, nargs="+", default=[0, 3, 12])
    args = parser.parse_args()
    for n_sites in args.sites:
        audit = synthetic_audit(n_sites, rows=args.rows)
        start = time.perf_counter()
        published = redact_audit(audit, min_count=args.min_count)
        elapsed = time.perf_counter() - start
        protection = published.metadata["protection"]
        print(
            f"{int(np.prod(audit.shape)):>5} cells  K={args.min_count}  "
            f"targets {protection['targets']:>5}  "
            f"published {len(protection['published_groupings']):>2}  "
            f"narrowest {protection['narrowest_interval']}  "
            f"programmes {protection['programmes']}  "
            f"{elapsed:7.2f} s"
        )


if __name__ == "__main__":
    main()
