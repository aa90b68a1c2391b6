"""``fairaudit report``: writes the file and prints its path; bad input exits 2 with one line."""

from __future__ import annotations

import json

import pytest

from fairaudit.cli import main
from fairaudit.exceptions import DataValidationError
from fairaudit.models._cards import audited_model_card, load_model_card
from fairaudit.report import render_report

from ._parse import parse_report, table_by_id

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def saved(audit, tmp_path_factory):
    return audit.save(tmp_path_factory.mktemp("cli") / "audit.json")


def test_report_command_writes_the_report(saved, audit, tmp_path, capsys):
    out = tmp_path / "out" / "r.html"
    status = main(
        [
            "report",
            str(saved),
            "-o",
            str(out),
            "--title",
            "CLI report",
            "--confusion-by",
            "gender",
            "race",
            "--resamples",
            "30",
            "--seed",
            "7",
        ]
    )
    assert status == 0
    assert capsys.readouterr().out.strip() == str(out)
    parsed = parse_report(out.read_text(encoding="utf-8"))
    settings = {
        r["field"].text: r["value"].text
        for r in table_by_id(parsed, "table-report-settings").records()
    }
    assert settings["bootstrap replicates"] == "30"
    assert settings["bootstrap seed (random_state)"] == "7"
    assert settings["confusion matrices by"] == "gender, race"
    # 1 overall + 2 genders + 7 races confusion tables per task
    assert table_by_id(parsed, "table-task-age-confusion-9")
    overall = {
        r["metric"].text: r for r in table_by_id(parsed, "table-task-race-overall").records()
    }
    expected = audit.metrics("race")["accuracy"].iloc[0]
    assert overall["accuracy"]["estimate"].number == expected


def test_default_output_beside_the_audit_and_a_shipped_card(saved, capsys):
    status = main(
        ["report", str(saved), "--resamples", "10", "--model-card", "fairface-lightweight-112"]
    )
    assert status == 0
    path = saved.with_suffix(".html")
    assert capsys.readouterr().out.strip() == str(path)
    html = path.read_text(encoding="utf-8")
    parsed = parse_report(html)
    card = {
        r["field"].text: r["value"].text for r in table_by_id(parsed, "table-model-card").records()
    }
    assert card["name"] == "fairface-lightweight-112"
    assert card["parameters"] == "668,077"
    evaluation = table_by_id(parsed, "table-model-card-evaluation").records()
    assert [r["task"].text for r in evaluation] == ["gender", "age", "race"]
    from fairaudit.models import shipped_model_card

    shipped = shipped_model_card("fairface-lightweight-112")["evaluation"]["metrics"]
    expected = shipped["gender"]["estimate"]
    assert evaluation[0]["estimate"].number == pytest.approx(expected, abs=5e-5)


def test_a_card_as_a_json_file(tmp_path):
    path = tmp_path / "card.json"
    path.write_text(json.dumps({"name": "mine", "notes": "n"}), encoding="utf-8")
    assert load_model_card(path) == {"name": "mine", "notes": "n"}


def test_the_audit_metadata_names_the_shipped_model(audit, tmp_path, capsys):
    """The command line passes the card of the shipped model the audit names; the
    report itself looks no card up (it shows only the card it is given)."""
    named = type(audit)(
        tasks=audit.tasks,
        attributes=audit.attributes,
        counts=audit.counts,
        metadata={**audit.metadata, "model": "fairface-mobilenet_v2-112"},
    )
    assert audited_model_card(named.metadata) == load_model_card("fairface-mobilenet_v2-112")
    assert audited_model_card({"model": "no-such-model"}) is None
    assert audited_model_card({}) is None
    saved = named.save(tmp_path / "named.json")
    assert main(["report", str(saved), "--resamples", "5", "--quiet"]) == 0
    html = (tmp_path / "named.html").read_text(encoding="utf-8")
    card = {
        r["field"].text: r["value"].text
        for r in table_by_id(parse_report(html), "table-model-card").records()
    }
    assert card["name"] == "fairface-mobilenet_v2-112"
    assert 'id="table-model-card"' not in render_report(named, n_resamples=5)


def _bad(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _fails(argv, capsys, *fragments):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fairaudit report: error: ")
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_corrupt_audit_file(tmp_path, capsys):
    path = _bad(tmp_path, "corrupt.json", '{"format": "fairaudit-audit", "format_vers')
    _fails(["report", str(path)], capsys, str(path), "not a JSON audit file")
    assert not path.with_suffix(".html").exists()


def test_other_format_version(saved, tmp_path, capsys):
    obj = json.loads(saved.read_text(encoding="utf-8"))
    obj["format_version"] = 99
    path = _bad(tmp_path, "v99.json", json.dumps(obj))
    _fails(["report", str(path)], capsys, "format_version 99")


def test_not_an_audit(tmp_path, capsys):
    path = _bad(tmp_path, "other.json", json.dumps({"name": "a model card"}))
    _fails(["report", str(path)], capsys, "not a fairaudit audit")
    _fails(["report", str(tmp_path / "missing.json")], capsys, "not found")


def test_an_audit_without_tasks(saved, tmp_path, capsys):
    obj = json.loads(saved.read_text(encoding="utf-8"))
    obj["tasks"], obj["counts"], obj["calibration"] = [], {}, {}
    path = _bad(tmp_path, "empty.json", json.dumps(obj))
    _fails(["report", str(path)], capsys, "no task")


def test_counts_that_do_not_match_the_tasks(saved, tmp_path, capsys):
    obj = json.loads(saved.read_text(encoding="utf-8"))
    obj["tasks"][0]["classes"] = ["a", "b", "c"]  # gender now has 3 classes, counts 2
    path = _bad(tmp_path, "shape.json", json.dumps(obj))
    _fails(["report", str(path)], capsys, "shape")


def test_incompatible_model_card(saved, tmp_path, capsys):
    _fails(
        ["report", str(saved), "--model-card", "utkface-mobilenet_v2-112"],
        capsys,
        "incompatible card",
        "race",
    )
    card = _bad(tmp_path, "card.json", json.dumps({"name": "x", "tasks": [{"name": "gender"}]}))
    _fails(["report", str(saved), "--model-card", str(card)], capsys, "['age', 'race']")
    _fails(["report", str(saved), "--model-card", "no-such-model"], capsys, "no-such-model")
    broken = _bad(tmp_path, "broken.json", "[1, 2]")
    _fails(["report", str(saved), "--model-card", str(broken)], capsys, "JSON object")


def test_unknown_attributes(saved, audit, capsys):
    _fails(["report", str(saved), "--confusion-by", "skin"], capsys, "skin", "gender")
    with pytest.raises(DataValidationError, match="heatmaps"):
        render_report(audit, heatmaps=[("age", "skin")], n_resamples=5)
    with pytest.raises(DataValidationError, match="two different attributes"):
        render_report(audit, heatmaps=[("age", "age")], n_resamples=5)
    with pytest.raises(DataValidationError, match="AuditResult"):
        render_report({"format": "fairaudit-audit"})  # type: ignore[arg-type]
