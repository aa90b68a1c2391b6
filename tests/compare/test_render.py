"""The comparison report: content, escaping, size, and the page in a browser."""

from __future__ import annotations

import math
import re

import markupsafe
import pytest

from fairaudit.compare import compare_audits
from fairaudit.model_audit import AuditResult
from fairaudit.report import render_comparison, write_comparison_report

pytestmark = pytest.mark.filterwarnings("ignore::fairaudit.model_audit.SmallSliceWarning")

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def hostile(audits, pairs):
    a, b = audits
    a = AuditResult.from_dict(a.to_dict())
    a.metadata["model"] = f"baseline {HOSTILE}"
    a.metadata["data"] = {"labels": "<script>alert(2)</script>"}
    return compare_audits(
        [a, b],
        names=["v1 <b>old</b>", "v2 <script>alert(3)</script>"],
        paired=pairs,
        n_resamples=50,
        progress=False,
    )


@pytest.fixture(scope="module")
def html(hostile) -> str:
    return render_comparison(hostile, title=f"Title {HOSTILE}")


def test_everything_user_provided_is_escaped(html):
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>old" not in html
    assert str(markupsafe.escape(f"Title {HOSTILE}")) in html
    assert "v2 &lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html  # metadata
    assert len(re.findall(r"<script[ >]", html)) == 1  # only the table sorter


def test_content_order_and_notes(hostile, html):
    findings = html.index('id="findings"')
    assert findings < html.index('id="task-gender"') < html.index('id="versions"')
    first = hostile.findings(limit=1)[0]
    assert str(markupsafe.escape(first)) in html
    assert "paired on the 4,000 rows" in html
    for task in ("gender", "age", "race"):
        assert f"{task}: overall metrics, side by side" in html
        assert f"{task}: gaps between groups" in html
    assert "Rows paired, and rows left out and why" in html
    assert "library_version" in html and "created" in html
    # the side-by-side tables carry the exact values of the changes table
    overall = hostile.changes[
        (hostile.changes["task"] == "race")
        & (hostile.changes["by"] == "overall")
        & (hostile.changes["metric"] == "accuracy")
    ].iloc[0]
    for value in (overall["value_a"], overall["value_b"], overall["p_adjusted"]):
        assert f'data-value="{float(value)!r}"' in html
    # the pairs table names the compared versions
    assert "v1 &lt;b&gt;old&lt;/b&gt;</td>" in html


def test_unpaired_report_says_so(audits, tmp_path):
    comparison = compare_audits(audits, n_resamples=30, progress=False, by=["race"])
    path = write_comparison_report(comparison, tmp_path / "c.html")
    text = path.read_text()
    assert "v2 vs v1: unpaired." in text
    assert "Rows paired" not in text


def test_report_is_small_and_fast(audits, pairs, tmp_path):
    import time

    comparison = compare_audits(
        [audits[0], audits[1], audits[0]], paired=pairs, n_resamples=50, progress=False
    )
    start = time.perf_counter()
    path = write_comparison_report(comparison, tmp_path / "three.html")
    assert time.perf_counter() - start < 20
    assert path.stat().st_size < 5 * 2**20


def test_page_in_a_browser(hostile, tmp_path, browser_page):
    path = write_comparison_report(hostile, tmp_path / "page.html")
    page = browser_page.page
    page.goto(path.as_uri())
    assert browser_page.console_errors == []
    assert browser_page.dialogs == []
    assert browser_page.requests == [path.as_uri()]
    assert page.locator("#findings ol.finding-list li").count() > 0
    # the gap changes the data support are tabled; the others are ranked behind a disclosure
    table = hostile.finding_table()
    gaps = table[table["block"] == "gap"]
    supported = (gaps["direction"] != "no clear change") & (
        gaps["n"] >= hostile.settings["min_support"]
    )
    assert len(gaps) > 0 and not supported.any()
    assert page.locator("#findings table[id^=finding-gaps-] tbody tr").count() == 0
    assert page.locator("#findings p.no-findings", has_text="change of a gap").count() == 1
    rest = page.locator("#findings ol[id^=finding-rest-] li").all_text_contents()  # closed
    assert [s for s in rest if " gaps between " in s] == gaps["sentence"].tolist()
    # sortable tables sort on a click
    table = page.locator("#task-race table.sortable").first
    header = table.locator("thead th", has_text="metric").first
    header.click()
    assert header.get_attribute("aria-sort") in ("ascending", "descending")


def test_first_screen_shows_each_task_change_and_a_paired_dot_chart(hostile, html):
    glance = html.index('id="glance"')
    assert glance < html.index('id="findings"')
    changes = hostile.changes
    candidate = hostile.candidates[0]
    for task in ("gender", "age", "race"):
        overall = changes[
            (changes["candidate"] == candidate)
            & (changes["task"] == task)
            & (changes["by"] == "overall")
            & (changes["metric"] == "accuracy")
            & (changes["kind"] == "slice")
        ].iloc[0]
        change = f"{overall['change']:+.3f} [{overall['ci_low']:.3f}, {overall['ci_high']:.3f}]"
        assert change in html[glance : html.index('id="findings"')]
    # one mark per group of each attribute: baseline and candidate values, exactly
    marks = re.findall(
        r'<g class="pair[^"]*" data-group="([^"]*)" data-baseline="([^"]*)" '
        r'data-candidate="([^"]*)" data-n="(\d+)"',
        html,
    )
    rows = changes[
        (changes["candidate"] == candidate)
        & changes["by"].isin(["gender", "age", "race"])
        & (changes["metric"] == "accuracy")
        & (changes["kind"] == "slice")
    ]
    assert len(marks) == len(rows) > 10
    expected = {
        (
            str(markupsafe.escape(r.slice)),
            repr(float(r.value_a)),
            repr(float(r.value_b)),
            str(int(r.n)),
        )
        for r in rows.itertuples()
    }
    assert set(marks) == expected


def test_ratio_changes_are_ratios_not_points(hostile, html):
    ratios = hostile.changes[hostile.changes["metric"].str.endswith("_ratio")]
    assert len(ratios)
    # the side-by-side gap tables: a ratio's change is a signed number, never "pts"
    for row in ratios.itertuples():
        if not math.isfinite(row.change):
            continue
        text = f"{row.change:+.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
        assert text in html
    plain = html.replace("<wbr>", "")
    rows = [r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", plain, re.S) if "_ratio</td>" in r]
    assert rows
    assert not [r for r in rows if " pts</td>" in r]
