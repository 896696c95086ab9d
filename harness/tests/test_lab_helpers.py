"""lab.h's helpers, built into a small program (programs/lab_helpers.c) and run as a lab is.

Two names in one printf each keep their own text (a helper returning one static buffer
prints the second name twice); a mode is chosen and run from a table, and the usage is made
from that table.
"""
from __future__ import annotations

import pytest

USAGE = """\
usage: lab_helpers names
       lab_helpers all
       lab_helpers alone
       lab_helpers count N [M]
  names  two names in one printf
  all    every mode above, in this order (the default)
  alone  only when named: all leaves it out
  count  main runs this one
  a note that ends the usage
"""


@pytest.fixture(scope="module")
def helpers(runner, program):
    exe = program("lab_helpers")
    return lambda *args: runner.run(exe, args, "", 30)


def test_two_names_in_one_printf_are_two_names(helpers):
    outcome = helpers("names")
    assert (outcome.kind, outcome.code) == ("exit", 0), outcome.stderr
    assert outcome.stdout.splitlines() == [
        "== names: two names in one printf",
        "prot: PAGE_READONLY / PAGE_READWRITE | PAGE_GUARD",
        "error: ERROR_ACCESS_DENIED (5) / ERROR_INVALID_ADDRESS (487)"]


@pytest.mark.parametrize("args, lines", [
    ((), ["== names"]),                     # the default: all
    (("all",), ["== names"]),               # every mode above all: not alone
    (("alone",), ["== alone", "alone ran"]),
    (("count", "1"), ["count: 1 -"]),
    (("count", "1", "2"), ["count: 1 2"]),
])
def test_the_mode_argv_names_runs(helpers, args, lines):
    outcome = helpers(*args)
    assert (outcome.kind, outcome.code) == ("exit", 0), outcome.stderr
    got = [line.split(":")[0] if line.startswith("==") else line
           for line in outcome.stdout.splitlines() if not line.startswith(("prot:", "error:"))]
    assert got == lines


@pytest.mark.parametrize("args", [("bogus",), ("",), ("alone", "extra"), ("count",),
                                  ("count", "1", "2", "3"), ("names", "names")])
def test_anything_else_is_the_usage_made_from_the_table(helpers, args):
    outcome = helpers(*args)
    assert (outcome.kind, outcome.code, outcome.stdout) == ("exit", 2, "")
    assert outcome.stderr == USAGE
