"""The harness's own tests: their broken programs, built once per session."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..build import DEFAULT_CFLAGS, compile_lab

HERE = Path(__file__).resolve().parent
LABS = HERE.parent.parent / "labs"


@pytest.fixture(scope="session")
def program(build_dir):
    """name -> the executable of programs/NAME.c, built into build/selftest/ with lab.h.
    All of them at the first call, two at a time: windows.h alone costs a second of
    compiling each, and they are reused until their source changes."""
    sources = sorted((HERE / "programs").glob("*.c"))
    flags = [*DEFAULT_CFLAGS.split(), "-I", str(LABS)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        built = dict(zip((s.stem for s in sources),
                         pool.map(lambda s: compile_lab(s, build_dir / "selftest", flags=flags),
                                  sources)))

    def get(name):
        exe = built[name]
        assert exe.ok, f"{name}.c does not compile:\n{exe.message}"
        return exe.exe.resolve()
    return get
