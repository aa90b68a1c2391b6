"""Redaction of an audit: publish only counts that reveal no small group, even by subtraction.

What is protected: the number of people in each combination of sensitive attribute
values, the tasks' true labels included (the cells of every grouping, e.g. "Middle
Eastern women over 70: 2", or "Middle Eastern & gender=Female" when race is the only
attribute). Every published number is an equation for a reader: the counts of a
published grouping and, per task, the hits behind each published accuracy. A hidden
count (1 to ``min_count - 1`` people) is safe only if its exact integer interval under
all of them is at least ``min_count`` wide (:mod:`fairaudit.publish._attack`).

Groupings are tried from the coarsest (overall, each attribute) to the finest, so the
most useful ones are kept: one with a cell of 1 to ``min_count - 1`` people is
suppressed; otherwise its counts and accuracies are published if every hidden count
stays safe, else its counts alone ("accuracies withheld"), else nothing.

What is published besides counts: per task and published cell (every non-empty cell
holds at least ``min_count`` rows), the accuracy with its exact interval (the inference
layer's procedure for a group's rate); per task and
grouping, the accuracy gap between its cells with the simultaneous interval of
:func:`fairaudit.functional.gap_intervals` (functions of the same hits and counts).
Per-class scores, confusion matrices, calibration and detection counts are not
published: they count people by their true class inside a cell.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairaudit._io import atomic_write_text, json_value, read_json_file
from fairaudit._saved import SavedResult
from fairaudit._version import __version__
from fairaudit.claims import GapInference
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import fairness_arrays
from fairaudit.model_audit import AuditResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PUBLISHED_FORMAT", "PUBLISHED_FORMAT_VERSION", "PublishedAudit", "redact_audit"]

PUBLISHED_FORMAT = "fairaudit-published-audit"
PUBLISHED_FORMAT_VERSION = 1
#: Level of the published intervals (accuracy per cell, gap per grouping).
PUBLISHED_CONFIDENCE = 0.95


class PublishedAudit(SavedResult):
    """The publishable form of an audit: safe counts, metrics of large cells, what was hidden.

    Attributes
    ----------
    min_count : int
        No published count lies in ``1 .. min_count - 1``; no hidden one can be narrowed
        to an interval narrower than ``min_count``.
    counts : pandas.DataFrame
        Published cell counts: ``grouping`` (``"gender x race"``, ``"overall"``),
        ``cell`` (``"Female & Black"``, ``"all"``), ``n``.
    metrics : pandas.DataFrame
        ``task``, ``grouping``, ``cell``, ``n``, ``accuracy``, ``ci_low``, ``ci_high``
        (exact, Clopper-Pearson) for published cells of at least ``min_count`` rows.
    gaps : pandas.DataFrame
        ``task``, ``grouping``, ``accuracy_difference``, ``ci_low``, ``ci_high``
        (simultaneous), ``n_groups``, per published grouping.
    suppressed : pandas.DataFrame
        ``grouping`` and ``reason`` of every grouping not published.
    metadata : dict
        The source audit's description, model and data; ``protection``: how many
        hidden counts were checked (``targets``), the narrowest exact integer interval a
        reader can infer for one (``narrowest_interval``), the programmes solved.
    """

    FORMAT = PUBLISHED_FORMAT
    FORMAT_VERSION = PUBLISHED_FORMAT_VERSION
    WHAT = "published audit"
    LABEL = "a fairaudit published audit"

    def __init__(
        self,
        *,
        min_count: int,
        counts: pd.DataFrame | Sequence[Mapping[str, Any]],
        metrics: pd.DataFrame | Sequence[Mapping[str, Any]],
        gaps: pd.DataFrame | Sequence[Mapping[str, Any]],
        suppressed: pd.DataFrame | Sequence[Mapping[str, Any]],
        metadata: Mapping[str, Any],
    ) -> None:
        self.min_count = int(min_count)
        given = {"counts": counts, "metrics": metrics, "gaps": gaps, "suppressed": suppressed}
        # held as the saved form's rows: a check judges them without pandas (issue 30);
        # the tables are built from them when first asked for
        self._rows = {name: _saved_rows(given[name], columns) for name, columns in _COLUMNS.items()}
        self._frames: dict[str, pd.DataFrame] = {}
        self.metadata = dict(metadata)
        small = [
            r for r in self._rows["counts"] if r["n"] is not None and 1 <= r["n"] < self.min_count
        ]
        if small:
            raise DataValidationError(
                f"a published audit holds counts under min_count={self.min_count}: {small[:3]}"
            )

    def saved_rows(self, name: str) -> list[dict[str, Any]]:
        """One table's rows as the saved form holds them (what a gate judges, no pandas).

        The table itself where it was built (and perhaps edited), else the rows read.
        """
        frame = self._frames.get(name)
        return self._rows[name] if frame is None else _saved_rows(frame, _COLUMNS[name])

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            import pandas as pd

            self._frames[name] = pd.DataFrame(self._rows[name], columns=_COLUMNS[name])
        return self._frames[name]

    @property
    def counts(self) -> pd.DataFrame:
        """Published cell counts (see the class's attributes)."""
        return self._table("counts")

    @property
    def metrics(self) -> pd.DataFrame:
        """Accuracy per published cell with its exact interval."""
        return self._table("metrics")

    @property
    def gaps(self) -> pd.DataFrame:
        """Accuracy gap per published grouping with its simultaneous interval."""
        return self._table("gaps")

    @property
    def suppressed(self) -> pd.DataFrame:
        """Each grouping not published, and why."""
        return self._table("suppressed")

    def _repr_items(self) -> list[tuple[str, object]]:
        groupings = len({row["grouping"] for row in self.saved_rows("counts")})
        return [
            ("min_count", self.min_count),
            ("", f"{groupings} grouping(s) published"),
            ("", f"{len(self.saved_rows('suppressed'))} suppressed"),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The saved form (JSON-serialisable)."""
        return {
            "format": PUBLISHED_FORMAT,
            "format_version": PUBLISHED_FORMAT_VERSION,
            "library_version": __version__,
            "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "min_count": self.min_count,
            "metadata": self.metadata,
            **{name: [dict(row) for row in self.saved_rows(name)] for name in _COLUMNS},
        }

    @classmethod
    def _from_fields(cls, obj: Mapping[str, Any], *, source: str) -> PublishedAudit:
        return cls(
            min_count=int(obj["min_count"]),
            **{name: obj[name] for name in _COLUMNS},
            metadata=obj.get("metadata", {}),
        )

    def to_html(self, *, title: str | None = None) -> str:
        """A self-contained HTML page of everything published and what was suppressed."""
        from fairaudit.report._html import (
            content_security_policy,
            environment,
            frame_to_html,
            inline_script,
        )

        title = title or f"Published audit (no group under {self.min_count} people)"
        template = environment().from_string(_TEMPLATE)
        tables = [
            frame_to_html(
                self.metrics,
                caption="Accuracy per published cell (exact 95%)",
                table_id="published-metrics",
                sortable=True,
            ),
            frame_to_html(
                self.gaps,
                caption="Accuracy gap per published grouping (simultaneous 95%)",
                table_id="published-gaps",
            ),
            frame_to_html(
                self.counts, caption="Published counts", table_id="published-counts", sortable=True
            ),
            frame_to_html(
                self.suppressed,
                caption="Suppressed groupings and why",
                table_id="published-suppressed",
            ),
        ]
        return template.render(
            title=title,
            min_count=self.min_count,
            protection=self.metadata.get("protection", {}),
            description=self.metadata.get("description", ""),
            tables=tables,
            content_security_policy=content_security_policy(),
            inline_script=inline_script(),
        )

    def write_html(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write :meth:`to_html` atomically; returns the path."""
        return atomic_write_text(Path(path), self.to_html(title=title))


_METRIC_COLUMNS = ["task", "grouping", "cell", "n", "accuracy", "ci_low", "ci_high"]
_GAP_COLUMNS = ["task", "grouping", "accuracy_difference", "ci_low", "ci_high", "n_groups"]
#: Each published table's columns, in the order of the saved form's rows.
_COLUMNS = {
    "counts": ["grouping", "cell", "n"],
    "metrics": _METRIC_COLUMNS,
    "gaps": _GAP_COLUMNS,
    "suppressed": ["grouping", "reason"],
}


def _saved_rows(
    table: pd.DataFrame | Sequence[Mapping[str, Any]], columns: list[str]
) -> list[dict[str, Any]]:
    """A table's rows as the saved form holds them: JSON values, ``columns`` only."""
    if hasattr(table, "to_dict"):  # a DataFrame
        table = table.to_dict(orient="records")
    return [{column: json_value(row.get(column)) for column in columns} for row in table]


_TEMPLATE = """{% extends "base.html.j2" %}
{% block title %}{{ title }}{% endblock %}
{% block header %}<h1 id="report-title">{{ title }}</h1>
<p>{{ description }}</p>{% endblock %}
{% block content %}
<section id="published">
<p>No count of people published here lies between 1 and {{ min_count - 1 }}, and none of the
hidden ones (the tasks' true labels included) can be narrowed to within {{ min_count }} from
the published counts and accuracies, by any integer solution of them
({{ protection.get("targets", 0) }} hidden counts checked; the narrowest interval a reader can
infer spans {{ protection.get("narrowest_interval", "n/a") }} people). Accuracy and gaps are
computed from the full audit.</p>
{% for table in tables %}<div class="table-scroll">{{ table }}</div>{% endfor %}
</section>
{% endblock %}
"""


#: A local file path in a string: rooted (``/``, ``~/``, ``./``, ``C:\\``) or relative with a
#: file extension (``runs/v2.csv``); group 1 is the file's name.
_LOCAL_PATH = re.compile(
    r"(?<![\w.~-])(?:[A-Za-z]:|~|\.{1,2})?[\\/](?:[\w.~-]+[\\/])*([\w.-]+)"
    r"|(?:[\w.~-]+[\\/])+([\w-]+\.[A-Za-z]\w*)"
)


def without_local_paths(value: Any) -> Any:
    """``value`` with every local file path in its strings reduced to the file's name.

    A published audit is shared: where the audit's description names its inputs by
    path (``/home/me/data/labels.csv``), only ``labels.csv`` remains.

    Examples
    --------
    >>> without_local_paths("predictions /home/me/runs/v2.csv, labels ~/data/val.csv")
    'predictions v2.csv, labels val.csv'
    >>> without_local_paths("labels data/val.csv, 3/4 of the rows")
    'labels val.csv, 3/4 of the rows'
    """
    if isinstance(value, str):
        return _LOCAL_PATH.sub(lambda m: m.group(1) or m.group(2), value)
    if isinstance(value, Mapping):
        return {key: without_local_paths(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_local_paths(item) for item in value]
    return value


def _label(by: tuple[str, ...]) -> str:
    return " x ".join(by) or "overall"


def redact_audit(
    audit: AuditResult,
    *,
    min_count: int = 10,
    max_order: int | None = None,
    progress: bool = False,
) -> PublishedAudit:
    """The publishable form of ``audit``: no count under ``min_count``, none inferable.

    Parameters
    ----------
    audit : AuditResult
    min_count : int, default=10
        Smallest number of people a published count may hold (``K``); 0 is published.
        Every hidden count of 1 to ``K - 1`` people keeps an exact integer interval at
        least ``K`` wide under everything published.
    max_order : int, optional
        Finest groupings considered (attributes combined; default: all).
    progress : bool, default=False
        Show a progress bar over the groupings checked.

    Returns
    -------
    PublishedAudit

    Raises
    ------
    DataValidationError
        ``min_count`` under 2, or an audit without tasks.
    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 2:
        raise DataValidationError(f"min_count must be an integer >= 2, got {min_count!r}")
    if not audit.tasks:
        raise DataValidationError("an audit without tasks has nothing to publish")
    import pandas as pd
    from tqdm.auto import tqdm

    from fairaudit.model_audit._views import group_rate_table
    from fairaudit.publish._attack import AttackerSystem  # scipy, HiGHS: when used

    system = AttackerSystem(audit)
    targets = system.targets(min_count)
    names = list(audit.attributes)
    top = len(names) if max_order is None else min(max_order, len(names))
    candidates = [()] + [by for k in range(1, top + 1) for by in combinations(names, k)]
    all_groupings = [by for k in range(0, len(names) + 1) for by in combinations(names, k)]
    cell_n = {by: (system.membership(by) @ system.truth[: system.n_full]) for by in all_groupings}
    published: list[tuple[str, ...]] = []
    with_metrics: set[tuple[str, ...]] = set()
    suppressed = []
    for by in tqdm(candidates, desc="groupings", disable=not progress):
        n = cell_n[by]
        small = int(((n >= 1) & (n < min_count)).sum())
        if small:
            suppressed.append(
                {"grouping": _label(by), "reason": f"{small} cell(s) under {min_count}"}
            )
            continue
        for hits in (True, False):
            if system.try_publish(system.published_rows(by, hits=hits), targets, min_count):
                published.append(by)
                if hits:
                    with_metrics.add(by)
                else:
                    suppressed.append(
                        {
                            "grouping": _label(by),
                            "reason": "accuracies withheld: with the counts above they would "
                            f"narrow a smaller group's count to within {min_count}",
                        }
                    )
                break
        else:
            suppressed.append(
                {
                    "grouping": _label(by),
                    "reason": "publishing its counts with the groupings above would narrow a "
                    f"smaller group's count to within {min_count}",
                }
            )
    suppressed += [
        {"grouping": " x ".join(by), "reason": f"finer than max_order={max_order}"}
        for by in all_groupings
        if by and len(by) > top
    ]
    narrowest = system.narrowest(targets)
    counts, metrics, gaps = [], [], []
    for by in published:
        label = _label(by)
        cells = audit.group_names(by)
        for cell, n in zip(cells, cell_n[by], strict=True):
            counts.append({"grouping": label, "cell": cell, "n": int(round(n))})
        for task in audit.tasks if by in with_metrics else ():
            cm = audit.grouped_counts(task, by=by).reshape(
                -1, len(audit.tasks[task]), len(audit.tasks[task])
            )
            view = group_rate_table(
                audit, task, by=by, method="exact", confidence=PUBLISHED_CONFIDENCE
            )
            for row in view[view["n"] >= min_count].itertuples():
                metrics.append(
                    {
                        "task": task,
                        "grouping": label,
                        "cell": row.group,
                        "n": int(row.n),
                        "accuracy": float(row.rate),
                        "ci_low": float(row.lower),
                        "ci_high": float(row.upper),
                    }
                )
            if by:
                inference = GapInference(cm, "accuracy_difference", min_support=min_count)
                bounds = inference.interval(1 - PUBLISHED_CONFIDENCE)
                values = fairness_arrays(cm, min_support=min_count)["accuracy_difference"]
                judged = int(values["summary"]["n_groups"])
                gap = float(values["summary"]["value"])
                gaps.append(
                    {
                        "task": task,
                        "grouping": label,
                        "accuracy_difference": gap,
                        "ci_low": float(bounds[0]),
                        "ci_high": float(bounds[1]),
                        "n_groups": int(judged),
                    }
                )
    metadata = {
        key: without_local_paths(audit.metadata[key])
        for key in ("description", "model", "data")
        if key in audit.metadata
    }
    metadata["protection"] = {
        "targets": len(targets),
        "narrowest_interval": narrowest,
        "programmes": {
            "solved": system.n_solved,
            "integer": system.n_integer,
            "moved": system.n_moved,
        },
        "published_groupings": [_label(by) for by in published],
    }
    return PublishedAudit(
        min_count=min_count,
        counts=pd.DataFrame(counts, columns=["grouping", "cell", "n"]),
        metrics=pd.DataFrame(metrics, columns=_METRIC_COLUMNS),
        gaps=pd.DataFrame(gaps, columns=_GAP_COLUMNS),
        suppressed=pd.DataFrame(suppressed, columns=["grouping", "reason"]),
        metadata=metadata,
    )


def read_audit_file(path: str | os.PathLike[str]) -> AuditResult | PublishedAudit:
    """A saved audit, full or published, by the ``format`` its file declares.

    The shells (``fairaudit report``, ``fairaudit check``) take either; the Python API
    keeps one type per function (:meth:`AuditResult.load`, :meth:`PublishedAudit.load`).
    """
    obj = read_json_file(path, what="audit")
    if isinstance(obj, Mapping) and obj.get("format") == PUBLISHED_FORMAT:
        return PublishedAudit.from_dict(obj, source=str(path))
    return AuditResult.from_dict(obj, source=str(path))
