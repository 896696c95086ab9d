"""The labs against their cases: one test per case, and one per lab compiled alone."""
from __future__ import annotations

import sys

import pytest

from . import report
from .build import compile_32
from .pipeline import check_case


def test_case(case, labs_by_name, built, jobs, build_dir, seed, record_property, runs):
    lab = labs_by_name[case.lab]
    if lab.native and sys.platform == "win32":
        pytest.skip(f"{lab.name} is a Linux program: it runs natively on Linux only")
    exe = built(lab)
    if not exe.ok:
        pytest.fail(f"{case.id}: {lab.name}.c did not compile:\n$ {' '.join(exe.command)}\n"
                    f"{exe.message}", pytrace=False)
    try:
        done = check_case(case, exe.exe, jobs.get(lab.name), seed, lab.native,
                          records=build_dir / "results",
                          runs=runs)        # two cases of one invocation: one run
    except OSError as e:
        pytest.exit(f"cannot write the results of {case.id} under {build_dir / 'results'}: "
                    f"{e.strerror}. Make the build folder writable or free some space, or build "
                    f"elsewhere: make check BUILD=/some/folder", returncode=2)
    note = report.variant_of(done.case, done.verdict)
    record_property("variant", done.verdict.variant + (
        f" ({note.platform_note})" if done.verdict.variant and note and note.platform_note else ""))
    if not done.passed:
        pytest.fail(report.failure(done.case, done.outcome, done.verdict, done.record), pytrace=False)


def test_case_32bit(case32, labs_dir, build_dir, runs_32bit, runner, seed):
    """make check ARCH=i686: the same cases against build/i686/ and build/i686-laa/."""
    flavour, case = case32
    exe = compile_32(labs_dir / f"{case.lab}.c", build_dir, flavour)
    if not exe.ok:
        pytest.fail(f"{case.id}: the {flavour} build failed:\n{exe.message}", pytrace=False)
    runs, why = runs_32bit
    if not runs:
        pytest.skip(why)
    done = check_case(case, exe.exe, runner, seed)
    if not done.passed:
        pytest.fail(report.failure(done.case, done.outcome, done.verdict), pytrace=False)


def test_compiles_alone(lab, background):
    """Each lab builds by itself, from labs/, with the plain command and -Werror.
    Into build/alone/, so that an unchanged lab is not compiled again (as make would not);
    started in the background at the first test (conftest.Background)."""
    exe = background.alone(lab).result()
    if not exe.ok:
        pytest.fail(f"{lab.name}.c does not compile warning-free alone:\n"
                    f"$ {' '.join(exe.command)}\n{exe.message}", pytrace=False)
