"""Case files: what a mistake in one looks like (file, line, what is wrong)."""
from __future__ import annotations

import pytest

from ..cases import CaseError, load_lab, parse_outcome

GOOD = '''title = "t"

[[case]]
name = "one"
expect = """
value: {num:n}
"""
checks = ["n > 0"]
'''


def write(tmp_path, text):
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


def error_of(tmp_path, text) -> str:
    with pytest.raises(CaseError) as e:
        load_lab(write(tmp_path, text))
    return str(e.value)


def test_a_good_file_loads(tmp_path):
    lab = load_lab(write(tmp_path, GOOD))
    assert [c.name for c in lab.cases] == ["one"] and lab.cases[0].where.endswith("demo.toml:4")


# A mistake in a case file, as the edit that makes it (of GOOD, or of TWO below), and what the
# message must say: the file and line, the case, what is wrong.
FILE_MISTAKES = {
    "broken_toml": ("GOOD", 'name = "one"', 'name = "one', ["demo.toml:4: not valid TOML"]),
    "unknown_key": ("GOOD", "checks", "chekcs",
                    ["demo.toml:4: case one: unknown key(s) chekcs", "checks"]),
    "never_captured": ("GOOD", '"n > 0"', '"m > 0"', ["check 'm > 0' uses m, never captured"]),
    "bad_placeholder": ("GOOD", "{num:n}", "{number:n}", ["unknown placeholder {number:n}"]),
    "a_call": ("GOOD", '"n > 0"', '"__import__(n)"', ["not allowed"]),
    "bad_random_kind": ("TWO", 'random = "word"', 'random = "number"',
                        ["demo.toml:11: case two: stdin must be", 'random = "word"']),
    "parent_not_earlier": ("TWO", 'parent = "one"', 'parent = "three"',
                           ["case two: parent 'three' is not an earlier case of demo"]),
}


@pytest.mark.parametrize("mistake", FILE_MISTAKES)
def test_a_mistake_in_a_case_file_is_named(tmp_path, mistake):
    base, old, new, said = FILE_MISTAKES[mistake]
    text = {"GOOD": GOOD, "TWO": TWO}[base]
    assert text.count(old) >= 1, f"{mistake}: {base} no longer holds {old!r}"
    message = error_of(tmp_path, text.replace(old, new, 1))
    assert all(words in message for words in said), message


def test_outcomes():
    assert str(parse_outcome("access violation writing")) == "access violation writing"
    assert parse_outcome("exit 2").code == 2
    assert parse_outcome("exception 0xC0000094").code == 0xC0000094
    with pytest.raises(ValueError):
        parse_outcome("crashed")


TWO = GOOD + '''
[[case]]
name = "two"
parent = "one"
stdin = { random = "word" }
expect = """
you typed: {word:input}
"""
'''


def test_random_stdin_is_drawn_from_the_seed(tmp_path):
    from ..cases import with_input
    case = load_lab(write(tmp_path, TWO)).cases[1]
    assert case.stdin == "" and case.random_stdin == "word" and case.parent == "one"
    drawn = with_input(case, 1234)
    assert drawn.seed == 1234 and drawn.stdin.endswith("\n") and drawn.stdin[:-1].isalpha()
    assert with_input(case, 1234).stdin == drawn.stdin            # replayable
    assert {with_input(case, s).stdin for s in range(20)} != {drawn.stdin}


def test_random_words_are_three_on_a_line(tmp_path):
    from ..cases import with_input
    case = load_lab(write(tmp_path, TWO.replace('random = "word"', 'random = "words"'))).cases[1]
    drawn = with_input(case, 1234).stdin
    assert drawn.endswith("\n") and len(drawn.split()) == 3 and all(w.isalpha() for w in drawn.split())
    assert with_input(case, 1234).stdin == drawn


def test_hidden_cases_follow_the_public_ones(tmp_path):
    from ..cases import load_all
    (tmp_path / "public").mkdir()
    (tmp_path / "hidden").mkdir()
    (tmp_path / "public" / "demo.toml").write_text(GOOD)
    (tmp_path / "hidden" / "demo.toml").write_text(TWO.split("\n", 1)[1].replace(GOOD.split("\n", 1)[1], ""))
    lab, = load_all(tmp_path / "public", hidden=tmp_path / "hidden")
    assert [(c.name, c.hidden, c.visibility) for c in lab.cases] == \
        [("one", False, "visible"), ("two", True, "after_published")]
    (tmp_path / "hidden" / "demo.toml").write_text(GOOD)
    with pytest.raises(CaseError, match="a second case named 'one'"):
        load_all(tmp_path / "public", hidden=tmp_path / "hidden")
    (tmp_path / "hidden" / "demo.toml").unlink()
    (tmp_path / "hidden" / "other.toml").write_text(GOOD)
    with pytest.raises(CaseError, match="no lab 'other'"):
        load_all(tmp_path / "public", hidden=tmp_path / "hidden")


MISTAKES = GOOD + '''hint = "the general hint"
hint_it = "il consiglio generale"

[[case.mistake]]
differs = "PAGE_READONLY"
hint = "the protection"
it = "la protezione"

[[case.mistake]]
outcome = "access violation writing"
seen = "MEM_RESERVE"
hint = "commit it"
it = "impegnatela"
'''


def test_mistakes_load_with_their_conditions(tmp_path):
    [case] = load_lab(write(tmp_path, MISTAKES)).cases
    assert [(m.differs, m.seen, str(m.outcome) if m.outcome else None, m.hint, m.it)
            for m in case.mistakes] == [
        ("PAGE_READONLY", None, None, "the protection", "la protezione"),
        (None, "MEM_RESERVE", "access violation writing", "commit it", "impegnatela")]
    assert (case.hint, case.hint_it) == ("the general hint", "il consiglio generale")


@pytest.mark.parametrize("edit, line, message", [
    (('seen = "MEM_RESERVE"\n', 'seem = "MEM_RESERVE"\n'), 17, "mistake 2: unknown key(s) seem"),
    (('differs = "PAGE_READONLY"\n', ''), 12, "mistake 1: needs a condition: outcome, seen, differs"),
    (('outcome = "access violation writing"', 'outcome = "access violation scribbling"'), 17,
     "mistake 2: outcome 'access violation scribbling' is not one of"),
    (('hint = "commit it"\n', ''), 17, "mistake 2: needs hint"),
    (('differs = "PAGE_READONLY"', 'differs = ""'), 12, "mistake 1: differs must be a non-empty string"),
    (('hint = "the general hint"\nhint_it = "il consiglio generale"\n', ''), 4,
     "a case with [[case.mistake]] needs its own hint too"),
    (('hint = "the general hint"\nhint_it', 'hint_it'), 4, "hint_it without hint"),
], ids=["unknown key", "no condition", "bad outcome", "no hint", "empty text", "no general hint",
        "Italian alone"])
def test_a_bad_mistake_names_its_line(tmp_path, edit, line, message):
    text = MISTAKES.replace(*edit)
    assert text != MISTAKES
    assert f"demo.toml:{line}: case one: {message}" in error_of(tmp_path, text)


def test_every_case_speaks_italian():
    """Every lab's title, every hint, demo and lesson of a case, and every mistake's hint in
    expected/ has its Italian: a student reading Italian never meets an English hint."""
    from pathlib import Path
    from .. import cases
    missing = []
    for lab in cases.load_all(Path(__file__).resolve().parents[2] / "expected"):
        if not lab.title_it:
            missing.append(f"{lab.path}: title_it")
        for case in lab.cases:
            for key in ("hint", "demo", "lesson"):
                if getattr(case, key) and not getattr(case, f"{key}_it"):
                    missing.append(f"{case.where}: case {case.name}: {key}_it")
            missing += [f"{case.where}: case {case.name}: mistake {i}: it"
                        for i, m in enumerate(case.mistakes, 1) if not m.it]
    assert not missing, f"{len(missing)} text(s) without Italian:\n" + "\n".join(missing)
