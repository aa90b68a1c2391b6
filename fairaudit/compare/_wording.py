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
    "conditions_text",
    "finding_sentence",
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


def finding_sentence(
    *,
    subject_text: str,
    value_a: float,
    value_b: float,
    change: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    p_holm: float,
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
    ...     p_holm=0.02, paired=True, direction="regressed", confidence=0.95)
    'race recall for Latino_Hispanic women fell 4.1 points, from 71.2% to 67.1% (95% CI -6.0 to -2.2, paired McNemar p=0.0012, Holm-adjusted p=0.02): regressed.'
    """  # noqa: E501
    verb = "rose" if change > 0 else "fell"
    test = "paired McNemar" if paired else "unpaired bootstrap"
    level = f"{confidence * 100:g}%"
    text = (
        f"{subject_text} {verb} {abs(change) * 100:.1f} points, from {value_a * 100:.1f}% to "
        f"{value_b * 100:.1f}% ({level} CI {ci_low * 100:.1f} to {ci_high * 100:.1f}, "
        f"{test} p{_p_text(p_value)}"
    )
    if not math.isnan(p_holm):
        text += f", Holm-adjusted p{_p_text(p_holm)}"
    text += f"): {direction}."
    if versions:
        text = f"{versions}: {text}"
    return text
