"""Hostile compiles: submissions that attack the grader while they are compiled, not run.

Each hands in reserve_commit.c that, were the compiler to run with the grader's view of the
machine, would leak into what grading writes a file it must not see (the hidden cases,
another student's file, a file of the grader's home) through an #include (the compiler's
error quotes it) or an .incbin (the program embeds it and prints it); or would tie up a
worker (#include "/dev/zero"), or make a huge program. Others hand in a link, a folder, a
named pipe or a huge file under the lab's name. All are graded together, as `make grade-all`
does, and each gets its exact score, in bounded time, with nothing from outside its folder
anywhere in what grading writes.

Unsandboxed (SANDBOX=0) these would leak: the module is skipped there, and says why.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from .. import grade_all
from ..results import cell as csv_cell
from ..build import COMPILE_TIMEOUT
from ..submission import SOURCE_LIMIT, read_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LAB = "reserve_commit"
HIDDEN_MARK = "An instructor's hidden cases"        # the first line of hidden/reserve_commit.toml

PRINTS = r"""
extern const char leaked[];
#include <stdio.h>
int main(void) { fputs(leaked, stdout); return 0; }
"""


def incbin(path: str) -> str:
    """A program that embeds path and prints it (NUL-terminated after the file's bytes)."""
    return (f'__asm__(".section .rdata\\n.globl leaked\\nleaked:\\n.incbin \\"{path}\\"\\n'
            f'.byte 0\\n.text");\n' + PRINTS)


def include(path: str) -> str:
    return f'#include "{path}"\nint main(void) {{ return 0; }}\n'


@pytest.fixture(scope="module")
def secrets(tmp_path_factory):
    """The files a submission must never see: the hidden cases, a classmate's lab, a file of
    the grader's home folder. (path, text that must not appear) each."""
    top = tmp_path_factory.mktemp("hostile-compile")
    hidden = top / "hidden"
    shutil.copytree(HERE / "hidden", hidden)
    victim = top / "class" / "victim" / f"{LAB}.c"
    victim.parent.mkdir(parents=True)
    victim_mark = f"victim-secret-{uuid.uuid4().hex}"
    victim.write_text(f"/* {victim_mark} */\n" + (ROOT / "labs" / f"{LAB}.c").read_text())
    home_mark = f"home-secret-{uuid.uuid4().hex}"
    home_file = Path.home() / f".vmlabs-test-{uuid.uuid4().hex}"
    home_file.write_text(f"{home_mark}\n")
    yield top, {"hidden": (hidden / f"{LAB}.toml", HIDDEN_MARK), "victim": (victim, victim_mark),
                "home": (home_file, home_mark)}
    home_file.unlink()


def hostile_class(top: Path, secrets: dict) -> dict:
    """The class folder: student -> what grading must say of their reserve_commit.c."""
    folder = top / "class"
    said = {}

    def hand_in(student, text=None, expect="did_not_compile"):
        (folder / student).mkdir()
        if text is not None:
            (folder / student / f"{LAB}.c").write_text(text)
        said[student] = expect
        return folder / student / f"{LAB}.c"

    for what, (path, _) in secrets.items():
        hand_in(f"include_{what}", include(str(path)))
        hand_in(f"incbin_{what}", incbin(str(path)))
        hand_in(f"link_{what}").symlink_to(path)
    hand_in("dev_zero", include("/dev/zero"))
    hand_in("fill_100mib", '__asm__(".section .rdata\\n.fill 104857600, 1, 0\\n.text");\n'
                           "int main(void) { return 0; }\n", "program_too_large")
    hand_in("huge_array", "char big[200 << 20] = {1};\n"
                          "int main(int argc, char **argv) { (void)argv; return big[argc * 4096]; }\n",
            "program_too_large")
    hand_in("folder_named_like_the_lab").mkdir()
    os.mkfifo(hand_in("named_pipe"))
    hand_in("huge_source", "/* padding */\n" * (SOURCE_LIMIT // 14 + 1))
    # labs/ as a link to the victim's folder: not entered, so the lab is missing.
    hand_in("labs_link", expect="missing")
    (folder / "labs_link" / "labs").symlink_to(folder / "victim")
    said["victim"] = ""
    # A folder name that a spreadsheet would run as a formula; the reference lab, full marks.
    formula = '=HYPERLINK("example.invalid","click")'
    (folder / formula).mkdir()
    shutil.copy(ROOT / "labs" / f"{LAB}.c", folder / formula)
    said[formula] = ""
    return said


@pytest.fixture(scope="module")
def graded(secrets, runner, build_dir, tmp_path_factory):
    if runner.sandbox is None:
        pytest.skip("SANDBOX=0: submissions are compiled unsandboxed and can read anything you can")
    top, files = secrets
    said = hostile_class(top, files)
    out = tmp_path_factory.mktemp("grade")
    status = grade_all.main(["--all", str(top / "class"), "--out", str(out), "--hidden", str(top / "hidden"),
                         "--lab", LAB, "--timeout", "3", "--seed", "11", "--build", str(build_dir)],
                        runner=runner)
    assert status == 0
    return out, said, files


def results(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def test_each_hostile_compile_gets_its_exact_score(graded):
    out, said, _ = graded
    for student, problem in said.items():
        data = results(out, student)
        outcomes = {t["extra_data"]["outcome"] for t in data["tests"]}
        if problem:
            assert data["score"] == 0 and outcomes == {problem}, (student, data["output"])
        else:
            assert data["score"] == data["max_score"] > 0, (student, data["output"])


def test_nothing_from_outside_a_submission_reaches_what_grading_writes(graded):
    out, _, files = graded
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) > 20
    for path in written:
        text = path.read_text(errors="replace")
        for what, (_, mark) in files.items():
            assert mark not in text, f"{what}'s secret is in {path.relative_to(out)}"


def test_a_file_that_is_not_read_says_why(graded):
    out, _, _ = graded
    why = {student: results(out, student)["tests"][0]["output"] for student in
           ("link_victim", "folder_named_like_the_lab", "named_pipe", "huge_source")}
    assert f"{LAB}.c is a symbolic link, not a file: hand in the file {LAB}.c itself" in why["link_victim"]
    assert f"{LAB}.c is a folder, not a file" in why["folder_named_like_the_lab"]
    assert f"{LAB}.c is a named pipe (FIFO), not a file" in why["named_pipe"]
    assert "a file over 256 KiB is not read" in why["huge_source"]
    notes = results(out, "labs_link")["extra_data"]["notes"]
    assert any("labs/ is a symbolic link: not followed" in n for n in notes), notes


def test_a_compile_sees_only_its_own_files(graded):
    """The compiler's messages say the file is not there, where unsandboxed it would quote it."""
    out, _, files = graded
    for what, (path, _) in files.items():
        message = results(out, f"include_{what}")["tests"][0]["output"]
        assert f"{path}: No such file or directory" in message, message
        message = results(out, f"incbin_{what}")["tests"][0]["output"]
        assert f"file not found: {path}" in message, message


def test_an_endless_include_is_stopped_in_bounded_time(graded):
    out, _, _ = graded
    data = results(out, "dev_zero")
    assert "the compiler ran out of memory" in data["tests"][0]["output"] or \
        "still compiling" in data["tests"][0]["output"]
    assert data["execution_time"] < COMPILE_TIMEOUT + 10


def test_a_huge_program_is_refused_with_its_own_outcome(graded):
    out, _, _ = graded
    for student in ("fill_100mib", "huge_array"):
        output = results(out, student)["tests"][0]["output"]
        assert "the program would be larger than 16 MiB" in output, output


def test_a_formula_in_a_folder_name_stays_text_in_the_csv(graded):
    out, _, _ = graded
    rows = (out / "grades.csv").read_text().splitlines()
    assert any(row.startswith('"\'=HYPERLINK(""example.invalid"",""click"")"') for row in rows), rows
    assert not any(row.startswith(("=", '"=')) for row in rows)


def test_grading_another_class_removes_the_first_ones_students(graded, runner, build_dir, tmp_path):
    """build/grade/ shows one class: the students of a class graded before are removed."""
    out, said, _ = graded
    second = tmp_path / "second"
    (second / "victim").mkdir(parents=True)
    shutil.copy(ROOT / "labs" / f"{LAB}.c", second / "victim")
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    status = grade_all.main(["--all", str(second), "--out", str(copy), "--lab", LAB, "--timeout", "3",
                         "--build", str(build_dir)], runner=runner)
    assert status == 0
    students = sorted(p.name for p in copy.iterdir() if (p / "results.json").is_file())
    assert students == ["victim"], students


@pytest.mark.parametrize("make, why", [
    (lambda p: p.symlink_to("/etc/hostname"), "is a symbolic link, not a file"),
    (lambda p: p.mkdir(), "is a folder, not a file"),
    (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a file"),
    (lambda p: p.write_bytes(b"x" * (SOURCE_LIMIT + 1)), "is 256 KiB: a lab's source is under 30 KiB"),
])
def test_read_source_refuses_what_is_not_a_plain_file(tmp_path, make, why):
    path = tmp_path / "boundary.c"
    make(path)
    source = read_source(path)
    assert source.data == b"" and source.refused.startswith(f"boundary.c {why}"), source.refused


def test_read_source_reads_a_file_once_as_bytes(tmp_path):
    path = tmp_path / "boundary.c"
    path.write_bytes(b"int main(void) { return 0; }\n")
    assert read_source(path) == type(read_source(path))("boundary.c", path.read_bytes())


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("alice", "alice"), ("o'neil", "o'neil"), (12, 12),
])
def test_a_csv_cell_that_would_be_a_formula_is_text(value, cell):
    assert csv_cell(value) == cell
