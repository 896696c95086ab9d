"""A job (job.py): many runs of one program in one sandbox with one wineserver. What one run
leaves must not reach the next: its processes, its files, its registry values; what runs
there must not reach the spawner that starts the runs, nor the server; and two jobs (two
students, two labs) share nothing.

hostile.c does the misbehaving; test_hostile.py runs every one of its modes in a job too.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from .. import cases
from ..settings import EXPECTED
from .machine import leftovers

HERE = Path(__file__).resolve().parent


@pytest.fixture
def job(runner, own_copy):
    """A JobRunner over this test's copy of hostile.c: (run(*args) -> Outcome, the JobRunner)."""
    if runner.sandbox is None or runner.sandbox.kind != "bwrap" or not runner.sandbox.pid_namespace:
        pytest.skip("jobs need bwrap with a pid namespace (here, each run has a sandbox of its own)")
    exe = own_copy("hostile")
    jobs = []

    def start():
        jobs.append(runner.job())
        job = jobs[-1]

        def run(*args, stdin=""):
            outcome = job.run(exe, args, stdin, timeout=10)
            assert job.current is not None and not job.broken, f"not run in the job: {job.broken}"
            return outcome
        return run, job
    yield start
    for job in jobs:
        job.close()
    assert not leftovers(exe), "a job outlived its close()"


def own(job) -> list:
    """The processes of the job's sandbox but its spawner, server and regwatch."""
    current = job.current
    return [p for p in current.members() if p not in current.own] if current else []


def test_the_runs_of_a_job_share_one_sandbox_and_server(job):
    run, runner = job()
    assert run("regget", "none").stdout.startswith("regget: none: ")
    first = runner.current.proc.pid, runner.current.server
    assert run("regget", "none").stdout.startswith("regget: none: ")
    assert (runner.current.proc.pid, runner.current.server) == first
    assert runner.current.runs == 2 and runner.current.fresh == []


def test_a_registry_value_set_by_one_run_is_not_seen_by_the_next(job):
    run, runner = job()
    word = uuid.uuid4().hex
    assert run("regset", "word", word).stdout == f"regset: word={word}: set\n"
    assert runner.current.fresh == ["the registry was changed"]
    later = run("regget", "word")
    assert word not in later.stdout, "a registry value reached the next run of the job"
    assert later.stdout == "regget: word: error 2\n"       # ERROR_FILE_NOT_FOUND


def test_a_process_left_running_is_gone_before_the_next_run(job):
    run, runner = job()
    assert run("leave").stdout == "leave:  a copy started, left running\n"
    assert own(runner) == [], "a process of the last run still runs in the job"
    assert run("regget", "none").stdout.startswith("regget: none: ")


def test_the_scratch_folders_are_empty_at_each_run(job):
    """What a run writes in its folder and /tmp is gone at the next run: the same entries
    (counted by hostile list) before and after a run that wrote there."""
    run, runner = job()
    folders = (".", "Z:\\tmp")
    before = run("list", *folders).stdout
    wrote = run("write", f"left-{uuid.uuid4().hex[:8]}.txt", *folders).stdout
    assert wrote.count(": created") == 2, wrote
    assert run("list", *folders).stdout == before, "a file of the last run is still there"


def test_folders_a_run_locked_are_emptied_too(job):
    """A run that takes away its own rights on its folders (chmod 0) does not keep their
    files from being removed, nor the next run from writing there."""
    run, runner = job()
    before = run("list", ".", "Z:\\tmp").stdout
    proc, watch = runner.current.launch(["/bin/sh", "-c", "mkdir d && touch d/f /tmp/f && "
                                         "chmod 0 d /tmp /sandbox"], 10)
    proc.stdin.close()
    assert watch.wait()[0] == 0
    watch.close()
    assert not watch.broken and run("list", ".", "Z:\\tmp").stdout == before


def test_two_jobs_share_nothing(job):
    """Two students (or two labs): a value one job's run sets is not in the other's."""
    run_a, a = job()
    run_b, b = job()
    word = uuid.uuid4().hex
    assert run_b("regget", "word").stdout.startswith("regget: word: ")     # b started first
    assert run_a("regset", "word", word).stdout.endswith(": set\n")
    assert word not in run_b("regget", "word").stdout
    assert a.current.proc.pid != b.current.proc.pid


PROBE = r"""
import ctypes, json, os, signal
libc = ctypes.CDLL(None, use_errno=True)
found = {}
os.kill(1, signal.SIGKILL)                  # dropped: the namespace's init has no handler
os.kill(1, signal.SIGSTOP)
for name, pid in (("spawner", 1), ("server", SERVER)):
    found[name + " ptrace"] = libc.ptrace(16, pid, 0, 0) == 0    # PTRACE_ATTACH
    for what in ("mem", "environ", "fd/0"):
        try:
            open(f"/proc/{pid}/{what}", "rb").read(1)
            found[f"{name} {what}"] = True
        except OSError:
            found[f"{name} {what}"] = False
found["fds"] = sorted(os.listdir("/proc/self/fd"))
print(json.dumps(found))
"""


def test_a_run_cannot_reach_the_spawner_or_the_server(job):
    """The spawner (pid 1: signals from inside are dropped; undumpable, no capabilities) and
    the server (run from a file it cannot read: undumpable) are out of a run's reach; a run
    has no descriptor of theirs."""
    run, runner = job()
    run("regget", "none")                       # the job started
    current = runner.current
    with open(f"/proc/{current.server}/status") as f:
        server = int(next(l for l in f if l.startswith("NSpid:")).split()[-1])
    proc, watch = current.launch(["/usr/bin/python3", "-c", PROBE.replace("SERVER", str(server))], 10)
    proc.stdin.close()
    out = proc.stdout.read()
    code, _ = watch.wait()
    watch.close()
    assert code == 0, proc.stderr.read()
    found = json.loads(out)
    assert found.pop("fds") == ["0", "1", "2", "3"], "a run has a descriptor it was not given"
    assert not any(found.values()), f"reached: {[k for k, v in found.items() if v]}"
    assert current.proc.poll() is None, "the spawner did not survive a run's signals"
    assert current.fresh == [] and run("regget", "none").stdout.startswith("regget: none: ")


def test_a_run_that_stops_the_server_leaves_a_fresh_one_to_the_next(job):
    run, runner = job()
    run("regget", "none")
    current = runner.current
    with open(f"/proc/{current.server}/status") as f:
        server = int(next(l for l in f if l.startswith("NSpid:")).split()[-1])
    proc, watch = current.launch(["/bin/sh", "-c", f"kill -STOP {server}"], 10)
    proc.stdin.close()
    assert watch.wait()[0] == 0
    watch.close()
    assert current.fresh == ["the wineserver was stopped"]
    assert run("regget", "none").stdout.startswith("regget: none: ")


def test_a_job_that_breaks_is_run_again_in_a_sandbox_of_its_own(job, monkeypatch):
    run, runner = job()
    run("regget", "none")
    os.killpg(runner.current.proc.pid, 9)       # the whole job's sandbox, from outside
    runner.current.proc.wait()
    outcome = runner.run(runner.current.exe, ("regget", "none"), "", 10)
    assert outcome.stdout.startswith("regget: none: ") and runner.broken


def test_the_hidden_cases_of_a_lab_run_after_its_public_ones():
    """A run can leave a value to the next run of its job that a job does not undo (a global
    atom): in that order, what a hidden case's run is given never reaches the output of a
    public case, which the student reads."""
    for lab in cases.load_all(EXPECTED, hidden=HERE / "hidden"):
        seen = [case.hidden for case in lab.cases]
        assert seen == sorted(seen), f"{lab.name}: a public case after a hidden one"
    assert any(case.hidden for lab in cases.load_all(EXPECTED, hidden=HERE / "hidden")
               for case in lab.cases), "no hidden case to check the order of"
