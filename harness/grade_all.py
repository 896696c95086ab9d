"""grade_all: a class graded: one folder per student (make grade-all SUBMISSIONS=DIR).

Each student's labs are graded as grade.py grades one submission, JOBS labs at a time, each
run in a sandbox of its own; then the class's files: grades.csv, the class report
(classreport.py), the gradebooks of the LMS (gradebook.py, with ROSTER) and what changed since
an earlier grading (regrade.py, with PREVIOUS). An instructor's tool: the starter and
Gradescope, which grade one submission, do not ship it.

    python3 -m harness.grade_all --all DIR [--roster CSV] [--previous PATH] [--lab NAME] ...
"""
from __future__ import annotations

import concurrent.futures
import shutil
import sys
import time
from pathlib import Path

from . import classreport, gradebook, regrade
from .grade import GradingError, Setup, command, grade_lab, parse
from .grades import Grade
from .results import grades_csv, write_atomic, write_grade
from .settings import ROOT
from .submission import find_sources


def students_in(folder: Path) -> list:
    """(name, folder) of every student's sub-folder, by name."""
    found = [(p.name, p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    others = [p.name for p in sorted(folder.iterdir()) if not p.is_dir() and not p.name.startswith(".")]
    if others:
        print(f"grade-all: not a student's folder, ignored: {', '.join(others[:10])}"
              + (f" and {len(others) - 10} more" if len(others) > 10 else ""), file=sys.stderr)
    if not found:
        raise GradingError(f"{folder} holds no sub-folder: grade-all wants one folder per student")
    return found


def _duration(seconds: float) -> str:
    if seconds < 0.5:
        return "under a second"
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def time_left(spent: float, done: int, total: int) -> str:
    """The progress line's clock: time so far and, from the pace so far, time to go."""
    if done >= total:
        return f" ({_duration(spent)} in all)"
    return f" ({_duration(spent)} so far, about {_duration(spent / done * (total - done))} left)"


def forget_others(out: Path, students) -> list:
    """Removes the per-student folders (those holding a results.json) of out that belong to
    no student of this class: a class graded before must not show up as this one's.
    Returns their names."""
    names = {name for name, _ in students}
    gone = []
    if out.is_dir():
        for entry in sorted(out.iterdir()):
            if entry.name not in names and entry.is_dir() and not entry.is_symlink() \
                    and (entry / "results.json").is_file():
                shutil.rmtree(entry)
                gone.append(entry.name)
    return gone


def grade_all(setup: Setup, students, out: Path, jobs: int, progress=sys.stderr) -> list:
    """Every student, labs graded in parallel on jobs workers, each run in a sandbox and
    with a wineserver of its own (SANDBOX=0: all sharing the session's server). A student's
    files are written the moment their last lab is graded."""
    begun = time.monotonic()
    pending, grades = {}, []
    tty = hasattr(progress, "isatty") and progress.isatty()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for name, folder in students:
            shutil.rmtree(out / name / "cases", ignore_errors=True)
            sources, missing, notes = find_sources(folder, setup.labs, setup.known)
            pending[name] = {"folder": folder, "notes": notes, "labs": {}, "left": len(setup.labs)}
            for lab in setup.labs:
                future = pool.submit(grade_lab, setup, lab, sources[lab.name], out / name,
                                     missing.get(lab.name, ""))
                futures[future] = (name, lab.name)
        for future in concurrent.futures.as_completed(futures):
            name, lab_name = futures[future]
            entry = pending[name]
            entry["labs"][lab_name] = future.result()
            entry["left"] -= 1
            if entry["left"]:
                continue
            labs = tuple(entry["labs"][lab.name] for lab in setup.labs)
            grade = Grade(name, str(entry["folder"]), labs, setup.seed, tuple(entry["notes"]),
                          sum(lab.seconds for lab in labs), setup.runner.describe_sandbox())
            write_grade(grade, out / name, with_details=True)
            grades.append(grade)
            line = (f"graded {len(grades)}/{len(students)}: {name} {grade.score}/{grade.max_score}"
                    f"{time_left(time.monotonic() - begun, len(grades), len(students))}")
            if tty:
                print(f"\r\033[K{line}", end="" if len(grades) < len(students) else "\n",
                      file=progress, flush=True)
            else:
                print(line, file=progress, flush=True)
    return sorted(grades, key=lambda g: g.student)


def main(argv, runner=None) -> int:
    """The command line; runner: one already started, which the caller stops."""
    options = parse(argv, klass=True)
    return command("grade-all", options, runner,
                   lambda setup, target: class_main(setup, students_in(target), options))


def class_main(setup: Setup, students, options) -> int:
    out = options.out
    started = time.monotonic()
    try:        # read before grading: a bad roster or PREVIOUS stops now, not in ten minutes
        roster = gradebook.read_roster(Path(options.roster)) if options.roster else None
        before = regrade.load(options.previous) if options.previous else None
    except (gradebook.RosterError, regrade.RegradeError, OSError, ValueError) as e:
        raise GradingError(str(e)) from None
    kept = regrade.keep(out)
    if kept:
        print(f"the previous grading is kept in {kept}", file=sys.stderr)
    for stale in ("canvas.csv", "moodle.csv", "roster.txt", "changes.txt"):   # not from this one
        (out / stale).unlink(missing_ok=True)
    print(f"grading {len(students)} students, {len(setup.labs)} labs each, {options.jobs} at a time "
          f"(seed {setup.seed})", file=sys.stderr)
    gone = forget_others(out, students)
    if gone:
        print(f"removed from {out}: the folders of {len(gone)} students not in this class "
              f"({', '.join(gone[:5])}{' ...' if len(gone) > 5 else ''})", file=sys.stderr)
    grades = grade_all(setup, students, out, max(1, options.jobs))
    write_atomic(out / "grades.csv", grades_csv(grades, setup.labs))
    for line in gradebook.write(out, grades, setup.labs, roster, options.assignment,
                                [ROOT, Path(options.build).resolve(), out.resolve(),
                                 Path(options.all).resolve(), Path(options.all)]):
        print(line, file=sys.stderr)
    changes = None
    if before is not None:
        changes = (str(options.previous), regrade.compare(before, grades))
        write_atomic(out / "changes.txt", "".join(f"{line}\n" for line in changes[1]))
        print(f"changes since {options.previous}: "
              + (f"{len(changes[1])} student{'s' if len(changes[1]) > 1 else ''}"
                 if changes[1] else "none"))
        for line in changes[1]:
            print(f"  {line}")
    classreport.write(out, grades, setup.labs, changes)
    total = sum(c.points for lab in setup.labs for c in lab.cases)
    scores = sorted(g.score for g in grades)
    print(f"{len(grades)} students graded in {time.monotonic() - started:.1f} s: "
          f"median {scores[len(scores) // 2]}/{total}, {sum(s == total for s in scores)} at full marks")
    print(f"written: {out / 'grades.csv'}, {out / 'report.html'}, {out}/STUDENT/results.json, "
          f"feedback.txt" + (", canvas.csv, moodle.csv, roster.txt" if roster else "")
          + (", changes.txt" if changes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
