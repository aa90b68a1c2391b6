"""Which models the app offers, its ``--model`` option, and what it says about a model."""

from __future__ import annotations

import pytest

from fairaudit.app._models import (
    DEFAULT_MODEL,
    AppOptions,
    check_app_model,
    fairface_models,
    load_predictor,
    model_card_markdown,
    model_note,
    parse_app_args,
)
from fairaudit.exceptions import CheckpointError, ConfigurationError
from fairaudit.models import shipped_model_card, shipped_model_path, shipped_models
from fairaudit.vocab import FAIRFACE_VOCABULARIES
from tests.conftest import NEEDS_TORCH, REPO_ROOT

from .conftest import TEST_MODEL


def test_the_app_offers_the_shipped_fairface_models_only():
    assert set(shipped_models()) >= {"utkface-mobilenet_v2-112", *fairface_models()}
    assert fairface_models() == (
        "fairface-lightweight-112",
        "fairface-mobilenet_v2-112",
        "fairface-mobilenet_v2_face_descriptor-112",
    )
    for name in fairface_models():
        tasks = {t["name"]: tuple(t["classes"]) for t in shipped_model_card(name)["tasks"]}
        assert tasks == {t: v.classes for t, v in FAIRFACE_VOCABULARIES.items()}
    # the most accurate one that needs no extra beyond "models" and "app"
    assert DEFAULT_MODEL == "fairface-mobilenet_v2-112"
    with pytest.raises(ConfigurationError, match="utkface-mobilenet_v2-112.*fairface-lightweight"):
        check_app_model("utkface-mobilenet_v2-112")


@pytest.mark.parametrize(
    ("argv", "model"),
    [
        ([], DEFAULT_MODEL),
        (["--model", TEST_MODEL], TEST_MODEL),
        ([f"--model={TEST_MODEL}"], TEST_MODEL),
        # arguments that are not the app's (pytest's, say) are ignored, not abbreviated
        (["tests/app", "-q", "-x", "--mod", TEST_MODEL], DEFAULT_MODEL),
    ],
)
def test_parse_app_args(argv, model):
    assert parse_app_args(argv) == AppOptions(model=model)


def test_parse_app_args_refuses_a_model_the_app_cannot_use():
    with pytest.raises(ConfigurationError, match="not 'resnet'"):
        parse_app_args(["--model", "resnet"])


def _expected_accuracy(name: str) -> str:
    """The note's figures rebuilt from the card's JSON (estimate and interval per task)."""
    card = shipped_model_card(name)
    metrics = card["evaluation"]["metrics"]
    level = round(100 * card["evaluation"]["confidence"])
    words = {"gender": "gender", "age": "age group", "race": "ethnicity (race)"}
    parts = [
        f"{words[task]} {100 * m['estimate']:.1f}% ({level}% interval "
        f"{100 * m['lower']:.1f}-{100 * m['upper']:.1f}%)"
        for task, m in metrics.items()
    ]
    data = card["data"]["evaluation"].split(":")[0]
    return f"Accuracy on {data} ({metrics['gender']['n']:,} labelled faces): {', '.join(parts)}."


@pytest.mark.parametrize("name", ["fairface-mobilenet_v2-112", "fairface-lightweight-112"])
def test_model_note_gives_the_cards_accuracy_with_intervals(name):
    note = model_note(name)
    assert note.startswith(f"Predicted by {name}. Predictions are estimates")
    assert _expected_accuracy(name) in note
    assert "errs more often for some groups" in note


def test_the_default_models_note_reads_as_the_docs_say():
    """docs/app.md quotes the default model's figures: they are its card's, to the digit."""
    docs = " ".join((REPO_ROOT / "docs" / "app.md").read_text(encoding="utf-8").split())
    assert f'For `{DEFAULT_MODEL}` the note reads: "{_expected_accuracy(DEFAULT_MODEL)}"' in docs


def test_model_card_markdown_is_the_shipped_card():
    text = model_card_markdown(TEST_MODEL)
    assert text == shipped_model_path(TEST_MODEL).with_suffix(".md").read_text(encoding="utf-8")
    assert text.startswith(f"# Model card: {TEST_MODEL}")
    with pytest.raises(CheckpointError, match="no shipped model named 'nope'"):
        model_card_markdown("nope")


def test_load_predictor_builds_the_shipped_model():
    pytest.importorskip("torch", reason=NEEDS_TORCH)
    predictor = load_predictor(TEST_MODEL)
    assert [t.name for t in predictor.tasks] == ["gender", "age", "race"]
    assert predictor.input_size == shipped_model_card(TEST_MODEL)["input_size"]
    with pytest.raises(ConfigurationError):
        load_predictor("utkface-mobilenet_v2-112")
