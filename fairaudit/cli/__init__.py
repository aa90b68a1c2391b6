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

__all__ = ["build_parser", "main"]

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

Typical session:
  fairaudit audit-data                 imbalance of FairFace's labels (embedded counts)
  fairaudit audit-data PATH            the same for a FairFace/UTKFace folder or labels CSV
  fairaudit integrity PATH             unreadable files and duplicate images of a dataset
  fairaudit attributes PATH -o A.csv   skin tone and image conditions, as audit groups
  fairaudit audit --predictions P ...  sliced performance and fairness of a model
  fairaudit train / predict / export   subject models

Run 'fairaudit COMMAND --help' for the options of a command.
"""


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
    return parser


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
        print(f"fairaudit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
