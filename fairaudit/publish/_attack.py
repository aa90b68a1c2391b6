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
and, per task, the hits behind the published accuracy (``accuracy * n_g``; the Wilson
interval and the gaps are functions of these, so they tell nothing more). Hidden counts
(*targets*) are the cells of every grouping of the attributes, and of every grouping
crossed with each non-aligned task's true label, that hold 1 to ``K - 1`` people.

Bounds are exact for integers: each is a linear programme (HiGHS) whose optimal
vertex, when integral, is the integer optimum; when it is not, the integer programme
is solved. Checking a new grouping reuses, per target, integer tables already found
that keep it ``K`` wide: one that still satisfies the new grouping's equations proves
the target safe without solving anything (only targets whose witnesses break are
solved again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations, product

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

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
    #: integer tables satisfying every equation checked so far: (low, high) witnesses.
    witnesses: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)


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
        #: programmes solved, and how many of them needed the integer programme
        self.n_solved = 0
        self.n_integer = 0

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

    def published_rows(
        self, by: Sequence[str], *, hits: bool = True
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """Equations a reader gets from a published grouping: its counts and, per task, hits.

        ``hits=False``: the counts alone (the grouping's accuracies withheld).
        """
        member = self.membership(by)
        rows = [member @ self._z()]
        for task in self.audit.tasks if hits else ():
            start, size = self._hits[task]
            hits = (
                member if task in self.aligned else sp.kron(member, np.ones((1, self.free[task])))
            )
            rows.append(hits @ self._block(start, size))
        matrix = sp.vstack(rows, format="csr")
        return matrix, matrix @ self.truth

    def targets(self, min_count: int) -> list[Target]:
        """Every hidden count of 1 to ``min_count - 1`` people (the tasks' true labels too)."""
        found = []
        for k in range(len(self.names) + 1):
            for by in combinations(self.names, k):
                member = self.membership(by) @ self._z()
                cells = self.audit.group_names(by)
                found += self._small(member, cells, " x ".join(by) or "overall", min_count)
                for task, n_classes in self.free.items():
                    x = self._block(*self._true[task])
                    rows = sp.kron(self.membership(by), sp.eye(n_classes)) @ x
                    labels = [
                        f"{cell} & {task}={c}" if by else f"{task}={c}"
                        for cell, c in product(cells, self.audit.tasks[task].classes)
                    ]
                    grouping = " x ".join((*by, f"{task} (true)"))
                    found += self._small(sp.csr_matrix(rows), labels, grouping, min_count)
        return found

    def _small(
        self, rows: sp.csr_matrix, labels: list[str], grouping: str, min_count: int
    ) -> list[Target]:
        values = rows @ self.truth
        return [
            Target(f"{grouping}: {labels[i]}", rows[i], int(round(values[i])))
            for i in np.flatnonzero((values >= 1) & (values < min_count))
        ]

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
    ) -> np.ndarray | None:
        """Minimise ``cost`` over integer tables; ``fixed``: variables held at ``table``.

        Returns None when no integer table satisfies the equations (with ``fixed``).
        """
        a_eq, b_eq = self._system(extra)
        a_ub, b_ub = self._ub, self._ub_values
        free = np.ones(self.n_vars, dtype=bool) if fixed is None else ~fixed
        if fixed is not None:
            b_eq = b_eq - a_eq[:, fixed] @ table[fixed]
            b_ub = b_ub - a_ub[:, fixed] @ table[fixed]
            a_eq, a_ub = a_eq[:, free], a_ub[:, free]
        constraints = [LinearConstraint(a_eq, b_eq, b_eq)]
        if a_ub.shape[0]:
            constraints.append(LinearConstraint(a_ub, -np.inf, b_ub))
        result = milp(
            cost[free],
            constraints=constraints,
            integrality=np.ones(int(free.sum())),
            bounds=Bounds(0, np.inf),
            # HiGHS's MIP presolve declares some of these feasible systems infeasible
            options={"presolve": False},
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
        *,
        exact: bool = True,
    ) -> tuple[float, np.ndarray | None, bool]:
        """The linear optimum of ``row @ v``, an integer table near it, and whether exact.

        The vertex is used when integral. Otherwise the variables that are fractional
        there (then also those that differ from the truth) are re-solved as integers,
        the others held: cheap, and exact when it attains the rounded linear optimum.
        ``exact=False``: any integer table will do (the truth when rounding fails).
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
        tries = (fractional, fractional | (rounded != self.truth)) if exact else (fractional,)
        for free in tries:
            found = self._milp(cost, extra, fixed=~free, table=rounded)
            if found is not None:
                value = value_of(row, found)
                return bound, found, bool(abs(value - bound) < _TOL)
        return bound, self.truth.copy(), False

    def _optimum(
        self,
        row: sp.csr_matrix,
        maximise: bool,
        extra: tuple[sp.csr_matrix, np.ndarray] | None,
    ) -> tuple[float, np.ndarray | None]:
        """Exact integer optimum of ``row @ v`` and a table attaining it (``inf, None``:
        unbounded)."""
        bound, table, exact = self._integral(row, maximise, extra)
        if table is None:
            return bound, None
        if not exact:
            self.n_integer += 1
            cost = (-1.0 if maximise else 1.0) * row.toarray().ravel()
            table = self._milp(cost, extra)
            if table is None:  # the truth satisfies the equations: never happens
                raise FairAuditError("the attacker's integer programme has no solution")
        return round(value_of(row, table)), table

    def narrowest(self, targets: list[Target]) -> int | None:
        """The narrowest exact integer interval of any target under everything published.

        Every target's witnesses satisfy the published equations, so their spread is a
        lower bound of its width: targets are solved from the lowest spread up (the
        maximum first: ``max - value`` bounds the width from below too), until none left
        can be narrower than the narrowest found. None without targets.
        """
        spreads = [
            value_of(t.row, t.witnesses[1]) - value_of(t.row, t.witnesses[0])
            if t.witnesses is not None
            else 0.0
            for t in targets
        ]
        best: int | None = None
        for i in np.argsort(spreads, kind="stable"):
            target = targets[i]
            if best is not None and spreads[i] >= best:
                break
            high, high_table = self._optimum(target.row, True, None)
            if high_table is None or (best is not None and high - target.value >= best):
                continue
            low, low_table = self._optimum(target.row, False, None)
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

        Witnesses still satisfying ``extra`` prove their targets safe. The others are
        certified in batches: one programme maximises the sum of the pending targets, and
        its integer table proves every target it raises by ``min_count`` or more (the
        truth is the low witness). What remains is solved one target at a time: its
        maximum, then, if needed, its minimum.
        """
        pending = [t for t in targets if not self._valid(t, min_count, extra)]
        while len(pending) > 1:
            rows = sp.vstack([t.row for t in pending], format="csr")
            values = np.array([t.value for t in pending], dtype=float)
            total = sp.csr_matrix(rows.sum(axis=0))
            _, table, _ = self._integral(total, True, extra, exact=False)
            if table is None:  # some target is unbounded: settle them one by one
                break
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
        """Whether one target stays at least ``min_count`` wide (exact integer bounds)."""
        high_bound, high_table, exact = self._integral(target.row, True, extra)
        if high_table is None:  # unbounded: nothing to keep as a witness
            target.witnesses = None
            return True
        if value_of(target.row, high_table) - target.value >= min_count:
            target.witnesses = (self.truth, high_table)
            return True
        low_bound, low_table, _ = self._integral(target.row, False, extra)
        if high_bound - low_bound < min_count:  # even the linear relaxation is narrow
            return False
        high, high_table = self._optimum(target.row, True, extra)
        low, low_table = self._optimum(target.row, False, extra)
        target.witnesses = (low_table, high_table)
        return bool(high - low >= min_count)
