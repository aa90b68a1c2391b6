"""How the commands that build tables set pandas up: string columns of Python objects."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

__all__ = ["python_strings"]

Command = Callable[[argparse.Namespace], int]


def python_strings(run: Command) -> Command:
    """Run a command with pandas' string columns backed by Python objects, not Arrow.

    With pyarrow installed, pandas backs its ``str`` columns by Arrow arrays. A
    report, an audit or a comparison builds a hundred small tables and reads them
    cell by cell, where every conversion to and from Arrow costs more than the strings
    themselves (about 0.2 s of CPU of a report's 1.1 s of work). Python-object strings
    have the same semantics and give the same output: they are pandas' own without
    pyarrow, as in the core install, whose tests run every one of these commands so.

    The option holds for the command's run only (:func:`pandas.option_context`) and
    is restored after, so a program calling :func:`fairaudit.cli.main` keeps its own.

    Parameters
    ----------
    run : callable
        A command's function of its parsed arguments.

    Returns
    -------
    callable
        The same, run under the option.
    """

    @functools.wraps(run)
    def wrapped(args: argparse.Namespace) -> int:
        import pandas as pd

        with pd.option_context("mode.string_storage", "python"):
            return run(args)

    return wrapped
