"""Every command's help is true, and the commands share one grammar.

Parsed from the parser itself: every command is listed under a heading of
``fairaudit --help``; the options several commands share have one spelling
(``fairaudit/cli/_options.py``); every ``--flag`` a help text names exists (in that
command, or in the ``fairaudit COMMAND`` the text is quoting); every default a help
text states is the parser's default or, where the parser leaves ``None`` for the API
to decide, the API's own default; old spellings still work and warn.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from fairaudit.cli import COMMAND_GROUPS, build_parser, main
from fairaudit.cli._options import UNMATCHED_CHOICES, UNMATCHED_DEFAULT


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


PARSER = build_parser()
COMMANDS: dict[str, argparse.ArgumentParser] = dict(_subparsers(PARSER).choices)

#: The shared concepts: argparse ``dest`` -> its one spelling in every command.
SPELLINGS = {
    "resamples": {"--resamples"},
    "output": {"-o", "--output"},
    "json": {"--json"},
    "quiet": {"-q", "--quiet"},
    "unmatched": {"--unmatched"},
    "seed": {"--seed"},
    "min_support": {"--min-support"},
    "preset": {"--preset"},
    "labels": {"--labels"},
}
#: Old spellings: hidden deprecated aliases, never shown in a help.
DEPRECATED = {"--bootstrap", "--out", "--no-progress", "--detector"}
#: Flags of other programs that a help text quotes.
FOREIGN_FLAGS = {"--nproc_per_node": "torchrun's, in train's description"}


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help is not argparse.SUPPRESS]


def _spelling(action: argparse.Action) -> set[str]:
    """The option's spellings, without the ``--no-X`` that BooleanOptionalAction adds."""
    if isinstance(action, argparse.BooleanOptionalAction):
        return {s for s in action.option_strings if not s.startswith("--no-")}
    return set(action.option_strings)


def _help_text(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    return parser._get_formatter()._expand_help(action) if action.help else ""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_renders_cleanly(name):
    text = COMMANDS[name].format_help()
    assert "%%" not in text, f"fairaudit {name} --help prints '%%'"
    assert f"usage: fairaudit {name}" in text


def test_every_command_is_listed_under_one_heading_of_the_top_level_help():
    grouped = [n for names in COMMAND_GROUPS.values() for n in names]
    assert len(grouped) == len(set(grouped)), "a command is in two groups"
    missing = sorted(set(COMMANDS) - set(grouped))
    assert not missing, f"commands in no group of COMMAND_GROUPS: {missing}"
    text = PARSER.format_help()
    assert "other commands:" not in text
    for title, names in COMMAND_GROUPS.items():
        assert f"\n{title}:\n" in text
        for name in names:
            if name in COMMANDS:
                assert re.search(rf"^  {re.escape(name)} +\S", text, re.M), name
    # the typical steps include the report, the comparison and the gate
    for step in ("predict", "audit", "report", "compare", "check"):
        assert re.search(rf"^  fairaudit {step} ", text, re.M), step


def test_shared_options_have_one_spelling_in_every_command():
    seen: dict[str, dict[frozenset[str], list[str]]] = {}
    for name, parser in COMMANDS.items():
        for action in _visible(parser):
            spelling = _spelling(action)
            assert not spelling & DEPRECATED, f"{name} shows {spelling & DEPRECATED}"
            if action.dest in SPELLINGS:
                assert spelling == SPELLINGS[action.dest], (name, action.option_strings)
            seen.setdefault(action.dest, {}).setdefault(frozenset(spelling), []).append(name)
            if action.dest == "json":
                assert action.metavar == "PATH" and action.nargs in (None, "?"), name
            if action.dest == "unmatched":
                assert action.default == UNMATCHED_DEFAULT, name
                assert tuple(action.choices) == UNMATCHED_CHOICES, name
    # no other option either is spelled two ways in two commands
    for dest, spellings in seen.items():
        assert len(spellings) == 1, f"{dest} is spelled {dict(spellings)}"
    # the concepts are really shared (this test would pass vacuously otherwise)
    for dest in ("resamples", "output", "json", "quiet", "unmatched"):
        assert sum(len(v) for v in seen[dest].values()) >= 2, dest


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_-]*[a-z0-9]")
_QUOTED_COMMAND = re.compile(r"fairaudit ([a-z][a-z-]*)")


def _flag_owner(text: str, start: int, here: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The parser a flag at ``start`` belongs to: the ``fairaudit CMD`` just before it."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start - 1, start - 80) : start]
    quoted = [m[1] for m in _QUOTED_COMMAND.finditer(before) if m[1] in COMMANDS]
    return COMMANDS[quoted[-1]] if quoted else here


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in _visible(parser) for s in a.option_strings}


@pytest.mark.parametrize("name", ["", *sorted(COMMANDS)])
def test_every_flag_a_help_names_exists(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no flag cut at its hyphen by the line wrapping
    here = COMMANDS[name] if name else PARSER
    text = here.format_help()
    wrong = []
    for match in _FLAG.finditer(text):
        flag = match.group(0)
        if flag in FOREIGN_FLAGS:
            continue
        owner = _flag_owner(text, match.start(), here)
        if owner is PARSER:
            continue  # a top-level line without a command: only --help/--version/-v
        if flag not in _options(owner):
            wrong.append(f"{flag} (for {owner.prog})")
    assert not wrong, f"`fairaudit {name} --help` names flags that do not exist: {wrong}"


#: ``(default: VALUE)`` or ``VALUE (default)`` in a help text (one level of nesting).
_STATED = re.compile(r"\(default:?\s*((?:[^()]|\([^()]*\))*)\)|([\w.'-]+) \(default\)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?$")
_BOOLEAN = {"on": True, "yes": True, "off": False, "no": False}


def _api_default(function: Callable[..., Any], parameter: str) -> Any:
    return inspect.signature(function).parameters[parameter].default


def _train_default(field: str) -> Any:
    pytest.importorskip("torch", reason="the training recipe needs torch (extra models)")
    from fairaudit.training import TrainConfig

    return getattr(TrainConfig.fairface_reference(), field)


def _heads_default(field: str) -> Any:
    pytest.importorskip("torch", reason="the heads' config needs torch (extra models)")
    from fairaudit.training import HeadsConfig

    return getattr(HeadsConfig(), field)


def _check_integrity(parameter: str) -> Any:
    from fairaudit.datasets import check_integrity

    return _api_default(check_integrity, parameter)


def _audit_parquet_workers() -> Any:
    from fairaudit.model_audit import audit_parquet

    return _api_default(audit_parquet, "n_workers")


def _gate_min_support() -> Any:
    from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT

    return DEFAULT_MIN_SUPPORT


def _default_opset() -> Any:
    pytest.importorskip("torch", reason="the ONNX export needs torch (extra models)")
    from fairaudit.inference._onnx import DEFAULT_OPSET

    return DEFAULT_OPSET


def _photo_model() -> Any:
    from fairaudit.cli._models import DEFAULT_PHOTO_MODEL

    return DEFAULT_PHOTO_MODEL


#: Options the parser leaves at ``None`` so that the API decides: where that default is.
def _predictor_batch_size() -> int:
    """The batch size a predictor uses without a spec (``Predictor.from_checkpoint``'s)."""
    import inspect

    pytest.importorskip("torch", reason="the predictor needs torch (the extra models)")
    from fairaudit.inference import Predictor

    return inspect.signature(Predictor.from_checkpoint).parameters["batch_size"].default


API_DEFAULTS: dict[tuple[str, str], Callable[[], Any]] = {
    ("integrity", "--max-distance"): lambda: _check_integrity("max_distance"),
    ("integrity", "--min-correlation"): lambda: _check_integrity("min_correlation"),
    ("audit", "--workers"): _audit_parquet_workers,
    ("check", "--min-support"): _gate_min_support,
    ("export", "--opset"): _default_opset,
    ("predict", "--model"): _photo_model,
    ("predict", "--batch-size"): lambda: _predictor_batch_size(),
    ("train", "--image-size"): lambda: _train_default("image_size"),
    ("train", "--epochs"): lambda: _train_default("max_epochs"),
    ("train", "--lr"): lambda: _train_default("lr"),
    ("train", "--class-weighting"): lambda: _train_default("class_weighting"),
    ("train", "--num-workers"): lambda: _train_default("num_workers"),
    ("train", "--threads"): lambda: _train_default("threads"),
    ("train", "--channels-last"): lambda: _train_default("channels_last"),
    ("train-heads", "--trunk"): lambda: _heads_default("trunk"),
    ("train-heads", "--head-units"): lambda: _heads_default("head_units"),
    ("train-heads", "--dropout"): lambda: _heads_default("dropout"),
    ("train-heads", "--lr"): lambda: _heads_default("lr"),
    ("train-heads", "--weight-decay"): lambda: _heads_default("weight_decay"),
    ("train-heads", "--epochs"): lambda: _heads_default("max_epochs"),
    ("train-heads", "--patience"): lambda: _heads_default("patience"),
    ("train-heads", "--holdout-fraction"): lambda: _heads_default("holdout_fraction"),
    ("train-heads", "--select"): lambda: _heads_default("select"),
    ("train-heads", "--seed"): lambda: _heads_default("seed"),
    ("train-heads", "--threads"): lambda: _heads_default("threads"),
}


def _same(stated: str, value: Any) -> bool:
    if isinstance(value, bool):
        return _BOOLEAN.get(stated) is value
    if isinstance(value, int | float) and _NUMBER.match(stated):
        return float(stated) == float(value)
    if isinstance(value, list | tuple):
        return stated == " ".join(map(str, value))
    return stated == str(value)


def _is_literal(stated: str, action: argparse.Action) -> bool:
    """Whether the stated default is a value (not a sentence saying how it is chosen)."""
    return bool(
        _NUMBER.match(stated)
        or stated in _BOOLEAN
        or (action.choices is not None and stated in action.choices)
        or re.fullmatch(r"[\w.]+[-_][\w.-]+", stated)
    )


def _stated_defaults() -> list[tuple[str, argparse.Action, str]]:
    out = []
    for name, parser in COMMANDS.items():
        for action in _visible(parser):
            for match in _STATED.finditer(_help_text(parser, action)):
                sentence = match.group(1) if match.group(1) is not None else match.group(2)
                stated = re.split(r"[,;]\s|\s\(|:\s", sentence.strip(" '"))[0].strip(" '")
                out.append((name, action, stated))
    return out


STATED = _stated_defaults()


@pytest.mark.parametrize(
    ("name", "action", "stated"),
    STATED,
    ids=[f"{n} {a.option_strings[-1]}={s}" for n, a, s in STATED],
)
def test_every_stated_default_is_the_real_one(name, action, stated):
    key = (name, max(_spelling(action), key=len))
    if action.default is not None and action.default is not argparse.SUPPRESS:
        if isinstance(action.default, bool) and stated not in _BOOLEAN:
            return  # a switch described in words ("(default: dynamic)")
        if not _is_literal(stated, action) and not isinstance(action.default, str | list):
            return
        assert _same(stated, action.default), (
            f"fairaudit {name} {key[1]}: help says default {stated!r}, the parser has "
            f"{action.default!r}"
        )
    elif _is_literal(stated, action):
        assert key in API_DEFAULTS, (
            f"fairaudit {name} {key[1]}: help states the default {stated!r} but the parser's is "
            "None; add where that default lives to API_DEFAULTS"
        )
        value = API_DEFAULTS[key]()
        assert _same(stated, value), f"fairaudit {name} {key[1]}: help {stated!r}, API {value!r}"


def test_the_defaults_checked_are_many():
    """The regular expressions find the stated defaults (guards against a vacuous pass)."""
    assert len(STATED) >= 60
    assert set(API_DEFAULTS) <= {
        (n, max(_spelling(a), key=len)) for n, a, s in STATED if _is_literal(s, a)
    }


# --- the old spellings: still accepted for one release, with a warning -------------------

_DATA = ["--dataset", "fairface", "--data-root", "root"]
_MODEL = "fairface-lightweight-112"
_CARD = ["model-card", "run", "--name", "n", "--command", "c", "--train-data", "t", *_DATA]


@pytest.mark.parametrize(
    ("argv", "dest", "value", "old", "new"),
    [
        (["audit", "--predictions", "p.csv", "--bootstrap", "5"], "resamples", 5, "--bootstrap",
         "--resamples"),
        (["evaluate", "--model", _MODEL, *_DATA, "--bootstrap", "7"], "resamples", 7, "--bootstrap",
         "--resamples"),
        (["audit", "--predictions", "p.csv", "--no-progress"], "quiet", True, "--no-progress",
         "-q/--quiet"),
        (["train", "--output", "run", "--no-progress"], "quiet", True, "--no-progress",
         "-q/--quiet"),
        (["demo", "--out", "folder"], "output", "folder", "--out", "-o/--output"),
        ([*_CARD, "--out", "shipped"], "output", "shipped", "--out", "-o/--output"),
        (["predict", "x.jpg", "--detect", "--detector", "crops"], "preset", "crops",
         "--detector", "--preset"),
        (["audit-detector", "data", "--detector", "photos"], "preset", "photos", "--detector",
         "--preset"),
    ],
)  # fmt: skip
def test_old_spellings_still_work_and_warn(argv, dest, value, old, new, capsys):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    err = capsys.readouterr().err
    assert f"{old} is deprecated" in err and f"use {new}" in err


def test_new_spellings_do_not_warn_and_keep_the_defaults(capsys):
    args = build_parser().parse_args(["audit", "--predictions", "p.csv", "--resamples", "5"])
    assert args.resamples == 5 and args.quiet is False and args.output is None
    assert build_parser().parse_args(["evaluate", "--model", _MODEL, *_DATA]).resamples == 1000
    assert build_parser().parse_args(["demo"]).output == "fairaudit-demo"
    assert build_parser().parse_args(["predict", "x.jpg"]).preset == "photos"
    assert build_parser().parse_args(["audit-detector", "d"]).preset == "crops"
    assert capsys.readouterr().err == ""


def test_audit_json_bare_switch_is_deprecated_but_still_prints_the_summary(tmp_path, capsys):
    import pandas as pd

    labels = pd.DataFrame(
        {
            "file": [f"{i}.jpg" for i in range(8)],
            "gender": ["Male", "Female"] * 4,
            "age": ["20-29"] * 8,
            "race": ["White", "Black", "Indian", "East Asian"] * 2,
        }
    )
    preds = labels[["file"]].assign(gender_pred=["Male"] * 8)
    labels.to_csv(tmp_path / "l.csv", index=False)
    preds.to_csv(tmp_path / "p.csv", index=False)
    saved = tmp_path / "a.json"
    args = ["audit", "--predictions", str(tmp_path / "p.csv"), "--labels", str(tmp_path / "l.csv")]
    assert main([*args, "-o", str(saved), "-q"]) == 0
    capsys.readouterr()

    assert main(["audit", "--result", str(saved), "--json"]) == 0
    out, err = capsys.readouterr()
    old = json.loads(out)
    assert "--json without a PATH is deprecated" in err and "use --json -" in err
    assert old["n_rows"] == 8
    assert old["tasks"]["gender"]["overall"][0]["accuracy"] == 0.5  # 4 of 8 are Male

    assert main(["audit", "--result", str(saved), "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == old and "deprecated" not in err

    written = tmp_path / "summary.json"
    assert main(["audit", "--result", str(saved), "--json", str(written)]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(written.read_text()) == old
    assert "=== gender ===" in out and f"wrote {written}" in out


def test_evaluate_model_takes_a_shipped_name_and_refuses_a_file_at_parse_time(capsys):
    """docs/gate.md once ran `evaluate --model my-model.pt`: now a usage error, not a run."""
    argv = ["evaluate", "--model", "my-model.pt", *_DATA]
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "'my-model.pt' is not a shipped model (a checkpoint file goes to --checkpoint)" in err
    assert _MODEL in err
    assert build_parser().parse_args([*argv[:2], _MODEL, *argv[3:]]).model == _MODEL
