"""A class graded with a roster, then again: the files an LMS imports (Canvas's gradebook CSV,
Moodle's grade import), each student's feedback.txt, and the regrade's diff (old -> new score,
the cases that changed) with the old files kept.

One lab (reserve_commit), three folders and a roster of three: real builds and runs under Wine.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from .. import grade_all, gradebook, grades, regrade
from .. import cases
from .test_grade import SCORES, submission

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUBMISSIONS = HERE / "submissions"
# reserve_commit's points: in all, and what bob (forgot the commit) and dave (hard-coded) get.
FULL = sum(c.points for c in cases.load_lab(Path(__file__).resolve().parents[2] / "expected" /
                                            "reserve_commit.toml").cases)
BOB, DAVE = SCORES["forgot_commit"]["reserve_commit"], SCORES["hard_coded"]["reserve_commit"]
COMMON = ["--lab", "reserve_commit", "--timeout", "3", "--jobs", "2", "--seed", "99"]

# alice hands in the reference, bob forgets the commit, carol hands in nothing (no folder),
# dave is not in the roster. The names: an accent and a comma, a formula, a quote.
ROSTER = """folder,name,email,id,sis_user_id,sis_login_id,section
alice,"Rossi, Àlice",alice@example.edu,101,S-001,arossi,"Lab A, Tuesday"
bob,"=HYPERLINK(""http://evil"")",bob@example.edu,102,S-002,bob,Lab A
carol,Carol O'Brien,carol@example.edu,103,,,Lab B
"""


def read_csv(path: Path) -> list:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, runner, build_dir):
    """The class graded twice: then bob fixes his commit, a folder goes, a case is failed."""
    work = tmp_path_factory.mktemp("gradebook")
    klass = work / "class"
    (klass / "alice").mkdir(parents=True)
    shutil.copy(ROOT / "labs" / "reserve_commit.c", klass / "alice")
    submission("forgot_commit", work).rename(klass / "bob")
    (klass / "dave").mkdir()
    shutil.copy(ROOT / "labs" / "reserve_commit.c", klass / "dave")
    (work / "roster.csv").write_text(ROSTER, encoding="utf-8-sig")     # as Excel saves it
    out = work / "grade"
    common = [*COMMON, "--out", str(out), "--build", str(build_dir),
              "--roster", str(work / "roster.csv")]
    assert grade_all.main(["--all", str(klass), *common], runner=runner) == 0
    first = {name: (out / name).read_bytes() for name in ("grades.csv", "canvas.csv", "moodle.csv")}
    shutil.copy(out / "grades.csv", work / "first-grades.csv")
    shutil.copy(ROOT / "labs" / "reserve_commit.c", klass / "bob")
    shutil.copy(submission("hard_coded", work) / "reserve_commit.c", klass / "dave")
    assert grade_all.main(["--all", str(klass), *common, "--previous", str(out)], runner=runner) == 0
    return work, out, first


def test_canvas_csv_is_what_canvas_imports(graded):
    """Canvas's GradebookImporter: the first column /Student/, the second /ID/, then SIS User
    ID and SIS Login ID, the last student column /Section/; a row whose first cell matches
    /Points Possible/ holds the points; every row as many cells as the header."""
    work, out, first = graded
    rows = read_csv(out / "canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "vmlabs"]
    assert rows[1] == ["Points Possible", "", "", "", "", str(FULL)]
    assert rows[2:] == [["Rossi, Àlice", "101", "S-001", "arossi", "Lab A, Tuesday", str(FULL)],
                        ["'=HYPERLINK(\"http://evil\")", "102", "S-002", "bob", "Lab A", str(FULL)],
                        ["Carol O'Brien", "103", "", "", "Lab B", ""]]
    assert {len(r) for r in rows} == {6}
    before = read_csv_text(first["canvas.csv"])
    assert before[3][-1] == str(BOB)                     # bob, the first time: forgot the commit
    raw = (out / "canvas.csv").read_bytes()
    assert b"\r\n" in raw and b'"Rossi, \xc3\x80lice"' in raw       # RFC 4180, UTF-8


def read_csv_text(raw: bytes) -> list:
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


def test_moodle_csv_matches_by_email_or_idnumber_with_feedback(graded):
    work, out, first = graded
    rows = read_csv_text(first["moodle.csv"])
    assert rows[0] == ["Full name", "Email address", "ID number", "vmlabs", "vmlabs (feedback)"]
    by_email = {r[1]: r for r in rows[1:]}
    assert by_email["alice@example.edu"][2:4] == ["101", str(FULL)]
    assert by_email["bob@example.edu"][0].startswith("'=")
    assert by_email["bob@example.edu"][3] == str(BOB)
    assert "commit_then_write" in by_email["bob@example.edu"][4]
    assert by_email["carol@example.edu"][3:] == ["", "no submission found"]
    assert "dave@" not in (out / "moodle.csv").read_text()


def test_missing_and_extra_students_are_listed(graded):
    work, out, first = graded
    listed = (out / "roster.txt").read_text()
    assert "2 of 3 students matched" in listed
    assert re.search(r"in the roster, no folder.*: carol$", listed, re.M)
    assert re.search(r"a folder, not in the roster.*: dave$", listed, re.M)
    assert "dave," in read_csv_text(first["grades.csv"])[-1][0] + ","     # graded all the same


def test_feedback_has_the_table_and_hints_and_no_path(graded):
    work, out, first = graded
    text = (out.with_name("grade.previous") / "bob" / "feedback.txt").read_text()
    assert text.startswith(f'vmlabs: =HYPERLINK("http://evil"): {BOB}/{FULL}')
    assert "commit_then_write" in text and "hint: the page is still only reserved" in text
    assert re.search(r"^reserve_commit/commit_then_write: expected exit 0, got access violation.*\n  hint: the page is still only reserved \(MEM_RESERVE\) when the word is written: commit it first", text, re.M)
    assert f"Score: {BOB}/{FULL}" in text
    for grade_dir in (out, out.with_name("grade.previous")):
        for path in grade_dir.glob("*/feedback.txt"):
            body = path.read_text()
            for machine in (str(work), str(ROOT), "/tmp/", "/root", "/home/"):
                assert machine not in body, (path, machine)


def test_regrading_says_who_changed_and_keeps_the_old_files(graded):
    work, out, first = graded
    changes = (out / "changes.txt").read_text().splitlines()
    assert changes[0].startswith(f"bob: {BOB} -> {FULL} (reserve_commit/commit_then_write: failed -> passed")
    assert "reserve_commit/echo_random_word: not run -> passed" in changes[0]
    assert changes[1].startswith(f"dave: {FULL} -> {DAVE} (reserve_commit/echo_random_word: passed -> failed")
    assert len(changes) == 2                                # alice: the same
    assert (out.with_name("grade.previous") / "grades.csv").read_bytes() == first["grades.csv"]
    page = (out / "report.html").read_text()
    assert "Changes since" in page and f"bob: {BOB} -&gt; {FULL}" in page


def test_a_previous_grades_csv_gives_the_same_diff(graded):
    """From grades.csv only the cases that cost points are known: the same lines here."""
    work, out, first = graded
    grades = [regrade_grade(out, name) for name in ("alice", "bob", "dave")]
    from_csv = regrade.compare(regrade.load(work / "first-grades.csv"), grades)
    assert from_csv == (out / "changes.txt").read_text().splitlines()


def regrade_grade(out: Path, student: str):
    """A grades.Grade rebuilt from results.json, enough for regrade.compare."""
    import json
    data = json.loads((out / student / "results.json").read_text())
    labs = {}
    for t in data["tests"]:
        lab, name = t["name"].split("/")
        status = regrade._status(t["status"] == "passed", t["extra_data"]["outcome"])
        labs.setdefault(lab, []).append(grades.CaseGrade(lab, name, t["score"], t["max_score"], status,
                                                        "", "", "", False, None, None))
    return grades.Grade(student, "", tuple(grades.LabGrade(lab, "", 0, "", "", tuple(c), 0)
                                          for lab, c in labs.items()), 0)


@pytest.mark.parametrize("roster, message", [
    ("name,email\nx,y\n", "no `folder` column"),
    ("folder,name,nickname\nx,y,z\n", "unknown column nickname"),
    ("folder,name\nx,X\nx,Y\n", ":3: the folder x is in the roster twice"),
    ("folder,name\n,X\n", ":2: no folder"),
])
def test_a_bad_roster_names_the_line(tmp_path, roster, message):
    path = tmp_path / "roster.csv"
    path.write_text(roster)
    with pytest.raises(gradebook.RosterError, match=re.escape(message)):
        gradebook.read_roster(path)


def test_scrub_removes_the_machines_paths():
    assert gradebook.scrub("/srv/class/bob/x.c and /srv/class", ["/srv/class"]) == "bob/x.c and "
    assert gradebook.scrub("nothing", ["", "/"]) == "nothing"


def test_a_grading_without_roster_leaves_no_stale_gradebook(graded, runner, build_dir):
    """Last in this file: grades the class a third time, without ROSTER or PREVIOUS."""
    work, out, first = graded
    assert grade_all.main(["--all", str(work / "class"), *COMMON, "--out", str(out),
                       "--build", str(build_dir)], runner=runner) == 0
    for name in ("canvas.csv", "moodle.csv", "roster.txt", "changes.txt"):
        assert not (out / name).exists(), name
        assert (out.with_name("grade.previous") / name).is_file(), name
    assert (out / "bob" / "feedback.txt").read_text().startswith(f"vmlabs: bob: {FULL}/{FULL}")
