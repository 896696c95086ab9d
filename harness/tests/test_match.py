"""Matching output against expected lines: placeholders, captures, `...`, annotation."""
from __future__ import annotations

from ..match import annotate, full_match
from ..pattern import compile_block

EXPECT = compile_block("""
reserved:   {addr:base}
...
stored at:  {addr:base}
""")


def test_captures_must_agree():
    assert full_match(EXPECT, ["reserved:   0x10000", "x", "stored at:  0x10000"], {}) == {"base": 0x10000}
    assert full_match(EXPECT, ["reserved:   0x10000", "stored at:  0x20000"], {}) is None


def test_ellipsis_takes_zero_or_more_lines():
    assert full_match(EXPECT, ["reserved:   0x1", "stored at:  0x1"], {}) is not None
    assert full_match(EXPECT, ["reserved:   0x1", "a", "b", "stored at:  0x1"], {}) is not None


def test_extra_and_missing_lines_are_marked():
    block = compile_block("one\ntwo\nthree")
    rows, _ = annotate(block, ["one", "three", "four"], {})
    assert [r.mark for r in rows] == ["=", "-", "=", "+"]


def test_a_wrong_capture_says_both_values():
    rows, _ = annotate(EXPECT, ["reserved:   0x10000", "stored at:  0x20000"], {})
    assert rows[-1].mark == "!" and "0x20000 here but 0x10000 before" in rows[-1].why


def test_each_word_of_stdin_is_a_capture():
    from types import SimpleNamespace
    from ..match import predefined
    outcome = SimpleNamespace(address=None, kind="exit", code=0)
    words = predefined(SimpleNamespace(stdin="alpha beta gamma\n"), outcome)
    assert (words["input"], words["input1"], words["input2"], words["input3"]) == ("alpha", "alpha", "beta", "gamma")
    assert "input4" not in words
    block = compile_block("got {word:input2}")
    assert full_match(block, ["got beta"], words) is not None
    assert full_match(block, ["got gamma"], words) is None


def test_a_number_may_carry_its_sign():
    """The labs print a change with its sign (`working set +8 KB`, `-4 KB`): {num} reads both."""
    block = compile_block("cost: {num:change} KB")
    assert full_match(block, ["cost: +8 KB"], {}) == {"change": 8}
    assert full_match(block, ["cost: -4 KB"], {}) == {"change": -4}
    assert full_match(block, ["cost: 12 KB"], {}) == {"change": 12}
    assert full_match(block, ["cost: n/a KB"], {}) is None
