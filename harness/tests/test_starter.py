"""The starter: generated from the reference, it compiles, its own harness runs and grades it
below full marks, and it holds nothing an instructor keeps (solutions, hidden cases)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .. import cases, settings, starter
from ..cases import tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

LAB = """int f(int x, int y)
{
    int z = 1;
    /* BEGIN SOLUTION: add y to x,
     * then return it */
    z = x + y;
    return z;
    /* END SOLUTION, starter: (void)x; (void)y; return z; */
}
"""


def test_a_solution_region_becomes_its_todo():
    text, todos = starter.strip(LAB)
    assert text == """int f(int x, int y)
{
    int z = 1;
    /* TODO: add y to x, then return it; then replace the next line */
    (void)x; (void)y; return z;
}
"""
    assert todos == [(4, "add y to x, then return it; then replace the next line")]


@pytest.mark.parametrize("broken, message", [
    (LAB.replace("    /* END SOLUTION, starter: (void)x; (void)y; return z; */\n", ""),
     "lab:4: BEGIN SOLUTION without an END SOLUTION"),
    (LAB.replace("/* BEGIN SOLUTION: add y to x,\n     * then return it */", "/* nothing */"),
     "lab:7: END SOLUTION without a BEGIN SOLUTION above it"),
    (LAB.replace("z = x + y;", "/* BEGIN SOLUTION: again */"), "lab:6: BEGIN SOLUTION inside the region"),
    (LAB.replace("BEGIN SOLUTION: add y to x,\n     * then return it", "BEGIN SOLUTION"),
     "lab:4: BEGIN SOLUTION needs a hint"),
])
def test_markers_that_do_not_pair_up_are_errors(broken, message):
    with pytest.raises(starter.StarterError, match=re.escape(message)):
        starter.strip(broken)


@pytest.fixture(scope="module")
def starter_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("starter") / "starter"
    found = starter.write(out)
    return out, dict(found)


def test_every_lab_has_todos_and_no_solution(starter_dir):
    out, found = starter_dir
    labs = sorted(p.stem for p in (ROOT / "labs").glob("*.c"))
    assert sorted(found) == labs and all(found.values())
    for lab in labs:
        text = (out / "labs" / f"{lab}.c").read_text()
        assert "TODO:" in text and "SOLUTION" not in text
        assert text != (ROOT / "labs" / f"{lab}.c").read_text()


def test_it_holds_what_a_student_needs_and_no_hidden_case(starter_dir):
    out, _ = starter_dir
    for name in ("Makefile", "README.md", ".gitignore", "labs/lab.h", "expected/README.md",
                 "harness/grade.py", "harness/run.py", ".github/workflows/classroom.yml"):
        assert (out / name).is_file(), name
    assert not (out / "harness" / "tests").exists()
    hidden = {c["name"] for c in tomllib.loads((HERE / "hidden" / "reserve_commit.toml").read_text())["case"]}
    shipped = {c.name for c in cases.load_lab(out / "expected" / "reserve_commit.toml").cases}
    assert shipped and not hidden & shipped
    assert "{{TODOS}}" not in (out / "README.md").read_text()


def test_the_classroom_workflow_gives_each_public_case_its_points(starter_dir):
    out, _ = starter_dir
    workflow = (out / ".github" / "workflows" / "classroom.yml").read_text()
    for lab in cases.load_all(ROOT / "expected"):
        for case in lab.cases:
            assert (f"command: python3 -m harness.grade --case {case.id}\n"
                    f"          timeout: 2\n          max-score: {case.points}\n") in workflow


CEILING = 0.10      # of the points: what the untouched starter may earn (20/255 today: its
                    # usage cases; before issue 11 it was 65/159, 41%)


def test_its_own_check_grades_it_below_full_marks(starter_dir, borrowed_build):
    """`make check` in the starter is its harness's grade: every lab compiles without a
    warning, every case ends in time, and the TODOs cost points: the untouched starter
    earns at most CEILING of the points, no case passing on code a student has not written."""
    out, _ = starter_dir
    env = settings.environ(BUILD=str(borrowed_build))
    env.pop("EXPECTED_HIDDEN", None)
    result = subprocess.run([sys.executable, "-m", "harness.grade"], cwd=out, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    score = re.search(r"^Score: (\d+)/(\d+)$", result.stdout, re.M)
    assert score and 0 < int(score.group(1)) <= CEILING * int(score.group(2)), score.group(0)
    for trouble in ("does not compile", "the compiler warns", "timeout"):
        assert trouble not in result.stdout, result.stdout
    # what a student reads first: short, and still naming every case that failed
    assert len(result.stdout.splitlines()) <= 150, result.stdout
    graded = json.loads((borrowed_build / "grade" / "results.json").read_text())
    lost = [t["name"].split("/")[1] for t in graded["tests"] if t["score"] < t["max_score"]]
    assert lost and all(name in result.stdout for name in lost), result.stdout


def test_a_starter_with_a_students_work_is_not_overwritten(tmp_path):
    out = tmp_path / "build" / "starter"
    starter.write(out)
    starter.write(out)                  # untouched: written again without a word
    lab = out / "labs" / "reserve_commit.c"
    lab.write_text(lab.read_text() + "/* my work */\n")
    with pytest.raises(starter.StarterError) as refused:
        starter.write(out)
    assert "labs/reserve_commit.c changed" in str(refused.value) and "FORCE=1" in str(refused.value)
    assert "my work" in lab.read_text()
    starter.write(out, force=True)
    assert "my work" not in lab.read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="make clean's shell is a Unix one")
def test_make_clean_keeps_a_starter(tmp_path):
    build = tmp_path / "build"
    (build / "starter" / "labs").mkdir(parents=True)
    (build / "cache").mkdir()
    result = subprocess.run(["make", "--no-print-directory", "clean", f"BUILD={build}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (build / "starter" / "labs").is_dir() and not (build / "cache").exists()
    assert "kept" in result.stdout
