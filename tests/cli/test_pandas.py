"""The table-building commands run with Python-object strings, and restore pandas after."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from fairaudit.cli import _audit, _compare, _demo, _report, _slices
from fairaudit.cli._pandas import python_strings


def test_the_option_holds_for_the_run_only_and_is_restored_even_on_error():
    before = pd.get_option("mode.string_storage")
    seen = []

    @python_strings
    def run(args: argparse.Namespace) -> int:
        seen.append((pd.get_option("mode.string_storage"), pd.Series(["a"]).dtype.storage))
        if args.fail:
            raise ValueError("boom")
        return 3

    assert run(argparse.Namespace(fail=False)) == 3
    with pytest.raises(ValueError, match="boom"):
        run(argparse.Namespace(fail=True))
    assert seen == [("python", "python")] * 2
    assert pd.get_option("mode.string_storage") == before
    assert run.__name__ == "run"


@pytest.mark.parametrize(
    "command",
    [
        _report.run_report,
        _audit.run_audit,
        _compare.run_compare,
        _compare.run_pair,
        _demo._run_demo,
        _slices.run_slices,
    ],  # fmt: skip
)
def test_the_table_building_commands_run_under_it(command):
    assert command.__wrapped__.__module__ == command.__module__


def test_a_report_is_the_same_with_either_storage(tmp_path):
    """The HTML does not depend on how pandas stores strings (the core install has
    only Python strings; the full install's default is Arrow where pyarrow is there)."""
    from fairaudit.demo import load_demo_audits
    from fairaudit.report import render_report

    audit = next(iter(load_demo_audits().audits.values()))
    pages = []
    for storage in ("python", "pyarrow"):
        if storage == "pyarrow":
            pytest.importorskip("pyarrow", reason="pyarrow is absent from the core install")
        with pd.option_context("mode.string_storage", storage):
            html = render_report(audit, n_resamples=50)
        pages.append([line for line in html.splitlines() if "report generated" not in line])
    assert pages[0] == pages[1]
