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
