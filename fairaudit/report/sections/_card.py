"""Section 5, the model card and the metadata: what was audited, with what, and how.

The model card's facts and evaluation figures, the audit's own metadata as saved
with it, and the report's settings (bootstrap, confidence, ``min_support``).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fairaudit._version import __version__
from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._context import ReportContext

__all__ = ["build_metadata", "build_model_card"]


def build_model_card(card: dict[str, Any] | None) -> dict[str, Any] | None:
    """The model card's facts, evaluation figures and notes; None without a card.

    Only what describes the model is shown: its architecture, data, training,
    evaluation and notes (what it is, how it was trained and measured, its limits).
    The card's ``history`` (earlier versions it replaces, runs it reused) and its
    per-epoch ``training_history`` stay in the card file.
    """
    if card is None:
        return None
    facts: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", {}, []):
            facts.append((label, value if isinstance(value, str) else _text(value)))

    add("name", card.get("name"))
    add("architecture", card.get("arch"))
    add("parameters", card.get("parameters"))
    add("input size (px)", card.get("input_size"))
    tasks = card.get("tasks")
    if isinstance(tasks, list):
        add(
            "tasks",
            "; ".join(
                f"{t.get('name')} ({t.get('kind', 'classification')}: "
                f"{', '.join(str(c) for c in t.get('classes') or [])})"
                for t in tasks
                if isinstance(t, Mapping)
            ),
        )
    data = card.get("data")
    if isinstance(data, Mapping):
        for key, value in data.items():
            add(f"data: {key}", value)
    add("command", card.get("command"))
    add("seed", card.get("seed"))
    training = card.get("training")
    if isinstance(training, Mapping):
        for key, value in training.items():
            add(f"training: {key}", value)
    add("machine", card.get("machine"))
    add("library version", card.get("library_version"))
    reference = card.get("reference")
    if isinstance(reference, Mapping):
        add("reference", reference.get("source"))
    evaluation = None
    ev = card.get("evaluation")
    if isinstance(ev, Mapping) and isinstance(ev.get("metrics"), Mapping):
        figures = reference.get("figures", {}) if isinstance(reference, Mapping) else {}
        rows = []
        for task, m in ev["metrics"].items():
            if not isinstance(m, Mapping):
                continue
            rows.append(
                {
                    "task": str(task),  # n: an integer; the figures: 4 decimals
                    "metric": str(m.get("metric", "")),
                    "estimate": _number(m.get("estimate")),
                    "CI low": _number(m.get("lower")),
                    "CI high": _number(m.get("upper")),
                    "interval": str(m.get("interval") or ""),
                    "n": _count(m.get("n")),
                    "published reference": _reference((figures or {}).get(task)),
                }
            )
        if rows:
            level = ev.get("confidence")
            table = pd.DataFrame(rows)
            # integers stay integers even beside a missing count (no float column)
            table["n"] = pd.Series([r["n"] for r in rows], dtype=object)
            table["published reference"] = pd.Series(
                [r["published reference"] for r in rows], dtype=object
            )
            evaluation = frame_to_html(
                table,
                caption=(
                    "Evaluation figures of the model card"
                    + (f" ({_level(level)} intervals)" if level is not None else "")
                ),
                table_id="table-model-card-evaluation",
                column_formats={
                    c: "{:.4f}" for c in ("estimate", "CI low", "CI high", "published reference")
                },
            )
    notes = str(card.get("notes") or "")
    return {
        "name": str(card.get("name", "")),
        "facts": _key_value_table(facts, caption="Model card", table_id="table-model-card"),
        "evaluation": evaluation,
        "notes": notes,
        "paragraphs": [p.strip() for p in notes.split("\n\n") if p.strip()],
    }


def build_metadata(ctx: ReportContext) -> dict[str, Any]:
    """What was audited, the audit's metadata and the report's settings.

    The audit's description heads the report (``Data: ...``): the metadata table
    leaves out its ``description`` row and any other row that only repeats it (an
    audit whose ``data`` is its description); an empty description keeps its row.
    """
    audit = ctx.audit
    description = str(audit.metadata.get("description") or "")
    rows = [
        (key, text)
        for key, text in _flatten(audit.metadata)
        if not description or (key != "description" and text != description)
    ]
    audit_rows = [
        ("rows audited", f"{audit.n_rows:,}"),
        (
            "tasks",
            "; ".join(f"{t} ({', '.join(v.classes)})" for t, v in audit.tasks.items())
            or "none (a detector audit)",
        ),
        (
            "attributes",
            "; ".join(f"{a} ({', '.join(v.classes)})" for a, v in audit.attributes.items())
            or "none (one overall slice)",
        ),
        ("calibration statistics", ", ".join(audit.calibration_sums) or "none"),
        (
            "detector audit",
            (
                "{:,} of {:,} images with a face detected".format(
                    *reversed(audit.grouped_detection().astype(int).tolist())
                )
                if getattr(audit, "has_detection", False)
                else "none"
            ),
        ),
        ("regression targets", ", ".join(audit.regression) or "none"),
        ("confidence bins", str(audit.n_bins)),
    ]
    report_rows = [
        ("report generated", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")),
        ("report library version", f"fairaudit {__version__}"),
        ("bootstrap replicates", f"{ctx.n_resamples:,}"),
        ("confidence level", ctx.level),
        ("bootstrap seed (random_state)", str(ctx.random_state)),
        ("min_support (small slices)", str(ctx.min_support)),
        ("confusion matrices by", ", ".join(ctx.confusion_by) or "none"),
    ]
    return {
        "audit_table": _key_value_table(
            audit_rows, caption="What was audited", table_id="table-audit"
        ),
        "metadata_table": _key_value_table(
            rows,
            caption="Audit metadata (as saved with the audit; its description heads the report)",
            table_id="table-metadata",
        ),
        "report_table": _key_value_table(
            report_rows, caption="Report settings", table_id="table-report-settings"
        ),
    }


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Metadata as (key, text) rows; nested mappings become ``a.b`` keys."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows or [(prefix, "{}")]
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return [(prefix, ", ".join(str(v) for v in value))]
        return [(prefix, json.dumps(value, ensure_ascii=False, default=str))]
    if isinstance(value, float):
        return [(prefix, repr(value))]
    if isinstance(value, int) and not isinstance(value, bool):
        return [(prefix, f"{value:,}")]
    return [(prefix, "" if value is None else str(value))]


def _key_value_table(rows: Sequence[tuple[str, str]], *, caption: str, table_id: str) -> Any:
    frame = pd.DataFrame(rows, columns=["field", "value"], dtype=object)
    return frame_to_html(frame, caption=caption, table_id=table_id)


def _level(value: Any) -> str:
    """A card's confidence as a reader writes it (0.95 -> "95%")."""
    return f"{100 * value:g}%" if isinstance(value, float) and 0 < value < 1 else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _count(value: Any) -> Any:
    """A count as an integer (``5,000``, not ``5000.000``); NaN when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return int(number) if number.is_integer() else number


def _reference(value: Any) -> Any:
    """A published figure: a number as a number, a text (``"MAE 0.11 of max age"``) as is."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return _number(value)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
