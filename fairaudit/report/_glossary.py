"""Definitions of every number a report shows: the one source of the report's glossary.

Each definition states what the code computes (``fairaudit.functional``,
``fairaudit.dataset_audit``), with the notation of ``docs/metrics.md``: for a slice with
confusion matrix ``M`` (rows true, columns predicted), ``n = sum M``,
``tp_k = M[k,k]``, ``t_k`` the true rows of class ``k`` and ``p_k`` the rows
predicted as ``k``. The entries of the per-slice and per-class metrics are the
registry's definitions (:attr:`fairaudit.functional.MetricSpec.definition`); every
registered metric has an entry (checked at import). ``docs/reports.md`` lists the
same entries (a test keeps the two equal) and the report renders them in its
glossary.
"""

from __future__ import annotations

from collections.abc import Iterable

from fairaudit.dataset_audit._imbalance import IMBALANCE_STATISTICS
from fairaudit.functional import METRICS
from fairaudit.functional._registry import CLASS_METRICS, GAP_METRICS, SLICE_METRICS

__all__ = ["GLOSSARY", "REQUIRED_TERMS", "glossary_entries"]

#: Term -> definition, in the order the glossary shows them.
GLOSSARY: dict[str, str] = {
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
    "accuracy": SLICE_METRICS["accuracy"].definition,
    "error_rate": SLICE_METRICS["error_rate"].definition,
    "balanced_accuracy": SLICE_METRICS["balanced_accuracy"].definition,
    "precision": CLASS_METRICS["precision"].definition,
    "recall": CLASS_METRICS["recall"].definition,
    "f1": CLASS_METRICS["f1"].definition,
    "precision_macro": SLICE_METRICS["precision_macro"].definition,
    "recall_macro": SLICE_METRICS["recall_macro"].definition,
    "f1_macro": SLICE_METRICS["f1_macro"].definition,
    "precision_weighted": SLICE_METRICS["precision_weighted"].definition,
    "recall_weighted": SLICE_METRICS["recall_weighted"].definition,
    "f1_weighted": SLICE_METRICS["f1_weighted"].definition,
    "predicted": "p_k: the rows predicted as the class.",
    "selection_rate": CLASS_METRICS["selection_rate"].definition,
    "fpr": CLASS_METRICS["fpr"].definition,
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
    "demographic_parity_difference": GAP_METRICS["demographic_parity_difference"].definition,
    "demographic_parity_ratio": GAP_METRICS["demographic_parity_ratio"].definition,
    "disparate_impact_ratio": GAP_METRICS["disparate_impact_ratio"].definition,
    "equal_opportunity_difference": GAP_METRICS["equal_opportunity_difference"].definition,
    "equal_opportunity_ratio": GAP_METRICS["equal_opportunity_ratio"].definition,
    "fpr_difference": GAP_METRICS["fpr_difference"].definition,
    "fpr_ratio": GAP_METRICS["fpr_ratio"].definition,
    "equalized_odds_difference": GAP_METRICS["equalized_odds_difference"].definition,
    "equalized_odds_ratio": GAP_METRICS["equalized_odds_ratio"].definition,
    "accuracy_difference": GAP_METRICS["accuracy_difference"].definition,
    "accuracy_ratio": GAP_METRICS["accuracy_ratio"].definition,
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
        "confidence_sum_b| / N (equal-width bins [b/B, (b+1)/B), the last closed)."
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
    "the caption; a detection rate's is Wilson's).",
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
        "the Wilson score interval."
    ),
    "detection gap": (
        "Highest minus lowest detection rate over the groups (difference) and lowest / "
        "highest (ratio), with the p-value of the two-proportion test between them."
    ),
}

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
