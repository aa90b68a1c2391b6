"""Exports beside the HTML: the findings CSV, the terminal summary, the gate's JUnit XML."""

from __future__ import annotations

import math
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from markupsafe import escape

from fairaudit.cli import main
from fairaudit.findings import rank_disparities
from fairaudit.report import findings_table, terminal_summary, write_findings_csv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def saved(audit, tmp_path_factory):
    return audit.save(tmp_path_factory.mktemp("exports") / "audit.json")


def test_findings_csv_is_the_ranking_with_full_precision(audit, tmp_path):
    path = write_findings_csv(audit, tmp_path / "findings.csv", min_support=30)
    read = pd.read_csv(path, keep_default_na=False)
    ranked = rank_disparities(audit, min_support=30)
    assert list(read["rank"]) == list(range(1, len(ranked) + 1))
    at = list(ranked.columns).index("level") + 1
    assert list(read.columns) == [
        "rank",
        *ranked.columns[:at],
        "false_discovery_rate",
        *ranked.columns[at:],
    ]
    for column in ("gap", "gap_lower", "gap_upper", "low_rate", "high_rate"):
        for got, want in zip(read[column], ranked[column], strict=True):
            assert (got == "" and math.isnan(want)) or float(got) == want  # repr round-trip
    assert list(read["supported"].astype(str)) == [str(v) for v in ranked["supported"]]
    assert read["false_discovery_rate"].to_numpy() == pytest.approx(0.05)
    # every row agrees with itself: supported exactly when its interval excludes 0
    assert list(read["supported"].astype(str)) == [
        str(bool(low > 0)) if low != "" else "False" for low in read["gap_lower"]
    ]
    assert findings_table(audit).equals(findings_table(audit, disparities=ranked))


def test_terminal_summary_names_the_three_largest_supported_gaps_per_task(audit):
    ranked = rank_disparities(audit, min_support=30)
    text = terminal_summary(audit)
    lines = text.splitlines()
    assert lines[0] == "verdict:"
    header = next(i for i, line in enumerate(lines) if line.startswith("largest supported"))
    assert lines[header].startswith("largest supported disparities (false discovery rate 5%")
    assert 1 <= header - 1 <= 5  # three to five verdict sentences (fewer on a small audit)
    for task in audit.tasks:
        rows = ranked[(ranked["task"] == task)]
        supported = rows[rows["supported"]]
        head = f"{task}: {len(supported)} of {len(rows)} gaps supported"
        assert head in lines
        start = lines.index(head)
        shown = []
        for line in lines[start + 1 :]:
            if not line.startswith("  "):
                break
            shown.append(line)
        assert len(shown) == min(3, len(supported)) or (supported.empty and len(shown) == 1)
        for line, row in zip(shown, supported.itertuples(index=False), strict=False):
            assert f"gap {row.gap:.3f} [{row.gap_lower:.3f}, {row.gap_upper:.3f}]" in line
            assert f"{row.low_group} {row.low_rate:.3f} vs {row.high_group}" in line
    assert terminal_summary(audit, disparities=ranked) == text


def test_report_command_writes_the_csv_and_prints_the_summary(saved, audit, tmp_path, capsys):
    out, csv = tmp_path / "r.html", tmp_path / "findings.csv"
    status = main(["report", str(saved), "-o", str(out), "--csv", str(csv), "--resamples", "20"])
    assert status == 0
    captured = capsys.readouterr()
    # stdout: only the written paths (scripts read them); the summary goes to stderr
    assert captured.out.split() == [str(out), str(csv)]
    assert captured.err.strip() == terminal_summary(audit).strip()
    assert len(pd.read_csv(csv)) == len(rank_disparities(audit))
    status = main(["report", str(saved), "-o", str(out), "--resamples", "20", "--quiet"])
    assert status == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out) and captured.err == ""


def test_check_writes_junit_xml_one_case_per_check(saved, tmp_path, capsys):
    xml = tmp_path / "gate.xml"
    status = main(
        [
            "check",
            str(saved),
            "--max",
            "accuracy_difference=0.01",
            "equalized_odds_difference=0.99",
            "--by",
            "race",
            "--junit",
            str(xml),
        ]
    )
    out = capsys.readouterr().out
    assert status == 1 and f"wrote {xml}" in out
    root = ET.parse(xml).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) > 0
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failures) > 0
    for case in failures:
        assert case.get("name").startswith("accuracy_difference max 0.01")
        assert "needs <= 0.01" in case.find("failure").get("message")
    passed = [c for c in cases if len(c) == 1]  # only system-out
    assert any(c.get("name").startswith("equalized_odds_difference") for c in passed)
    # stdout as JSON: the note about the XML goes to stderr
    status = main(
        [
            "check",
            str(saved),
            "--max",
            "accuracy_difference=0.99",
            "--json",
            "-",
            "--junit",
            str(xml),
        ]
    )
    captured = capsys.readouterr()
    assert captured.out.lstrip().startswith("{") and f"wrote {xml}" in captured.err


def test_model_card_reads_for_its_reader_and_counts_are_integers(audit):
    from fairaudit.models._cards import load_model_card
    from fairaudit.report import render_report

    from ._parse import parse_report, table_by_id

    card = load_model_card("fairface-mobilenet_v2-112")
    html = render_report(audit, model_card=card, n_resamples=10)
    parsed = parse_report(html)
    evaluation = table_by_id(parsed, "table-model-card-evaluation")
    assert [r["n"].text for r in evaluation.records()] == ["5,000"] * 3  # not "5000.000"
    # the title names the model (from the card when the audit's metadata does not)
    assert '<h1 id="report-title">Bias audit of fairface-mobilenet_v2-112 on synthetic rows' in html
    for heading in ("What it is:", "How it was trained:", "How it was measured:", "Limits:"):
        assert f'<p class="card-note">{heading}' in html
    for note in ("issue 5", "pause for benchmarks", "session", "../shared"):
        assert note not in card["notes"] and note not in card["reference"]["source"]
        assert note not in card["data"]["train"] and note not in card["data"]["evaluation"]


@pytest.mark.parametrize("name", ["fairface-mobilenet_v2-112", "fairface-lightweight-112"])
def test_model_card_shows_the_model_not_its_history(audit, name):
    """The card's history (earlier versions, the seed system) stays in its files only."""
    from fairaudit.models._cards import load_model_card
    from fairaudit.models._shipped import shipped_model_path
    from fairaudit.report import render_report

    card = load_model_card(name)
    html = render_report(audit, model_card=card, n_resamples=10)
    section = html.split('<section id="model-card">', 1)[1].split("</section>", 1)[0]
    assert card["history"] and escape(card["history"]) not in html
    for past in ("seed system", "previous", "earlier", "replaces"):
        assert past not in section and past not in card["notes"]
    for paragraph in card["notes"].split("\n\n"):
        assert f'<p class="card-note">{escape(paragraph)}</p>' in section
    markdown = shipped_model_path(name).with_suffix(".md").read_text(encoding="utf-8")
    assert markdown.endswith(f"\n## History\n\n{card['history']}\n")


def test_the_header_says_which_rows_were_left_out():
    import numpy as np

    from fairaudit.model_audit import audit_predictions
    from fairaudit.report import render_report
    from fairaudit.vocab import Vocabulary

    vocab = Vocabulary("gender", ("Male", "Female"))
    rng = np.random.default_rng(0)
    audit = audit_predictions(
        y_true={"gender": rng.integers(0, 2, 200)},
        y_pred={"gender": rng.integers(0, 2, 200)},
        tasks={"gender": vocab},
        metadata={
            "left_out": {
                "status": {"unreadable": 3, "no_face": 0},
                "labels_without_prediction": 50,
                "predictions_without_label": 0,
            }
        },
    )
    html = render_report(audit, n_resamples=20, random_state=0)
    assert (
        "rows left out: 3 with status &#39;unreadable&#39;; 50 label row(s) without a prediction"
        in html
    )


def test_the_summary_lists_the_worst_slices_of_the_findings_layer():
    import warnings

    from fairaudit.demo import load_demo_audits
    from fairaudit.findings import worst_slices
    from fairaudit.report import render_report

    audit = load_demo_audits().audits["fairface-mobilenet_v2-112"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = render_report(audit, n_resamples=20, random_state=0)
        table = worst_slices(audit, "gender", max_order=2, attributes=["age", "race"])
    kept = table[table["discovered"] & (table["pruned_by"] == "")]
    section = html[html.index('id="summary-worst-slices"') :]
    section = section[: section.index("</section>")]
    assert 'id="table-worst-slices-gender"' in section
    first = kept.iloc[0]
    assert first["slice"] in section
    assert f"{first['ci_low']:.3f}" in section and f"{first['effect']:.3f}" in section
    assert f"of {len(kept)} found among {len(table)} tested" in section
    assert "race: no slice of" in section
