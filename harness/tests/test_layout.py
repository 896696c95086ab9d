"""The harness's shape: what the starter and Gradescope ship is a closed set of modules that
imports nothing of the instructor's tools, and only settings.py reads the environment."""
from __future__ import annotations

import ast
from pathlib import Path

from ..starter import HARNESS, PIPELINE

HARNESS_DIR = Path(__file__).resolve().parent.parent


def imported(path: Path) -> set:
    """The harness modules path imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def test_what_is_shipped_imports_only_what_is_shipped():
    shipped = {name.removesuffix(".py") for name in PIPELINE if name.endswith(".py")}
    wrong = {f"{module}.py imports {name}" for module in shipped
             for name in imported(HARNESS_DIR / f"{module}.py") - shipped}
    assert not wrong, f"a shipped module needs a module the starter and Gradescope do not have: {sorted(wrong)}"


def test_every_shipped_file_exists():
    assert not [name for name in HARNESS if not (HARNESS_DIR / name).is_file()]


def test_only_settings_reads_the_environment():
    reading = "os." + "environ"         # spelled so that this file does not read it either
    readers = sorted(p.relative_to(HARNESS_DIR).as_posix() for p in HARNESS_DIR.rglob("*.py")
                     if reading in p.read_text(encoding="utf-8"))
    assert readers == ["settings.py"], readers
