"""Fixtures for the harness's own tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def borrowed_build(tmp_path, build_dir, runner):
    """A fresh BUILD folder for a second copy of the harness (the starter's, Gradescope's)
    that borrows this session's Wine prefix and compile cache: no second 10 s prefix, no
    recompiling what was compiled before. The session's wineserver serves both."""
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
    EXPECTED_HIDDEN=... SEED=...` puts in the environment is for the labs' cases only."""
    with pytest.MonkeyPatch.context() as patch:
        for name in GRADING_ENVIRONMENT:
            patch.delenv(name, raising=False)
        yield
