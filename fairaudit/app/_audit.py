"""What the audit page does: read an uploaded saved audit, render its report."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from fairaudit.exceptions import DataValidationError

if TYPE_CHECKING:
    from fairaudit.model_audit import AuditResult

__all__ = ["audit_report_html", "read_audit", "report_file_name"]


def read_audit(data: bytes, *, name: str) -> AuditResult:
    """Read a saved audit (the JSON :meth:`AuditResult.save` writes) from uploaded bytes.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name, used in error messages.

    Returns
    -------
    AuditResult
        The audit, as :meth:`AuditResult.load` would read it from a file.

    Raises
    ------
    DataValidationError
        If the file is empty, not UTF-8 JSON, not a fairaudit audit, of another
        format version or malformed; the message names the file.
    """
    from fairaudit.model_audit import AuditResult

    if not data:
        raise DataValidationError(f"{name} is empty: upload an audit saved by fairaudit (.json)")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"{name}: not a JSON audit file ({exc})") from exc
    return AuditResult.from_dict(obj, source=name)


def audit_report_html(audit: AuditResult, **options: Any) -> str:
    """The self-contained HTML report of an audit, for any audit the page may be given.

    Parameters
    ----------
    audit : AuditResult
        The audit to report.
    **options
        Options of :func:`fairaudit.report.render_report` (``title``,
        ``n_resamples``, ``random_state``, ...). Unless given, ``model_card`` is the
        card of the shipped model the audit names (if any) and ``confusion_by`` is
        ``("gender",)`` when the audit is sliced by gender (the report's default),
        else its first attribute (none for an audit without attributes), so that
        audits sliced by other attributes get a report too.

    Returns
    -------
    str
        One HTML page that makes no request (see :mod:`fairaudit.report`).

    Raises
    ------
    DataValidationError
        If the report cannot be made (an audit without a task or a row, ...).
    """
    from fairaudit.models._cards import audited_model_card
    from fairaudit.report import render_report

    if "model_card" not in options:  # the report looks no card up: it is passed in
        options["model_card"] = audited_model_card(audit.metadata)
    if "confusion_by" not in options:
        attributes = list(audit.attributes)
        options["confusion_by"] = ("gender",) if "gender" in attributes else tuple(attributes[:1])
    return render_report(audit, **options)


def report_file_name(name: str) -> str:
    """File name to download the report of an uploaded audit as: ``audit.json -> audit.html``.

    Only the last path component of ``name`` is kept.
    """
    stem = PurePath(name.replace("\\", "/")).stem or "audit"
    return f"{stem}.html"
