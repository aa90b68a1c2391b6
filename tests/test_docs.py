"""The documentation's examples run: every Python block and every ``fairaudit`` command.

Each page runs top to bottom in one namespace, in a fresh working folder beside a
``shared`` link to the real data (so ``../shared/data/...`` means what it means in
the docs). A block preceded by ``<!-- docs-test: skip REASON -->`` is not run; the
user guide's chapters may not skip any.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from fairaudit.cli import main as fairaudit_main

from .conftest import REPO_ROOT, SHARED_DATA

DOCS = REPO_ROOT / "docs"
#: The user guide: a newcomer's path, every example of which must run.
USER_GUIDE = (
    "index.md",
    "dataset-audit.md",
    "model-audit.md",
    "reports.md",
    "comparison.md",
    "gate.md",
    "metrics.md",
)
#: The optional packages a page's examples need. In the core install (pytest --core-only)
#: a page whose packages are absent skips; the full run has them all (tests/conftest.py).
PAGE_NEEDS = {
    "app.md": ("torch", "streamlit"),
    "comparison.md": ("torch",),
    "derived-attributes.md": ("torch", "cleanlab"),
    "detection.md": ("cv2", "dlib"),
    "distributed.md": ("dask", "pyarrow"),
    "gate.md": ("torch",),
    "inference.md": ("torch", "cv2"),
    "model-cards.md": ("torch",),
    "model-audit.md": ("torch",),
    "models.md": ("torch",),
}
_FENCE = re.compile(
    r"(?P<skip><!-- docs-test: skip (?P<reason>[^>]*?) -->\s*\n)?"
    r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```",
    re.M | re.S,
)


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int
    skip: str | None


def code_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their line numbers."""
    text = path.read_text(encoding="utf-8")
    return [
        Block(
            lang=m["lang"],
            code=m["code"],
            line=text.count("\n", 0, m.start("code")) + 1,
            skip=m["reason"] if m["skip"] else None,
        )
        for m in _FENCE.finditer(text)
    ]


def shell_commands(code: str) -> list[str]:
    """The ``fairaudit ...`` commands of a shell block (continuations joined, comments cut)."""
    commands, current = [], ""
    for raw in code.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        stripped = current.strip()
        current = ""
        words = shlex.split(stripped, comments=True) if stripped else []
        if words and words[0] == "fairaudit":
            commands.append(shlex.join(words))
    return commands


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_the_user_guide_chapters_exist_and_are_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in USER_GUIDE[1:]:
        assert (DOCS / page).exists(), page
        assert f"({page}" in index, f"docs/index.md does not link {page}"


def test_the_user_guide_skips_no_example():
    for page in USER_GUIDE:
        skipped = [b.line for b in code_blocks(DOCS / page) if b.skip]
        assert not skipped, f"docs/{page} skips examples at lines {skipped}"


def test_shell_commands_are_parsed_like_a_shell():
    code = (
        "pip install .\nfairaudit demo -o out   # the demo\n"
        "fairaudit check a.json \\\n  --max x=0.1\n"
    )
    assert shell_commands(code) == ["fairaudit demo -o out", "fairaudit check a.json --max x=0.1"]


@pytest.mark.slow
@pytest.mark.parametrize("page", [p.name for p in _pages()])
def test_examples_of_the_page_run(page, tmp_path, monkeypatch, capsys):
    blocks = [b for b in code_blocks(DOCS / page) if b.lang in {"python", "bash", "console"}]
    runnable = [b for b in blocks if not b.skip]
    if not runnable:
        pytest.skip(f"docs/{page} has no runnable example")
    if any("shared/data" in b.code for b in runnable) and not SHARED_DATA.exists():
        pytest.skip(f"docs/{page} uses the real data, absent at {SHARED_DATA}")
    for module in PAGE_NEEDS.get(page, ()):
        pytest.importorskip(module, reason=f"docs/{page} needs {module}, an optional extra")
    workdir = tmp_path / "project"
    workdir.mkdir()
    if SHARED_DATA.exists():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(SHARED_DATA)
    monkeypatch.chdir(workdir)
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    for block in runnable:
        where = f"docs/{page}, block at line {block.line}"
        if block.lang == "python":
            code = compile(block.code, where, "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)
            continue
        for command in shell_commands(block.code):
            status = fairaudit_main(shlex.split(command)[1:])
            allowed = {0, 1} if " check " in f" {command} " else {0}
            assert status in allowed, f"{where}: `{command}` exited {status}"
    capsys.readouterr()
