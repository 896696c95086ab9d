"""Fixtures for the harness's own tests: their broken programs, built once per session; a
second BUILD folder for a second copy of the harness; no grading options from make."""
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


@pytest.fixture
def borrowed_build(tmp_path, build_dir, runner):
    """A fresh BUILD folder for a second copy of the harness (the starter's, Gradescope's)
    that borrows this session's Wine prefix and compile cache: no second 10 s prefix, no
    recompiling what was compiled before. The prefix is only read: sandboxed, each run has a
    wineserver of its own; with SANDBOX=0 the session's wineserver serves both copies (the
    copy's Runner.stop leaves it alone: it did not start it)."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "wineprefix").symlink_to((build_dir / "wineprefix").resolve())
    (build_dir / "cache").mkdir(parents=True, exist_ok=True)
    (build / "cache").symlink_to((build_dir / "cache").resolve())
    return build


GRADING_ENVIRONMENT = ("EXPECTED_HIDDEN", "SEED", "TIMEOUT", "JOBS")


@pytest.fixture(autouse=True, scope="module")
def no_grading_environment():
    """The harness's tests give the grader every option they rely on: what `make check
    EXPECTED_HIDDEN=... SEED=... JOBS=...` puts in the environment is for the labs' cases
    and for make itself only."""
    with pytest.MonkeyPatch.context() as patch:
        for name in GRADING_ENVIRONMENT:
            patch.delenv(name, raising=False)
        patch.setenv("VMLABS_LANG", "en")   # the tests read English; test_i18n.py asks for Italian
        yield
