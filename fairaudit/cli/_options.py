"""The options several commands share, each with one spelling and one default.

One concept, one flag, across every ``fairaudit`` command: ``--resamples N`` (bootstrap
replicates), ``-o/--output PATH`` (the file or folder a command writes), ``--json PATH``
(a JSON copy of the results; ``-`` for stdout), ``-q/--quiet`` (no progress bar, less
chatter) and ``--unmatched {error,report}`` (default ``error``). Old spellings stay one
release as hidden, deprecated aliases (:func:`add_deprecated_alias`) that warn on stderr.
``tests/cli/test_help.py`` checks every command against these spellings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "UNMATCHED_CHOICES",
    "UNMATCHED_DEFAULT",
    "add_coding_and_repairs",
    "add_deprecated_alias",
    "add_json",
    "add_output",
    "add_quiet",
    "add_resamples",
    "add_unmatched",
    "codings_from_args",
    "deprecation_warning",
    "repairs_from_args",
    "shipped_model_name",
    "write_json",
]

#: ``--unmatched``: rows that cannot be joined or paired are an error (the default,
#: everywhere) or counted, reported and left out.
UNMATCHED_CHOICES: tuple[str, ...] = ("error", "report")
UNMATCHED_DEFAULT = "error"


def deprecation_warning(prog: str, old: str, new: str) -> None:
    """Print the one-line warning of a deprecated spelling to stderr."""
    print(
        f"{prog}: warning: {old} is deprecated and will be removed in the next release; use {new}",
        file=sys.stderr,
    )


class _DeprecatedAlias(argparse.Action):
    """A hidden old spelling: warns on stderr, then stores what the new one would."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        *,
        new: str,
        nargs: int | str | None = None,
        const: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(option_strings, dest, nargs=nargs, const=const, **kwargs)
        self.new = new

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        deprecation_warning(parser.prog, option_string or self.option_strings[0], self.new)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def add_deprecated_alias(
    parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup,
    *old: str,
    new: str,
    dest: str,
    flag: bool = False,
    **kwargs: Any,
) -> None:
    """Add ``old`` spellings of the option ``new`` (stored in ``dest``), hidden from help.

    ``flag=True`` for a switch (it stores ``True``); otherwise the alias takes a value
    like the new option (pass its ``type``). The canonical option must be added first:
    its default is the one kept.
    """
    if flag:
        kwargs.update(nargs=0, const=True)
    parser.add_argument(
        *old,
        dest=dest,
        action=_DeprecatedAlias,
        new=new,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
        **kwargs,
    )


def add_resamples(
    parser: argparse.ArgumentParser,
    *,
    default: int,
    help: str = "bootstrap replicates for the confidence intervals",
    deprecated: Sequence[str] = (),
) -> None:
    """``--resamples N`` (``dest="resamples"``); ``deprecated`` old spellings (``--bootstrap``)."""
    parser.add_argument(
        "--resamples",
        type=int,
        default=default,
        metavar="N",
        help=f"{help} (default: {default}{', none' if default == 0 else ''})",
    )
    if deprecated:
        add_deprecated_alias(parser, *deprecated, new="--resamples", dest="resamples", type=int)


def add_output(
    parser: argparse.ArgumentParser,
    *,
    help: str,
    required: bool = False,
    default: str | None = None,
    type: Any = None,
    metavar: str | None = None,
    deprecated: Sequence[str] = (),
) -> None:
    """``-o/--output PATH`` (``dest="output"``); ``deprecated`` old spellings (``--out``)."""
    extra: dict[str, Any] = {} if type is None else {"type": type}
    # a required option with an old spelling: one of the two is required
    where: Any = parser
    if required and deprecated:
        where, required = parser.add_mutually_exclusive_group(required=True), False
    where.add_argument(
        "-o",
        "--output",
        required=required,
        default=default,
        metavar=metavar,
        help=help,
        **extra,
    )
    if deprecated:
        add_deprecated_alias(where, *deprecated, new="-o/--output", dest="output", **extra)


def add_json(parser: argparse.ArgumentParser, *, help: str) -> None:
    """``--json PATH`` (``dest="json"``): a JSON copy of the results, ``-`` for stdout."""
    parser.add_argument("--json", metavar="PATH", help=f"{help} ('-' for stdout)")


def add_quiet(
    parser: argparse.ArgumentParser,
    *,
    help: str = "no progress bar",
    deprecated: Sequence[str] = (),
) -> None:
    """``-q/--quiet`` (``dest="quiet"``); ``deprecated`` old spellings (``--no-progress``)."""
    parser.add_argument("-q", "--quiet", action="store_true", help=help)
    if deprecated:
        add_deprecated_alias(parser, *deprecated, new="-q/--quiet", dest="quiet", flag=True)


def add_unmatched(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--unmatched {error,report}`` with the one default, :data:`UNMATCHED_DEFAULT`."""
    parser.add_argument(
        "--unmatched",
        choices=UNMATCHED_CHOICES,
        default=UNMATCHED_DEFAULT,
        help=f"{what}: an error (default: {UNMATCHED_DEFAULT}), or 'report': counted, "
        "reported and left out",
    )


def add_coding_and_repairs(parser: argparse.ArgumentParser) -> None:
    """``--coding NAME=CODING`` and ``--repair COLUMN:RAW=CLASS``: how the input stage reads
    integer-coded class columns and which labels it repairs (``dest`` ``coding`` and
    ``repair``; read with :func:`codings_from_args` and :func:`repairs_from_args`)."""
    parser.add_argument(
        "--coding",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=CODING",
        help="how integer-coded class columns are read: race=utkface, race=fairface, or "
        'NAME=coding.json ({"0": "label", ...}); NAME is a task or attribute (race covers '
        "race and race_pred) or a column. Integer codes without a coding are refused",
    )
    parser.add_argument(
        "--repair",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN:RAW=CLASS",
        help="explicit label repair, logged and recorded in the audit, e.g. "
        "age:9-Mar=3-9 age:19-Oct=10-19 (ages a spreadsheet turned into dates), "
        "gender_pred:male=Male (a prediction column); repeatable",
    )


def codings_from_args(items: list[str]) -> dict[str, str] | None:
    """``--coding`` values as the ``coding`` of the input stage (``None`` when none)."""
    from fairaudit.exceptions import DataValidationError

    out = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise DataValidationError(f"--coding {item!r}: expected NAME=CODING, e.g. race=utkface")
        out[name] = spec
    return out or None


def repairs_from_args(items: list[str]) -> dict[str, dict[str, str]] | None:
    """``--repair`` values as the ``label_repairs`` of the input stage (``None`` when none)."""
    from fairaudit.exceptions import DataValidationError

    out: dict[str, dict[str, str]] = {}
    for item in items:
        column, sep, rest = item.partition(":")
        raw, eq, fixed = rest.rpartition("=")
        if not sep or not eq or not column or not raw or not fixed:
            raise DataValidationError(
                f"--repair {item!r}: expected COLUMN:RAW=CLASS, e.g. age:9-Mar=3-9"
            )
        out.setdefault(column, {})[raw] = fixed
    return out or None


def write_json(payload: Any, target: str) -> None:
    """Write ``payload`` as JSON to ``target`` atomically (``-`` prints to stdout)."""
    from fairaudit._io import atomic_write_text

    text = json.dumps(payload, indent=2, default=str)
    if target == "-":
        print(text)
        return
    atomic_write_text(target, text + "\n")


def shipped_model_name(text: str) -> str:
    """An argparse ``type``: the name of a shipped model, refused at parse time otherwise.

    A checkpoint file given to ``--model`` is refused with a pointer to ``--checkpoint``.
    """
    from fairaudit.models import shipped_models

    names = shipped_models()
    if text not in names:
        hint = (
            " (a checkpoint file goes to --checkpoint)" if text.endswith((".pt", ".onnx")) else ""
        )
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a shipped model{hint}; choose from {', '.join(names)}"
        )
    return text
