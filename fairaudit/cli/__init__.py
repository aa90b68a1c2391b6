"""The ``fairaudit`` command line: a thin shell over the Python API.

Each area of the library registers its subcommands from its own module
(``_data.py``, ``_audit.py``, ``_models.py``, ``_train.py``, ...); no logic lives only
here. Those modules import nothing heavy at module level: each command imports
the API it calls inside its run function, so ``fairaudit --help`` stays fast and
torch-free.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from fairaudit._version import __version__
from fairaudit.cli import (
    _app,
    _attributes,
    _audit,
    _compare,
    _data,
    _demo,
    _detect,
    _evaluate,
    _models,
    _publish,
    _report,
    _slices,
    _train,
)
from fairaudit.exceptions import FairAuditError

__all__ = ["main"]

# Modules that each define ``register(subparsers)``, in the order of ``--help``.
_COMMAND_MODULES = (
    _data,
    _attributes,
    _audit,
    _train,
    _models,
    _evaluate,
    _report,
    _slices,
    _publish,
    _compare,
    _detect,
    _app,
    _demo,
)

_DESCRIPTION = """\
Audit face-attribute models (gender, age group, race/ethnicity) for bias.

Typical steps (docs/index.md is the guide):
  fairaudit predict PHOTOS -o v2.csv                  a model's predictions (extra "models")
  fairaudit audit --predictions v2.csv --labels labels.csv -o v2.json
                                                      sliced performance and fairness
  fairaudit report v2.json                            the HTML bias report
  fairaudit compare v1.json v2.json                   what changed between two versions
  fairaudit check v2.json --max equalized_odds_difference=0.1
                                                      the fairness gate in CI (exit 1)
  fairaudit attributes PATH -o attrs.csv              skin tone and image conditions,
                                                      as audit groups
"""

#: The command groups of ``fairaudit --help``, in order. A command registered by a
#: module but missing here is listed under "other commands".
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "auditing": ("audit", "audit-detector", "slices"),
    "reports and gates": ("report", "pair", "compare", "check", "redact", "demo", "app"),
    "models": ("predict", "evaluate", "train", "train-heads", "export", "model-card"),
    "data": ("audit-data", "integrity", "attributes"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="fairaudit",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fairaudit {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress and repairs to stderr"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(subparsers)
    parser.epilog = _grouped_commands(subparsers)
    # the grouped list replaces argparse's flat one (argparse has no public way to group)
    subparsers.help = "one of the commands below"
    subparsers._choices_actions = []
    return parser


def _grouped_commands(subparsers: argparse._SubParsersAction) -> str:
    """The commands' one-line helps, under the headings of :data:`COMMAND_GROUPS`."""
    helps = {action.dest: action.help or "" for action in subparsers._choices_actions}
    listed = {name for names in COMMAND_GROUPS.values() for name in names}
    groups = dict(COMMAND_GROUPS)
    others = tuple(name for name in helps if name not in listed)
    if others:
        groups["other commands"] = others
    width = max(len(name) for name in helps) + 2
    lines = []
    for title, names in groups.items():
        present = [name for name in names if name in helps]
        if not present:
            continue
        lines.append(f"{title}:")
        lines += [f"  {name:<{width}}{helps[name]}" for name in present]
        lines.append("")
    lines.append("Run 'fairaudit COMMAND --help' for the options of a command.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status.

    Errors fairaudit raises on purpose (bad input) print one clear line and
    exit with status 2 instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except FairAuditError as exc:
        print(f"fairaudit {args.command}: error: {exc.cli_message()}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
