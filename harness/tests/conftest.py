"""The harness's own tests: their broken programs, built once per session."""
from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def program(background):
    """name -> the executable of programs/NAME.c, built into build/selftest/ with lab.h
    (started in the background at the first test of the session; reused until the source
    changes)."""
    def get(name):
        exe = background.program(name).result()
        assert exe.ok, f"{name}.c does not compile:\n{exe.message}"
        return exe.exe.resolve()
    return get


@pytest.fixture
def own_copy(program, tmp_path):
    """name -> a copy of that program for this test alone, at a path no other run has: what
    is left of its runs can be told from what other tests, at the same time, are running."""
    def get(name):
        copy = tmp_path / f"{name}.exe"
        if not copy.exists():
            shutil.copy2(program(name), copy)
        return copy
    return get
