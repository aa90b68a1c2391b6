"""Reports that open on the verdict, measured in Chromium at 1280 x 800 (issue 27).

What is drawn, not class names:

- the verdict's sentences lie within the first 800 px;
- the model report's main body (everything above the appendix of disclosures) is at
  most 10 screens tall;
- no text is clipped: no box that hides its overflow holds more than it shows, the
  page never scrolls sideways, and every chart label lies inside its chart;
- the colours of a finding (the red background of a supported row, the red ink of a
  regression) are drawn on findings and nowhere else.

The demo reports are the committed ones (``tests/test_demo.py`` keeps them equal to a
fresh render); ``report_file`` is the synthetic report of ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fairaudit.demo import DEMO_MODELS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DEMO = Path(__file__).resolve().parents[2] / "reports" / "demo"
MODEL_REPORTS = [DEMO / f"report-{name}.html" for name in DEMO_MODELS]
COMPARISON = DEMO / "compare.html"
SCREEN = {"width": 1280, "height": 800}

OPEN_ALL = "document.querySelectorAll('details').forEach(d => { d.open = true; })"

CLIPPED = """() => {
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
        if (el.closest('.visually-hidden, svg, script, style, summary')) continue;
        const css = getComputedStyle(el);
        if (css.display === 'none') continue;
        const hides = (v) => v === 'hidden' || v === 'clip';
        if (hides(css.overflowX) && el.scrollWidth > el.clientWidth + 1) {
            const name = `${el.tagName}#${el.id}.${el.className}`;
            out.push(`${name}: ${el.scrollWidth} > ${el.clientWidth}`);
        }
        if (hides(css.overflowY) && el.scrollHeight > el.clientHeight + 1) {
            const name = `${el.tagName}#${el.id}.${el.className}`;
            out.push(`${name}: ${el.scrollHeight} > ${el.clientHeight} high`);
        }
        if (css.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth) {
            out.push(`${el.tagName}#${el.id}: ellipsis`);
        }
    }
    // a chart's labels inside the chart (an SVG clips what falls outside its viewBox)
    for (const svg of document.querySelectorAll('svg.chart')) {
        const box = svg.getBoundingClientRect();
        if (!box.width) continue;
        for (const text of svg.querySelectorAll('text')) {
            const b = text.getBoundingClientRect();  // on screen: rotations included
            if (b.width === 0) continue;
            if (b.left < box.left - 1 || b.top < box.top - 1 || b.right > box.right + 1
                || b.bottom > box.bottom + 1) {
                out.push(`${svg.getAttribute('aria-label')}: "${text.textContent}" outside`);
            }
        }
    }
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) out.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
    return out;
}"""

FINDING_COLOURS = """() => {
    const css = getComputedStyle(document.documentElement);
    const probe = document.createElement('div');
    document.body.appendChild(probe);
    const resolve = (property, value) => {
        probe.style[property] = value;
        return getComputedStyle(probe)[property];
    };
    const badBg = resolve('backgroundColor', css.getPropertyValue('--bad-bg').trim());
    const badInk = resolve('color', css.getPropertyValue('--bad').trim());
    const chartRed = ['rgb(192, 57, 43)', 'rgb(164, 14, 38)', badInk];
    probe.remove();
    // a finding: a supported row (flag), a significant regression (fail, .bad, red arrow)
    const finding = 'tr.flag, tr.fail, .bad, g.pair[data-direction="regressed"], .verdict';
    const isFinding = (el) => !!el.closest(finding);
    const out = {badBg, badInk, findings: 0, elsewhere: []};
    for (const el of document.querySelectorAll('body *')) {
        const style = getComputedStyle(el);
        const red = style.backgroundColor === badBg
            || (style.color === badInk && el.textContent.trim() !== '')
            || (el instanceof SVGElement && (chartRed.includes(style.fill)
                                             || chartRed.includes(style.stroke)));
        if (!red) continue;
        if (isFinding(el)) { out.findings += 1; continue; }
        out.elsewhere.push(`${el.tagName} ${el.id || el.className.baseVal || el.className}`
                           + ` in ${(el.closest('[id]') || {}).id}`);
    }
    return out;
}"""


def _open(browser_page, path: Path, *, open_all: bool = False):
    page = browser_page.page
    page.set_viewport_size(SCREEN)
    page.goto(path.resolve().as_uri())
    if open_all:
        page.evaluate(OPEN_ALL)
    return page


@pytest.mark.parametrize("path", [*MODEL_REPORTS, COMPARISON], ids=lambda p: p.stem)
def test_the_verdict_is_read_on_the_first_screen(browser_page, path):
    page = _open(browser_page, path)
    boxes = page.eval_on_selector_all(
        "#verdict ol.verdict > li",
        "items => items.map(li => [li.textContent, li.getBoundingClientRect().bottom])",
    )
    assert 1 <= len(boxes) <= 5
    for text, bottom in boxes:
        assert bottom <= SCREEN["height"], (text, bottom)
    # the verdict is the first thing under the title
    first = page.evaluate("document.querySelector('main').firstElementChild.id")
    assert first == "verdict"


@pytest.mark.parametrize("path", MODEL_REPORTS, ids=lambda p: p.stem)
def test_the_main_body_fits_ten_screens(browser_page, path):
    page = _open(browser_page, path)
    body = page.evaluate(
        "document.getElementById('appendix').getBoundingClientRect().top + window.scrollY"
    )
    assert body <= 10 * SCREEN["height"], body
    # the appendix holds every table the main body leaves out, collapsed
    parts = page.evaluate(
        "Array.from(document.querySelectorAll('#appendix > details.appendix-part'))"
        ".map(d => d.open)"
    )
    assert len(parts) >= 6 and not any(parts)
    hidden = page.evaluate(
        "Array.from(document.querySelectorAll('#appendix table'))"
        ".filter(t => t.checkVisibility()).length"
    )
    assert hidden == 0
    # a link into the appendix opens the disclosure that holds its target
    page.click("nav.toc a[href='#glossary']")
    page.wait_for_function("document.getElementById('glossary').checkVisibility()")


@pytest.mark.parametrize("path", [*MODEL_REPORTS, COMPARISON], ids=lambda p: p.stem)
def test_no_text_is_clipped(browser_page, path):
    page = _open(browser_page, path, open_all=True)
    assert page.evaluate(CLIPPED) == []


def test_no_text_is_clipped_in_the_synthetic_report(browser_page, report_file):
    page = _open(browser_page, report_file, open_all=True)
    assert page.evaluate(CLIPPED) == []


@pytest.mark.parametrize("path", [*MODEL_REPORTS, COMPARISON], ids=lambda p: p.stem)
def test_the_colours_of_a_finding_mark_findings_only(browser_page, path):
    page = _open(browser_page, path, open_all=True)
    drawn = page.evaluate(FINDING_COLOURS)
    assert drawn["findings"] > 0, drawn  # the demo has supported gaps and regressions
    assert drawn["elsewhere"] == [], drawn["elsewhere"][:10]


def test_small_cells_are_grey_not_a_finding_colour(browser_page, report_file):
    """A cell under the support floor is drawn grey (hatched in grids), never red."""
    page = _open(browser_page, report_file, open_all=True)
    drawn = page.evaluate(
        """() => {
            const css = getComputedStyle(document.documentElement);
            const probe = document.createElement('div');
            document.body.appendChild(probe);
            probe.style.backgroundColor = css.getPropertyValue('--small-bg').trim();
            const grey = getComputedStyle(probe).backgroundColor;
            probe.style.backgroundColor = css.getPropertyValue('--bad-bg').trim();
            const red = getComputedStyle(probe).backgroundColor;
            probe.remove();
            const rows = Array.from(document.querySelectorAll('tr.small td:not([style])'));
            const cells = Array.from(document.querySelectorAll('td.cell.small'));
            return {
                grey, red, rows: rows.length, cells: cells.length,
                rowColours: [...new Set(rows.map(c => getComputedStyle(c).backgroundColor))],
                cellImages: [...new Set(cells.map(c => getComputedStyle(c).backgroundImage))],
                cellInk: [...new Set(cells.map(
                    c => getComputedStyle(c.querySelector('.v') || c).color))],
            };
        }"""
    )
    assert drawn["rows"] > 0 and drawn["rowColours"] == [drawn["grey"]], drawn
    if drawn["cells"]:
        assert all("repeating-linear-gradient" in image for image in drawn["cellImages"]), drawn
        assert all(ink != drawn["red"] for ink in drawn["cellInk"]), drawn


def test_the_layout_probes_catch_what_they_look_for(browser_page, report_file):
    """The checks above can fail: a clipped title and a red note outside a finding."""
    page = _open(browser_page, report_file, open_all=True)
    page.evaluate(
        """() => {
            const title = document.getElementById('report-title');
            Object.assign(title.style, {overflow: 'hidden', whiteSpace: 'nowrap', width: '120px'});
            const note = document.querySelector('#summary-worst-slices p.note, #verdict p.note');
            note.style.backgroundColor = 'var(--bad-bg)';
        }"""
    )
    assert any(item.startswith("H1#report-title") for item in page.evaluate(CLIPPED))
    assert page.evaluate(FINDING_COLOURS)["elsewhere"] != []
