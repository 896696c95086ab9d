"""Bad input to the harness gets one clear message and exit 2: never a traceback.

A malformed case file, a setting that makes no sense, a build folder that is read-only or
full. Each runs the harness for real, in a process of its own; the read-only and full
folders are real mounts (bwrap), since permissions mean nothing to root.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .. import settings

ROOT = Path(__file__).resolve().parent.parent.parent


def harness(*args, wrap=(), env=None):
    """pytest on the harness, as make check runs it: (exit status, everything it printed)."""
    command = [*wrap, sys.executable, "-m", "pytest", str(ROOT / "harness"), "-q", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=env)
    return result.returncode, result.stdout + result.stderr


def test_a_malformed_case_file_names_the_file_and_line(tmp_path):
    for lab in (ROOT / "expected").glob("*.toml"):
        shutil.copy(lab, tmp_path)
    bad = tmp_path / "reserve_commit.toml"
    bad.write_text(bad.read_text().replace('outcome = "access violation writing"',
                                           'outcome = "access violation wirting"', 1))
    status, output = harness("--expected", str(tmp_path))
    assert status == 2, output
    line = bad.read_text().split("\n").index('name = "reserve_only_faults"') + 1
    assert f"{bad}:{line}: case reserve_only_faults: outcome 'access violation wirting'" in output
    assert "Traceback" not in output


def test_a_setting_that_makes_no_sense_is_refused():
    status, output = harness("-k", "compiles_alone", env=settings.environ(MEMORY="lots"))
    assert status == 2, output
    assert "MEMORY='lots': expected a size such as" in output and "Traceback" not in output


needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bwrap is not installed: no read-only or full mount to test with")


@needs_bwrap
@pytest.mark.needs_sandbox          # where bwrap cannot start, nor can these mounts
@pytest.mark.parametrize("mount, error", [
    ("--ro-bind {0} {0}", "Read-only file system"),
    ("--size 65536 --tmpfs {0}", "No space left on device"),
], ids=["read-only", "full"])
def test_an_unwritable_build_folder_is_said_once(tmp_path, mount, error):
    build = tmp_path / "build"
    build.mkdir()
    wrap = ["bwrap", "--dev-bind", "/", "/", *mount.format(build).split(), "--"]
    status, output = harness("--build-dir", str(build), wrap=wrap)
    assert status == 2, output
    assert f"cannot write to the build folder {build}: {error}" in output
    assert "Traceback" not in output
