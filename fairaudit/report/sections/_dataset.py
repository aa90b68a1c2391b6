"""Section 2, the dataset: the audited rows' label distributions, imbalance, joint counts.

The dataset audit (:mod:`fairaudit.dataset_audit`) of the rows behind the audit, from its
per-cell support: nothing but counts of true labels.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._context import ReportContext, cell_supports

__all__ = ["build_dataset"]


def build_dataset(ctx: ReportContext) -> dict[str, Any] | None:
    """The dataset audit of the audited rows; None without attributes."""
    from fairaudit.dataset_audit import LabelCounts, audit_dataset
    from fairaudit.vocab import Vocabulary

    audit = ctx.audit
    if not ctx.attributes:
        return None
    supports = cell_supports(audit)
    first = next(iter(supports))
    support = supports[first].reshape(audit.shape)
    same = all(np.array_equal(n, supports[first]) for n in supports.values())
    vocabularies = tuple(
        Vocabulary(name, v.classes, v.ordered) for name, v in audit.attributes.items()
    )
    name = str(audit.metadata.get("description") or "audited rows")
    data = audit_dataset(
        LabelCounts(support, vocabularies),
        attributes=ctx.attributes,
        name=name,
        min_cell_count=ctx.min_support,
    )
    distributions = []
    for attribute in ctx.attributes:
        frame = data.distribution(attribute).reset_index()
        frame.columns = ["class", "count", "proportion"]
        frame.insert(0, "attribute", attribute)
        distributions.append(frame)
    distribution = pd.concat(distributions, ignore_index=True)
    distribution["class"] = distribution["class"].astype(str)
    imbalance = data.imbalance()
    joints = []
    for pair in combinations(ctx.attributes, 2):
        # the attribute with more classes down the rows: the figure stays legible
        rows, columns = sorted(pair, key=lambda a: -len(audit.attributes[a]))
        table = data.joint([rows, columns])
        joints.append(
            {
                "title": f"{rows} x {columns}",
                "table": frame_to_html(
                    table,
                    caption=(
                        f"Joint counts of {rows} (rows) x {columns} (columns); colour: the "
                        f"count (cells under {ctx.min_support} rows: see the cells table)"
                    ),
                    table_id=ctx.unique_id(f"table-joint-{rows}-{columns}"),
                    heat_columns=list(table.columns),
                    cell_classes=pd.DataFrame(
                        np.where(
                            (table.to_numpy() > 0) & (table.to_numpy() < ctx.min_support),
                            "small",
                            "",
                        ),
                        index=table.index,
                        columns=table.columns,
                    ),
                ),
            }
        )
    cells = data.cells()
    for attribute in ctx.attributes:
        cells[attribute] = cells[attribute].astype(str)
    return {
        "name": name,
        "n": data.n,
        "same_rows": same,
        "source": first,
        "distribution_table": frame_to_html(
            distribution,
            caption="Label distribution of the audited rows, per attribute (colour: proportion)",
            table_id="table-distribution",
            sortable=True,
            heat_columns=["proportion"],
        ),
        "imbalance_table": frame_to_html(
            imbalance,
            caption="Imbalance statistics of each attribute (see the glossary)",
            table_id="table-imbalance",
        ),
        "joints": joints,
        "cells_table": frame_to_html(
            cells,
            caption=(
                f"Every intersectional cell: count, share, count expected under "
                f"independence, representation; small = fewer than {ctx.min_support} rows"
            ),
            sortable=True,
            table_id="table-cells",
            row_classes=["small" if s else "" for s in cells["small"]],
        ),
    }
