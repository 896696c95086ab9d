"""pipeline: one case checked against one program, the one chain every caller uses.

    case --with_input--> case as run --Runner.run--> Outcome --match.judge--> Verdict
                                                                 `--> its record file

make check (test_labs.py), grading (grade.py), make run (demo.py) and the handouts
(handouts.py, test_handouts.py) differ only in what they show of a Checked: the same run,
judged the same way, everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cases, match, report
from .match import Verdict
from .outcome import Outcome


@dataclass(frozen=True)
class Checked:
    case: object            # the cases.Case as it ran: its random input drawn
    outcome: Outcome
    verdict: Verdict
    record: Path | None     # the file with everything about the run, when one was asked for

    @property
    def passed(self) -> bool:
        return self.verdict.passed


def check_case(case, exe: Path, runner, seed: int, native: bool = False,
               records: Path | None = None, runs: dict | None = None) -> Checked:
    """Runs exe as case says (its random input drawn from seed), judges the run and, when
    records is a folder, writes records/LAB/CASE.txt (report.full_record). OSError when
    that file cannot be written; the runner's errors (the sandbox, Wine) as they come.
    runs: the runs made so far, by invocation: a case whose run is there is judged on it,
    without running again, and a new run is kept there."""
    case = cases.with_input(case, seed)
    key = (str(exe), *invocation(case))
    outcome = runs.get(key) if runs is not None else None
    if outcome is None:
        outcome = runner.run(exe, case.args, case.stdin, case.timeout, native=native)
        if runs is not None:
            runs[key] = outcome
    verdict = match.judge(case, outcome)
    record = None
    if records is not None:
        record = Path(records) / case.lab / f"{case.name}.txt"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(report.full_record(case, outcome, verdict), encoding="utf-8")
    return Checked(case, outcome, verdict, record)


def invocation(case) -> tuple:
    """What a run of a case (its input drawn) depends on: two cases with the same one need
    one run."""
    return tuple(case.args), case.stdin, case.timeout


def check_cases(some, exe: Path, runner, seed: int, native: bool = False,
                records: Path | None = None) -> list:
    """check_case for each of some, in order, with one run per distinct invocation: the
    cases that differ only in what they expect of it are judged on the same run."""
    runs = {}
    return [check_case(case, exe, runner, seed, native, records, runs) for case in some]
