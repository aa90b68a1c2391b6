"""The verdict of a gate: its checks, exit status, terminal summary and saved form.

A :class:`GateResult` holds its checks as plain records: the verdict, the summary, the
JSON and JUnit forms are read from them, so that ``fairaudit check`` (run on every
commit of a CI pipeline) never imports pandas. The :class:`pandas.DataFrame` views
(:attr:`GateResult.checks`, :attr:`~GateResult.failures`, ...) are built on first use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from fairaudit._io import json_value
from fairaudit.gate._config import RELATIVE_KINDS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CHECK_COLUMNS",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INCONCLUSIVE",
    "EXIT_NOT_JUDGED",
    "EXIT_PASSED",
    "GateResult",
]

#: Exit statuses of ``fairaudit check`` (:attr:`GateResult.exit_code`).
EXIT_PASSED = 0  # every check judged and within its threshold (or unjudged, allowed)
EXIT_FAILED = 1  # some threshold exceeded (whatever else)
EXIT_BAD_INPUT = 2  # unreadable audit, unknown metric, task or attribute, bad threshold
EXIT_NOT_JUDGED = 3  # nothing exceeded, but some check could not be judged (or none was)
EXIT_INCONCLUSIVE = 4  # no violation shown, but the data cannot show compliance either

#: Small groups named per grouping in :meth:`GateResult.format` (all are in ``checks``).
_SHOWN_GROUPS = 8

CHECK_COLUMNS = [
    "task",
    "by",
    "metric",
    "kind",
    "threshold",
    "value",
    "baseline_value",
    "lower",
    "upper",
    "level",
    "method",
    "status",
    "passed",
    "worst",
    "groups_judged",
    "not_judged",
    "note",
    "rows_to_settle",
]


#: The statuses of checks that were decided.
_DECIDED = ("pass", "fail", "inconclusive")


def _bound_text(kind: str, threshold: float) -> str:
    return {
        "max": f"needs <= {threshold:g}",
        "min": f"needs >= {threshold:g}",
        "max_increase": f"needs an increase <= {threshold:g} over the baseline",
        "max_decrease": f"needs a decrease <= {threshold:g} from the baseline",
    }[kind]


class GateResult:
    """Outcome of a fairness gate.

    Parameters
    ----------
    checks : sequence of mapping, or pandas.DataFrame
        The checks, one record (a row) each, with the columns described below.
    min_support, allow_unjudged, source, baseline, confidence, decide
        As the attributes below.

    Attributes
    ----------
    checks : pandas.DataFrame
        One row per task, grouping, metric and bound: ``task``, ``by``,
        ``metric``, ``kind`` (``"max"``, ``"min"``, ``"max_increase"``,
        ``"max_decrease"``), ``threshold`` (for a relative bound: the change
        allowed), ``value`` (NaN when it cannot be judged), ``baseline_value``
        (the baseline's value of a relative check, else NaN), ``status``
        (``"pass"``: the data show the value within its threshold, ``"fail"``:
        beyond it, ``"inconclusive"``: neither, ``"not judged"``: a NaN value, see ``note``;
        ``"not applicable"``: a gap of a task grouped by its own true label),
        ``lower``/``upper`` (the interval the verdict rests on: of the value, or of
        the change from the baseline; at ``level``, Bonferroni over the judged
        checks), ``method``, ``rows_to_settle`` (for an ``"inconclusive"``
        check: rows per group at which it would likely be settled), ``passed``
        (``status == "pass"``), ``worst`` (the groups behind the
        value: ``"low vs high"`` for a gap, the worst slice for a per-slice
        metric), ``groups_judged`` (groups taking part in the check: with at least
        ``min_support`` rows, or for a TPR or FPR gap that many rows of, or not of,
        the class behind the value), ``not_judged`` (the other groups with those
        rows, separated by ``"; "``), ``note`` (why a check was not judged or does not apply).
    min_support : int
        Rates (slices) resting on fewer rows were left out.
    allow_unjudged : bool
        Whether checks that cannot be judged let the gate pass.
    source : str
        What was checked (a file name), quoted in the summary.
    baseline : str or None
        The baseline audit of relative checks (a file name), if any.
    confidence : float
        Coverage of the family of intervals the checks are decided on.
    decide : {"interval", "point"}
        What decided the checks.
    """

    def __init__(
        self,
        checks: Sequence[Mapping[str, Any]] | pd.DataFrame,
        *,
        min_support: int,
        allow_unjudged: bool = False,
        source: str = "audit",
        baseline: str | None = None,
        confidence: float = 0.95,
        decide: str = "interval",
    ) -> None:
        self.checks = checks  # type: ignore[assignment]  # the setter takes records too
        self.confidence = float(confidence)
        self.decide = decide
        self.min_support = int(min_support)
        self.allow_unjudged = bool(allow_unjudged)
        self.source = source
        self.baseline = baseline

    @property
    def checks(self) -> pd.DataFrame:
        """Every check, one row each (built from the records on first use)."""
        if self._frame is None:
            import pandas as pd  # only for this view: the verdict reads the records

            self._frame = pd.DataFrame(self._records, columns=CHECK_COLUMNS)
        return self._frame

    @checks.setter
    def checks(self, checks: Sequence[Mapping[str, Any]] | pd.DataFrame) -> None:
        if hasattr(checks, "to_dict") and hasattr(checks, "columns"):  # a DataFrame
            self._records = [dict(r) for r in checks.to_dict(orient="records")]
            self._frame = checks
        else:
            self._records = [{c: r.get(c) for c in CHECK_COLUMNS} for r in checks]
            self._frame = None

    def _rows(self, *statuses: str) -> list[dict[str, Any]]:
        """The records of the checks with one of ``statuses``, in order."""
        return [r for r in self._records if r["status"] in statuses]

    def _count(self, *statuses: str) -> int:
        return len(self._rows(*statuses))

    def _with_status(self, *statuses: str) -> pd.DataFrame:
        return self.checks[self.checks["status"].isin(statuses)].reset_index(drop=True)

    @property
    def failures(self) -> pd.DataFrame:
        """Checks whose value exceeded their threshold."""
        return self._with_status("fail")

    @property
    def unjudged(self) -> pd.DataFrame:
        """Checks that could not be judged (status ``"not judged"``; ``note`` says why)."""
        return self._with_status("not judged")

    @property
    def inconclusive(self) -> pd.DataFrame:
        """Checks whose interval straddles the threshold: more rows would settle them."""
        return self._with_status("inconclusive")

    @property
    def judged_nothing(self) -> bool:
        """True when no check could be decided: such a gate never passes."""
        return not self._count(*_DECIDED)

    @property
    def violations(self) -> pd.DataFrame:
        """Checks that make the gate fail: failures and, unless allowed, unjudged checks."""
        statuses = ("fail",) if self.allow_unjudged else ("fail", "not judged")
        return self._with_status(*statuses)

    @property
    def passed(self) -> bool:
        """True when the data show every judged check within its threshold.

        No check failed or was inconclusive, (unless ``allow_unjudged``) every
        check was judged, and at least one was.
        """
        return self.exit_code == EXIT_PASSED

    @property
    def exit_code(self) -> int:
        """Exit status of ``fairaudit check``.

        1 a violation shown, 3 a check not judged (or none judged at all), 4
        inconclusive, 0 compliance shown.
        """
        if self._count("fail"):
            return EXIT_FAILED
        if (self._count("not judged") and not self.allow_unjudged) or self.judged_nothing:
            return EXIT_NOT_JUDGED
        if self._count("inconclusive"):
            return EXIT_INCONCLUSIVE
        return EXIT_PASSED

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return (
            f"GateResult(passed={self.passed}, checks={len(self._records)}, "
            f"failed={self._count('fail')}, "
            f"inconclusive={self._count('inconclusive')}, "
            f"not_judged={self._count('not judged')})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary: outcome, counts, settings and every check."""
        return {
            "passed": self.passed,
            "exit_code": self.exit_code,
            "source": self.source,
            "baseline": self.baseline,
            "n_checks": len(self._records),
            "n_passed": self._count("pass"),
            "n_failed": self._count("fail"),
            "n_inconclusive": self._count("inconclusive"),
            "n_not_judged": self._count("not judged"),
            "n_not_applicable": self._count("not applicable"),
            "min_support": self.min_support,
            "allow_unjudged": self.allow_unjudged,
            "confidence": self.confidence,
            "decide": self.decide,
            "checks": [{k: json_value(r[k]) for k in CHECK_COLUMNS} for r in self._records],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON, atomically; returns the path."""
        from fairaudit._io import atomic_write_text

        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1))

    def to_junit(self) -> str:
        """The checks as JUnit XML, for CI dashboards (one test case per check).

        One ``<testsuite>`` named after the source, one ``<testcase>`` per check
        (``classname`` ``fairaudit.gate.TASK.BY``, ``name`` ``METRIC KIND THRESHOLD``):
        a failed check is a ``<failure>``; a check that could not be judged is an
        ``<error>`` unless ``allow_unjudged`` (then ``<skipped>``, as a check that
        does not apply). Values, thresholds and groups are in each case's message
        and ``<system-out>``.
        """
        from xml.etree import ElementTree as ET

        unjudged = self._count("not judged")
        suite = ET.Element(
            "testsuite",
            {
                "name": f"fairaudit gate: {self.source}",
                "tests": str(len(self._records)),
                "failures": str(self._count("fail")),
                "errors": str(
                    (0 if self.allow_unjudged else unjudged) + self._count("inconclusive")
                ),
                "skipped": str(
                    self._count("not applicable") + (unjudged if self.allow_unjudged else 0)
                ),
            },
        )
        for row in (SimpleNamespace(**r) for r in self._records):
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": f"fairaudit.gate.{row.task}.{row.by}",
                    "name": f"{row.metric} {row.kind} {row.threshold:g}",
                },
            )
            value = "n/a" if not np.isfinite(row.value) else f"{row.value:.4f}"
            text = f"{row.task} by {row.by}: {row.metric} = {value} "
            text += f"({_bound_text(row.kind, row.threshold)})"
            if row.kind in RELATIVE_KINDS and np.isfinite(row.baseline_value):
                text += f", baseline {row.baseline_value:.4f}"
            if row.worst:
                text += f"; {row.worst}"
            if row.status == "fail":
                ET.SubElement(case, "failure", {"message": text, "type": "threshold exceeded"})
            elif row.status == "inconclusive":
                ET.SubElement(
                    case, "error", {"message": f"inconclusive: {text}", "type": "inconclusive"}
                )
            elif row.status == "not judged":
                tag = "skipped" if self.allow_unjudged else "error"
                ET.SubElement(
                    case, tag, {"message": f"not judged: {row.note}", "type": "not judged"}
                )
            elif row.status == "not applicable":
                ET.SubElement(case, "skipped", {"message": f"not applicable: {row.note}"})
            out = text + (
                f"\ngroups left out (a rate needs {self.min_support} rows or more): "
                f"{row.not_judged}"
                if row.not_judged
                else ""
            )
            ET.SubElement(case, "system-out").text = out
        suites = ET.Element("testsuites", {"name": "fairaudit check"})
        suites.append(suite)
        ET.indent(suites)
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(suites, encoding="unicode")
            + "\n"
        )

    def save_junit(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_junit` atomically; returns the path."""
        from fairaudit._io import atomic_write_text

        return atomic_write_text(Path(path), self.to_junit())

    def _head(self) -> str:
        n = len(self._records)
        failed, unjudged = self._count("fail"), self._count("not judged")
        open_ = self._count("inconclusive")
        judged = self._count("pass", "fail")
        shown = self.decide == "interval"
        if failed:
            head = (
                f"FAILED: the data show {failed} of {n} check(s) beyond their threshold"
                if shown
                else f"FAILED: {failed} of {n} check(s) exceeded their threshold"
            )
            return head + (f"; {unjudged} could not be judged" if unjudged else "")
        if self.judged_nothing and (self.allow_unjudged or not unjudged):
            return (
                f"NOT JUDGED: none of the {n} check(s) could be judged, and a gate that "
                "judged nothing does not pass"
            )
        if unjudged and not self.allow_unjudged:
            head = (
                f"NOT JUDGED: {unjudged} of {n} check(s) could not be judged, which fails the gate"
            )
            return head + (
                f"; the {judged} judged check(s) are within thresholds" if judged else ""
            )
        if open_:
            return (
                f"INCONCLUSIVE: {open_} of {n} check(s) neither shown beyond nor within their "
                "threshold; more rows would settle them"
            )
        head = (
            f"PASSED: the data show all {judged} judged check(s) within thresholds"
            if shown
            else f"PASSED: all {judged} judged check(s) within thresholds"
        )
        return head + (f"; {unjudged} not judged (allowed)" if unjudged else "")

    def format(self) -> str:
        """Readable summary: the outcome, the checks not judged and why, failures, passes."""
        lines = [f"fairness gate on {self.source}: {self._head()}"]
        if self.baseline is not None:
            lines.append(f"relative thresholds against the baseline {self.baseline}")
        unjudged = [SimpleNamespace(**r) for r in self._rows("not judged")]
        if len(unjudged):
            effect = (
                "allowed, they do not fail the gate"
                if self.allow_unjudged
                else "each fails the gate unless allow_unjudged / --allow-unjudged"
            )
            lines.append(f"{len(unjudged)} check(s) could not be judged ({effect}):")
        for row in unjudged:
            lines.append(
                f"  NOT JUDGED {row.task} by {row.by}: {row.metric} "
                f"({_bound_text(row.kind, row.threshold)}): {row.note}"
            )
        labels = {"fail": "FAIL", "inconclusive": "OPEN", "pass": "pass"}
        shown = [SimpleNamespace(**r) for status in labels for r in self._rows(status)]
        for row in shown:
            text = f"  {labels[row.status]} {row.task} by {row.by}: {row.metric} = {row.value:.4f}"
            if row.kind in RELATIVE_KINDS:
                change = row.value - row.baseline_value
                text += f", baseline {row.baseline_value:.4f} ({change:+.4f})"
            if np.isfinite(row.lower) and np.isfinite(row.level):
                text += f" [{row.lower:.4f}, {row.upper:.4f}]"
            text += f" ({_bound_text(row.kind, row.threshold)})"
            if row.status == "inconclusive" and np.isfinite(row.rows_to_settle):
                text += f"; about {int(row.rows_to_settle):,} rows per group would settle it"
            if row.worst:
                text += f"; {row.worst}"
            lines.append(text)
        moot: dict[tuple[str, str], dict[str, None]] = {}
        for r in self._rows("not applicable"):
            moot.setdefault((r["task"], r["by"]), {})[r["metric"]] = None
        if moot:
            lines.append(
                "not applicable (a task grouped by its own true label: its selection rate, "
                "TPR and FPR per group follow from the grouping):"
            )
            for (task, by), metrics in moot.items():
                lines.append(f"  {task} by {by}: {', '.join(metrics)}")
        # per grouping, each distinct list of left-out groups with the checks it holds for
        # (named unless it holds for every check of the grouping)
        skipped: dict[str, dict[str, dict[str, None]]] = {}
        checks_of: dict[str, int] = {}
        for r in self._records:
            checks_of[r["by"]] = checks_of.get(r["by"], 0) + 1
            if r["not_judged"] != "":
                lists = skipped.setdefault(r["by"], {})
                lists.setdefault(r["not_judged"], {})[f"{r['task']} {r['metric']}"] = None
        if skipped:
            lines.append(
                f"groups left out of the checks (a rate needs {self.min_support} rows or more):"
            )
        for by, lists in skipped.items():
            for not_judged, metrics in lists.items():
                groups = not_judged.split("; ")
                shown = ", ".join(groups[:_SHOWN_GROUPS])
                more = len(groups) - _SHOWN_GROUPS
                which = f" ({', '.join(metrics)})" if len(metrics) < checks_of[by] else ""
                lines.append(
                    f"  by {by}{which}: {shown}" + (f" and {more} more" if more > 0 else "")
                )
        if self.decide == "interval":
            lines.append(
                f"decided on intervals: {self.confidence:.0%} for all checks together "
                "(Bonferroni); --decide point judges point estimates"
            )
        else:
            lines.append("decided on point estimates (noise can pass or fail a check)")
        return "\n".join(lines)
