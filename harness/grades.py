"""grades: points from verdicts, as values: a case's, a lab's, a submission's. No I/O.

A case earns its points when it passed; nothing when it failed, or when it was not run
(its lab is missing or did not compile, or its parent case did not pass). results.py writes
these as files; grade.py makes them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .cases import Named
from .i18n import N_

PASSED, FAILED, NOT_RUN = N_("passed"), N_("failed"), N_("not run")   # as results.json has them
COMPILE_PROBLEMS = ("did_not_compile", "program_too_large")     # a lab with no program to run


@dataclass(frozen=True)
class CaseGrade(Named):
    lab: str
    name: str
    points: int             # earned
    max_points: int
    status: str             # passed | failed | not run
    reason: str             # one line: what happened ("" when it passed)
    hint: str
    output: str             # what a student reads: the failure report, or how it passed
    hidden: bool
    seed: int | None        # the seed of its random stdin, when it had one
    record: str | None      # the full record, relative to the submission's grade folder
    outcome: str = ""       # how it ended, a key of explain.EXPLANATIONS (Outcome.label, or
                            # "missing", "did_not_compile", "not_run": decided without a run)
    meaning: str = ""       # that outcome's line from EXPLANATIONS, filled in
    outcome_wrong: bool = False     # it ran, and did not end as the case expects
    said: str = ""          # its last line on stderr, when it ended itself with an error


@dataclass(frozen=True)
class LabGrade:
    lab: str
    title: str
    order: int
    problem: str            # "" | "missing" | "did_not_compile" | "program_too_large" (explain.EXPLANATIONS)
    message: str            # the problem in full: the compile command and the compiler's output
    cases: tuple
    seconds: float
    warnings: str = ""      # what the compiler said about a lab that compiled

    @property
    def points(self) -> int:
        return sum(c.points for c in self.cases)

    @property
    def max_points(self) -> int:
        return sum(c.max_points for c in self.cases)


@dataclass(frozen=True)
class Grade:
    student: str
    folder: str             # what was graded, as given
    labs: tuple
    seed: int
    notes: tuple = ()       # about the submission as a whole: files ignored, lab.h
    seconds: float = 0.0
    sandbox: str = ""       # where its compiles and runs ran: Runner.describe_sandbox()

    @property
    def score(self) -> int:
        return sum(lab.points for lab in self.labs)

    @property
    def max_score(self) -> int:
        return sum(lab.max_points for lab in self.labs)

    @property
    def cases(self) -> list:
        return [c for lab in self.labs for c in lab.cases]


def lost(lab: LabGrade) -> str:
    """Why a lab lost points, by outcome name (explain.EXPLANATIONS): "missing", "did_not_compile",
    or each case that earned nothing as case=outcome ("" at full marks)."""
    if lab.problem:
        return lab.problem
    return " ".join(f"{c.name}={c.outcome}" for c in lab.cases if c.points < c.max_points)



def only_cases(grade: Grade, wanted) -> Grade:
    labs = []
    for lab in grade.labs:
        kept = tuple(c for c in lab.cases if c.id in wanted)
        if kept:
            labs.append(LabGrade(lab.lab, lab.title, lab.order, lab.problem, lab.message, kept,
                                 lab.seconds, lab.warnings))
    return Grade(grade.student, grade.folder, tuple(labs), grade.seed, grade.notes, grade.seconds,
                 grade.sandbox)

