"""The grade report a student reads: short by default, every failed case named, the line a
program said before it ended itself, each explanation and hint once per lab. Pure functions,
tested on plain inputs."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .. import cases, grades, match, report, results
from ..outcome import Outcome

ROOT = Path(__file__).resolve().parent.parent.parent


def case_grade(name, status=grades.FAILED, reason="expected exit 0, got exit 2", hint="commit first",
               said="", wrong=True, points=0):
    return grades.CaseGrade("reserve_commit", name, points, 3, status, reason, hint, "report",
                           False, None, None, "nonzero_exit", "the program ended itself", wrong, said)


def lab_grade(*cases_, problem=""):
    return grades.LabGrade("reserve_commit", "A reserved page", 1, problem, "", tuple(cases_), 0.1)


def test_the_line_a_program_said_is_in_its_row():
    text = results.table(grades.Grade("s", "f", (lab_grade(case_grade(
        "commit_then_write", said="VirtualFree failed: ERROR_INVALID_PARAMETER (87)")),), 1))
    assert "it said: VirtualFree failed: ERROR_INVALID_PARAMETER (87)" in " ".join(text.split())


def test_a_hint_and_a_meaning_are_given_once_per_lab():
    text = results.table(grades.Grade("s", "f", (lab_grade(case_grade("one"), case_grade("two")),), 1))
    assert text.count("commit first") == 1 and "hint: as above" in text
    assert text.count("the program ended itself") == 1


def test_a_lab_that_did_not_compile_names_its_cases_on_one_line():
    not_run = [case_grade(n, grades.NOT_RUN, "reserve_commit.c does not compile: x", wrong=False)
               for n in ("walk", "usage")]
    text = results.table(grades.Grade("s", "f", (lab_grade(*not_run, problem="did_not_compile"),), 1))
    assert "  not run: walk, usage (the program ended itself)" in text
    assert text.count("not run") == 1


def test_a_row_is_at_most_four_lines():
    long = case_grade("one", reason="word " * 200)
    rows = results.table(grades.Grade("s", "f", (lab_grade(long),), 1)).splitlines()
    assert len([r for r in rows if r.strip()]) == 1 + 1 + 4 and rows[-1].endswith("\u2026")


def test_runs_of_alike_lines_are_folded_and_differences_kept():
    text = "\n".join(["outcome: x"] + [f"  = line {i}" for i in range(10)] + ["  ! wrong", "  = after"])
    folded = results.brief(text).splitlines()
    assert folded == ["outcome: x", "  = line 0", "  = line 1", "  ... 6 lines as expected",
                      "  = line 8", "  = line 9", "  ! wrong", "  = after"]
    assert results.brief("a\n  = one\n  = two") == "a\n  = one\n  = two"


def test_the_report_ends_with_a_line_per_lab_and_the_score():
    labs = (lab_grade(case_grade("one", grades.PASSED, points=3)), replace(
        lab_grade(case_grade("two")), lab="boundary"))
    text = results.text_report(grades.Grade("s", "f", labs, 1), with_details=False)
    assert text.splitlines()[-4:] == ["  reserve_commit     3/3  full marks", "  boundary           0/3  lost: two",
                                      "", "Score: 3/6"]


def test_an_extra_line_of_output_is_named_as_debug_output():
    lab = cases.load_lab(ROOT / "expected" / "boundary.toml")
    case = next(c for c in lab.cases if c.name == "usage")
    reference = Outcome("exit", 2, None, None, "", "usage: boundary [-v]\n", 0.1, (), "", "wine", "")
    expected = match.judge(case, reference)
    extra = replace(reference, stdout="debug: here\n")
    verdict = match.judge(case, extra)
    assert not verdict.passed, expected
    assert "is extra: debug prints go to stderr, which is not graded" in \
        report.reason_of(case, extra, verdict), report.reason_of(case, extra, verdict)


def test_a_timeout_says_where_the_program_was():
    hung = Outcome("timeout", None, None, None, "reading a word\nwaiting\n", "", 3.0, (), "", "wine",
                   "timeout", limit="time", limit_value="3 s")
    assert report.last_said(hung) == "(its last line) waiting"
    quiet = replace(hung, stdout="")
    assert report.last_said(quiet) == ""


def test_a_wrong_value_is_named_by_its_label_and_cut_around_the_difference():
    lab = cases.load_lab(ROOT / "expected" / "reserve_commit.toml")
    case = next(c for c in lab.cases if c.name == "commit_then_write")
    reference = Outcome("exit", 0, None, None, "", "", 0.1, (), "hello\n", "wine", "")
    wrong = "state:      MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE\n"
    out = ("page size:  4096 bytes\nreserved:   0x0000000001230000 (VirtualAlloc MEM_RESERVE | "
           "MEM_TOP_DOWN, PAGE_READWRITE)\ncost:       reserving: n/a\n" + wrong)
    verdict = match.judge(case, replace(reference, stdout=out))
    reason = report.reason_of(case, replace(reference, stdout=out), verdict)
    assert "state: got 'MEM_COMMIT, PAGE_READONLY" in reason and "expected 'MEM_COMMIT, PAGE_READWRITE" in reason, reason
    assert report.around_difference("x" * 100 + "A", "x" * 100 + "B", 20) == ("\u2026" + "x" * 5 + "A", "\u2026" + "x" * 5 + "B")
    assert report.around_difference("short", "shirt") == ("short", "shirt")


def test_an_extra_line_like_the_labs_own_is_not_called_a_debug_print():
    lab = cases.load_lab(ROOT / "expected" / "reserve_commit.toml")
    case = next(c for c in lab.cases if c.name == "commit_then_write")
    lines = ["page size:  4096 bytes",
             "reserved:   0x0000000001230000 (VirtualAlloc MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE)",
             "cost:       reserving: n/a", "state:      MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE",
             "page:       [C]", "cost:       committing: n/a",
             "reading a word from standard input into 0x0000000001230000",
             "you typed:  hello (5 bytes, stored at 0x0000000001230000)", "page:       [C*]",
             "cost:       storing the word: n/a"]
    run = Outcome("exit", 0, None, None, "\n".join(lines) + "\n", "", 0.1, (), "hello\n", "wine", "")
    assert match.judge(case, run).passed
    twice = replace(run, stdout=run.stdout + "page:       [C*]\n")
    reason = report.reason_of(case, twice, match.judge(case, twice))
    assert "is not expected there" in reason and "debug" not in reason, reason
