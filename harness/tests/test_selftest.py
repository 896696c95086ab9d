"""The harness judges broken programs: each must fail, with the right outcome and report.

Real builds, real runs (Wine on Linux): nothing here is mocked.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .. import cases, match, report
from ..build import compile_lab
from .machine import leftovers

HERE = Path(__file__).resolve().parent
LABS = HERE.parent.parent / "labs"
SELFTEST = cases.load_lab(HERE / "expected" / "selftest.toml")


def selftest_case(name):
    return next(c for c in SELFTEST.cases if c.name == name)


def judged(runner, exe, name):
    c = selftest_case(name)
    outcome = runner.run(exe, c.args, c.stdin, c.timeout)
    return c, outcome, match.judge(c, outcome)


def test_wrong_output_fails_on_the_echoed_line(runner, program):
    c, outcome, verdict = judged(runner, program("wrong_output"), "echo")
    assert outcome.kind == "exit" and outcome.code == 0
    assert not verdict.passed
    wrong = [row for row in verdict.result.stdout_rows if row.mark == "!"]
    assert [row.got for row in wrong] == ["you typed:  goodbye"]
    text = report.failure(c, outcome, verdict)
    assert "! you typed:  goodbye" in text
    assert "expected: you typed:  {word:input}" in text
    assert "hint:     echo the word that was read" in text


def test_unhandled_fault_is_an_access_violation_at_the_page(runner, program):
    c, outcome, verdict = judged(runner, program("unhandled_fault"), "fault")
    assert (outcome.kind, outcome.code, outcome.access) == ("exception", 0xC0000005, "writing")
    assert verdict.passed, report.failure(c, outcome, verdict)
    assert verdict.result.captures["base"] == outcome.address


def test_unhandled_fault_fails_a_case_expecting_a_normal_exit(runner, program):
    c, outcome, verdict = judged(runner, program("unhandled_fault"), "echo")
    assert not verdict.passed and not verdict.result.outcome_ok
    assert "expected exit 0, got access violation (0xC0000005) writing 0x" in \
        report.failure(c, outcome, verdict)


def test_lab_reported_and_unhandled_faults_are_the_same_outcome(runner, program, build_dir):
    """reserve_commit's fault goes through lab.h's reporter; unhandled_fault's does not."""
    reported = runner.run(compile_lab(LABS / "reserve_commit.c", build_dir).exe, (), "hi\n")
    unhandled = runner.run(program("unhandled_fault"), (), "hi\n")
    assert reported.source != unhandled.source
    for outcome in (reported, unhandled):
        assert (outcome.kind, outcome.code, outcome.access) == ("exception", 0xC0000005, "writing")
        assert outcome.address is not None and outcome.address % 4096 == 0


def test_hang_is_a_timeout_and_leaves_nothing_running(runner, own_copy):
    exe = own_copy("hang")
    started = time.monotonic()
    c, outcome, verdict = judged(runner, exe, "quick")
    assert outcome.kind == "timeout"
    assert time.monotonic() - started < c.timeout + 5
    assert not verdict.passed and "expected exit 0, got timeout" in report.failure(c, outcome, verdict)
    assert outcome.stdout == "reserved:   0x0000000000010000\n"     # what it printed is kept
    left = leftovers(exe)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the hung program was still running after its timeout"
