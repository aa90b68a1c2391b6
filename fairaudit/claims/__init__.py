"""fairaudit.claims: the one inference layer, every verdict a reviewer reads.

Each question about an audit has one documented procedure (``docs/statistics.md``,
chosen by the simulations of ``benchmarks/bench_validity.py``), and each returns the
same parts: an estimate, an interval with its level and method, a p-value that is the
inversion of that interval (so "the interval excludes the null" and "p < alpha" are
one statement), an adjusted p-value for the family it was chosen from, a verdict, and
the smallest effect the data could have detected:

- a group's rate: :func:`rate_interval` (exact, Clopper-Pearson);
- a gap across groups: :class:`GapInference` (Newcombe for every pair of groups and
  every group against the rest, Bonferroni over them and the classes; ratios: Wilson
  per group, Bonferroni);
- a slice against the rest: :func:`slice_claims` (one-sided inversion of the exact
  square-and-add interval, Benjamini-Hochberg, FCR-adjusted intervals);
- a change between versions: :func:`rate_change`, :func:`paired_rate_change`,
  :func:`gap_change_interval`;
- a threshold verdict: :func:`threshold_verdict`;
- a group's calibration: ``_calibration.calibration_claims`` (exact interval of each
  confidence bin's accuracy, Bonferroni over the bins; the ECE's interval and whether
  accuracy differs from confidence), shown by the report's calibration tables;
- families: :func:`fdr_select` (Benjamini-Hochberg with the false-coverage level).

Everything here is a pure function of counts from :mod:`fairaudit.functional`;
findings, reports, comparisons, the gate and the exports show these claims.
"""

from fairaudit.claims._changes import paired_rate_change, rate_change
from fairaudit.claims._gaps import GapInference
from fairaudit.claims._levels import fdr_select
from fairaudit.claims._rates import rate_interval
from fairaudit.claims._slices import slice_claims
from fairaudit.claims._thresholds import threshold_verdict

__all__ = [
    "GapInference",
    "fdr_select",
    "paired_rate_change",
    "rate_change",
    "rate_interval",
    "slice_claims",
    "threshold_verdict",
]
