"""Every outcome named: each way crash.c can end is a distinct outcome, with its own name for
results.json and the CSV, and one line a student understands.

Real builds, real runs (in the sandbox unless SANDBOX=0): nothing here is mocked.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from .. import cases, match, report
from ..explain import EXPLANATIONS, describe, meaning
from ..settings import Limits
from .machine import leftovers

HERE = Path(__file__).resolve().parent
CRASH = cases.load_lab(HERE / "expected" / "crash.toml")

# case -> the outcome's label, and words its explanation must contain.
NAMED = {
    "read": ("access_violation", "read memory it may not touch (0x"),
    "write": ("access_violation", "wrote memory it may not touch (0x"),
    "execute": ("access_violation", "executed code in memory it may not touch (0x"),
    "guard": ("guard_page", "PAGE_GUARD"),
    "stack": ("stack_overflow", "0xC00000FD"),
    "divide": ("divide_by_zero", "0xC0000094"),
    "illegal": ("illegal_instruction", "0xC000001D"),
    "abort": ("abort", "abort()"),
    "assert": ("abort", "assert()"),
    "abort_bare": ("nonzero_exit_3", "abort()"),
    "exit3": ("nonzero_exit_3", "exit(3)"),
    "cpu": ("cpu_limit", "1 s of CPU time"),
    "usage": ("nonzero_exit", "status 2"),
}


@pytest.fixture(scope="module")
def strict(runner):
    """The session's runner with a CPU limit of 1 s: crash cpu hits it in half a second."""
    return runner.with_limits(Limits(cpu=1))


@pytest.mark.parametrize("ending", CRASH.cases, ids=[c.name for c in CRASH.cases])
def test_each_ending_is_named(ending, strict, own_copy):
    case = ending
    exe = own_copy("crash")
    outcome = strict.run(exe, case.args, case.stdin, case.timeout)
    verdict = match.judge(case, outcome)
    assert verdict.passed, report.failure(case, outcome, verdict)
    label, words = NAMED[case.name]
    assert outcome.label == label
    assert words in meaning(outcome), meaning(outcome)
    assert not leftovers(exe)


def test_a_silent_exit_1_is_run_twice_in_the_sandbox(strict, own_copy):
    """About one sandboxed start of Wine in a thousand ends at once, status 1, not a word
    (harness/run.py, Runner.run): such a run is made once more, and the report says so."""
    if strict.sandbox is None:
        pytest.skip("SANDBOX=0: runs are not repeated")
    outcome = strict.run(own_copy("crash"), ["exit1"], "", 5)
    assert (outcome.kind, outcome.code) == ("exit", 1)
    assert "run twice" in outcome.source


def test_every_outcome_has_an_explanation():
    """The labels runs produce, and those grading decides (no run), all explained."""
    labels = {label for label, _ in NAMED.values()} | {
        "exit", "exception", "timeout", "output_cut", "process_limit", "signal",
        "segmentation_fault", "did_not_compile", "program_too_large", "missing", "not_run"}
    assert labels <= set(EXPLANATIONS)
    assert all(len(text) < 140 and "\n" not in text for text in EXPLANATIONS.values())


def test_a_wrong_outcome_is_explained_in_the_report(strict, program):
    """A case expecting exit 0 that got a stack overflow: the report says what that means."""
    case = next(c for c in CRASH.cases if c.name == "stack")
    expecting_exit = replace(case, variants=tuple(
        replace(v, outcome=cases.parse_outcome("exit 0")) for v in case.variants))
    outcome = strict.run(program("crash"), case.args, case.stdin, case.timeout)
    verdict = match.judge(expecting_exit, outcome)
    text = report.failure(expecting_exit, outcome, verdict)
    assert "expected exit 0, got stack overflow (0xC00000FD)" in text
    assert "meaning:  the stack ran into its guard page" in text


@pytest.mark.parametrize("status, stderr, described", [
    (139, "fault: SIGSEGV (SEGV_ACCERR) writing 0x7f0000001000\n",
     "segmentation fault (SIGSEGV) writing 0x00007f0000001000"),
    (-11, "", "segmentation fault (SIGSEGV)"),
    (139, "", "segmentation fault (SIGSEGV)"),
])
def test_a_linux_programs_sigsegv_is_a_segmentation_fault(status, stderr, described):
    """posix_vm's handler reports the fault and exits 139 (128 + SIGSEGV, as a shell shows a
    death by SIGSEGV): a segmentation fault at an address, not 'ended itself with status 139'."""
    from ..outcome import Outcome, classify
    kind, code, access, address, source = classify(status, "", stderr, "linux")
    outcome = Outcome(kind, code, access, address, "", stderr, 0.1, (), "", "linux", source)
    assert outcome.label == "segmentation_fault" and describe(outcome) == described
    assert "SIGSEGV: the program" in meaning(outcome)
    assert str(cases.parse_outcome("segmentation fault writing")) == "segmentation fault writing"


# classify, without running anything: (status, stderr, platform) -> (label, access, address).
# Under Wine only a report line makes an exception (the status is its low byte); on Windows
# the status itself does; lab.h's line and Wine's own give the same outcome.
ENDINGS = [
    (0, "", "wine", "exit", None, None),
    (2, "VirtualFree failed: ERROR_INVALID_PARAMETER (87)\n", "wine", "nonzero_exit", None, None),
    (5, "fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) writing 0x0000000001230000\n", "wine",
     "access_violation", "writing", 0x1230000),
    (5, "wine: Unhandled page fault on read access to 0000000001230000 at address 0x140001000\n",
     "wine", "access_violation", "reading", 0x1230000),
    (5, "", "wine", "nonzero_exit", None, None),           # status 5 alone is an exit(5)
    (0xC0000005, "", "windows", "access_violation", None, None),
    (0xC0000005, "fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) executing 0x0000000000401000\n",
     "windows", "access_violation", "executing", 0x401000),
    (1, "fault: STATUS_GUARD_PAGE_VIOLATION (0x80000001) reading 0x0000000001230000\n", "wine",
     "guard_page", "reading", 0x1230000),
    (253, "wine: Unhandled stack overflow at address 0x140001000\n", "wine", "stack_overflow", None, None),
    (148, "wine: Unhandled division by zero at address 0x140001000\n", "wine", "divide_by_zero", None, None),
    (150, "wine: Unhandled exception 0xc0000096 at address 0x140001000\n", "wine", "exception", None, None),
    (3, "abort: abort() was called\n", "wine", "abort", None, None),
    (3, "Assertion failed: p != NULL, file lab.c, line 3\n", "windows", "abort", None, None),
    (3, "", "wine", "nonzero_exit_3", None, None),         # abort() and exit(3) look alike
    (3, "", "linux", "nonzero_exit", None, None),
]


@pytest.mark.parametrize("status, stderr, platform, label, access, address", ENDINGS)
def test_classify(status, stderr, platform, label, access, address):
    from ..outcome import Outcome, classify
    kind, code, got_access, got_address, source = classify(status, "", stderr, platform)
    outcome = Outcome(kind, code, got_access, got_address, "", stderr, 0.1, (), "", platform, source)
    assert (outcome.label, got_access, got_address) == (label, access, address), source
    assert meaning(outcome) and describe(outcome)       # every label has its words


@pytest.mark.parametrize("status, words", [
    (0, "ended normally"), (2, "reported an error"), (5, "an access violation"),
    (0xC0000005, "EXCEPTION_ACCESS_VIOLATION"), (139, "SIGSEGV"), (42, "see the last lines"),
])
def test_make_run_lab_names_its_status(status, words):
    from ..explain import status_line
    line = status_line("reserve_commit", status)
    assert line.startswith(f"[reserve_commit exited with status {status}: ") and words in line, line
