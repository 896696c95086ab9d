"""The labs against their cases: one test per case, and one per lab compiled alone."""
from __future__ import annotations

import sys

import pytest

from . import match, report
from .build import compile_32
from .cases import with_input


def test_case(case, labs_by_name, built, runner, build_dir, seed, record_property):
    lab = labs_by_name[case.lab]
    case = with_input(case, seed)
    if lab.native and sys.platform == "win32":
        pytest.skip(f"{lab.name} is a Linux program: it runs natively on Linux only")
    exe = built(lab)
    if not exe.ok:
        pytest.fail(f"{case.id}: {lab.name}.c did not compile:\n$ {' '.join(exe.command)}\n"
                    f"{exe.message}", pytrace=False)
    outcome = runner.run(exe.exe, case.args, case.stdin, case.timeout, native=lab.native)
    verdict = match.judge(case, outcome)
    results = build_dir / "results" / lab.name / f"{case.name}.txt"
    try:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(report.full_record(case, outcome, verdict), encoding="utf-8")
    except OSError as e:
        pytest.exit(f"cannot write {results}: {e.strerror}. Make the build folder writable or "
                    f"free some space, or build elsewhere: make check BUILD=/some/folder",
                    returncode=2)
    note = report.variant_of(case, verdict)
    record_property("variant", verdict.variant + (f" ({note.platform_note})"
                                                  if verdict.variant and note and note.platform_note else ""))
    if not verdict.passed:
        pytest.fail(report.failure(case, outcome, verdict, results), pytrace=False)


def test_case_32bit(case32, labs_dir, build_dir, runs_32bit, runner, seed):
    """make check ARCH=i686: the same cases against build/i686/ and build/i686-laa/."""
    flavour, case = case32
    case = with_input(case, seed)
    exe = compile_32(labs_dir / f"{case.lab}.c", build_dir, flavour)
    if not exe.ok:
        pytest.fail(f"{case.id}: the {flavour} build failed:\n{exe.message}", pytrace=False)
    runs, why = runs_32bit
    if not runs:
        pytest.skip(why)
    outcome = runner.run(exe.exe, case.args, case.stdin, case.timeout)
    verdict = match.judge(case, outcome)
    if not verdict.passed:
        pytest.fail(report.failure(case, outcome, verdict), pytrace=False)


def test_compiles_alone(lab, background):
    """Each lab builds by itself, from labs/, with the plain command and -Werror.
    Into build/alone/, so that an unchanged lab is not compiled again (as make would not);
    started in the background at the first test (conftest.Background)."""
    exe = background.alone(lab).result()
    if not exe.ok:
        pytest.fail(f"{lab.name}.c does not compile warning-free alone:\n"
                    f"$ {' '.join(exe.command)}\n{exe.message}", pytrace=False)
