"""regrade: a class graded again, against how it was graded before.

`make grade-all SUBMISSIONS=class PREVIOUS=old` (old: a grades.csv, or a folder grade-all
wrote, such as build/grade itself) says per student the old and the new score and each case
whose outcome changed:

    bob: 140 -> 131 (reserve_commit/high_address: passed -> failed)

A folder's STUDENT/results.json gives every case's outcome, new and removed cases included;
a grades.csv only the cases that cost points (its "LAB lost" columns), so a case it does not
list counts as passed. Only the labs graded this time are compared (LAB=). Before grading,
what grade-all wrote last time is kept in BUILD/grade.previous/ (one grading back).

    load(path)              {student: Before}, or RegradeError
    compare(before, grades) the lines above, one per student whose grade changed
    keep(out)               out copied to out.previous (when it holds a grading)
"""
from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .grades import FAILED, NOT_RUN, PASSED

LAB_PROBLEMS = ("missing", "did_not_compile", "program_too_large")
NOT_RUN_OUTCOMES = (*LAB_PROBLEMS, "not_run")
NEW, GONE = "not a case then", "not a case now"


class RegradeError(ValueError):
    """A PREVIOUS that cannot be read: the message says what it expected."""


@dataclass
class Before:
    labs: dict                                  # lab -> points
    cases: dict = field(default_factory=dict)   # case id -> passed | failed | not run
    exact: bool = False                         # every case is known (results.json)

    def status(self, case_id: str) -> str:
        if case_id in self.cases:
            return self.cases[case_id]
        return NEW if self.exact else PASSED


def _status(passed: bool, outcome: str) -> str:
    return PASSED if passed else NOT_RUN if outcome in NOT_RUN_OUTCOMES else FAILED


def from_results(folder: Path) -> dict:
    before = {}
    for path in sorted(folder.glob("*/results.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = Before({}, exact=True)
        for t in data.get("tests", []):
            lab = t["name"].split("/")[0]
            entry.labs[lab] = entry.labs.get(lab, 0) + t["score"]
            entry.cases[t["name"]] = _status(t["status"] == PASSED,
                                             t.get("extra_data", {}).get("outcome", ""))
        before[data.get("extra_data", {}).get("student", path.parent.name)] = entry
    return before


def from_csv(path: Path) -> dict:
    rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    if not rows or rows[0][:1] != ["student"] or "total" not in rows[0]:
        raise RegradeError(f"{path}: not a grades.csv of make grade-all (its first column is "
                           f"student, then one per lab, total)")
    header = rows[0]
    labs = header[1:header.index("total")]
    before = {}
    for row in rows[1:]:
        if not row or row[0] == "Points Possible":
            continue
        entry = dict(zip(header, row))
        student = row[0][1:] if row[0].startswith("'") else row[0]      # results.cell's quote
        result = before[student] = Before({lab: int(entry.get(lab) or 0) for lab in labs})
        for lab in labs:
            lost = entry.get(f"{lab} lost", "")
            if lost in LAB_PROBLEMS:
                result.labs[lab] = 0
                result.cases[f"{lab}/*"] = NOT_RUN
                continue
            for item in lost.split():
                name, _, outcome = item.partition("=")
                result.cases[f"{lab}/{name}"] = _status(False, outcome)
    return before


def load(path) -> dict:
    path = Path(path)
    if path.is_dir():
        if (path / "grades.csv").is_file() and not any(path.glob("*/results.json")):
            return from_csv(path / "grades.csv")
        found = from_results(path)
        if not found:
            raise RegradeError(f"{path} holds no STUDENT/results.json: PREVIOUS is a grades.csv "
                               f"or a folder make grade-all wrote")
        return found
    if path.is_file():
        return from_csv(path)
    raise RegradeError(f"{path} does not exist: PREVIOUS is a grades.csv or a folder make "
                       f"grade-all wrote")


def changed_cases(before: Before, grade) -> list:
    """(case id, then, now) of every case whose status changed."""
    out = []
    now = {c.id: c.status for c in grade.cases}
    for case_id, status in now.items():
        then = before.cases.get(f"{case_id.split('/')[0]}/*") or before.status(case_id)
        if then != status:
            out.append((case_id, then, status))
    graded = {lab.lab for lab in grade.labs}
    if before.exact:
        out += [(case_id, then, GONE) for case_id, then in before.cases.items()
                if case_id.split("/")[0] in graded and case_id not in now]
    return out


def compare(before: dict, grades) -> list:
    """One line per student whose score or any case's outcome changed, by name."""
    lines = []
    now = {g.student: g for g in grades}
    graded = {lab.lab for g in grades for lab in g.labs}
    for student in sorted(set(before) | set(now)):
        if student not in now:
            lines.append(f"{student}: {sum(before[student].labs.get(l, 0) for l in graded)} -> "
                         f"not graded this time")
            continue
        grade = now[student]
        if student not in before:
            lines.append(f"{student}: not graded then -> {grade.score}")
            continue
        old = sum(before[student].labs.get(lab.lab, 0) for lab in grade.labs)
        cases = changed_cases(before[student], grade)
        if old == grade.score and not cases:
            continue
        shown = ", ".join(f"{c}: {then} -> {status}" for c, then, status in cases[:6])
        more = f", and {len(cases) - 6} more" if len(cases) > 6 else ""
        lines.append(f"{student}: {old} -> {grade.score}" + (f" ({shown}{more})" if cases else ""))
    return lines


def keep(out: Path):
    """out (a grading: it holds grades.csv) copied to out.previous, replacing the copy kept
    the time before. Returns where, or None when out held no grading."""
    out = Path(out)
    if not (out / "grades.csv").is_file():
        return None
    kept = out.with_name(out.name + ".previous")
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(out, kept, symlinks=True)
    return kept
