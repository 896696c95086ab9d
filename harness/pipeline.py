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
               records: Path | None = None, outcome: Outcome | None = None) -> Checked:
    """Runs exe as case says (its random input drawn from seed), judges the run and, when
    records is a folder, writes records/LAB/CASE.txt (report.full_record). OSError when
    that file cannot be written; the runner's errors (the sandbox, Wine) as they come.
    outcome: a run of this very invocation already made (check_cases), judged again."""
    case = cases.with_input(case, seed)
    if outcome is None:
        outcome = runner.run(exe, case.args, case.stdin, case.timeout, native=native)
    verdict = match.judge(case, outcome)
    record = None
    if records is not None:
        record = Path(records) / case.lab / f"{case.name}.txt"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(report.full_record(case, outcome, verdict), encoding="utf-8")
    return Checked(case, outcome, verdict, record)


def invocation(case, seed: int) -> tuple:
    """What a run of case depends on: two cases with the same one need one run."""
    case = cases.with_input(case, seed)
    return tuple(case.args), case.stdin, case.timeout


def check_cases(some, exe: Path, runner, seed: int, native: bool = False,
                records: Path | None = None) -> list:
    """check_case for each of some, in order, with one run per distinct invocation: the
    cases that differ only in what they expect of it are judged on the same run."""
    runs, checked = {}, []
    for case in some:
        key = invocation(case, seed)
        done = check_case(case, exe, runner, seed, native, records, runs.get(key))
        runs.setdefault(key, done.outcome)
        checked.append(done)
    return checked
