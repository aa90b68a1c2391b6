"""What a reader of a published audit can infer: exact integer bounds of every hidden count.

The attacker's unknowns are the audit's finest table, as integers:

- ``z[a]``: the people of each full cell ``a`` of the sensitive attributes;
- per task whose true label is one of the attributes (same name, same classes, and
  every row of the cell has that true label) -- an *aligned* task -- ``h[t, a]``, the
  people of ``a`` the model got right, ``0 <= h <= z``;
- per other task, ``x[t, a, c]``, the people of ``a`` whose true label is ``c``
  (``sum_c x[t, a, c] = z[a]``: the true labels are sensitive attributes too) and
  ``h[t, a, c] <= x[t, a, c]``, those of them the model got right.

A published grouping adds, for each of its cells ``g``, ``sum_{a in g} z[a] = n_g``
and, per task, the hits behind the published accuracy (``accuracy * n_g``; the exact
interval and the gaps are functions of these, so they tell nothing more). Hidden counts
(*targets*) are the cells of every grouping of the attributes, and of every grouping
crossed with each non-aligned task's true label, that hold 1 to ``K - 1`` people.

Bounds are exact for integers. A target is narrow only when its linear bounds
(HiGHS) are less than ``K`` apart: a valid proof. It is safe only with an integer
table, checked against every equation, ``K`` above the truth (or two tables ``K``
apart), found by, cheapest first:

- *moves* from the truth: +1/-1 patterns over ``2^|U|`` cells, ``U`` attributes of
  the target's grouping that no published grouping holds (every published margin sums
  them to 0), each task's hits moved alike or left, people shifted between true
  classes inside a cell; patterns over all the target's attributes first, so that the
  tables stay witnesses whatever is published next (:meth:`AttackerSystem._walk`);
- the optimal vertex of the linear programme, when integral;
- a *nearby* table: the integer programme over only the cells that the least change
  of the truth reaching the goal touches (:meth:`AttackerSystem._nearby`);
- exact integer optima (integer programmes over the whole table), the last resort.

Checking a new grouping reuses, per target, integer tables already found that keep it
``K`` wide: one that still satisfies the new grouping's equations proves the target
safe without solving anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations, product

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from fairaudit.exceptions import FairAuditError
from fairaudit.model_audit import AuditResult

__all__ = ["AttackerSystem", "Target", "value_of"]

_TOL = 1e-6


def value_of(row: sp.csr_matrix, table: np.ndarray) -> float:
    """A sparse row's value on a table."""
    return float((row @ table)[0])


@dataclass
class Target:
    """A hidden count: its name, its row over the attacker's unknowns and its true value."""

    label: str
    row: sp.csr_matrix
    value: int
    #: the grouping's attributes (axes of the audit) and the cell's value of each
    axes: tuple[int, ...] = ()
    levels: tuple[int, ...] = ()
    #: a non-aligned task and true class when the count is of people of that class
    task: str | None = None
    true_class: int | None = None
    #: integer tables satisfying every equation checked so far: (low, high) witnesses.
    witnesses: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)


class Published(tuple):
    """A published grouping's equations ``(matrix, values)``, knowing their grouping.

    ``axes``: the grouping's attributes (axes of the audit); ``hits``: whether the hits
    behind its accuracies are published too.
    """

    axes: tuple[int, ...]
    hits: bool

    def __new__(
        cls, matrix: sp.csr_matrix, values: np.ndarray, *, axes: tuple[int, ...], hits: bool
    ) -> Published:
        self = super().__new__(cls, (matrix, values))
        self.axes = axes
        self.hits = hits
        return self


class _Programme:
    """One HiGHS linear programme kept between solves (rows added and removed, costs changed).

    Re-solving after a change of objective starts from the last optimal basis, so each
    target costs a few simplex iterations instead of a fresh solve.
    """

    def __init__(self, n_vars: int) -> None:
        self.highs = highspy.Highs()
        self.highs.silent()
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("solver", "simplex")
        # primal simplex: after a change of objective the last basis stays feasible
        self.highs.setOptionValue("simplex_strategy", 4)
        self.n_vars = n_vars
        self.highs.addVars(n_vars, np.zeros(n_vars), np.full(n_vars, highspy.kHighsInf))
        self._cost = np.zeros(0, dtype=np.int32)

    @property
    def n_rows(self) -> int:
        return int(self.highs.getNumRow())

    def add_rows(self, matrix: sp.csr_matrix, lower: np.ndarray, upper: np.ndarray) -> None:
        matrix = sp.csr_matrix(matrix)
        matrix.sum_duplicates()
        self.highs.addRows(
            matrix.shape[0],
            np.asarray(lower, float),
            np.asarray(upper, float),
            matrix.nnz,
            matrix.indptr[:-1].astype(np.int32),
            matrix.indices.astype(np.int32),
            matrix.data.astype(float),
        )

    def drop_rows_from(self, start: int) -> None:
        end = self.n_rows
        if end > start:
            self.highs.deleteRows(end - start, np.arange(start, end, dtype=np.int32))

    def optimise(self, row: sp.csr_matrix, maximise: bool) -> tuple[float, np.ndarray | None]:
        """Optimal value of ``row @ v`` and an optimal vertex (``inf, None``: unbounded)."""
        if self._cost.size:
            self.highs.changeColsCost(self._cost.size, self._cost, np.zeros(self._cost.size))
        self._cost = row.indices.astype(np.int32)
        self.highs.changeColsCost(self._cost.size, self._cost, row.data.astype(float))
        self.highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        )
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded and maximise:
            return np.inf, None  # nothing published bounds it
        if status != highspy.HighsModelStatus.kOptimal:
            raise FairAuditError(
                f"the attacker's programme failed: {self.highs.modelStatusToString(status)}"
            )
        table = np.asarray(self.highs.getSolution().col_value, dtype=float)
        return float(self.highs.getInfo().objective_function_value), table


class AttackerSystem:
    """The linear system of a reader of an audit's published numbers.

    Parameters
    ----------
    audit : AuditResult
        The full audit; its counts are the truth the system is checked against.
    """

    def __init__(self, audit: AuditResult) -> None:
        self.audit = audit
        self.names = list(audit.attributes)
        self.shape = audit.shape
        n_full = int(np.prod(self.shape)) if self.shape else 1
        self.n_full = n_full
        first = next(iter(audit.tasks))
        z = audit.counts[first].sum(axis=(-2, -1)).reshape(n_full)
        blocks: list[np.ndarray] = [z]
        self.aligned: dict[str, int] = {}
        self.free: dict[str, int] = {}
        self._hits: dict[str, tuple[int, int]] = {}
        self._true: dict[str, tuple[int, int]] = {}
        offset = n_full
        for task, vocab in audit.tasks.items():
            cm = audit.counts[task].reshape(n_full, len(vocab), len(vocab))
            truth = cm.sum(axis=-1)
            diag = np.diagonal(cm, axis1=-2, axis2=-1)
            if self._is_aligned(task, truth):
                self.aligned[task] = len(vocab)
                self._hits[task] = (offset, n_full)
                blocks.append(diag.sum(axis=-1))
                offset += n_full
            else:
                size = n_full * len(vocab)
                self.free[task] = len(vocab)
                self._true[task] = (offset, size)
                self._hits[task] = (offset + size, size)
                blocks += [truth.reshape(size), diag.reshape(size)]
                offset += 2 * size
        self.n_vars = offset
        self.truth = np.concatenate(blocks).astype(float)
        self._eq: list[sp.csr_matrix] = []
        self._eq_values: list[np.ndarray] = []
        self._ub, self._ub_values = self._base()
        self._lp = _Programme(self.n_vars)
        self._lp.add_rows(self._ub, np.full(self._ub.shape[0], -highspy.kHighsInf), self._ub_values)
        for matrix, values in zip(self._eq, self._eq_values, strict=True):
            self._check(matrix, values)
            self._lp.add_rows(matrix, values, values)
        #: linear programmes solved, and integer ones
        self.n_solved = 0
        self.n_integer = 0
        #: hidden counts proved safe, or bounds proved exact, by moves from the truth
        self.n_moved = 0
        # the published groupings (axes), those with their hits, for the moves
        self._counted: list[frozenset[int]] = []
        self._moves_hold = True  # False once equations of unknown origin are published
        self._cells = (
            np.array(np.unravel_index(np.arange(n_full), self.shape))
            if self.shape
            else np.zeros((0, n_full), dtype=np.int64)
        )
        self._rng = np.random.default_rng(0)
        cell_of = [np.arange(n_full)] * (1 + len(self.aligned))
        for n_classes in self.free.values():
            cell_of += [np.repeat(np.arange(n_full), n_classes)] * 2
        #: the full cell each unknown belongs to
        self._cell_of = np.concatenate(cell_of)

    def _is_aligned(self, task: str, truth: np.ndarray) -> bool:
        """Whether the attribute named ``task`` is the task's true label, row for row."""
        vocab = self.audit.tasks[task]
        if task not in self.audit.attributes:
            return False
        if tuple(self.audit.attributes[task].classes) != tuple(vocab.classes):
            return False
        axis = self.names.index(task)
        value = np.unravel_index(np.arange(self.n_full), self.shape)[axis]
        off = np.ones_like(truth, dtype=bool)
        off[np.arange(self.n_full), value] = False
        return not truth[off].any()

    def _z(self) -> sp.csr_matrix:
        return sp.csr_matrix(
            (np.ones(self.n_full), (np.arange(self.n_full), np.arange(self.n_full))),
            shape=(self.n_full, self.n_vars),
        )

    def _block(self, start: int, size: int) -> sp.csr_matrix:
        return sp.csr_matrix(
            (np.ones(size), (np.arange(size), start + np.arange(size))),
            shape=(size, self.n_vars),
        )

    def _base(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """Permanent knowledge: hits within their cell, true labels adding up to the cell."""
        ub = []
        z = self._z()
        for task in self.aligned:
            ub.append(self._block(*self._hits[task]) - z)
        for task, n_classes in self.free.items():
            x = self._block(*self._true[task])
            ub.append(self._block(*self._hits[task]) - x)
            expand = sp.kron(sp.eye(self.n_full), np.ones((1, n_classes)), format="csr")
            self._eq.append(sp.csr_matrix(expand @ x - z))
            self._eq_values.append(np.zeros(self.n_full))
        if not ub:
            return sp.csr_matrix((0, self.n_vars)), np.zeros(0)
        return sp.vstack(ub, format="csr"), np.zeros(sum(m.shape[0] for m in ub))

    def membership(self, by: Sequence[str]) -> sp.csr_matrix:
        """Rows: the cells of grouping ``by`` (C order); columns: the full cells inside."""
        index = np.unravel_index(np.arange(self.n_full), self.shape) if self.shape else ()
        axes = [self.names.index(name) for name in by]
        sizes = [self.shape[a] for a in axes]
        cell = (
            np.ravel_multi_index([index[a] for a in axes], sizes)
            if axes
            else np.zeros(self.n_full, dtype=np.int64)
        )
        n_cells = int(np.prod(sizes)) if sizes else 1
        return sp.csr_matrix(
            (np.ones(self.n_full), (cell, np.arange(self.n_full))), shape=(n_cells, self.n_full)
        )

    def published_rows(self, by: Sequence[str], *, hits: bool = True) -> Published:
        """Equations a reader gets from a published grouping: its counts and, per task, hits.

        ``hits=False``: the counts alone (the grouping's accuracies withheld).
        """
        member = self.membership(by)
        rows = [member @ self._z()]
        for task in self.audit.tasks if hits else ():
            start, size = self._hits[task]
            cells = (
                member if task in self.aligned else sp.kron(member, np.ones((1, self.free[task])))
            )
            rows.append(cells @ self._block(start, size))
        matrix = sp.vstack(rows, format="csr")
        axes = tuple(self.names.index(name) for name in by)
        return Published(matrix, matrix @ self.truth, axes=axes, hits=hits)

    def targets(self, min_count: int) -> list[Target]:
        """Every hidden count of 1 to ``min_count - 1`` people (the tasks' true labels too)."""
        found = []
        for k in range(len(self.names) + 1):
            for by in combinations(self.names, k):
                member = self.membership(by) @ self._z()
                cells = self.audit.group_names(by)
                axes = tuple(self.names.index(name) for name in by)
                found += self._small(
                    member, cells, " x ".join(by) or "overall", min_count, axes=axes
                )
                for task, n_classes in self.free.items():
                    x = self._block(*self._true[task])
                    rows = sp.kron(self.membership(by), sp.eye(n_classes)) @ x
                    labels = [
                        f"{cell} & {task}={c}" if by else f"{task}={c}"
                        for cell, c in product(cells, self.audit.tasks[task].classes)
                    ]
                    grouping = " x ".join((*by, f"{task} (true)"))
                    found += self._small(
                        sp.csr_matrix(rows), labels, grouping, min_count, axes=axes, task=task
                    )
        return found

    def _small(
        self,
        rows: sp.csr_matrix,
        labels: list[str],
        grouping: str,
        min_count: int,
        *,
        axes: tuple[int, ...],
        task: str | None = None,
    ) -> list[Target]:
        values = rows @ self.truth
        n_classes = 1 if task is None else self.free[task]
        sizes = [self.shape[a] for a in axes]
        found = []
        for i in np.flatnonzero((values >= 1) & (values < min_count)):
            cell, true_class = divmod(int(i), n_classes)
            levels = tuple(int(v) for v in np.unravel_index(cell, sizes)) if axes else ()
            found.append(
                Target(
                    f"{grouping}: {labels[i]}",
                    rows[i],
                    int(round(values[i])),
                    axes=axes,
                    levels=levels,
                    task=task,
                    true_class=None if task is None else true_class,
                )
            )
        return found

    def _check(self, matrix: sp.csr_matrix, values: np.ndarray) -> None:
        if not np.allclose(matrix @ self.truth, values):
            raise FairAuditError("the attacker's system does not hold for the audit's counts")

    def _system(
        self, extra: tuple[sp.csr_matrix, np.ndarray] | None
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        eq, values = list(self._eq), list(self._eq_values)
        if extra is not None:
            eq.append(extra[0])
            values.append(extra[1])
        if not eq:
            return sp.csr_matrix((0, self.n_vars)), np.zeros(0)
        return sp.vstack(eq, format="csr"), np.concatenate(values)

    def _milp(
        self,
        cost: np.ndarray,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
        fixed: np.ndarray | None = None,
        table: np.ndarray | None = None,
        at_least: tuple[sp.csr_matrix, float] | None = None,
        presolve: bool = False,
    ) -> np.ndarray | None:
        """Minimise ``cost`` over integer tables; ``fixed``: variables held at ``table``;
        ``at_least``: a row whose value must reach a goal. ``presolve``: HiGHS's MIP
        presolve, which declares some of these feasible systems infeasible: only where
        a wrong "infeasible" costs time, never a wrong answer.

        Returns None when no integer table satisfies the equations (with ``fixed``).
        """
        a_eq, b_eq = self._system(extra)
        a_ub, b_ub = self._ub, self._ub_values
        free = np.ones(self.n_vars, dtype=bool) if fixed is None else ~fixed
        if fixed is not None:
            b_eq = b_eq - a_eq[:, fixed] @ table[fixed]
            b_ub = b_ub - a_ub[:, fixed] @ table[fixed]
            a_eq, a_ub = a_eq[:, free], a_ub[:, free]
        self.n_integer += 1
        constraints = [LinearConstraint(a_eq, b_eq, b_eq)]
        if a_ub.shape[0]:
            constraints.append(LinearConstraint(a_ub, -np.inf, b_ub))
        if at_least is not None:
            row, goal = at_least
            if fixed is not None:
                goal = goal - value_of(row[:, fixed], table[fixed])
                row = row[:, free]
            constraints.append(LinearConstraint(row, goal, np.inf))
        result = milp(
            cost[free],
            constraints=constraints,
            integrality=np.ones(int(free.sum())),
            bounds=Bounds(0, np.inf),
            options={"presolve": presolve},
        )
        if result.status == 2:  # infeasible
            return None
        if result.status != 0:
            raise FairAuditError(f"the attacker's integer programme failed: {result.message}")
        out = table.copy() if fixed is not None else np.zeros(self.n_vars)
        out[free] = np.round(result.x)
        return out

    def _integral(
        self,
        row: sp.csr_matrix,
        maximise: bool,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
    ) -> tuple[float, np.ndarray | None, bool]:
        """The linear optimum of ``row @ v``, an integer table near it, and whether exact.

        The vertex is used when integral. Otherwise the variables that are fractional
        there (then also those that differ from the truth) are re-solved as integers,
        the others held: cheap, and exact when it attains the rounded linear optimum.
        An unbounded maximum gives ``inf, None, True``.
        """
        self.n_solved += 1
        bound, table = self._lp.optimise(row, maximise)
        if table is None:
            return bound, None, True
        bound = np.floor(bound + _TOL) if maximise else np.ceil(bound - _TOL)
        fractional = np.abs(table - np.round(table)) > _TOL
        if not fractional.any():
            return bound, np.round(table), True
        cost = (-1.0 if maximise else 1.0) * row.toarray().ravel()
        rounded = np.round(table)
        for free in (fractional, fractional | (rounded != self.truth)):
            found = self._milp(cost, extra, fixed=~free, table=rounded)
            if found is not None:
                value = value_of(row, found)
                return bound, found, bool(abs(value - bound) < _TOL)
        return bound, self.truth.copy(), False

    def _optimum(
        self,
        target: Target,
        maximise: bool,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
    ) -> tuple[float, np.ndarray | None]:
        """Exact integer optimum of the target's count and a table attaining it
        (``inf, None``: unbounded).

        The linear bound, rounded in, is attained by the optimal vertex when integral,
        else by moves from the truth when they reach it (:meth:`_walk`); otherwise
        integer programmes decide.
        """
        row = target.row
        simple = self._margin_bound(target, extra) if maximise else 0.0
        if np.isfinite(simple):  # moves reaching a bound implied by the margins: exact
            walked = self._walk(target, simple, extra)
            if walked is not None and walked[1] == simple:
                self.n_moved += 1
                return simple, walked[0]
        bound, table, value = self._reach(target, maximise, extra)
        if table is None or value == bound:
            return bound, table
        table = self._nearby(target, bound, extra, maximise=maximise)
        if table is not None:
            return bound, table
        bound, table, exact = self._integral(row, maximise, extra)
        if not exact:
            cost = (-1.0 if maximise else 1.0) * row.toarray().ravel()
            table = self._milp(cost, extra)
            if table is None:  # the truth satisfies the equations: never happens
                raise FairAuditError("the attacker's integer programme has no solution")
        return round(value_of(row, table)), table

    def _margin_bound(
        self, target: Target, extra: tuple[sp.csr_matrix, np.ndarray] | None
    ) -> float:
        """An upper bound of the target's count from the published counts alone: the
        smallest total of the cells of a published grouping that hold the target's
        people (inf when none is published)."""
        counted = list(self._counted)
        if isinstance(extra, Published):
            counted.append(frozenset(extra.axes))
        z = self.truth[: self.n_full]
        bound = np.inf
        for grouping in counted:
            shared = [i for i, axis in enumerate(target.axes) if axis in grouping]
            axes = tuple(target.axes[i] for i in shared)
            levels = [target.levels[i] for i in shared]
            bound = min(bound, float(z[self._inside(axes, levels)].sum()))
        return bound

    def _reach(
        self,
        target: Target,
        maximise: bool,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
    ) -> tuple[float, np.ndarray | None, int | None]:
        """The linear bound of the target's count (rounded in) and an integer table as
        close to it as the optimal vertex (when integral) or moves from the truth get,
        with its value: the integer optimum when it equals the bound.

        ``inf, None, None``: unbounded.
        """
        self.n_solved += 1
        bound, table = self._lp.optimise(target.row, maximise)
        if table is None:
            return bound, None, None
        bound = np.floor(bound + _TOL) if maximise else np.ceil(bound - _TOL)
        if _is_integral(table):
            table = np.round(table)
            return bound, table, round(value_of(target.row, table))
        walked = self._walk(target, bound, extra)
        if walked is None:
            return bound, self.truth, target.value
        if walked[1] == bound:
            self.n_moved += 1
        return bound, walked[0], walked[1]

    def narrowest(self, targets: list[Target]) -> int | None:
        """The narrowest exact integer interval of any target under everything published.

        Tables moved down and up from the truth as far as simple moves go (witnesses of
        the published equations) bound each target's width from below: targets are
        taken from the lowest bound up, until none left can be narrower than the
        narrowest found. One that further moves take as far above its lowest table as
        the narrowest found is no narrower; the others are solved exactly (the maximum
        first: ``max - value`` bounds the width from below too). None without targets.
        """
        everyone = float(self.truth[: self.n_full].sum())
        spreads = np.zeros(len(targets))
        lowest = np.array([t.value for t in targets])
        for i, target in enumerate(targets):  # cheap first: simple moves down and up
            low = self._walk(target, 0, None, depth=0)
            high = self._walk(target, everyone, None, depth=0)
            if low is not None and high is not None:
                target.witnesses = (low[0], high[0])
                spreads[i], lowest[i] = high[1] - low[1], low[1]
        best: int | None = None
        for i in np.argsort(spreads, kind="stable"):
            target = targets[i]
            if best is not None and spreads[i] >= best:
                break
            if best is not None:  # moves up to ``best`` above the lowest found are enough
                high = self._walk(target, lowest[i] + best, None)
                if high is not None and high[1] >= lowest[i] + best:
                    continue
            high, high_table = self._optimum(target, True, None)
            if high_table is None or (best is not None and high - target.value >= best):
                continue
            low, low_table = self._optimum(target, False, None)
            target.witnesses = (low_table, high_table)
            best = int(high - low) if best is None else min(best, int(high - low))
        return best

    def try_publish(
        self, extra: tuple[sp.csr_matrix, np.ndarray], targets: list[Target], min_count: int
    ) -> bool:
        """Publish ``extra`` if every target then stays at least ``min_count`` wide.

        Returns whether it was published; if not, the published equations are unchanged.
        """
        self._check(*extra)
        start = self._lp.n_rows
        self._lp.add_rows(extra[0], extra[1], extra[1])
        try:
            safe = self._all_safe(targets, min_count, extra)
        except BaseException:
            self._lp.drop_rows_from(start)
            raise
        if safe:
            self._eq.append(extra[0])
            self._eq_values.append(extra[1])
            if isinstance(extra, Published):
                self._counted.append(frozenset(extra.axes))
            else:
                self._moves_hold = False
        else:
            self._lp.drop_rows_from(start)
        return safe

    def _valid(self, target: Target, min_count: int, extra: tuple[sp.csr_matrix, np.ndarray]):
        if target.witnesses is None:
            return False
        low, high = target.witnesses
        spread = value_of(target.row, high) - value_of(target.row, low)
        return (
            spread >= min_count
            and np.allclose(extra[0] @ low, extra[1])
            and np.allclose(extra[0] @ high, extra[1])
        )

    def _all_safe(
        self, targets: list[Target], min_count: int, extra: tuple[sp.csr_matrix, np.ndarray]
    ) -> bool:
        """Whether every target stays at least ``min_count`` wide with ``extra`` on trial.

        Witnesses still satisfying ``extra`` prove their targets safe, then tables
        moved from the truth (:meth:`_walk`). The others are certified in batches: one
        linear programme maximises the sum of the pending targets, and its vertex, when
        integral, proves every target it raises by ``min_count`` or more (the truth is
        the low witness). What remains is solved one target at a time (:meth:`_safe`).
        """
        pending = []
        for target in targets:
            if self._valid(target, min_count, extra):
                continue
            walked = self._walk(target, target.value + min_count, extra)
            if walked is not None and walked[1] >= target.value + min_count:
                self.n_moved += 1
                target.witnesses = (self.truth, walked[0])
            else:
                pending.append(target)
        while len(pending) > 1:
            rows = sp.vstack([t.row for t in pending], format="csr")
            values = np.array([t.value for t in pending], dtype=float)
            total = sp.csr_matrix(rows.sum(axis=0))
            self.n_solved += 1
            _, table = self._lp.optimise(total, True)
            if table is None or not _is_integral(table):  # unbounded, or no integer vertex
                break
            table = np.round(table)
            raised = rows @ table - values >= min_count
            for target in np.array(pending, dtype=object)[raised]:
                target.witnesses = (self.truth, table)
            if not raised.any():
                break
            pending = [t for t, done in zip(pending, raised, strict=True) if not done]
        for target in pending:
            if not self._safe(target, min_count, extra):
                return False
        return True

    def _safe(
        self, target: Target, min_count: int, extra: tuple[sp.csr_matrix, np.ndarray]
    ) -> bool:
        """Whether one target stays at least ``min_count`` wide (exact integer bounds).

        Narrow only when its linear bounds are (a valid proof); wide when two integer
        tables ``min_count`` apart satisfy everything: the truth and the optimal vertex
        or a table near the truth (:meth:`_nearby`), else exact integer optima.
        """
        self.n_solved += 1
        high_bound, high_table = self._lp.optimise(target.row, True)
        if high_table is None:  # unbounded: nothing to keep as a witness
            target.witnesses = None
            return True
        high_bound = np.floor(high_bound + _TOL)
        goal = target.value + min_count
        if _is_integral(high_table) and value_of(target.row, np.round(high_table)) >= goal:
            target.witnesses = (self.truth, np.round(high_table))
            return True
        if high_bound >= goal:  # moves fell short (:meth:`_all_safe`): nearby tables
            table = self._nearby(target, goal, extra)
            if table is not None:
                target.witnesses = (self.truth, table)
                return True
        self.n_solved += 1
        low_bound, _ = self._lp.optimise(target.row, False)
        low_bound = np.ceil(low_bound - _TOL)
        if high_bound - low_bound < min_count:  # even the linear relaxation is narrow
            return False
        high, high_table = self._optimum(target, True, extra)
        low, low_table = self._optimum(target, False, extra)
        target.witnesses = (low_table, high_table)
        return bool(high - low >= min_count)

    def _nearby(
        self,
        target: Target,
        goal: float,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
        *,
        maximise: bool = True,
    ) -> np.ndarray | None:
        """An integer table with the target's count at ``goal`` or beyond (above when
        ``maximise``, else below), changing only the cells that a least change of the
        truth (a linear programme) touches; None if none is found there.

        The least change ``v - truth = p - m`` minimises ``sum(p + m)`` under every
        equation and bound with the count at ``goal``; the unknowns of the cells it
        touches are then solved as integers (any table reaching ``goal``), the others
        held at the truth.
        """
        a_eq, b_eq = self._system(extra)
        a_ub, b_ub = self._ub, self._ub_values - self._ub @ self.truth
        sign = 1.0 if maximise else -1.0
        row = target.row * sign
        n = self.n_vars
        self.n_solved += 1
        result = linprog(
            np.ones(2 * n),
            A_ub=sp.vstack([sp.hstack([a_ub, -a_ub]), sp.hstack([-row, row])], format="csr"),
            b_ub=np.append(b_ub, sign * (target.value - goal)),
            A_eq=sp.hstack([a_eq, -a_eq], format="csr"),
            b_eq=np.zeros(a_eq.shape[0]),
            bounds=np.column_stack(
                [np.zeros(2 * n), np.concatenate([np.full(n, np.inf), self.truth])]
            ),
            method="highs",
        )
        if result.status != 0:
            return None
        change = np.abs(result.x[:n] - result.x[n:]) > _TOL
        cells = np.zeros(self.n_full, dtype=bool)
        cells[self._cell_of[change]] = True
        free = cells[self._cell_of]
        if not free.any():
            return None
        goal = sign * goal
        table = self._milp(
            np.zeros(n), extra, fixed=~free, table=self.truth, at_least=(row, goal), presolve=True
        )
        if table is None or value_of(row, table) < goal - _TOL or not self._holds(table, extra):
            return None
        return table

    # -- moves: integer tables reached from the truth keeping every published equation --

    def _walk(
        self,
        target: Target,
        goal: float,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
        *,
        depth: int = 1,
    ) -> tuple[np.ndarray, int] | None:
        """An integer table moved from the truth towards ``row @ v == goal``, and its value.

        From the truth, moves that keep every published equation and ``extra``: people
        moved between true classes inside a cell (when the target counts a class), then
        +1/-1 patterns over ``2^|U|`` cells, ``U`` attributes of the target's grouping
        no published grouping holds (every published margin sums them to 0), with each
        task's hits moved alike or left. The table is checked against every equation
        before it is returned; None when moves do not apply (equations of unknown origin).
        ``depth``: see :meth:`_step`.
        """
        counted = list(self._counted)
        if extra is not None:
            if not isinstance(extra, Published):
                return None
            counted.append(frozenset(extra.axes))
        if not self._moves_hold:
            return None
        table = self.truth.copy()
        sign = 1 if goal > target.value else -1
        value = target.value
        if target.task is not None:
            value += sign * self._shift(table, target, sign, abs(goal - value))
        while (goal - value) * sign > 0:
            if target.task is not None and sign < 0:
                break  # every person of the class already moved out of it
            steps = self._step(table, target, sign, counted, int(abs(goal - value)), depth=depth)
            if not steps:
                break
            value += sign * steps
        if not self._holds(table, extra) or round(value_of(target.row, table)) != value:
            return None  # a bug in the moves: never trusted
        return table, value

    def _shift(self, table: np.ndarray, target: Target, sign: int, wanted: float) -> int:
        """Move people of the target's cell into (``sign`` 1) or out of its true class."""
        task, c = target.task, target.true_class
        n_classes = self.free[task]
        x = table[slice(*_span(self._true[task]))].reshape(self.n_full, n_classes)
        h = table[slice(*_span(self._hits[task]))].reshape(self.n_full, n_classes)
        inside = np.flatnonzero(self._inside(target.axes, target.levels))
        moved = 0
        for a in inside:
            for other in range(n_classes):
                if other == c or moved >= wanted:
                    continue
                source, sink = (other, c) if sign > 0 else (c, other)
                amount = int(min(wanted - moved, x[a, source]))
                loose = int(min(amount, x[a, source] - h[a, source]))
                x[a, source] -= amount
                x[a, sink] += amount
                h[a, source] -= amount - loose  # right answers move with their people
                h[a, sink] += amount - loose
                moved += amount
        return moved

    def _inside(self, axes: tuple[int, ...], levels: Sequence[int]) -> np.ndarray:
        inside = np.ones(self.n_full, dtype=bool)
        for axis, level in zip(axes, levels, strict=True):
            inside &= self._cells[axis] == level
        return inside

    def _step(
        self,
        table: np.ndarray,
        target: Target,
        sign: int,
        counted: list[frozenset[int]],
        wanted: int,
        *,
        n_draws: int = 256,
        depth: int = 1,
    ) -> int:
        """Apply one +1/-1 pattern (repeated up to ``wanted`` times); how many applied.

        Patterns over all the target's attributes first: published groupings never
        hold them all (they would show the target), so tables they reach stay
        witnesses whatever is published next. When every pattern needs a person from
        an empty cell, ``depth`` levels of patterns try to bring one there first,
        leaving the target's count as it is.
        """
        z = table[: self.n_full]
        blocked = []
        for size in range(len(target.axes), 0, -1):
            for chosen in combinations(range(len(target.axes)), size):
                free_axes = [target.axes[i] for i in chosen]
                if any(set(free_axes) <= grouping for grouping in counted):
                    continue  # a published margin holds these attributes together
                if min(self.shape[axis] for axis in free_axes) < 2:
                    continue  # an attribute of one value: nowhere to move people to
                cells, signs = self._patterns(target, chosen, sign, n_draws)
                minus, plus = cells[:, signs < 0], cells[:, signs > 0]
                room = z[minus].min(axis=1)
                for task in self.aligned:
                    h = table[slice(*_span(self._hits[task]))]
                    room = np.minimum(
                        room, np.maximum(h[minus].min(axis=1), (z - h)[minus].min(axis=1))
                    )
                for task, n_classes in self.free.items():
                    hits = table[slice(*_span(self._hits[task]))].reshape(-1, n_classes).sum(1)
                    room = np.minimum(
                        room,
                        np.maximum(hits[minus].min(axis=1), (z - hits)[minus].min(axis=1)),
                    )
                best = int(np.argmax(room))
                if room[best] >= 1:
                    times = int(min(room[best], wanted))
                    self._apply(table, minus[best], plus[best], times, target)
                    return times
                one_empty = np.flatnonzero((z[minus] == 0).sum(axis=1) == 1)
                blocked += [minus[i][z[minus[i]] == 0][0] for i in one_empty[:4]]
        blocked = list(dict.fromkeys(int(c) for c in blocked))[:8]
        if not depth:
            return 0
        before = value_of(target.row, table)
        every_axis = tuple(range(len(self.shape)))
        for cell in blocked:
            levels = tuple(int(level) for level in self._cells[:, cell])
            helper = Target("", target.row, 0, axes=every_axis, levels=levels)
            trial = table.copy()
            if not self._step(trial, helper, 1, counted, 1, n_draws=n_draws, depth=0):
                continue
            if value_of(target.row, trial) != before:
                continue
            times = self._step(trial, target, sign, counted, wanted, n_draws=n_draws, depth=0)
            if times and (value_of(target.row, trial) - before) * sign > 0:
                table[:] = trial
                return times
        return 0

    def _patterns(
        self, target: Target, chosen: tuple[int, ...], sign: int, n_draws: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n_draws`` random ``2^|U|``-cell patterns through the target's cell.

        Cells: rows of full-cell indices; signs: +1/-1 per column, the column of the
        target's own cell (every chosen attribute at the target's value) ``sign``.
        """
        rng = self._rng
        base = np.empty((len(self.shape), n_draws), dtype=np.int64)
        for axis, size in enumerate(self.shape):
            base[axis] = rng.integers(0, size, n_draws)
        for axis, level in zip(target.axes, target.levels, strict=True):
            base[axis] = level
        other = {}
        for i in chosen:
            axis, level = target.axes[i], target.levels[i]
            draw = rng.integers(0, self.shape[axis] - 1, n_draws)
            other[axis] = draw + (draw >= level)  # any value but the target's
        columns, signs = [], []
        for mask in product((0, 1), repeat=len(chosen)):
            index = base.copy()
            for bit, i in zip(mask, chosen, strict=True):
                if bit:
                    axis = target.axes[i]
                    index[axis] = other[axis]
            columns.append(np.ravel_multi_index(tuple(index), self.shape))
            signs.append(sign * (-1) ** sum(mask))
        return np.stack(columns, axis=1), np.array(signs)

    def _apply(
        self, table: np.ndarray, minus: np.ndarray, plus: np.ndarray, times: int, target: Target
    ) -> None:
        """Move ``times`` people from each ``minus`` cell to each ``plus`` cell."""
        z = table[: self.n_full]
        for task in self.aligned:
            h = table[slice(*_span(self._hits[task]))]
            if h[minus].min() >= times:  # the people moved were classified right
                h[minus] -= times
                h[plus] += times
        for task, n_classes in self.free.items():
            x = table[slice(*_span(self._true[task]))].reshape(self.n_full, n_classes)
            h = table[slice(*_span(self._hits[task]))].reshape(self.n_full, n_classes)
            right = h[minus].sum(axis=1).min() >= times
            for a in minus:
                left = times
                for c in range(n_classes):
                    spare = h[a, c] if right else x[a, c] - h[a, c]
                    take = int(min(left, spare))
                    x[a, c] -= take
                    if right:
                        h[a, c] -= take
                    left -= take
            sink = target.true_class if target.task == task else 0
            x[plus, sink] += times
            if right:
                h[plus, sink] += times
        z[minus] -= times
        z[plus] += times

    def _holds(self, table: np.ndarray, extra: tuple[sp.csr_matrix, np.ndarray] | None) -> bool:
        """Whether an integer table satisfies every published equation and bound."""
        a_eq, b_eq = self._system(extra)
        return bool(
            (table >= 0).all()
            and np.array_equal(table, np.round(table))
            and (self._ub @ table <= self._ub_values + _TOL).all()
            and np.allclose(a_eq @ table, b_eq, rtol=0, atol=_TOL)
        )


def _span(block: tuple[int, int]) -> tuple[int, int]:
    """``(start, size)`` as ``(start, stop)``."""
    return block[0], block[0] + block[1]


def _is_integral(table: np.ndarray) -> bool:
    return bool((np.abs(table - np.round(table)) <= _TOL).all())
