"""``fairaudit pair`` and ``fairaudit compare``: files written, findings printed, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import markupsafe
import pytest

from fairaudit.cli import main
from fairaudit.compare import PairedCounts, compare_audits
from fairaudit.compare._verdict import comparison_verdict
from fairaudit.model_audit import AuditResult

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")


@pytest.fixture
def files(tmp_path, versions, audits):
    paths = {"labels": tmp_path / "labels.csv"}
    versions["labels"].to_csv(paths["labels"], index=False)
    for name in ("a", "b"):
        paths[f"pred_{name}"] = tmp_path / f"pred-{name}.csv"
        versions[name].to_csv(paths[f"pred_{name}"], index=False)
    paths["audit_a"] = audits[0].save(tmp_path / "v1.json")
    paths["audit_b"] = audits[1].save(tmp_path / "v2.json")
    return {k: str(v) for k, v in paths.items()}


def test_pair_then_compare(tmp_path, files, pairs, capsys):
    paired = tmp_path / "paired.json"
    status = main(
        [
            "pair",
            files["pred_a"],
            files["pred_b"],
            "--labels",
            files["labels"],
            "--names",
            "A",
            "B",
            "-o",
            str(paired),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "paired rows: 4000" in out and f"wrote {paired}" in out
    assert PairedCounts.load(paired) == pairs

    report, changes = tmp_path / "compare.html", tmp_path / "changes.json"
    args = [files["audit_a"], files["audit_b"], "--paired", str(paired)]
    args += ["-o", str(report), "--json", str(changes), "--resamples", "50", "--seed", "3"]
    assert main(["compare", *args]) == 0
    out = capsys.readouterr().out
    expected = compare_audits(
        [files["audit_a"], files["audit_b"]],
        paired=PairedCounts.load(paired),
        n_resamples=50,
        random_state=3,
        progress=False,
    )
    assert "v2 vs v1: paired on the 4,000 rows" in out
    # the verdict opens the output, sentence by sentence, as the report's
    verdict = comparison_verdict(expected)
    assert 3 <= len(verdict) <= 5
    assert out.splitlines()[: len(verdict) + 1] == ["verdict:"] + [f"- {s}" for s in verdict]
    assert verdict[-1].startswith("Race accuracy for White people fell ")  # the broken slice
    for sentence in expected.findings(limit=10):
        assert f"- {sentence}" in out
    assert f"wrote {report}" in out
    html = report.read_text()
    assert str(markupsafe.escape(expected.findings(limit=1)[0])) in html
    saved = json.loads(changes.read_text())
    assert saved["names"] == ["v1", "v2"] and len(saved["changes"]) == len(expected.changes)


def test_compare_names_versions_by_their_models(tmp_path, files, capsys):
    for key, model in (("audit_a", "old-model"), ("audit_b", "new-model")):
        audit = AuditResult.load(files[key])
        audit.metadata["model"] = model
        audit.save(files[key])
    report = tmp_path / "named.html"
    assert main(["compare", files["audit_a"], files["audit_b"], "-o", str(report)]) == 0
    out = capsys.readouterr().out
    assert "new-model vs old-model: unpaired" in out
    assert "(old-model) to " in out.splitlines()[1] and "(new-model)" in out.splitlines()[1]
    assert "<strong>old-model</strong>" in report.read_text()


def test_compare_unpaired_says_so(tmp_path, files, capsys):
    report = tmp_path / "out.html"
    args = [files["audit_a"], files["audit_b"], "--names", "old", "new"]
    assert main(["compare", *args, "-o", str(report), "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "new vs old: unpaired" in out
    assert "unpaired" in report.read_text()


def test_bad_input_exits_2_with_one_line(tmp_path, files, versions, capsys):
    assert main(["compare", files["audit_a"]]) == 2
    assert "at least two audits" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"format": "fairaudit-audit", "format_version": 1, "tasks": [')
    assert main(["compare", files["audit_a"], str(corrupt)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fairaudit compare: error:") and "corrupt.json" in err
    # other data: an audit of fewer rows
    import warnings

    from fairaudit.model_audit import audit_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fewer = audit_table(versions["b"], versions["labels"].iloc[:100], unmatched="report")
    path = fewer.save(tmp_path / "fewer.json")
    assert main(["compare", files["audit_a"], str(path)]) == 2
    err = capsys.readouterr().err
    assert "'v1' and 'fewer'" in err and "not audited on the same data" in err
    # pairs of other versions
    other = tmp_path / "other-paired.json"
    assert (
        main(
            [
                "pair",
                files["pred_b"],
                files["pred_b"],
                "--labels",
                files["labels"],
                "-o",
                str(other),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["compare", files["audit_a"], files["audit_b"], "--paired", str(other)]) == 2
    assert "do not belong to the baseline 'v1'" in capsys.readouterr().err


def test_compare_in_a_subprocess(tmp_path, files):
    report = tmp_path / "sub.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fairaudit",
            "compare",
            files["audit_a"],
            files["audit_b"],
            "-o",
            str(report),
            "--resamples",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "top " in done.stdout and report.exists()
