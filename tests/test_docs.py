"""The documentation's examples run: every Python block and every ``fairaudit`` command.

Each page (README.md and docs/*.md) runs top to bottom in one namespace, in a fresh
working folder beside a ``shared`` link to the real data (so ``../shared/data/...`` means
what it means in the docs). A block preceded by ``<!-- docs-test: skip REASON -->`` is
not run; the user guide's chapters may not skip any. A shell block holds only
``fairaudit`` commands, run, and set-up commands (``pip install``, ``python -m pytest``:
the environment this test runs in); the commands of a CI snippet (YAML ``run:``) are
parsed by the real parser. The docstring Examples of the package run as doctests.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from fairaudit.cli import build_parser
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
    "README.md": ("torch",),
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
    "outside-models.md": ("torch",),
}
#: Languages of the blocks that run.
SHELL = {"bash", "sh", "shell", "console"}
RUNNABLE = SHELL | {"python"}
#: Shell commands that set up the environment this test already runs in: not run.
SETUP = re.compile(r"(pip install|python -m pytest)\b")
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
    return [c for c in all_commands(code) if c.startswith("fairaudit ")]


def all_commands(code: str) -> list[str]:
    """Every command of a shell block (continuations joined, comments cut, ``&&`` split)."""
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
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            if end:
                commands.append(shlex.join(words[:end]))
            words = words[end + 1 :]
    return commands


def ci_commands(code: str) -> list[str]:
    """The ``fairaudit`` commands of the ``run: |`` scripts of a YAML CI snippet."""
    commands, script, indent = [], [], None
    for line in [*code.splitlines(), "end:"]:
        body = len(line) - len(line.lstrip())
        if indent is not None and (body > indent or not line.strip()):
            script.append(line)
            continue
        if indent is not None:
            commands += shell_commands("\n".join(script))
            script, indent = [], None
        if re.match(r"\s*(- )?run: \|\s*$", line):
            indent = body + (2 if line.lstrip().startswith("- ") else 0)
    return commands


def _pages() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _page_id(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


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
        "python3 -m venv v && pip install x && fairaudit demo\n"
    )
    assert shell_commands(code) == [
        "fairaudit demo -o out",
        "fairaudit check a.json --max x=0.1",
        "fairaudit demo",
    ]
    assert all_commands(code)[0] == "pip install ." and len(all_commands(code)) == 6


def test_ci_commands_are_read_from_the_run_scripts():
    code = (
        "- name: gate\n  run: |\n    pip install x\n    fairaudit check a.json \\\n"
        "        --max y=1\n- name: keep\n  run: echo fairaudit\n"
    )
    assert ci_commands(code) == ["fairaudit check a.json --max y=1"]


@pytest.mark.parametrize("page", _pages(), ids=_page_id)
def test_every_block_runs_or_says_why_not(page):
    """A Python or shell block runs, or is marked skipped with a reason; a shell block
    that runs holds only ``fairaudit`` commands and set-up commands."""
    for block in code_blocks(page):
        where = f"{_page_id(page)}, block at line {block.line}"
        if block.skip is not None:
            assert block.skip.strip(), f"{where}: a skip needs a reason"
            continue
        if block.lang in SHELL:
            other = [
                c
                for c in all_commands(block.code)
                if not c.startswith("fairaudit ") and c != "fairaudit" and not SETUP.match(c)
            ]
            assert not other, f"{where}: commands neither run nor set-up: {other}"


@pytest.mark.parametrize("page", _pages(), ids=_page_id)
def test_ci_snippets_parse(page, capsys):
    """The commands of a CI snippet are valid ``fairaudit`` command lines (not run: the
    files they read are the CI's)."""
    for block in code_blocks(page):
        if block.lang not in {"yaml", "yml"}:
            continue
        for command in ci_commands(block.code):
            try:
                build_parser().parse_args(shlex.split(command)[1:])
            except SystemExit:
                pytest.fail(
                    f"{_page_id(page)}, block at line {block.line}: `{command}` does not parse: "
                    + capsys.readouterr().err
                )


@pytest.mark.slow
@pytest.mark.parametrize("path", _pages(), ids=_page_id)
def test_examples_of_the_page_run(path, tmp_path, monkeypatch, capsys):
    page, shown = path.name, _page_id(path)
    blocks = [b for b in code_blocks(path) if b.lang in RUNNABLE]
    runnable = [b for b in blocks if not b.skip]
    if not runnable:
        pytest.skip(f"{shown} has no runnable example")
    if any("shared/data" in b.code for b in runnable) and not SHARED_DATA.exists():
        pytest.skip(f"{shown} uses the real data, absent at {SHARED_DATA}")
    for module in PAGE_NEEDS.get(page, ()):
        pytest.importorskip(module, reason=f"{shown} needs {module}, an optional extra")
    workdir = tmp_path / "project"
    workdir.mkdir()
    if SHARED_DATA.exists():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(SHARED_DATA)
    monkeypatch.chdir(workdir)
    namespace: dict[str, object] = {"__name__": f"docs_{page}"}
    for block in runnable:
        where = f"{shown}, block at line {block.line}"
        if block.lang == "python":
            code = compile(block.code, where, "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)
            continue
        for command in shell_commands(block.code):
            status = fairaudit_main(shlex.split(command)[1:])
            # the gate's statuses are verdicts, not errors: 1 exceeded, 3 not judged,
            # 4 inconclusive (2, bad input, is an error)
            allowed = {0, 1, 3, 4} if " check " in f" {command} " else {0}
            assert status in allowed, f"{where}: `{command}` exited {status}"
    capsys.readouterr()


def _modules_with_examples() -> list[str]:
    package = REPO_ROOT / "fairaudit"
    return sorted(
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        for path in package.rglob("*.py")
        if ">>>" in path.read_text(encoding="utf-8")
    )


#: Modules whose Examples need an optional extra (the module imports it).
_MODULE_NEEDS = {
    "fairaudit.training": "torch",
    "fairaudit.inference": "torch",
    "fairaudit.models": "torch",
    "fairaudit.app": "streamlit",
    "fairaudit.detect._haar": "cv2",
    "fairaudit.detect._descriptor": "dlib",
    "fairaudit.detect._detect": "cv2",  # its example runs the default (installed) detector
    "fairaudit.datasets._transforms": "torch",
}


@pytest.mark.parametrize("module", _modules_with_examples())
def test_docstring_examples_run(module, monkeypatch, tmp_path):
    """Every ``Examples`` section of the package is a passing doctest."""
    for prefix, needed in _MODULE_NEEDS.items():
        if module == prefix or module.startswith(prefix + "."):
            pytest.importorskip(needed, reason=f"{module}'s examples need {needed}")
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    imported = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(imported, module) if t.examples]
    assert tests, f"{module} has '>>>' but no doctest was found"
    out = io.StringIO()
    for test in tests:
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{module}: {result.failed} example(s) failed\n{out.getvalue()}"
