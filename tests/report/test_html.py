"""The shared HTML primitives: escaping, numeric cells, figures, the template environment."""

from __future__ import annotations

import base64
import hashlib
import re

import jinja2
import markupsafe
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from fairaudit.report._html import (
    content_security_policy,
    environment,
    figure_to_data_uri,
    format_interval,
    format_number,
    format_p_value,
    frame_to_html,
    inline_script,
)

from ._parse import parse_report, table_by_id


def test_frame_to_html_escapes_and_keeps_exact_values():
    frame = pd.DataFrame(
        {
            "<b>group</b>": ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "ok"],
            "accuracy": [0.1 + 0.2, np.nan, 1 / 3],
            "n": np.array([1234, 0, 7], dtype=np.int64),
            "passes": [True, False, True],
        }
    )
    html = frame_to_html(frame, caption="A & B <i>", sortable=True, table_id="t<1>")
    assert isinstance(html, markupsafe.Markup)
    assert "<script>" not in html and "<img" not in html and "<i>" not in html
    parsed = parse_report(str(html))
    assert parsed.event_attributes == []
    table = table_by_id(parsed, "t<1>")
    assert table.caption == "A & B <i>"
    assert table.classes == "report-table sortable"
    assert table.header == ["<b>group</b>", "accuracy", "n", "passes"]
    assert table.header_types == [None, "number", "number", "number"]
    records = table.records()
    assert records[0]["<b>group</b>"].text == "<script>alert(1)</script>"
    assert records[0]["<b>group</b>"].value is None
    assert records[0]["accuracy"].value == repr(0.1 + 0.2)  # exact, not the 3 digits shown
    assert records[0]["accuracy"].text == "0.300"
    assert records[1]["accuracy"].value == "" and records[1]["accuracy"].text == "n/a"
    assert records[0]["n"].text == "1,234" and records[0]["n"].value == "1234"
    assert records[1]["passes"].text == "no" and records[1]["passes"].value == "0"
    assert 'class="num"' in html and '<th scope="col"' in html


def test_frame_to_html_index_formats_and_heat():
    frame = pd.DataFrame(
        {"a": [0.0, 0.5, 1.0], "p": [1e-9, 0.5, 0.01234]},
        index=pd.Index(["x", "y", "<z>"], name="row & name"),
    )
    html = frame_to_html(
        frame,
        caption="c",
        column_formats={"p": format_p_value},
        heat_columns=["a"],
        heat_range=(0.0, 1.0),
        row_classes=["", "small", ""],
    )
    parsed = parse_report(str(html))
    table = parsed.tables[0]
    assert table.header == ["row & name", "a", "p"]
    assert [r[0].text for r in table.rows] == ["x", "y", "<z>"]
    assert all(r[0].header for r in table.rows)
    assert [r[2].text for r in table.rows] == ["1.0e-09", "0.5000", "0.0123"]
    assert table.row_classes == ["", "small", ""]
    colours = re.findall(r"background-color:(#[0-9a-f]{6})", str(html))
    low, high = (247, 251, 255), (107, 174, 214)  # the ends of the scale
    middle = "#" + "".join(f"{round((a + b) / 2):02x}" for a, b in zip(low, high, strict=True))
    assert colours == ["#f7fbff", middle, "#6baed6"]
    # an unnamed (filtered) integer index is not written
    filtered = pd.DataFrame({"v": [1, 2, 3]}).iloc[[0, 2]]
    assert parse_report(str(frame_to_html(filtered, caption="f"))).tables[0].header == ["v"]
    with pytest.raises(ValueError, match="row_classes"):
        frame_to_html(frame, caption="c", row_classes=["x"])


def test_markup_cells_pass_through_unchanged():
    cells = [markupsafe.Markup("<em>kept</em>"), "<em>escaped</em>"]
    frame = pd.DataFrame({"cell": pd.Series(cells, dtype=object)})
    html = str(frame_to_html(frame, caption="m"))
    assert "<td><em>kept</em></td>" in html
    assert "&lt;em&gt;escaped&lt;/em&gt;" in html


def test_number_formats():
    assert format_number(12345) == "12,345"
    assert format_number(np.int64(7)) == "7"
    assert format_number(0.81234) == "0.812"
    assert format_number(0.81234, 2) == "0.81"
    assert format_number(float("nan")) == "n/a"
    assert format_number(float("inf")) == "inf"
    assert format_number(None) == "n/a"
    assert format_interval(0.8123, 0.78, 0.8421) == "0.812 [0.780, 0.842]"
    assert format_interval(0.8123, np.nan, 0.9) == "0.812 [n/a]"
    assert format_interval(np.nan, 0.1, 0.2) == "n/a"
    assert format_interval(0.5, 0.25, 0.75, digits=1) == "0.5 [0.2, 0.8]"
    assert format_p_value(3e-7) == "3.0e-07" and format_p_value(0.04) == "0.0400"


def test_figure_to_data_uri_embeds_a_small_png_and_closes_the_figure():
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 3))
    fig.gca().plot([0, 1], [1, 0])
    number = fig.number
    uri = figure_to_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 1_000 < len(data) < 40_000
    assert not plt.fignum_exists(number)
    svg = figure_to_data_uri(Figure(figsize=(2, 2)), format="svg")
    assert base64.b64decode(svg.split(",", 1)[1]).lstrip().startswith(b"<?xml")
    with pytest.raises(ValueError, match="format"):
        figure_to_data_uri(Figure(), format="gif")


def test_environment_autoescapes_every_template_and_is_strict():
    env = environment()
    template = env.from_string("{{ x }}|{{ y | interval(0.1, 0.9) }}|{{ z | num }}")
    assert template.render(x="<b>&", y=0.5, z=1234) == "&lt;b&gt;&amp;|0.500 [0.100, 0.900]|1,234"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    assert environment() is not env


def test_base_template_csp_allows_only_its_own_script():
    html = environment().from_string('{% extends "base.html.j2" %}').render()
    policy = content_security_policy()
    metas = [m for m in parse_report(html).meta if m.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in metas] == [policy]
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    assert script == str(inline_script())
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert re.search(r"\son\w+=", html) is None
