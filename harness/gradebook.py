"""gradebook: a class's grades as files an LMS imports, and a comment for each student.

`make grade-all SUBMISSIONS=class ROSTER=roster.csv` writes, besides grades.csv:

    canvas.csv      Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section,
                    then the assignment's column, a "Points Possible" row (the columns and the
                    row Canvas's GradebookImporter looks for)
    moodle.csv      Moodle's "Import grades from CSV": Email address and ID number (map either
                    to the user), the grade, and a feedback column
    roster.txt      who matched, and who did not: a student in the roster with no folder, a
                    folder with no student in the roster (never dropped without a word)

and, with or without a roster, STUDENT/feedback.txt: the table and the hints, fit to paste as
the LMS's comment (no path of the grading machine in it).

The roster is a CSV with a header row: `folder` (the student's folder in SUBMISSIONS, required),
`name`, `email`, `id` (the LMS's id: Canvas's user ID, Moodle's ID number), and optionally
`sis_user_id`, `sis_login_id`, `section` (Canvas). UTF-8, with or without a byte-order mark.
Every file is UTF-8, quoted as RFC 4180 says (a name with a comma is one cell), and a cell that
would start a formula is written as text (results.cell).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .grades import FAILED, NOT_RUN
from .results import cell, replay, table, write_atomic

COLUMNS = ("folder", "name", "email", "id", "sis_user_id", "sis_login_id", "section")


class RosterError(ValueError):
    """A roster that cannot be used: the message names the file and the line."""


@dataclass(frozen=True)
class Student:
    folder: str
    name: str = ""
    email: str = ""
    id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def _column(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def read_roster(path: Path) -> dict:
    """{folder: Student}, in the roster's order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(f"{path}: cannot be read as UTF-8 text: {e}") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [_column(c) for c in next(rows, [])]
    if "folder" not in header:
        raise RosterError(f"{path}:1: the header has no `folder` column (the student's folder "
                          f"in SUBMISSIONS); the columns are {', '.join(COLUMNS)}")
    unknown = [c for c in header if c and c not in COLUMNS]
    if unknown:
        raise RosterError(f"{path}:1: unknown column {', '.join(unknown)}; the columns are "
                          f"{', '.join(COLUMNS)}")
    students = {}
    for line, row in enumerate(rows, 2):
        if not any(c.strip() for c in row):
            continue
        entry = {name: value.strip() for name, value in zip(header, row) if name}
        if not entry.get("folder"):
            raise RosterError(f"{path}:{line}: no folder")
        if entry["folder"] in students:
            raise RosterError(f"{path}:{line}: the folder {entry['folder']} is in the roster twice")
        students[entry["folder"]] = Student(**entry)
    return students


@dataclass(frozen=True)
class Match:
    """A class's grades against its roster."""
    pairs: list             # (Student, Grade or None), in the roster's order
    no_folder: list         # Students with no folder in the class
    not_in_roster: list     # Grades of folders no roster line names

    def lines(self) -> list:
        out = [f"roster: {len(self.pairs) - len(self.no_folder)} of {len(self.pairs)} students "
               f"matched a folder"]
        if self.no_folder:
            out.append(f"in the roster, no folder (left blank in canvas.csv and moodle.csv): "
                       f"{', '.join(s.folder for s in self.no_folder)}")
        if self.not_in_roster:
            out.append(f"a folder, not in the roster (graded, in grades.csv only): "
                       f"{', '.join(g.student for g in self.not_in_roster)}")
        return out


def match(grades, roster: dict) -> Match:
    by_folder = {g.student: g for g in grades}
    pairs = [(s, by_folder.get(folder)) for folder, s in roster.items()]
    return Match(pairs, [s for s, g in pairs if g is None],
                 [g for g in grades if g.student not in roster])


def _csv(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[cell(c) for c in row] for row in rows])     # CRLF: RFC 4180
    return buffer.getvalue()


def canvas_csv(matched: Match, most: int, assignment: str) -> str:
    """Canvas's gradebook import. The first row names the student columns as Canvas's
    importer expects them (Student, ID, then SIS User ID and SIS Login ID, the last one
    Section), then the assignment ("vmlabs", or "vmlabs (1234)" to name Canvas's assignment
    by its id); the second row is Points Possible. A blank score changes nothing in Canvas."""
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment],
            ["Points Possible", "", "", "", "", most]]
    for student, grade in matched.pairs:
        rows.append([student.name or student.folder, student.id, student.sis_user_id,
                     student.sis_login_id, student.section, "" if grade is None else grade.score])
    return _csv(rows)


def summary(grade) -> str:
    """One line for an LMS's feedback cell: each lab's points, and the cases that lost them."""
    parts = []
    for lab in grade.labs:
        text = f"{lab.lab} {lab.points}/{lab.max_points}"
        if lab.problem:
            text += f" ({lab.problem})"
        else:
            lost = [c.name + (" (not run)" if c.status == NOT_RUN else "")
                    for c in lab.cases if c.status in (FAILED, NOT_RUN)]
            if lost:
                text += f" (lost: {', '.join(lost)})"
        parts.append(text)
    return f"{grade.score}/{grade.max_score}: " + "; ".join(parts)


def moodle_csv(matched: Match, assignment: str) -> str:
    """Moodle's grade import (Grades > Import > CSV file): map "Email address" to the user's
    email address, or "ID number" to the user's idnumber; the grade column to the grade item,
    the feedback column to its feedback. A blank grade is not imported."""
    rows = [["Full name", "Email address", "ID number", assignment, f"{assignment} (feedback)"]]
    for student, grade in matched.pairs:
        rows.append([student.name or student.folder, student.email, student.id,
                     "" if grade is None else grade.score,
                     "no submission found" if grade is None else summary(grade)])
    return _csv(rows)


def scrub(text: str, paths) -> str:
    """text without the grading machine's paths (the class folder, the checkout, build/)."""
    for path in sorted({str(p) for p in paths if str(p) not in ("", ".", "/")}, key=len,
                       reverse=True):
        text = text.replace(path + "/", "").replace(path, "")
    return text


def hints(grade) -> list:
    """Each case that failed: what happened and its hint in full (the table shortens them),
    a hint given once."""
    out, given = [], set()
    for c in grade.cases:
        if c.status != FAILED:
            continue
        out.append(f"{c.id}: {c.reason}")
        hint = " ".join(c.hint.split())
        if hint:
            out.append(f"  hint: {hint}" if hint not in given else "  hint: as above")
            given.add(hint)
    return out


def feedback(grade, name: str = "", paths=()) -> str:
    """What a student reads as the LMS's comment: the score, each lab's table, what happened
    in each failed case with its hint, the notes about the submission, how to replay the
    random inputs."""
    lines = [f"vmlabs: {name or grade.student}: {grade.score}/{grade.max_score}", ""]
    lines += [f"note: {n}" for n in grade.notes] + ([""] if grade.notes else [])
    lines += [table(grade, width=96).rstrip(), ""]
    if hints(grade):
        lines += ["What went wrong, and where to look:", *hints(grade), ""]
    lines += [f"Random inputs from seed {grade.seed} (make check {replay(grade)} sends the same).",
              f"Score: {grade.score}/{grade.max_score}"]
    return scrub("\n".join(lines), paths) + "\n"


def write(out: Path, grades, labs, roster: dict | None, assignment: str = "vmlabs",
          paths=()) -> list:
    """feedback.txt for every student; with a roster canvas.csv, moodle.csv and roster.txt.
    Returns the lines to print: who did not match, and what was written."""
    names = {folder: s.name for folder, s in (roster or {}).items()}
    for grade in grades:
        write_atomic(out / grade.student / "feedback.txt",
                     feedback(grade, names.get(grade.student, ""),
                              [*paths, grade.folder, Path(grade.folder).resolve()]))
    if roster is None:
        return []
    matched = match(grades, roster)
    most = sum(c.points for lab in labs for c in lab.cases)
    write_atomic(out / "canvas.csv", canvas_csv(matched, most, assignment))
    write_atomic(out / "moodle.csv", moodle_csv(matched, assignment))
    lines = matched.lines()
    write_atomic(out / "roster.txt", "\n".join(lines) + "\n")
    return lines
