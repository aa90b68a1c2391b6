"""Plain-language wording of comparison results: which way is better, and what changed where.

Metrics are proportions, so changes are written in percentage points. A slice of
FairFace-like attributes reads naturally ("Latino_Hispanic women aged 20-29"); other
attributes read ``attribute=value``. A per-class score is the score on the rows of
that true class, so the class joins the slice as one more condition ("race recall for
Latino_Hispanic women" is the recall of class Latino_Hispanic among women).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fairaudit.functional import METRICS

__all__ = [
    "also_text",
    "conditions_text",
    "finding_sentence",
    "gap_sentence",
    "join_words",
    "level_text",
    "mention_text",
    "metric_label",
    "slice_phrase",
    "subject",
]

_NOUNS = {"Female": "women", "Male": "men"}


def metric_label(metric: str) -> str:
    """Readable name of a metric (the registry's label), e.g. ``"macro F1"``."""
    spec = METRICS.get(metric)
    return spec.label if spec is not None else metric.replace("_", " ")


def slice_phrase(conditions: Mapping[str, str]) -> str:
    """The people a slice holds, in plain words.

    Examples
    --------
    >>> slice_phrase({"gender": "Female", "race": "Latino_Hispanic"})
    'Latino_Hispanic women'
    >>> slice_phrase({"age": "20-29", "race": "Black"})
    'Black people aged 20-29'
    >>> slice_phrase({})
    'all faces'
    """
    if not conditions:
        return "all faces"
    rest = dict(conditions)
    words = []
    race = rest.pop("race", None)
    if race is not None:
        words.append(str(race))
    gender = rest.get("gender")
    if gender in _NOUNS:
        rest.pop("gender")
        words.append(_NOUNS[gender])
    else:
        words.append("people")
    age = rest.pop("age", None)
    extra = [f"aged {age}"] if age is not None else []
    extra += [f"{name}={value}" for name, value in rest.items()]
    phrase = " ".join(words)
    if extra:
        phrase += (" " if age is not None else " with ") + ", ".join(extra)
    return phrase


def conditions_text(conditions: Mapping[str, str]) -> str:
    """Canonical text of a slice's conditions: ``"gender=Female & race=Black"``, or ``"all"``."""
    return " & ".join(f"{k}={v}" for k, v in conditions.items()) or "all"


def subject(
    task: str,
    metric: str,
    kind: str,
    *,
    conditions: Mapping[str, str],
    by: tuple[str, ...],
    cls: str | None = None,
    class_key: str | None = None,
) -> str:
    """What a row of the changes table measures, as the subject of a sentence.

    Parameters
    ----------
    task : str
        The audited task.
    metric : str
        The metric name.
    kind : {"slice", "class", "gap"}
        A per-slice metric, a per-class score of class ``cls``, or a gap between
        the groups of ``by``.
    conditions : mapping of str to str
        Attribute values of the slice.
    by : tuple of str
        Grouping of the row.
    cls : str, optional
        The class of a per-class score.
    class_key : str, optional
        Name under which the class joins the conditions of a recall (default: the
        task), in the order of ``conditions`` if it is one of them.

    Examples
    --------
    >>> subject("race", "recall", "class", conditions={"gender": "Female"}, by=("gender",),
    ...         cls="Latino_Hispanic")
    'race recall for Latino_Hispanic women'
    >>> subject("race", "precision", "class", conditions={}, by=(), cls="Black")
    "race precision of 'Black' predictions overall"
    """
    label = metric_label(metric)
    if kind == "gap":
        return f"{task} {label} between {' x '.join(by)} groups"
    where = f"for {slice_phrase(conditions)}" if conditions else "overall"
    if kind == "class":
        if metric == "recall":  # the accuracy on the rows of the true class
            joined = {**conditions, (class_key or task): str(cls)}
            return f"{task} {label} for {slice_phrase(joined)}"
        if metric == "precision":
            return f"{task} {label} of {cls!r} predictions {where}"
        return f"{task} {label} of class {cls!r} {where}"
    return f"{task} {label} {where}"


def _p_text(p: float) -> str:
    if p < 0.001:
        return "<0.001"
    return f"={p:.2g}" if p < 0.01 else f"={p:.3f}".rstrip("0").rstrip(".")


def level_text(level: float) -> str:
    """``"95%"``, or one decimal for a false-coverage level such as ``"99.6%"``.

    A level under 100% is never written as 100%: it gets the decimals it needs.

    Examples
    --------
    >>> level_text(0.95), level_text(0.9814), level_text(0.99996)
    ('95%', '98.1%', '99.996%')
    """
    percent = level * 100
    digits = 1
    while digits < 6 and percent < 100 and round(percent, digits) >= 100:
        digits += 1
    text = f"{percent:.{digits}f}"
    return (text[:-2] if digits == 1 and text.endswith(".0") else text) + "%"


def finding_sentence(
    *,
    subject_text: str,
    value_a: float,
    value_b: float,
    change: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    p_adjusted: float,
    paired: bool,
    direction: str,
    confidence: float,
    versions: str = "",
) -> str:
    """One plain sentence for one significant change.

    Examples
    --------
    >>> finding_sentence(subject_text="race recall for Latino_Hispanic women", value_a=0.712,
    ...     value_b=0.671, change=-0.041, ci_low=-0.060, ci_high=-0.022, p_value=0.0012,
    ...     p_adjusted=0.02, paired=True, direction="regressed", confidence=0.95)
    'race recall for Latino_Hispanic women fell 4.1 points, from 71.2% to 67.1% (95% CI -6.0 to -2.2, paired p=0.0012, BH-adjusted p=0.02): regressed.'
    """  # noqa: E501
    verb = "rose" if change > 0 else "fell"
    test = "paired" if paired else "unpaired"
    level = level_text(confidence)
    text = (
        f"{subject_text} {verb} {abs(change) * 100:.1f} points, from {value_a * 100:.1f}% to "
        f"{value_b * 100:.1f}% ({level} CI {ci_low * 100:.1f} to {ci_high * 100:.1f}, "
        f"{test} p{_p_text(p_value)}"
    )
    if not math.isnan(p_adjusted):
        text += f", BH-adjusted p{_p_text(p_adjusted)}"
    text += f"): {direction}."
    if versions:
        text = f"{versions}: {text}"
    return text


def join_words(words: list[str]) -> str:
    """``["a"]`` -> ``"a"``; ``["a", "b", "c"]`` -> ``"a, b and c"``."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _signed(value: float, digits: int) -> str:
    return f"{value:+.{digits}f}"


def mention_text(
    *,
    subject_text: str,
    value_a: float,
    value_b: float,
    change: float,
    ci_low: float,
    ci_high: float,
    direction: str,
    confidence: float,
    points: bool = True,
) -> str:
    """A change told in passing, inside another finding's sentence.

    ``points``: the change in percentage points (per-slice scores); otherwise the
    values themselves, to 3 decimals (the gaps between groups).

    Examples
    --------
    >>> mention_text(subject_text="macro F1", value_a=0.486, value_b=0.589, change=0.103,
    ...     ci_low=0.084, ci_high=0.121, direction="improved", confidence=0.95)
    'macro F1 +10.3 points (95% CI 8.4 to 12.1): improved'
    >>> mention_text(subject_text="demographic parity difference", value_a=0.048,
    ...     value_b=0.128, change=0.080, ci_low=0.055, ci_high=0.098, direction="regressed",
    ...     confidence=0.95, points=False)
    'demographic parity difference from 0.048 to 0.128 (+0.080, 95% CI 0.055 to 0.098): regressed'
    """
    level = level_text(confidence)
    if points:
        return (
            f"{subject_text} {_signed(change * 100, 1)} points ({level} CI {ci_low * 100:.1f} "
            f"to {ci_high * 100:.1f}): {direction}"
        )
    return (
        f"{subject_text} from {value_a:.3f} to {value_b:.3f} ({_signed(change, 3)}, {level} CI "
        f"{ci_low:.3f} to {ci_high:.3f}): {direction}"
    )


def also_text(mentions: list[str]) -> str:
    """The other metrics of a merged finding: ``" Also: a; b."`` (empty without any)."""
    return f" Also: {'; '.join(mentions)}." if mentions else ""


def gap_sentence(
    *,
    task: str,
    by: str,
    label: str,
    value_a: float,
    value_b: float,
    change: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    p_adjusted: float,
    direction: str,
    confidence: float,
    versions: str = "",
) -> str:
    """The lead sentence of the gaps of one task between the groups of one attribute.

    Gaps are differences or ratios of group rates, written as values (3 decimals),
    not percentages.

    Examples
    --------
    >>> gap_sentence(task="race", by="gender", label="equal opportunity difference",
    ...     value_a=0.157, value_b=0.366, change=0.209, ci_low=0.109, ci_high=0.273,
    ...     p_value=1e-7, p_adjusted=1e-6, direction="regressed", confidence=0.95)
    'race gaps between gender groups: equal opportunity difference rose from 0.157 to 0.366 (+0.209, 95% CI 0.109 to 0.273, p<0.001, BH-adjusted p<0.001): regressed.'
    """  # noqa: E501
    verb = "rose" if change > 0 else "fell"
    level = level_text(confidence)
    text = (
        f"{task} gaps between {by} groups: {label} {verb} from {value_a:.3f} to {value_b:.3f} "
        f"({_signed(change, 3)}, {level} CI {ci_low:.3f} to {ci_high:.3f}, "
        f"p{_p_text(p_value)}"
    )
    if not math.isnan(p_adjusted):
        text += f", BH-adjusted p{_p_text(p_adjusted)}"
    text += f"): {direction}."
    return f"{versions}: {text}" if versions else text
