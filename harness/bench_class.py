"""make bench, grading a class: N generated submissions graded with 1 and with 2 workers.

Each generated student hands in every lab: the reference source with a comment of its own
at the end, so no two students' files are the same and the compile cache (one compile per
distinct file) never serves one student with another's build, as in a real class. Each
class is graded by the command `make grade-all` runs (python3 -m harness.grade_all --all),
sandboxed as always, in a build folder of its own (an empty compile cache; the Wine prefix
borrowed from this checkout's build/), with a fixed seed. A measurement counts only when
every student got full marks: a fast grading that graded wrong is not a figure.

The sizes are BENCH_CLASS (default "4 8 16"); BENCH_CLASS=100 grades 100 students with 1
worker and then with 2 (on 2 cores some 16 and 8 minutes).
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from . import settings
from .settings import ROOT

SIZES = (4, 8, 16)
WORKERS = (1, 2)
GOAL_STUDENTS, GOAL_SECONDS = 100, 180
STUDENT_GOAL = 1.1          # a student's grading against the floor, with 1 and with 2 workers
SPEEDUP_GOAL = 1.85         # 2 workers against 1
SEED = "1"


def sizes() -> list:
    text = settings.current().bench_class or " ".join(map(str, SIZES))
    try:
        found = sorted({int(word) for word in text.split()})
    except ValueError:
        found = []
    if not found or found[0] < 1:
        sys.exit(f"bench: BENCH_CLASS={text!r}: expected numbers of students, e.g. \"4 8 16\"")
    return found


def generate(folder: Path, students: int, labs, tag: str):
    """students folders, each with every lab (its reference source, made unique)."""
    sources = {lab.name: (ROOT / "labs" / f"{lab.name}.c").read_text(encoding="utf-8")
               for lab in labs}
    for n in range(students):
        student = folder / f"student{n:03d}"
        student.mkdir(parents=True)
        for name, text in sources.items():
            (student / f"{name}.c").write_text(f"{text}\n/* {tag}, student {n} */\n",
                                               encoding="utf-8")


def grade_class(students: int, jobs: int, labs, prefix: Path) -> float:
    """Seconds to grade a generated class of this size with this many workers."""
    folder = Path(tempfile.mkdtemp(prefix="vmlabs-class-"))
    try:
        generate(folder / "class", students, labs, f"{students} students, {jobs} workers")
        build = folder / "build"
        build.mkdir()
        (build / "wineprefix").symlink_to(prefix.resolve())
        out = folder / "grade"
        command = [sys.executable, "-m", "harness.grade_all", "--all", str(folder / "class"),
                   "--jobs", str(jobs), "--seed", SEED, "--build", str(build), "--out", str(out)]
        env = settings.environ(drop=("EXPECTED_HIDDEN", "SEED", "JOBS", "TIMEOUT", "LAB"))
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if result.returncode != 0:
            sys.exit(f"bench: grading {students} students failed:\n{result.stderr[-3000:]}")
        rows = list(csv.reader((out / "grades.csv").open(encoding="utf-8")))
        possible = rows[1][rows[0].index("total")]
        short = [row[0] for row in rows[2:] if row[rows[0].index("total")] != possible]
        if len(rows) - 2 != students or short:
            sys.exit(f"bench: of {students} copies of the reference labs, these lost points: "
                     f"{', '.join(short) or '(rows missing)'}; see {out}")
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fit(points) -> tuple:
    """Least squares seconds = fixed + per_student * N over (N, seconds)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else mean_y / mean_x
    return mean_y - slope * mean_x, slope


def per_student(times, jobs: int) -> float:
    """Seconds a student costs with jobs workers: the fitted line's slope."""
    counts = sorted({n for n, _ in times})
    return fit([(n, times[n, jobs]) for n in counts])[1]


def measure(labs, prefix: Path, say) -> dict:
    times = {}
    for jobs in WORKERS:
        for students in sizes():
            say(f"class: {students} students, {jobs} worker(s) ...")
            times[students, jobs] = grade_class(students, jobs, labs, prefix)
            say(f"class: {students} students, {jobs} worker(s): {times[students, jobs]:.1f} s")
    return times


def ok(good: bool) -> str:
    return "meets the goal" if good else "**misses the goal**"


def section(times, floor_) -> list:
    """The BENCHMARKS.md section: the table, the fit, the goals, and what bounds them."""
    counts = sorted({n for n, _ in times})
    lines = ["| students | 1 worker (s) | 2 workers (s) | speed-up |", "|---:|---:|---:|---:|"]
    for n in counts:
        one, two = times.get((n, 1)), times.get((n, 2))
        lines.append(f"| {n} | {one:.1f} | {two:.1f} | {one / two:.2f} |")
    lines.append("")
    fits = {jobs: fit([(n, times[n, jobs]) for n in counts]) for jobs in WORKERS}
    for jobs, (fixed, each) in fits.items():
        worst = max(abs(times[n, jobs] - (fixed + each * n)) / times[n, jobs] for n in counts)
        lines.append(f"- {jobs} worker{'s' if jobs > 1 else ''}: {fixed:.1f} s + {each:.2f} s "
                     f"per student (the straight line's worst miss: {worst:.0%} of a "
                     f"measurement)" + (": linear in N" if worst <= 0.1 else ""))
    fixed, each = fits[2]
    hundred = fixed + each * GOAL_STUDENTS
    measured = times.get((GOAL_STUDENTS, 2))
    figure = (f"measured {measured:.0f} s" if measured is not None else
              f"{hundred:.0f} s from the line ({hundred / 60:.1f} minutes)")
    speedup = times[counts[-1], 1] / times[counts[-1], 2]
    bare = floor_["compile_pch"] + floor_["runs"]
    bare_class = bare * GOAL_STUDENTS / 2
    lines += [
        "",
        "A student against the floor (compiling the labs with lab.h precompiled, "
        f"{floor_['compile_pch']:.1f} s, and one bare warm run per case, {floor_['runs']:.1f} s: "
        f"{bare:.1f} s of one core; with 2 workers on 2 cores, half of it):",
        "",
        "| workers | s per student | floor | ratio |",
        "|---:|---:|---:|---:|",
    ]
    for jobs in WORKERS:
        ratio = fits[jobs][1] / (bare / jobs)
        lines.append(f"| {jobs} | {fits[jobs][1]:.2f} | {bare / jobs:.2f} | {ratio:.2f} (goal ≤ "
                     f"{STUDENT_GOAL}: {ok(ratio <= STUDENT_GOAL)}) |")
    lines += [
        "",
        f"- 2 workers against 1, at {counts[-1]} students: {speedup:.2f}x (goal ≥ "
        f"{SPEEDUP_GOAL}: {ok(speedup >= SPEEDUP_GOAL)})",
        f"- {GOAL_STUDENTS} students with 2 workers: {figure} (goal ≤ {GOAL_SECONDS} s: "
        f"{ok((measured or hundred) <= GOAL_SECONDS)}); "
        f"the floor for them on 2 cores: {bare_class:.0f} s, with no sandbox, no judging and "
        "no report. "
        + ("The 3-minute goal is below that floor here." if bare_class > GOAL_SECONDS else ""),
        "",
        f"The floor runs every one of the {floor_['cases']} cases; grading runs once per distinct "
        "invocation (two cases with the same arguments and input are judged on one run), so "
        "it can take less than the floor. What grading adds: a job's start per lab (above), "
        "the compile sandbox, the judging and the files of every case.",
    ]
    return lines
