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


def test_broken_toml_names_the_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace('name = "one"', 'name = "one'))
    assert "demo.toml:4: not valid TOML" in message


def test_unknown_key_names_the_case_and_the_known_keys(tmp_path):
    message = error_of(tmp_path, GOOD.replace('checks', 'chekcs'))
    assert "demo.toml:4: case one: unknown key(s) chekcs" in message and "checks" in message


def test_a_check_on_a_value_never_captured(tmp_path):
    message = error_of(tmp_path, GOOD.replace('"n > 0"', '"m > 0"'))
    assert "check 'm > 0' uses m, never captured" in message


def test_a_bad_placeholder(tmp_path):
    message = error_of(tmp_path, GOOD.replace("{num:n}", "{number:n}"))
    assert "unknown placeholder {number:n}" in message


def test_a_check_may_not_call_anything(tmp_path):
    message = error_of(tmp_path, GOOD.replace('"n > 0"', '"__import__(n)"'))
    assert "Call is not allowed" in message or "not allowed" in message


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


def test_a_bad_random_kind(tmp_path):
    message = error_of(tmp_path, TWO.replace('random = "word"', 'random = "number"'))
    assert "demo.toml:11: case two: stdin must be" in message and 'random = "word"' in message


def test_a_parent_must_be_an_earlier_case(tmp_path):
    message = error_of(tmp_path, TWO.replace('parent = "one"', 'parent = "three"'))
    assert "case two: parent 'three' is not an earlier case of demo" in message


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
