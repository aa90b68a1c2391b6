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
from tests.conftest import NEEDS_TORCH

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


def test_model_note_gives_the_cards_accuracy_and_warns_about_groups():
    card = shipped_model_card(DEFAULT_MODEL)["evaluation"]["metrics"]
    note = model_note(DEFAULT_MODEL)
    assert note.startswith(f"Predicted by {DEFAULT_MODEL}. Predictions are estimates")
    expected = (
        f"Accuracy on {card['gender']['n']:,} labelled evaluation faces: "
        f"gender {100 * card['gender']['estimate']:.1f}%, "
        f"age group {100 * card['age']['estimate']:.1f}%, "
        f"ethnicity (race) {100 * card['race']['estimate']:.1f}%."
    )
    assert expected in note
    assert "5,000" in note and "89.4%" in note  # the card's own figures (docs/model-cards.md)
    assert "errs more often for some groups" in note


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
