"""Definitions of every number a report shows: the one source of the report's glossary.

Each definition states what the code computes (``fairaudit.functional``,
``fairaudit.dataset_audit``), with the notation of ``docs/metrics.md``: for a slice with
confusion matrix ``M`` (rows true, columns predicted), ``n = sum M``,
``tp_k = M[k,k]``, ``t_k`` the true rows of class ``k`` and ``p_k`` the rows
predicted as ``k``. Every registered metric (slice, class and gap) is an entry whose
definition is its spec's (:attr:`fairaudit.functional.MetricSpec.definition`), generated
from the registry: this module only places them among the other terms, and refuses to
write a definition of its own for one (checked at import). ``docs/reports.md`` lists the
same entries (a test keeps the two equal) and the report renders them in its
glossary.
"""

from __future__ import annotations

from collections.abc import Iterable

from fairaudit.dataset_audit._imbalance import IMBALANCE_STATISTICS
from fairaudit.functional._registry import METRICS

__all__ = ["GLOSSARY", "REQUIRED_TERMS", "glossary_entries"]

#: Stands for the registry's definition of a metric (:attr:`MetricSpec.definition`):
#: the glossary writes no metric's definition of its own.
_REGISTERED = None

#: Term -> definition (or :data:`_REGISTERED`), in the order the glossary shows them.
#: A registered metric not placed here follows the last placed metric of its kind.
_ENTRIES: dict[str, str | None] = {
    # ----------------------------------------------------------- slices
    "slice": (
        "A group of audited rows defined by the true classes of one or more sensitive "
        "attributes (e.g. Female, or Female & 20-29 & East Asian)."
    ),
    "support": "n: the number of audited rows in the slice (for a class: its true rows t_k).",
    "status": (
        "ok; small: fewer rows than the report's min_support, too few to judge (shown, "
        "never hidden); empty: no row, every metric undefined (n/a)."
    ),
    "accuracy": _REGISTERED,
    "error_rate": _REGISTERED,
    "balanced_accuracy": _REGISTERED,
    "precision": _REGISTERED,
    "recall": _REGISTERED,
    "f1": _REGISTERED,
    "precision_macro": _REGISTERED,
    "recall_macro": _REGISTERED,
    "f1_macro": _REGISTERED,
    "precision_weighted": _REGISTERED,
    "recall_weighted": _REGISTERED,
    "f1_weighted": _REGISTERED,
    "predicted": "p_k: the rows predicted as the class.",
    "selection_rate": _REGISTERED,
    "fpr": _REGISTERED,
    "confusion matrix": (
        "M[true, predicted] counts of the slice; a row divided by t_k (normalize='true') "
        "gives the shares drawn in the figures, recall on the diagonal."
    ),
    # --------------------------------------------------------- fairness
    "fairness gap": (
        "For a rate and a class (one-vs-rest): difference = max_g - min_g and ratio = "
        "min_g / max_g over the groups g where the rate is defined (n_groups of them; "
        "ratio 1 when every rate is 0). The summary row (class 'all') is the worst class "
        "(largest difference, smallest ratio; from_class names it); for a binary task it "
        "is the positive class (by default the second, e.g. Female), as fairlearn."
    ),
    "from_class": "The class a summary gap comes from (its worst class, or a binary task's "
    "positive class).",
    "low_group / high_group": (
        "The groups with the lowest and the highest rate behind a gap (low_value, high_value "
        "or low_rate, high_rate are their rates)."
    ),
    "n_groups": "Groups where the rate is defined (a gap needs at least 2).",
    "small_groups": "Compared groups with fewer rows than min_support.",
    "demographic_parity_difference": _REGISTERED,
    "demographic_parity_ratio": _REGISTERED,
    "disparate_impact_ratio": _REGISTERED,
    "equal_opportunity_difference": _REGISTERED,
    "equal_opportunity_ratio": _REGISTERED,
    "fpr_difference": _REGISTERED,
    "fpr_ratio": _REGISTERED,
    "equalized_odds_difference": _REGISTERED,
    "equalized_odds_ratio": _REGISTERED,
    "accuracy_difference": _REGISTERED,
    "accuracy_ratio": _REGISTERED,
    "four-fifths rule": (
        "For each group and class: ratio = the group's selection rate / the reference "
        "group's (the group with the highest selection rate of that class); it fails when "
        "ratio < 0.8. Empty groups have no ratio and are not listed as failures."
    ),
    "own attribute": (
        "When a task is also a grouping attribute (gender predicted, grouped by true "
        "gender), its selection rate, TPR and FPR per group are not disparities (they "
        "follow from the grouping); only the accuracy gap (the gap of per-class recall) "
        "is reported for it."
    ),
    # -------------------------------------------------------- calibration
    "confidence": "The predicted probability of the predicted class of a row.",
    "ece": (
        "Expected calibration error: sum over the confidence bins of |correct_b - "
        "confidence_sum_b| / N (equal-width bins [b/B, (b+1)/B), the last closed). Its "
        "interval (ece CI low / ece CI high) is sum_b n_b / N times the distance from the "
        "bin's mean confidence to the exact interval of its accuracy (low: 0 when the "
        "interval holds it; high: the farther end), each bin's interval at level 1 - alpha / B "
        "over the B non-empty bins (alpha = 0.05 for a 95% interval; docs/statistics.md)."
    ),
    "calibration verdict": (
        "miscalibrated: some confidence bin's exact accuracy interval (error level alpha / "
        "B, Bonferroni over the B non-empty bins) excludes the bin's mean confidence, so ece "
        "CI low is above 0; no miscalibration shown: every bin's interval holds it; too few "
        "rows: fewer rows than min_support, not judged; not judged: own label: a task "
        "grouped by its own true label (within a true class accuracy is the class's "
        "recall, which calibration does not promise to match the confidence)."
    ),
    "mce": "Maximum calibration error: max over non-empty bins of |accuracy_b - confidence_b|.",
    "mean_confidence": "Mean confidence of the group's rows.",
    "reliability diagram": (
        "Per confidence bin, the accuracy of its rows against their mean confidence; "
        "a calibrated model lies on the diagonal. Empty bins are not drawn."
    ),
    # --------------------------------------------------------- regression
    "mae": "Mean |predicted - true| of a regression target (e.g. age in years).",
    "bias": "Mean (predicted - true) of a regression target: above 0 over-estimates.",
    "rmse": "Square root of the mean (predicted - true)^2.",
    # -------------------------------------------------------- uncertainty
    "exact interval": (
        "The Clopper-Pearson interval of a rate (hits over rows): it covers at least its "
        "level for any number of rows; every per-group rate, accuracy and cell of the "
        "report has one (docs/statistics.md)."
    ),
    "bootstrap interval": (
        "Percentile interval of a metric that is not a proportion (balanced accuracy, "
        "macro or weighted scores) over multinomial bootstrap replicates of the count "
        "tensor (the same as resampling the rows with replacement), each task resampled "
        "on its own; the number of replicates is in the report's metadata."
    ),
    "gap CI low / gap CI high": (
        "The simultaneous interval of a gap: Newcombe intervals of every pair of judged "
        "groups and of every group against the rest, Bonferroni over them; it covers the "
        "true gap, 0 included, and always holds the estimate."
    ),
    "p_value / p_adjusted": (
        "The p-value is the inversion of the interval shown beside it (the level at which "
        "it just includes no difference), so the two never disagree; p_adjusted is its "
        "Benjamini-Hochberg adjustment over the table, whose intervals are then given at "
        "the matching false-coverage level."
    ),
    "supported / significant": (
        "The interval excludes no difference: equivalently, p_adjusted is at most the "
        "false discovery rate (1 - the confidence level)."
    ),
    "detectable gap": (
        "The gap the two largest judged groups would show with 80% power at the row's "
        "level: what a row that is not supported could have found."
    ),
    "CI low / CI high": "The bounds of a row's interval (its method is named beside it, or in "
    "the caption).",
    # ------------------------------------------------------ dataset audit
    "count": "Number of audited rows of a class or cell.",
    "proportion": "count / N, the share of all audited rows.",
    "max_ratio": "max_c p_c: the share of the largest class (p_c = n_c / N).",
    "min_ratio": "min_c p_c: the share of the smallest class (0 if a class is absent).",
    "ratio_range": "max_c p_c - min_c p_c.",
    "cv": "Coefficient of variation of the class counts: std(n) / mean(n), population std.",
    "entropy_bits": "-sum_c p_c log2 p_c (0 log 0 = 0); log2 K when the K classes are balanced.",
    "gini": "Gini impurity 1 - sum_c p_c^2; 1 - 1/K when balanced.",
    "imbalance_ratio": "max_c n_c / min_c n_c (inf when a class is empty).",
    "normalized_entropy": "entropy_bits / log2 K (1 = perfectly balanced).",
    "expected": "The count of an intersectional cell if the attributes were independent.",
    "representation": "count / expected: below 1, the cell is rarer than its marginals imply.",
    # ---------------------------------------------------------- detection
    "detection rate": (
        "detected / n: the share of a group's faces the detector found; its interval is "
        "exact (Clopper-Pearson), as every rate's."
    ),
    "detection gap": (
        "Highest minus lowest detection rate over the groups (difference) and lowest / "
        "highest (ratio), with the p-value of the two-proportion test between them."
    ),
}


def _with_registry(entries: dict[str, str | None]) -> dict[str, str]:
    """The glossary: hand-written terms, and every registered metric with its spec's definition.

    Raises
    ------
    RuntimeError
        When an entry writes its own definition of a registered metric (a duplicate of
        the registry's) or places a name the registry does not hold.
    """
    written = [term for term, text in entries.items() if text is not None and term in METRICS]
    if written:
        raise RuntimeError(f"the glossary writes its own definition of registered {written}")
    unknown = [term for term, text in entries.items() if text is None and term not in METRICS]
    if unknown:
        raise RuntimeError(f"the glossary places {unknown}, which the registry does not hold")
    terms = list(entries)
    for name, spec in METRICS.items():
        if name in terms:
            continue
        same_kind = [
            i for i, t in enumerate(terms) if t in METRICS and METRICS[t].kind == spec.kind
        ]
        terms.insert(same_kind[-1] + 1 if same_kind else len(terms), name)
    return {
        term: METRICS[term].definition if entries.get(term) is None else str(entries[term])
        for term in terms
    }


#: Term -> definition, in the order the glossary shows them.
GLOSSARY: dict[str, str] = _with_registry(_ENTRIES)

#: Metric names a report's tables use that the glossary must define: every metric of
#: the registry, and the other columns of the tables.
REQUIRED_TERMS: tuple[str, ...] = (
    tuple(METRICS)
    + ("support", "predicted")
    + IMBALANCE_STATISTICS
    + ("imbalance_ratio", "normalized_entropy", "expected", "representation")
    + ("ece", "mce", "mean_confidence", "mae", "bias", "rmse")
)

_UNDEFINED = [term for term in REQUIRED_TERMS if term not in GLOSSARY]
if _UNDEFINED:  # a metric added to the registry needs its glossary entry
    raise RuntimeError(f"the report's glossary does not define {_UNDEFINED}")


def glossary_entries(terms: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(term, definition) pairs of the glossary, in glossary order.

    Parameters
    ----------
    terms : iterable of str, optional
        Keep only these terms (default: every entry).
    """
    if terms is None:
        return list(GLOSSARY.items())
    wanted = set(terms)
    return [(term, text) for term, text in GLOSSARY.items() if term in wanted]
