"""Hostile submissions: each is stopped in bounded time, with the right outcome, and leaves the
machine as it was (no process left running, no file written or deleted outside its folder).

hostile.c misbehaves one way per mode; the runs go through the real sandbox (bwrap) with
short limits. Without the sandbox (SANDBOX=0) these programs would write to /tmp and read
expected/: the tests are skipped, and say why.
"""
from __future__ import annotations

import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from .. import cases, match, report, settings
from .. import explain
from ..settings import Limits
from .machine import describe, leftovers, windows_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HOSTILE = cases.load_lab(HERE / "expected" / "hostile.toml")
LIMITS = Limits(memory=256 << 20, processes=16, scratch=8 << 20)


def hostile_case(name):
    return next(c for c in HOSTILE.cases if c.name == name)


@pytest.fixture(scope="module", params=["all namespaces", "no pid namespace", "a job"])
def sandboxed(runner, request):
    """Every hostile program at each bwrap level: with all namespaces, without a pid
    namespace (where a new /proc cannot be mounted: inside another sandbox), and in a job
    (job.py: one sandbox and wineserver for all of a test's runs)."""
    if runner.sandbox is None or runner.sandbox.kind != "bwrap":
        pytest.skip("SANDBOX=0 or the user level: these are the bwrap levels' promises")
    limited = runner.with_limits(LIMITS)
    limited.sandbox.pid_namespace = request.param != "no pid namespace"
    limited.in_a_job = request.param == "a job"
    return limited


@pytest.fixture
def hostile(sandboxed, own_copy):
    """Runs this test's copy of hostile.c; afterwards, nothing of it may still be running:
    not the program, not a copy it started, not its sandbox's wineserver (in a job: once the
    job is closed)."""
    exe = own_copy("hostile")
    job = sandboxed.job() if sandboxed.in_a_job else None

    def run(*args, stdin="", timeout=5):
        started = time.monotonic()
        outcome = (job or sandboxed).run(exe, args, stdin, timeout)
        assert time.monotonic() - started < timeout + 3, "not stopped in bounded time"
        return outcome
    run.exe = exe
    yield run
    if job is not None:
        assert job.runs and not job.broken, f"the runs were not made in the job: {job.broken}"
        job.close()
    left = leftovers(exe)
    assert not left, f"processes of the sandbox outlived it: {describe(left)}"


def judged(run, name):
    case = hostile_case(name)
    outcome = run(*case.args, stdin=case.stdin, timeout=case.timeout)
    verdict = match.judge(case, outcome)
    assert verdict.passed, report.failure(case, outcome, verdict)
    return outcome


def test_sleeping_is_a_timeout(hostile):
    outcome = judged(hostile, "sleep")
    assert outcome.label == "timeout" and outcome.seconds < 2


def test_reading_past_the_input_gets_end_of_file(hostile):
    judged(hostile, "stdin")


def test_printing_a_gigabyte_is_cut_at_the_limit(hostile):
    outcome = judged(hostile, "flood")
    assert outcome.label == "output_cut"
    kept = len(outcome.stdout.encode())         # up to the limit (less the CRs of CRLF)
    assert LIMITS.output * 0.99 < kept <= LIMITS.output, kept
    assert "output cut: more than 1 MiB printed" in explain.describe(outcome)


def test_spawning_in_a_loop_hits_the_process_limit(hostile):
    outcome = judged(hostile, "spawn")
    assert outcome.label == "process_limit" and "16 processes" in explain.meaning(outcome)


def test_committing_until_failure_stops_at_the_memory_limit(hostile):
    outcome = judged(hostile, "commit")
    committed = int(outcome.stdout.split()[1])
    assert 128 <= committed <= 256, outcome.stdout


def test_its_own_folder_is_writable(hostile):
    outcome = hostile("scratch")
    assert "scratch: created 3, deleted 3" in outcome.stdout, outcome.stdout


def test_writing_outside_its_folder_changes_nothing_here(hostile, build_dir, tmp_path):
    """.., /tmp, $HOME, the checkout, build/, expected/, the Wine prefix: refused, or (its
    own /tmp and %TEMP%) written in the sandbox only. On this machine, no such file anywhere."""
    name = f"vmlabs-escape-{uuid.uuid4().hex}.txt"
    home = Path.home()
    prefix = (build_dir / "wineprefix").resolve()
    host = {"..": None, "Z:\\tmp": Path("/tmp"), windows_path(home): home,
            windows_path(ROOT): ROOT, windows_path(build_dir): build_dir,
            windows_path(ROOT / "expected"): ROOT / "expected",
            windows_path(tmp_path): tmp_path, "C:\\": prefix / "drive_c"}
    temps = sorted(prefix.glob("drive_c/users/*/AppData/Local/Temp"))
    host.update({windows_path(t): t for t in temps})
    outcome = hostile("write", name, ".", *host)
    said = dict(line.split(": ", 1) for line in outcome.stdout.splitlines())
    assert said["write ."] == "created"
    # The sandbox's own /tmp and %TEMP% are writable there (a checkout under /tmp too: the
    # folders on the way to the program exist in its /tmp); the rest is refused.
    private = {windows_path(t) for t in temps} | {
        target for target, path in host.items()
        if path and (path.resolve() == Path("/tmp") or Path("/tmp") in path.resolve().parents)}
    for target in host:
        assert target in private or said[f"write {target}"].startswith("refused"), (target, said)
    written = [p / name for p in (*filter(None, host.values()), ROOT.parent, Path.cwd())
               if (p / name).exists()]
    assert written == []


def test_reading_outside_its_folder_is_refused(hostile, build_dir, tmp_path):
    """expected/, another submission's folder, the home folder, the checkout: not there."""
    other = tmp_path / "another_student"
    other.mkdir()
    (other / "reserve_commit.c").write_text("int main(void) { return 0; }\n")
    files = [ROOT / "expected" / "reserve_commit.toml", other / "reserve_commit.c",
             ROOT / "labs" / "lab.h", ROOT / "Makefile"]
    folders = [ROOT / "expected", other, Path.home(), build_dir / "results"]
    outcome = hostile("read", *map(windows_path, files))
    for path in files:
        assert f"read {windows_path(path)}: refused" in outcome.stdout, outcome.stdout
    outcome = hostile("list", *map(windows_path, folders))
    for path in folders:
        assert f"list {windows_path(path)}: refused" in outcome.stdout, outcome.stdout


def test_deleting_outside_its_folder_is_refused(hostile, build_dir):
    canary = build_dir / "selftest" / f"canary-{uuid.uuid4().hex}.txt"
    canary.write_text("still here\n")
    try:
        outcome = hostile("delete", windows_path(hostile.exe), windows_path(canary))
        assert outcome.stdout.count(": refused") == 2, outcome.stdout
        assert canary.read_text() == "still here\n" and hostile.exe.exists()
    finally:
        canary.unlink()


def test_there_is_no_network(hostile):
    """A port open on this machine's loopback, and the internet: neither is reachable."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        outcome = hostile("network", str(listener.getsockname()[1]))
        assert "WSAStartup: 0" in outcome.stdout
        assert outcome.stdout.count(": refused") == 2, outcome.stdout
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_terminal_escapes_are_shown_not_obeyed(hostile):
    """Escape sequences, a bell, NUL and bytes that are not UTF-8, in the report of a failed
    case (one line too many, so that it fails and shows every line) and in the results file."""
    case = hostile_case("escapes")
    outcome = judged(hostile, "escapes")
    outcome = replace(outcome, stdout=outcome.stdout + "one line too many\n")
    verdict = match.judge(case, outcome)
    assert not verdict.passed
    for text in (report.failure(case, outcome, verdict), report.full_record(case, outcome, verdict)):
        assert not any(c in text for c in "\x1b\x07\x00"), "a control character reached the terminal"
        assert "\\x1b[2J" in text and "\\x07" in text and "\\x00" in text
        assert "\\xff\\xfe" in text                     # bytes that are not UTF-8, shown escaped


def test_runs_at_the_same_time_do_not_see_each_other(hostile):
    """Each run has its own folder, /tmp and wineserver: two at once both find theirs empty."""
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: hostile("scratch"), range(2)))
    for outcome in outcomes:
        assert "list .: 3 entries" in outcome.stdout and "created 3, deleted 3" in outcome.stdout


def test_inside_another_sandbox_grading_keeps_bwrap_without_a_pid_namespace(runner, build_dir, tmp_path):
    """bwrap inside bwrap (or a container that masks /proc) cannot mount a new /proc: the
    grader there falls back to bwrap without a pid namespace, says so once, and grades."""
    if runner.sandbox is None or runner.sandbox.kind != "bwrap":
        pytest.skip("SANDBOX=0 or the user level: the bwrap levels are tested here")
    import json
    import subprocess
    import sys
    out = tmp_path / "grade"
    env = settings.environ(drop=("SANDBOX", "MAKEFLAGS"))
    command = ["bwrap", "--dev-bind", "/", "/", "--unshare-user", "--unshare-pid", "--proc", "/proc",
               "--die-with-parent", "--", sys.executable, "-m", "harness.grade", "--submission",
               str(ROOT / "labs"), "--lab", "reserve_commit", "--quiet", "--out", str(out),
               "--build", str(build_dir), "--timeout", "5"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sandbox: bwrap sandbox without a pid namespace" in result.stderr, result.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["score"] == data["max_score"] > 0
    assert "without a pid namespace" in data["extra_data"]["sandbox"]
