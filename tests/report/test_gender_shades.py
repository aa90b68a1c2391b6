"""The Gender Shades table of the report: right after the verdict when skin type is audited."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.attributes._colour import SKIN_TYPE
from fairaudit.model_audit import audit_predictions
from fairaudit.report import render_report
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from ._parse import parse_report, table_by_id
from .conftest import N_RESAMPLES, TASKS, make_rows

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CONFIDENCE = 0.9


@pytest.fixture(scope="module")
def skin_rows() -> pd.DataFrame:
    """Synthetic rows with a skin type; darker women's gender misread most often."""
    frame, _ = make_rows(900, seed=11)
    rng = np.random.default_rng(5)
    frame["skin_type"] = np.where(rng.random(len(frame)) < 0.4, "darker", "lighter")
    darker_women = (frame["skin_type"] == "darker") & (frame["gender"] == "Female")
    flip = darker_women & (rng.random(len(frame)) < 0.3)
    frame.loc[flip, "gender_pred"] = "Male"
    return frame


@pytest.fixture(scope="module")
def skin_html(skin_rows: pd.DataFrame) -> str:
    audit = audit_predictions(
        y_true={t: skin_rows[t] for t in TASKS},
        y_pred={t: skin_rows[f"{t}_pred"] for t in TASKS},
        sensitive_features=skin_rows[["gender", "age", "race", "skin_type"]],
        attributes={**FAIRFACE_VOCABULARIES, "skin_type": SKIN_TYPE},
        description="synthetic rows with skin type",
    )
    return render_report(
        audit, n_resamples=N_RESAMPLES, random_state=0, confidence=CONFIDENCE, title="Skin"
    )


def test_the_table_follows_the_verdict(skin_html: str):
    verdict = skin_html.index('<section id="verdict"')
    table = skin_html.index('<section id="gender-shades"')
    overview = skin_html.index('<section id="overview"')
    assert verdict < table < overview
    # nothing but the verdict section's end between them
    between = skin_html[skin_html.index("</section>", verdict) : table]
    assert between.count("<section") == 0
    assert '<a href="#gender-shades">' in skin_html


def test_every_cell_against_a_naive_loop_and_statsmodels(skin_html: str, skin_rows: pd.DataFrame):
    proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels oracle")
    table = table_by_id(parse_report(skin_html), "table-gender-shades")
    groups = [(s, g) for s in ("lighter", "darker") for g in ("Male", "Female")]
    assert table.header == ["skin_type x gender"] + [f"{s} {g}" for s, g in groups]
    assert [row[0].text for row in table.rows] == ["rows"] + [f"{t} accuracy" for t in TASKS]
    for j, (skin, gender) in enumerate(groups, start=1):
        part = skin_rows[(skin_rows["skin_type"] == skin) & (skin_rows["gender"] == gender)]
        assert table.rows[0][j].number == len(part)
        for i, task in enumerate(TASKS, start=1):
            correct = int((part[task] == part[f"{task}_pred"]).sum())
            low, high = proportion.proportion_confint(
                correct, len(part), alpha=1 - CONFIDENCE, method="beta"
            )
            text = f"{correct / len(part):.3f} [{low:.3f}, {high:.3f}]"
            assert table.rows[i][j].text == text, (skin, gender, task)
    # the planted disparity is named under the table
    darker_women = skin_rows[
        (skin_rows["skin_type"] == "darker") & (skin_rows["gender"] == "Female")
    ]
    acc = (darker_women["gender"] == darker_women["gender_pred"]).mean()
    assert f"gender: lowest for darker Female ({acc:.3f} [" in skin_html


def test_a_missing_skin_group_is_shown_small_and_never_named_worst(skin_rows: pd.DataFrame):
    frame = skin_rows.rename(columns={"skin_type": "ita_split"}).copy()
    frame["ita_split"] = frame["ita_split"].astype(object)
    frame.loc[frame.index[:20], "ita_split"] = None  # 20 rows without a skin type
    frame.loc[frame.index[:20], "gender_pred"] = np.where(  # all wrong: the lowest accuracy
        frame.loc[frame.index[:20], "gender"] == "Male", "Female", "Male"
    )
    audit = audit_predictions(
        y_true={"gender": frame["gender"]},
        y_pred={"gender": frame["gender_pred"]},
        sensitive_features=frame[["gender", "ita_split"]],
        attributes={"gender": FAIRFACE_VOCABULARIES["gender"], "ita_split": SKIN_TYPE},
        missing="group",
    )
    html = render_report(audit, n_resamples=N_RESAMPLES, random_state=0)
    table = table_by_id(parse_report(html), "table-gender-shades")
    assert table.header[0] == "ita_split x gender"  # found by its classes
    missing = [h for h in table.header if "missing" in h]
    assert missing == ["missing Male", "missing Female"]  # no empty "missing" gender
    gender_row = table.rows[1]
    for name in missing:
        cell = gender_row[table.header.index(name)]
        assert cell.text.endswith("*")  # small: fewer than 30 rows
        assert cell.text.startswith("0.000 [")
    assert "lowest for missing" not in html and "gender: lowest for darker Female" in html


def test_no_section_without_skin_type(html: str):
    assert "gender-shades" not in html and "Skin type x gender" not in html


def test_the_table_is_on_the_first_screen(browser_page, skin_html, tmp_path):
    path = tmp_path / "skin.html"
    path.write_text(skin_html, encoding="utf-8")
    page = browser_page.page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(path.resolve().as_uri())
    box = page.locator("#table-gender-shades").bounding_box()
    assert box is not None and page.locator("#table-gender-shades").is_visible()
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800, box
    page.screenshot(path=str(tmp_path / "first-screen.png"), full_page=False)
    assert browser_page.console_errors == []


@pytest.mark.shared_data
def test_real_fairface_table_is_on_the_first_screen(browser_page, fairface_root, tmp_path):
    """400 real val images: derived skin type, the shipped model's committed predictions."""
    from fairaudit.attributes import derive_attributes
    from fairaudit.datasets import load_fairface
    from fairaudit.model_audit import audit_table

    from ..conftest import REPO_ROOT

    val = load_fairface(fairface_root, splits=("val",)).table
    val = val[val["has_image"]].head(400)
    attrs = derive_attributes(val, landmarks="chip", progress=False)
    labels = val[["file", "gender", "age", "race"]].merge(attrs, on="file")
    predictions = pd.read_csv(
        REPO_ROOT
        / "tests/data/shipped_predictions/fairface-mobilenet_v2_face_descriptor-112.csv.gz"
    )
    predictions = predictions[predictions["file"].isin(set(labels["file"]))]
    audit = audit_table(
        predictions,
        labels,
        attributes=["gender", "age", "race", "skin_type"],
        missing="group",
        model="fairface-mobilenet_v2_face_descriptor-112",
    )
    path = tmp_path / "real.html"
    path.write_text(render_report(audit, n_resamples=N_RESAMPLES), encoding="utf-8")
    page = browser_page.page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(path.resolve().as_uri())
    box = page.locator("#table-gender-shades").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 1280
    expected = labels.merge(predictions, on="file")
    lighter_men = expected[(expected["skin_type"] == "lighter") & (expected["gender"] == "Male")]
    acc = (lighter_men["gender"] == lighter_men["gender_pred"]).mean()
    assert f"{acc:.3f} [" in page.inner_text("#table-gender-shades")
