"""The glossary: one source in the code, every metric the report shows, equal to the docs."""

from __future__ import annotations

import re
from html import unescape

import pytest

from fairaudit.dataset_audit._imbalance import IMBALANCE_STATISTICS
from fairaudit.functional import METRICS
from fairaudit.functional._fairness import FAIRNESS_METRICS
from fairaudit.report._glossary import (
    _ENTRIES,
    GLOSSARY,
    REQUIRED_TERMS,
    _with_registry,
    glossary_entries,
)

from ..conftest import REPO_ROOT

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_every_metric_of_the_code_is_defined():
    for name, _, _ in FAIRNESS_METRICS:
        assert name in GLOSSARY, name
    for name in IMBALANCE_STATISTICS:
        assert name in GLOSSARY, name
    assert set(REQUIRED_TERMS) <= set(GLOSSARY)
    assert all(text.strip() and text.strip()[-1] in ".)" for text in GLOSSARY.values())
    assert glossary_entries(["ece", "accuracy"]) == [
        ("accuracy", GLOSSARY["accuracy"]),
        ("ece", GLOSSARY["ece"]),
    ]


def test_every_registered_metric_is_generated_from_its_spec():
    for name, spec in METRICS.items():
        assert GLOSSARY[name] == spec.definition, name
        assert _ENTRIES.get(name) is None, f"{name}: a hand-written duplicate of its spec"
    with pytest.raises(RuntimeError, match=r"its own definition of registered \['accuracy'\]"):
        _with_registry({**_ENTRIES, "accuracy": "My own words."})
    with pytest.raises(RuntimeError, match="no_such_metric"):
        _with_registry({**_ENTRIES, "no_such_metric": None})


@pytest.mark.parametrize("name", ["f1_weighted", "fpr", "accuracy_ratio"])
def test_an_unplaced_metric_follows_its_kind(name):
    """A metric added to the registry gets its entry without touching the glossary."""
    entries = {term: text for term, text in _ENTRIES.items() if term != name}
    glossary = _with_registry(entries)
    assert list(glossary.items()) == list(GLOSSARY.items())


def test_every_metric_in_the_report_is_in_its_glossary(html, parsed, audit):
    shown = [unescape(t) for t in re.findall(r'<dt id="glossary-\d+">(.*?)</dt>', html)]
    assert shown == list(GLOSSARY)
    metric_names = set(audit.metrics("age").columns) | set(audit.per_class("age").columns)
    metric_names |= set(audit.calibration("gender").columns) | set(IMBALANCE_STATISTICS)
    metric_names |= {name for name, _, _ in FAIRNESS_METRICS}
    metric_names -= {"status", "class"}
    checked = set()
    for table in parsed.tables:
        names = set(table.header)
        if "metric" in table.header:
            names |= {cell.text for cell in table.column("metric")}
        for name in names & metric_names:
            assert name in GLOSSARY, (table.id, name)
            checked.add(name)
    assert len(checked) > 30


def test_docs_list_exactly_the_glossary():
    text = (REPO_ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    section = text.split("\n## Glossary\n", 1)[1]
    rows = re.findall(r"^\| (.+?) \| (.+) \|$", section, re.M)
    documented = {
        term: definition.replace("\\|", "|") for term, definition in rows if term != "term"
    }
    assert documented == GLOSSARY
