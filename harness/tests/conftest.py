"""The harness's own tests: their broken programs, built once per session."""
from __future__ import annotations

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
