"""A small parser of report HTML (stdlib only): tables by id, sections, scripts, images."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Cell:
    text: str
    value: str | None  # the data-value attribute (numeric cells), None for text cells
    header: bool

    @property
    def number(self) -> float:
        """The exact number of a numeric cell (NaN when undefined)."""
        assert self.value is not None, f"cell {self.text!r} is not numeric"
        return math.nan if self.value == "" else float(self.value)


@dataclass
class Table:
    id: str | None
    classes: str
    caption: str = ""
    header: list[str] = field(default_factory=list)
    header_types: list[str | None] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    row_classes: list[str] = field(default_factory=list)

    def column(self, name: str) -> list[Cell]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]


class ReportParser(HTMLParser):
    """Collects every table (header, cells with their data-value), ids, scripts, images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.ids: list[str] = []
        self.scripts = 0
        self.images: list[dict[str, str | None]] = []
        self.event_attributes: list[tuple[str, str]] = []
        self.meta: list[dict[str, str | None]] = []
        self._table: Table | None = None
        self._cell: Cell | None = None
        self._in_caption = False
        self._in_head = False
        self._row: list[Cell] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        for name, _ in attrs:
            if name.lower().startswith("on"):
                self.event_attributes.append((tag, name))
        if tag == "script":
            self.scripts += 1
        elif tag == "img":
            self.images.append(a)
        elif tag == "meta":
            self.meta.append(a)
        elif tag == "table":
            self._table = Table(id=a.get("id"), classes=a.get("class") or "")
            self.tables.append(self._table)
        elif tag == "caption":
            self._in_caption = True
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None:
            self._row = []
            if not self._in_head:
                self._table.row_classes.append(a.get("class") or "")
        elif tag in ("td", "th") and self._row is not None:
            self._cell = Cell(text="", value=a.get("data-value"), header=tag == "th")
            if self._in_head and self._table is not None:
                self._table.header_types.append(a.get("data-type"))

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._cell.text = self._cell.text.strip()
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._in_head:
                self._table.header = [c.text for c in self._row]
            else:
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.text += data
        elif self._in_caption and self._table is not None:
            self._table.caption += data


def parse_report(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


def table_by_id(parsed: ReportParser, table_id: str) -> Table:
    found = [t for t in parsed.tables if t.id == table_id]
    assert len(found) == 1, (
        f"{len(found)} tables with id {table_id!r}; ids: {[t.id for t in parsed.tables]}"
    )
    return found[0]
