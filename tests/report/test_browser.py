"""The report in a real headless Chromium: no request, no error, sections, sorting, no XSS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.model_audit import audit_predictions
from fairaudit.report import write_report
from fairaudit.vocab import Vocabulary

from .conftest import TITLE

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SECTIONS = (
    "summary",
    "summary-disparities",
    "summary-small-slices",
    "summary-four-fifths",
    "dataset",
    "task-gender",
    "task-gender-confusion",
    "task-gender-heatmaps",
    "task-gender-fairness",
    "task-gender-calibration",
    "task-age",
    "task-race",
    "metadata",
    "glossary",
)


def _open(browser_page, path):
    url = path.resolve().as_uri()
    browser_page.page.goto(url)
    return url


def test_report_opens_offline_without_errors(browser_page, report_file, rows, audit, tmp_path):
    url = _open(browser_page, report_file)
    page = browser_page.page
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert browser_page.console_errors == []
    assert browser_page.requests == [url]
    assert browser_page.dialogs == []
    for section in SECTIONS:
        assert page.locator(f"#{section}").count() == 1, section
    assert page.title() == TITLE
    assert page.inner_text("#summary-rows") == "1,500"
    frame, _ = rows
    accuracy = (frame["age"] == frame["age_pred"]).mean()
    assert f"{accuracy:.3f} [" in page.inner_text("#summary")
    overall = page.inner_text("#table-task-age-overall")
    assert f"{accuracy:.4f}" in overall
    # the description heads the report and is not repeated in the metadata table (a
    # closed disclosure: its text content, not its rendered text)
    assert page.inner_text("#report-data") == "Data: synthetic rows"
    metadata = page.text_content("#table-metadata")
    assert "library_version" in metadata and "synthetic rows" not in metadata
    # every chart is inline SVG (no image file, no data: image to decode), drawn and named
    assert page.evaluate("document.images.length") == 0
    charts = page.eval_on_selector_all(
        "svg.chart",
        "els => els.map(e => [e.getAttribute('aria-label'), e.getBoundingClientRect().width])",
    )
    assert len(charts) >= 7  # per task accuracy and main rate; reliability diagrams
    assert all(label and width > 150 for label, width in charts)
    # exactly one script: the sorter, allowed by the page's CSP hash
    assert page.evaluate("document.scripts.length") == 1


def test_clicking_a_header_sorts_the_table(browser_page, report_file):
    _open(browser_page, report_file)
    page = browser_page.page
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    table = "#table-task-age-intersections"
    column = page.eval_on_selector_all(
        f"{table} thead th", "els => els.map(e => e.textContent.trim())"
    ).index("accuracy")

    def values():
        return page.eval_on_selector_all(
            f"{table} tbody tr",
            f"rows => rows.map(r => r.cells[{column}].getAttribute('data-value'))",
        )

    before = values()
    page.click(f"{table} thead th:nth-child({column + 1})")
    ascending = values()
    defined = [float(v) for v in ascending if v != ""]
    assert defined == sorted(defined)
    assert ascending[len(defined) :] == [""] * (len(ascending) - len(defined))  # n/a last
    assert sorted(before, key=str) == sorted(ascending, key=str)
    page.click(f"{table} thead th:nth-child({column + 1})")
    descending = [float(v) for v in values() if v != ""]
    assert descending == sorted(defined, reverse=True)
    assert page.get_attribute(f"{table} thead th:nth-child({column + 1})", "aria-sort") == (
        "descending"
    )
    # text columns sort too (keyboard: Enter on the focused header)
    page.focus(f"{table} thead th:nth-child(1)")
    page.keyboard.press("Enter")
    first = page.eval_on_selector_all(
        f"{table} tbody tr", "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert first == sorted(first, key=str.lower)
    assert browser_page.console_errors == []


XSS = "<script>alert(1)</script>"
QUOTE = '"><img src=x onerror=alert(2)>'
DOLLARS = "price $1 or $2 \\frac{a}"
TASK = 'label"><b>bold</b>'


def _hostile_audit():
    rng = np.random.default_rng(0)
    n = 400
    group = Vocabulary("group", (XSS, QUOTE, DOLLARS))
    label = Vocabulary("label", (f"{XSS} yes", "no'"))
    y_true = rng.choice(label.classes, size=n)
    y_pred = np.where(rng.random(n) < 0.8, y_true, rng.choice(label.classes, size=n))
    proba = rng.dirichlet([1, 1], size=n)
    pred_code = pd.Series(y_pred).map(label.classes.index).to_numpy()
    proba[np.arange(n), pred_code] += 1
    proba /= proba.sum(axis=1, keepdims=True)
    return audit_predictions(
        y_true={TASK: y_true},
        y_pred={TASK: y_pred},
        y_proba={TASK: proba},
        sensitive_features={"group": rng.choice(group.classes, size=n)},
        tasks={TASK: label},
        attributes={"group": group},
        description=f"data {QUOTE} {XSS}",
        metadata={"data": {"labels": f"{XSS}.csv"}, "note": QUOTE},
    )


def test_user_text_is_escaped_everywhere(browser_page, tmp_path):
    audit = _hostile_audit()
    card = {"name": XSS, "notes": QUOTE, "data": {"train": XSS}}
    path = write_report(
        audit,
        tmp_path / "hostile.html",
        title=f"{XSS} {QUOTE}",
        model_card=card,
        confusion_by=["group"],
        n_resamples=20,
    )
    html = path.read_text(encoding="utf-8")
    assert XSS not in html and "<img src=x" not in html
    url = _open(browser_page, path)
    page = browser_page.page
    assert browser_page.dialogs == []
    assert browser_page.console_errors == []
    assert browser_page.requests == [url]
    assert page.evaluate("document.scripts.length") == 1
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert page.evaluate(
        "Array.from(document.images).every(i => i.getAttribute('src').startsWith('data:image/'))"
    )
    assert page.title() == f"{XSS} {QUOTE}"
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    text = page.inner_text("body")
    for literal in (XSS, QUOTE, DOLLARS, f"{XSS} yes", "no'"):
        assert literal in text
    assert XSS in page.inner_text("#model-card")
    assert QUOTE in page.inner_text("#table-metadata")
    # the task name is text in headings, attribute values (alt) and safe in ids
    assert page.evaluate("document.querySelectorAll('b').length") == 0
    assert f"Task {TASK}:" in text
    labels = page.eval_on_selector_all("svg.chart", "els => els.map(e => e.ariaLabel)")
    assert any(TASK in label for label in labels)
    ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
    assert all(all(c.isalnum() or c in "-_" for c in i) for i in ids)


def test_every_flagged_row_is_drawn_in_its_colour(browser_page, report_file):
    """What is drawn, not class names: zebra striping must not hide a flagged row."""
    _open(browser_page, report_file)
    drawn = browser_page.page.evaluate(
        """() => {
            const css = getComputedStyle(document.documentElement);
            const want = {small: '--small-bg', rule: '--rule-bg',
                          fail: '--bad-bg', flag: '--bad-bg'};
            const probe = document.createElement('div');
            document.body.appendChild(probe);
            const colour = (name) => {
                probe.style.background = css.getPropertyValue(want[name]).trim();
                return getComputedStyle(probe).backgroundColor;
            };
            const out = {checked: 0, even: 0, wrong: []};
            for (const name of Object.keys(want)) {
                for (const row of document.querySelectorAll(`table.report-table tr.${name}`)) {
                    const cell = row.querySelector('td');
                    if (!cell || cell.hasAttribute('style')) continue;
                    out.checked += 1;
                    const index = Array.from(row.parentNode.children).indexOf(row);
                    if (index % 2 === 1) out.even += 1;
                    const got = getComputedStyle(cell).backgroundColor;
                    if (got !== colour(name)) out.wrong.push(`${name} row ${index}: ${got}`);
                }
            }
            probe.remove();
            return out;
        }"""
    )
    assert drawn["checked"] > 0 and drawn["even"] > 0, drawn
    assert drawn["wrong"] == [], drawn["wrong"][:10]


def test_a_long_title_wraps_whole_and_nothing_runs_past_its_box(browser_page, tmp_path):
    from fairaudit.report import render_report

    description = (
        "predictions preds/fairface-mobilenet_v2-112-val.csv, "
        "labels ../shared/data/fairface/labels/fairface_label_val_with_a_very_long_name.csv"
    )
    rng = np.random.default_rng(5)
    truth = rng.choice(["Male", "Female"], 200)
    audit = audit_predictions(
        y_true={"gender": truth},
        y_pred={"gender": np.where(rng.random(200) < 0.8, truth, "Male")},
        description=description,
    )
    path = tmp_path / "long-title.html"
    path.write_text(render_report(audit, n_resamples=10), encoding="utf-8")
    page = browser_page.page
    page.set_viewport_size({"width": 820, "height": 900})  # the app's frame
    _open(browser_page, path)
    title = page.locator("h1")
    assert title.inner_text() == f"Bias audit on {description}"  # whole, no ellipsis
    box = page.evaluate(
        """() => { const h = document.querySelector('h1');
        return [h.scrollWidth, h.clientWidth, h.getBoundingClientRect().height,
                parseFloat(getComputedStyle(h).lineHeight) || 0,
                document.documentElement.scrollWidth, document.documentElement.clientWidth]; }"""
    )
    scroll_width, width, height, line, page_scroll, page_width = box
    assert scroll_width <= width and page_scroll <= page_width, box
    assert height > 1.5 * (line or 24), box  # it wrapped onto more lines
