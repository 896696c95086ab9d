"""Grading: a set of broken submissions, each graded with its exact score, and the files
grading writes (results.json in Gradescope's schema, junit.xml, grades.csv, report.html).

Real builds, real runs under Wine, through the same command line `make grade-all` uses.
"""
from __future__ import annotations

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .. import cases, grade, grade_all
from ..explain import EXPLANATIONS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUBMISSIONS = HERE / "submissions"
TIMEOUT = "3"       # seconds per case: the reference labs take a tenth of one, a flood 1.5

# student: the points of each lab; every other lab is missing, worth 0.
SCORES = {
    "forgot_commit": {"reserve_commit": 1},     # the commit faults; every case needing it not run
    "wrong_flag": {"reserve_commit": 1},        # PAGE_READONLY: the write faults all the same
    "hard_coded": {"reserve_commit": 16},       # the memorised output: the random word, the empty
                                                # and the long input catch it
    "wrong_address": {"reserve_commit": 16},    # faults 100 bytes into the page, not at the page
    "infinite_loop": {"reserve_commit": 1},     # a timeout costs that case (and its children) only
    "stdin_forever": {"decommit_recommit": 17},  # hangs only on empty input: one timeout
    "flood": {"reserve_commit": 1},             # echoes forever: cut at the output limit, killed
    "compile_error": {"boundary": 0, "reserve_commit": 22},   # costs boundary's points only
    "missing_file": {},                         # Reserve_Commit.c is not reserve_commit.c
    "extra_files": {"reserve_commit": 22},      # notes, helper.c, a broken lab.h: all ignored
    "truncated_pointer": {"reserve_commit": 1},  # (unsigned int)p: the commit fails above 4 GiB
    "round_up_off_by_one": {"boundary": 2},     # x + align: the aligned boundary moves
    "readonly_recommit": {"decommit_recommit": 2},  # recommitted PAGE_READONLY: VirtualQuery says so
    "top_down_forgotten": {"layout": 14},       # the reservation lands low: not the table's end
    "forgot_virtualfreeex": {"remote": 15},     # the child's page stays committed: release fails
    "wrong_access": {"mapping": 8},             # the writer maps FILE_MAP_READ: it faults writing
    "wrong_stride": {"mapping": 8},             # the writer's slots 32 bytes apart, the reader's 64
    "release_with_size": {"free_rules": 33},    # VirtualFree(base, 4 * page, MEM_RELEASE): 87
}
WITH_REFERENCE = {"compile_error": ["reserve_commit"], "extra_files": ["reserve_commit"]}
# The reference with one mistake, written as that edit of labs/LAB.c (student: lab, the
# reference's text, what the student wrote instead): when the reference changes under it,
# the fixture fails at once instead of grading a stale copy.
ONE_MISTAKE = {
    # "commit" is announced, never done: the write faults
    "forgot_commit": ("reserve_commit", """\
        if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
            die("VirtualAlloc(MEM_COMMIT)");
""", ""),
    # the page is committed PAGE_READONLY: the write still faults
    "wrong_flag": ("reserve_commit", "VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE)",
                   "VirtualAlloc(p, page, MEM_COMMIT, PAGE_READONLY)"),
    # without "commit" the word is written 100 bytes into the page: the fault is not at the page
    "wrong_address": ("reserve_commit", "long n = read_word(p, page);",
                      "long n = commit ? read_word(p, page) : read_word(p + 100, page - 100);"),
    # with "commit" and a word, a loop that never ends
    "infinite_loop": ("reserve_commit", """\
    long n = read_word(p, page);    /* faults here when the page is only reserved */
""", """\
    long n = read_word(p, page);    /* faults here when the page is only reserved */
    if (commit && n > 0)        /* clear what follows the word: i wraps at 256, never 300 */
        for (unsigned char i = 0; i < 300; i++)
            p[n + 1 + i] = 0;
"""),
    # once a word is read, it is echoed forever: a flood of output
    "flood": ("reserve_commit", """\
    else
        printf("you typed:""", """\
    else
        while (n > 0)           /* meant: if */
            printf("you typed:"""),
    # it reads until the end of the line, and at the end of input it waits forever
    "stdin_forever": ("decommit_recommit", """\
    if (read_word(p, page) < 0)
""", """\
    size_t n = 0;
    int c;
    while ((c = getchar()) != '\\n')        /* until Enter; at the end of input: forever */
        if (c != EOF && n + 1 < page)
            p[n++] = (char)c;
    if (n == 0)
"""),
    # the lecture's own bug, the address cut to 32 bits: the page is above 4 GiB (MEM_TOP_DOWN),
    # so the cut address is not reserved and the commit fails
    "truncated_pointer": ("reserve_commit", "VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE)",
                          "VirtualAlloc((void *)(unsigned int)p, page, MEM_COMMIT, PAGE_READWRITE)"),
    # round_up off by one: the image end is never aligned, so the prediction still matches; the
    # boundary is, and rounding it up again moves it a whole granularity
    "round_up_off_by_one": ("boundary", "return round_down(x + align - 1, align);",
                            "return round_down(x + align, align);"),
    # the page committed again PAGE_READONLY: all zeros all the same; VirtualQuery tells
    "readonly_recommit": ("decommit_recommit", """\
    if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
        die("VirtualAlloc(MEM_COMMIT) again");""", """\
    if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READONLY) != p)
        die("VirtualAlloc(MEM_COMMIT) again");"""),
    # MEM_TOP_DOWN left out: the reservation lands low, not at the end of the table's row
    "top_down_forgotten": ("layout", "MEM_RESERVE | MEM_TOP_DOWN, PAGE_NOACCESS);",
                           "MEM_RESERVE, PAGE_NOACCESS);"),
    "forgot_virtualfreeex": ("remote", """\
    if (!VirtualFreeEx(c.pi.hProcess, base, 0, MEM_RELEASE))
        die("VirtualFreeEx(MEM_RELEASE)");
""", ""),
    "wrong_access": ("mapping", """\
    mapping = OpenFileMappingA(FILE_MAP_WRITE, FALSE, name);
    if (mapping == NULL)
        die("OpenFileMapping(FILE_MAP_WRITE)");
    view = MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0);
""", """\
    mapping = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    if (mapping == NULL)
        die("OpenFileMapping(FILE_MAP_WRITE)");
    view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
"""),
    "wrong_stride": ("mapping", "char *slot = view + (i % slots) * STRIDE;\n        strcpy(slot, word);",
                     "char *slot = view + (i % slots) * 32;\n        strcpy(slot, word);"),
    # a typo the compiler rejects: boundary costs its points, reserve_commit beside it none
    "compile_error": ("boundary", "uintptr_t predicted = round_up(image_end, granularity);",
                      "uintptr_t predicted = round_up(image_end, granularty);"),
    # the whole region released with its size: ERROR_INVALID_PARAMETER, nothing freed
    "release_with_size": ("free_rules", """\
     * with VFREE(addr, size, type) */
    VFREE(base, 0, MEM_RELEASE);""", """\
     * with VFREE(addr, size, type) */
    VFREE(base, 4 * page, MEM_RELEASE);"""),
}


def one_mistake(student: str) -> tuple:
    """(the lab's file name, its text with the student's one mistake)."""
    lab, reference, mistake = ONE_MISTAKE[student]
    text = (ROOT / "labs" / f"{lab}.c").read_text()
    assert text.count(reference) == 1, f"{student}: labs/{lab}.c no longer holds:\n{reference}"
    return f"{lab}.c", text.replace(reference, mistake)


def submission(student: str, folder: Path) -> Path:
    """folder/student: the broken submission as a student hands it in."""
    if student not in ONE_MISTAKE:
        shutil.copytree(SUBMISSIONS / student, folder / student)
        return folder / student
    (folder / student).mkdir(parents=True)
    name, text = one_mistake(student)
    (folder / student / name).write_text(text)
    return folder / student


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory):
    """The broken submissions, and the reference labs some of them carry beside the broken one."""
    folder = tmp_path_factory.mktemp("class")
    for student in SCORES:
        submission(student, folder)
        for lab in WITH_REFERENCE.get(student, ()):
            shutil.copy(ROOT / "labs" / f"{lab}.c", folder / student)
    return folder


@pytest.fixture(scope="module")
def graded(class_dir, tmp_path_factory, runner, build_dir):
    out = tmp_path_factory.mktemp("grade")
    status = grade_all.main(["--all", str(class_dir), "--out", str(out), "--timeout", TIMEOUT,
                         "--jobs", "2", "--seed", "4242", "--build", str(build_dir)], runner=runner)
    assert status == 0
    return out


def results(graded, student) -> dict:
    return json.loads((graded / student / "results.json").read_text())


def test_the_broken_set_is_in_the_repository():
    assert sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir()) == sorted(set(SCORES) - set(ONE_MISTAKE))
    for student in ONE_MISTAKE:
        one_mistake(student)


def test_every_broken_submission_gets_its_exact_score(graded):
    labs = cases.load_all(ROOT / "expected")
    most = {lab.name: sum(c.points for c in lab.cases) for lab in labs}
    rows = list(csv.reader((graded / "grades.csv").open()))
    points = len(most) + 2          # student, a column per lab, total; then why points were lost
    assert rows[0] == ["student", *most, "total", *(f"{lab} lost" for lab in most)]
    assert rows[1] == ["Points Possible", *map(str, most.values()), str(sum(most.values())),
                       *("" for _ in most)]
    got = {row[0]: dict(zip(rows[0][1:points], map(int, row[1:points]))) for row in rows[2:]}
    for student, points in SCORES.items():
        expected = {lab: points.get(lab, 0) for lab in most}
        expected["total"] = sum(points.values())
        assert got[student] == expected, student
        data = results(graded, student)
        assert (data["score"], data["max_score"]) == (expected["total"], sum(most.values()))


def case_of(graded, student, case_id) -> dict:
    return next(t for t in results(graded, student)["tests"] if t["name"] == case_id)


def test_each_failure_says_what_happened(graded):
    echo = case_of(graded, "hard_coded", "reserve_commit/echo_random_word")
    assert echo["status"] == "failed" and "you typed:  hello" in echo["output"]
    assert "seed 4242" in echo["output"] and "the word sent:" in echo["output"]
    fault = case_of(graded, "wrong_address", "reserve_commit/reserve_only_faults")
    assert "check failed: fault_address == base" in fault["output"]
    flood = case_of(graded, "flood", "reserve_commit/commit_then_write")
    assert "got output cut: more than 1 MiB printed, killed" in flood["output"]
    hang = case_of(graded, "infinite_loop", "reserve_commit/commit_then_write")
    assert f"got timeout: still running after {float(TIMEOUT):g} s, killed" in hang["output"]
    assert "hint: the program never ended" in hang["output"]
    child = case_of(graded, "forgot_commit", "reserve_commit/echo_random_word")
    assert child["output"].startswith("not run: needs commit_then_write, which failed")
    typo = case_of(graded, "compile_error", "boundary/walk")
    assert "boundary.c does not compile" in typo["output"] and "granularty" in typo["output"]
    named = case_of(graded, "missing_file", "reserve_commit/usage")
    assert "there is Reserve_Commit.c: the name must be exactly reserve_commit.c" in named["output"]
    leak = case_of(graded, "forgot_virtualfreeex", "remote/release")
    assert "VirtualQueryEx(child, base): MEM_COMMIT" in leak["output"]
    assert "hint: memory VirtualAllocEx gave another process is freed with VirtualFreeEx" in leak["output"]
    stride = case_of(graded, "wrong_stride", "mapping/share")
    assert 'reader> slot 1 (offset 64): ""' in stride["output"]
    access = case_of(graded, "wrong_access", "mapping/share")
    assert "writer      ended with 0xC0000005 (EXCEPTION_ACCESS_VIOLATION)" in access["output"]
    notes = results(graded, "extra_files")["extra_data"]["notes"]
    assert any("lab.h: not used" in n for n in notes)
    assert any("helper.c, notes.txt" in n for n in notes)


def test_the_hint_is_for_the_mistake_made(graded):
    """Each mistake its own hint, in results.json and in the table (grade.txt), not the case's
    general one: a page committed PAGE_READONLY is not told to commit the page."""
    readonly = case_of(graded, "wrong_flag", "reserve_commit/commit_then_write")
    assert "hint: the page is committed, but PAGE_READONLY: the protection is VirtualAlloc's 4th " \
           "argument" in readonly["output"]
    assert "commit the reserved page" not in readonly["output"]
    assert "state:      MEM_COMMIT, PAGE_READONLY" in readonly["output"]
    forgot = case_of(graded, "forgot_commit", "reserve_commit/commit_then_write")
    assert "hint: the page is still only reserved (MEM_RESERVE)" in forgot["output"]
    release = case_of(graded, "release_with_size", "free_rules/release_inside")
    assert "result:    FALSE, ERROR_INVALID_PARAMETER (87)" in release["output"]
    assert "hint: MEM_RELEASE takes size 0: with a size VirtualFree fails" in release["output"]
    table = (graded / "release_with_size" / "grade.txt").read_text()
    assert "MEM_RELEASE takes size 0" in table and "needs the base address VirtualAlloc returned" not in table
    general = case_of(graded, "wrong_address", "reserve_commit/reserve_only_faults")
    assert "not at the reserved page's first byte" in general["output"]


def test_every_outcome_is_named_in_the_csv_and_results_json(graded):
    """Why points were lost, by the outcome names of run.EXPLANATIONS: grades.csv has them per
    lab, results.json per case (with the line that says what each means)."""
    rows = list(csv.reader((graded / "grades.csv").open()))
    lost = {row[0]: {name[:-len(" lost")]: cell for name, cell in zip(rows[0], row)
                     if name.endswith(" lost")} for row in rows[2:]}
    assert lost["compile_error"]["boundary"] == "did_not_compile"
    assert lost["compile_error"]["reserve_commit"] == ""                  # full marks
    assert lost["missing_file"]["reserve_commit"] == "missing"
    assert "commit_then_write=timeout" in lost["infinite_loop"]["reserve_commit"]
    assert "commit_then_write=output_cut" in lost["flood"]["reserve_commit"]
    assert "commit_then_write=access_violation" in lost["forgot_commit"]["reserve_commit"]
    assert "echo_random_word=not_run" in lost["forgot_commit"]["reserve_commit"]
    for student in SCORES:
        for t in results(graded, student)["tests"]:
            outcome = t["extra_data"]["outcome"]
            assert outcome in EXPLANATIONS, (student, t["name"], outcome)
            assert t["extra_data"]["meaning"], (student, t["name"])
    fault = case_of(graded, "forgot_commit", "reserve_commit/commit_then_write")
    assert fault["extra_data"]["outcome"] == "access_violation"
    assert "wrote memory it may not touch" in fault["output"]
    typo = case_of(graded, "compile_error", "boundary/walk")
    assert typo["extra_data"]["meaning"] == EXPLANATIONS["did_not_compile"]


def test_results_json_follows_gradescopes_schema(graded):
    for student in SCORES:
        data = results(graded, student)
        assert {"score", "max_score", "execution_time", "output", "tests"} <= set(data)
        assert data["score"] == sum(t["score"] for t in data["tests"])
        assert data["max_score"] == sum(t["max_score"] for t in data["tests"])
        for t in data["tests"]:
            assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
            assert t["status"] in ("passed", "failed") and t["visibility"] == "visible"
            assert 0 <= t["score"] <= t["max_score"]


def test_junit_has_a_testcase_per_case(graded):
    root = ET.parse(graded / "wrong_address" / "junit.xml").getroot()
    failures = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failures == ["reserve_only_faults"]
    assert int(root.get("tests")) == len(results(graded, "wrong_address")["tests"])


def test_the_class_report_is_one_static_page(graded):
    page = (graded / "report.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "reserve_commit/echo_random_word" in page           # among the cases missed most
    for student in SCORES:
        assert f'href="{student}/details.html"' in page
        assert (graded / student / "details.html").exists()


def test_one_submission_exit_status(tmp_path, runner, build_dir):
    common = ["--out", str(tmp_path / "out"), "--timeout", TIMEOUT, "--build", str(build_dir)]
    wrong = str(submission("wrong_address", tmp_path / "class"))
    assert grade.main(["--submission", wrong, "--lab", "reserve_commit", *common], runner=runner) == 1
    assert json.loads((tmp_path / "out" / "results.json").read_text())["score"] == 16
    reference = str(ROOT / "labs")
    assert grade.main(["--submission", reference, "--lab", "reserve_commit", *common], runner=runner) == 0
    assert grade.main(["--submission", str(tmp_path / "nowhere"), *common], runner=runner) == 2
    assert grade.main(["--submission", wrong, "--case", "reserve_commit/usage", *common], runner=runner) == 0


def test_one_mistake_in_a_whole_submission_is_a_short_report(tmp_path, runner, build_dir, capsys):
    """Every lab handed in, one mistake: the report a student reads fits on a screen or two
    and names the case, the line that differs and the hint for that mistake."""
    folder = tmp_path / "student"
    shutil.copytree(ROOT / "labs", folder, ignore=shutil.ignore_patterns("*.md", "lab.h"))
    name, text = one_mistake("wrong_flag")
    (folder / name).write_text(text)
    status = grade.main(["--submission", str(folder), "--out", str(tmp_path / "out"), "--timeout",
                         TIMEOUT, "--build", str(build_dir), "--seed", "4242"], runner=runner)
    report = capsys.readouterr().out
    assert status == 1 and len(report.splitlines()) <= 60, report
    assert "commit_then_write" in report and "expected: state:      MEM_COMMIT, PAGE_READWRITE" in report
    assert "PAGE_READONLY: the protection is VirtualAlloc's 4th argument" in report
    assert report.count("full marks") == 12


def test_no_compiler_is_exit_2(tmp_path, runner, build_dir, monkeypatch, capsys):
    monkeypatch.setenv("CC", "no-such-compiler-gcc")
    results_file = tmp_path / "results.json"
    assert grade.main(["--build", str(build_dir), "--out", str(tmp_path), "--results", str(results_file)],
                      runner=runner) == 2
    assert "the compiler no-such-compiler-gcc is not installed" in capsys.readouterr().err
    assert "could not run" in json.loads(results_file.read_text())["output"]


PEEKER = r"""/* A submission that looks for what it must not see: the hidden cases, another student's
 * file, the public cases. Each path: OPENED and its first line, or refused. */
#include <stdio.h>

int main(void)
{
    static const char *paths[] = { %s };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        FILE *f = fopen(paths[i], "r");
        char line[256] = "";
        if (f != NULL && fgets(line, sizeof line, f) == NULL)
            line[0] = 0;
        printf("read %%s: %%s %%s\n", paths[i], f != NULL ? "OPENED" : "refused", line);
        if (f != NULL)
            fclose(f);
    }
    return 0;
}
"""


def test_a_graded_submission_sees_no_hidden_case_and_no_other_submission(tmp_path, runner, build_dir):
    """Grading runs every program through the sandbox (Runner.run): a submission that opens
    the hidden cases, another student's file and expected/ by their full paths finds none."""
    if runner.sandbox is None:
        pytest.skip("SANDBOX=0: submissions run unsandboxed and can read anything you can")
    from .machine import windows_path
    hidden = tmp_path / "hidden"
    shutil.copytree(HERE / "hidden", hidden)
    class_dir = tmp_path / "class"
    (class_dir / "victim").mkdir(parents=True)
    victim = class_dir / "victim" / "reserve_commit.c"
    victim.write_text("/* victim-secret-6f1d */\n" + (ROOT / "labs" / "reserve_commit.c").read_text())
    targets = [hidden / "reserve_commit.toml", victim, ROOT / "expected" / "reserve_commit.toml"]
    quoted = ", ".join('"' + windows_path(p).replace("\\", "\\\\") + '"' for p in targets)
    (class_dir / "peeker").mkdir()
    (class_dir / "peeker" / "reserve_commit.c").write_text(PEEKER % quoted)
    out = tmp_path / "grade"
    status = grade_all.main(["--all", str(class_dir), "--out", str(out), "--hidden", str(hidden),
                         "--lab", "reserve_commit", "--timeout", TIMEOUT, "--seed", "7",
                         "--build", str(build_dir)], runner=runner)
    assert status == 0
    records = [p.read_text() for p in (out / "peeker" / "cases").rglob("*.txt")]
    assert records, "no case of the peeker was run"
    everything = "\n".join(records) + (out / "peeker" / "results.json").read_text()
    for path in targets:
        assert f"read {windows_path(path)}: refused" in records[0], records[0]
    assert "OPENED" not in everything
    assert "victim-secret-6f1d" not in everything and "An instructor's hidden cases" not in everything
    assert results(out, "victim")["score"] == results(out, "victim")["max_score"]


def test_the_progress_line_says_how_long_is_left():
    assert grade_all.time_left(130, 26, 100) == " (2 min 10 s so far, about 6 min 10 s left)"
    assert grade_all.time_left(5.2, 1, 3) == " (5 s so far, about 10 s left)"
    assert grade_all.time_left(504, 100, 100) == " (8 min 24 s in all)"
