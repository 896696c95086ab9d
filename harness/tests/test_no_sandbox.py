"""Where bwrap is installed but cannot start (Ubuntu 24.04's default: AppArmor keeps it from
creating user namespaces), a student's own `make check` runs without the sandbox and says so
once, in the checkout and in the starter; the hostile self-tests are skipped with bwrap's
reason; SANDBOX=1 makes it an error, and grading never runs a submission unsandboxed. bwrap
fails on purpose here: BWRAP names a script that prints AppArmor's message and exits 1."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .. import sandbox_user, settings, starter

ROOT = Path(__file__).resolve().parent.parent.parent
APPARMOR = "bwrap: setting up uid map: Permission denied"
SAID = f"sandbox: off, bwrap cannot start here ({APPARMOR})"


@pytest.fixture
def refusing_bwrap(tmp_path):
    """The environment of a machine whose bwrap refuses, SANDBOX left to its default."""
    script = tmp_path / "bwrap"
    script.write_text(f"#!/bin/sh\necho '{APPARMOR}' >&2\nexit 1\n")
    script.chmod(0o755)
    # Not MAKEFLAGS either: make check SANDBOX=1 passes its variables to every make under it.
    env = settings.environ(drop=("SANDBOX", "PYTEST_ADDOPTS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"))
    env["BWRAP"] = str(script)
    return env


def run(command, env, cwd=ROOT):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def checkout_check(env, build_dir, *args):
    """pytest on the harness as make check runs it: one lab's case and the hostile tests,
    with two workers when pytest-xdist is there."""
    workers = ["-n", "2"] if _has_xdist() else []
    return run([sys.executable, "-m", "pytest", str(ROOT / "harness"), "--build-dir", str(build_dir),
                "--lab", "reserve_commit", "-k", "reserve_only_faults or hostile", *workers, *args], env)


def _has_xdist():
    try:
        import xdist  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_checkout_runs_without_it_and_says_so_once(refusing_bwrap, build_dir):
    status, output = checkout_check(refusing_bwrap, build_dir)
    assert status == 0, output
    assert output.count(SAID) == 1, output
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in output
    skipped = re.search(r"^SKIPPED \[(\d+)\] \S*test_hostile.py: the sandbox cannot start here "
                        rf"\({re.escape(APPARMOR)}\): hostile programs run only in it$", output, re.M)
    assert skipped and int(skipped.group(1)) > 5, output
    assert re.search(r"\b[1-9]\d* passed", output), output
    assert "created: 2/2 workers" not in output     # one wineserver: one worker


def test_sandbox_1_makes_it_an_error(refusing_bwrap, build_dir):
    status, output = checkout_check(dict(refusing_bwrap, SANDBOX="1"), build_dir)
    assert status == 2, output
    assert f"the sandbox does not start here: {APPARMOR}" in output
    assert "sandbox: off" not in output


def test_grading_never_runs_a_submission_unsandboxed(refusing_bwrap, borrowed_build):
    """Not the student's own code: where bwrap refuses, grading refuses too (exit 2), or, as
    root, takes the user level and says so; it never goes on without a sandbox."""
    status, output = run([sys.executable, "-m", "harness.grade", "--lab", "reserve_commit",
                          "--quiet", "--build", str(borrowed_build)], refusing_bwrap)
    assert "sandbox: off" not in output and "no sandbox" not in output, output
    assert f"the sandbox does not start here: {APPARMOR}" in output, output
    user_level = "as root, every compile and run of a submission runs as a user of its own"
    if sandbox_user.is_possible():          # not root: no user level
        assert status == 2 and "Score:" not in output, output
    else:                                   # root: the user level, or a refusal saying why not
        assert user_level in output or (status == 2 and "the user level" in output), output


@pytest.fixture(scope="module")
def starter_copy(tmp_path_factory):
    out = tmp_path_factory.mktemp("starter") / "starter"
    starter.write(out)
    return out


@pytest.mark.skipif(shutil.which("make") is None, reason="the starter's make check needs make")
def test_the_starters_check_runs_without_it_and_says_so_once(refusing_bwrap, borrowed_build,
                                                             starter_copy):
    env = dict(refusing_bwrap, BUILD=str(borrowed_build))
    status, output = run(["make", "--no-print-directory", "check", "LAB=reserve_commit"], env,
                         cwd=starter_copy)
    assert output.count(SAID) == 1, output
    assert re.search(r"^Score: \d+/\d+$", output, re.M), output
    assert "cannot run the labs" not in output
    status, output = run(["make", "--no-print-directory", "check", "LAB=reserve_commit",
                          "SANDBOX=1"], env, cwd=starter_copy)
    assert f"the sandbox does not start here: {APPARMOR}" in output and "Score:" not in output
    assert "sandbox: off" not in output
