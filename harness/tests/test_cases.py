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
MISTAKES = {
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


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_in_a_case_file_is_named(tmp_path, mistake):
    base, old, new, said = MISTAKES[mistake]
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
