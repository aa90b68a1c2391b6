"""The demo's comparison, built as ``run_demo`` builds compare.html (paired counts)."""

from __future__ import annotations

from fairaudit.compare import Comparison, compare_audits
from fairaudit.demo import DEMO_MODELS, load_demo_audits


def demo_comparison(n_resamples: int) -> Comparison:
    """The shipped models compared on their paired demo counts, seed 0."""
    audits = load_demo_audits()
    return compare_audits(
        [audits.audits[name] for name in DEMO_MODELS],
        names=list(DEMO_MODELS),
        paired=audits.paired,
        n_resamples=n_resamples,
        random_state=0,
        progress=False,
    )
