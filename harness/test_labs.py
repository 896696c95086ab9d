"""The labs against their cases: one test per case, and one per lab compiled alone."""
from __future__ import annotations

import sys

import pytest

from . import match, report


def test_case(case, labs_by_name, built, runner, build_dir, record_property):
    lab = labs_by_name[case.lab]
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
    record_property("variant", verdict.variant)
    if not verdict.passed:
        pytest.fail(report.failure(case, outcome, verdict, results), pytrace=False)


def test_compiles_alone(lab, background):
    """Each lab builds by itself, from labs/, with the plain command and -Werror.
    Into build/alone/, so that an unchanged lab is not compiled again (as make would not);
    started in the background at the first test (conftest.Background)."""
    exe = background.alone(lab).result()
    if not exe.ok:
        pytest.fail(f"{lab.name}.c does not compile warning-free alone:\n"
                    f"$ {' '.join(exe.command)}\n{exe.message}", pytrace=False)
