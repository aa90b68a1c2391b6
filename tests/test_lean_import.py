"""Imports cost only what is used: heavy dependencies load where a command needs them.

``fairaudit check`` judges a saved audit on every commit of a CI pipeline; it needs
neither SciPy, pandas (nor the pyarrow it loads), plotting, templates, dask nor torch
(together seconds of CPU to import). Each check runs in a fresh interpreter, since
this one has loaded them all. pandas loads pyarrow itself when it is installed
(pandas 3's string dtype), so what ``import pandas`` alone loads is not held against
fairaudit by the checks of the other commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

#: Modules a saved audit's check must not load (nor importing any core package).
HEAVY = (
    "scipy.stats",
    "scipy.optimize",
    "scipy.spatial",
    "matplotlib",
    "seaborn",
    "jinja2",
    "pyarrow",
    "dask",
    "torch",
    "statsmodels",
    "sklearn",
)
DEMO_AUDIT = (
    Path(__file__).resolve().parents[1]
    / "fairaudit"
    / "data"
    / "demo"
    / "audit-fairface-lightweight-112.json"
)
#: The core packages (no torch needed); importing any of them must stay lean.
CORE_PACKAGES = (
    "fairaudit",
    "fairaudit.cli",
    "fairaudit.functional",
    "fairaudit.model_audit",
    "fairaudit.dataset_audit",
    "fairaudit.report",
    "fairaudit.compare",
    "fairaudit.gate",
    "fairaudit.findings",
    "fairaudit.publish",
    "fairaudit.demo",
)


def _modules_after(code: str) -> set[str]:
    """Every module in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _loaded_after(code: str) -> set[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    return _modules_after(code) & set(HEAVY)


@pytest.fixture(scope="module")
def loaded_by_pandas() -> set[str]:
    return _loaded_after("import pandas")


def test_the_probe_sees_a_heavy_import():
    assert {"scipy.stats", "matplotlib"} <= _loaded_after("import scipy.stats, matplotlib")


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_importing_a_core_package_loads_nothing_heavy(package, loaded_by_pandas):
    assert _loaded_after(f"import {package}") - loaded_by_pandas == set()


def test_import_fairaudit_and_cli_load_not_even_pandas():
    assert (
        _loaded_after(
            "import fairaudit, fairaudit.cli\nimport sys\nassert 'pandas' not in sys.modules"
        )
        == set()
    )


#: Not even these may load while a saved audit is checked: the gate reads the counts
#: and decides on exact intervals computed in pure Python (a CI step per commit).
NOT_FOR_A_CHECK = (
    "scipy",
    "scipy.stats",
    "scipy.special",
    "pandas",
    "pyarrow",
    "matplotlib",
    "seaborn",
    "jinja2",
    "dask",
    "torch",
)


def test_the_full_probe_sees_pandas_and_scipy():
    assert {"pandas", "scipy.special"} <= _modules_after("import pandas, scipy.special")


def test_check_of_a_saved_audit_loads_neither_scipy_nor_pandas(tmp_path):
    report = tmp_path / "gate.json"
    code = f"""
import fairaudit, fairaudit.cli
rc = fairaudit.cli.main([
    "check", {str(DEMO_AUDIT)!r}, "--max", "equalized_odds_difference=0.9",
    "--min", "accuracy=0.1", "--json", {str(report)!r},
])
assert rc in (0, 1, 3, 4), rc  # the gate's verdicts; 2 would be bad input
"""
    assert _modules_after(code) & set(NOT_FOR_A_CHECK) == set()
    # the check did judge the audit on intervals (so nothing was skipped to stay lean)
    checks = json.loads(report.read_text())["checks"]
    assert {c["status"] for c in checks} <= {"pass", "fail", "inconclusive"}
    exact = [c for c in checks if c["metric"] == "accuracy"]
    assert exact and all(c["lower"] < c["value"] < c["upper"] for c in exact)
    assert all(c["method"] == "exact per slice, Bonferroni over slices" for c in exact)


def test_check_of_a_published_audit_loads_neither_scipy_nor_pandas(tmp_path):
    """A published (redacted) audit is judged on its saved rows, as a full one on its counts."""
    from fairaudit.model_audit import AuditResult
    from fairaudit.publish import redact_audit

    published = tmp_path / "published.json"
    redact_audit(AuditResult.load(DEMO_AUDIT), min_count=10).save(published)
    report = tmp_path / "gate.json"
    code = f"""
import fairaudit, fairaudit.cli
rc = fairaudit.cli.main([
    "check", {str(published)!r}, "--max", "accuracy_difference=0.9",
    "--min", "accuracy=0.1", "--json", {str(report)!r},
])
assert rc in (0, 1, 3, 4), rc
"""
    assert _modules_after(code) & set(NOT_FOR_A_CHECK) == set()
    checks = json.loads(report.read_text())["checks"]
    judged = [c for c in checks if c["status"] in ("pass", "fail", "inconclusive")]
    assert judged and all(c["lower"] <= c["value"] <= c["upper"] for c in judged)


def test_audit_of_a_predictions_table_loads_nothing_heavy(loaded_by_pandas, tmp_path):
    """``fairaudit audit``: the counts, intervals and chi-square tests need no SciPy."""
    rng = np.random.default_rng(0)
    n = 400
    labels = {
        "gender": rng.choice(["Male", "Female"], n),
        "race": rng.choice(["White", "Black", "Indian"], n),
    }
    lines = ["file,gender,race"] + [
        f"{i}.jpg,{labels['gender'][i]},{labels['race'][i]}" for i in range(n)
    ]
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    flipped = np.where(rng.random(n) < 0.2, "Female", labels["gender"])
    lines = ["file,gender_pred"] + [f"{i}.jpg,{flipped[i]}" for i in range(n)]
    (tmp_path / "predictions.csv").write_text("\n".join(lines) + "\n")
    output = tmp_path / "audit.json"
    code = f"""
import fairaudit.cli
rc = fairaudit.cli.main([
    "audit", "--predictions", {str(tmp_path / "predictions.csv")!r},
    "--labels", {str(tmp_path / "labels.csv")!r}, "--by", "race",
    "--no-progress", "--output", {str(output)!r},
])
assert rc in (0, 1, 3, 4), rc  # the gate's verdicts; 2 would be bad input
"""
    assert _loaded_after(code) - loaded_by_pandas == set()
    counts = np.array(json.loads(output.read_text())["counts"]["gender"])
    assert counts.sum() == n  # every row counted


def test_report_of_a_saved_audit_loads_only_its_templates(loaded_by_pandas, tmp_path):
    output = tmp_path / "report.html"
    code = f"""
import fairaudit.cli
rc = fairaudit.cli.main(["report", {str(DEMO_AUDIT)!r}, "-o", {str(output)!r}, "--quiet"])
assert rc in (0, 1, 3, 4), rc  # the gate's verdicts; 2 would be bad input
"""
    assert _loaded_after(code) - loaded_by_pandas == {"jinja2"}
    assert output.stat().st_size > 100_000


#: What a model's report must not load: the other reports' modules, image reading and
#: progress bars (the report shows none), SciPy's statistics.
NOT_FOR_A_REPORT = (
    "fairaudit.report._compare_render",
    "fairaudit.report._detector_render",
    "fairaudit.compare",
    "fairaudit.attributes._derive",
    "fairaudit.datasets",
    "PIL",
    "tqdm",
    "asyncio",
    "scipy.stats",
)


def test_report_loads_neither_the_other_reports_nor_images_nor_progress_bars(tmp_path):
    output = tmp_path / "report.html"
    code = f"""
import fairaudit.cli
rc = fairaudit.cli.main(["report", {str(DEMO_AUDIT)!r}, "-o", {str(output)!r}, "--quiet"])
assert rc == 0, rc
"""
    loaded = _modules_after(code)
    assert "fairaudit.report._render" in loaded  # the probe saw the report
    assert loaded & set(NOT_FOR_A_REPORT) == set()
