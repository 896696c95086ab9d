"""hints.choose: the hint for the mistake made, on plain tables of runs (the graded runs of
real mistakes are in test_grade.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from .. import hints
from ..cases import Mistake, parse_outcome
from ..match import Result, Row, Verdict
from ..outcome import Outcome

CASE = SimpleNamespace(hint="commit the reserved page", hint_it="impegnate la pagina riservata",
                       mistakes=(
    Mistake("the 4th argument is the protection", "il 4° argomento è la protezione",
            differs="PAGE_READONLY"),
    Mistake("MEM_RELEASE takes size 0", "MEM_RELEASE vuole dimensione 0",
            seen="ERROR_INVALID_PARAMETER", outcome=parse_outcome("exit 2")),
    Mistake("it never ended", "non è mai terminato", outcome=parse_outcome("timeout")),
))


def outcome(kind="exit", code=0, access=None, stdout="", stderr=""):
    return Outcome(kind, code, access, None, stdout, stderr, 0.1, ("lab.exe",), "", "wine", "test")


def verdict(*rows, passed=False):
    result = Result("", True, not rows, tuple(Row(*r) for r in rows), True, (), (), {})
    return Verdict(passed, result, (result,))


STATE_RW = "state:      MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE"
STATE_RO = "state:      MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE"
RUNS = [
    ("a differing line names the protection",
     outcome("exception", 0xC0000005, "writing"), verdict(("!", STATE_RO, STATE_RW)),
     "the 4th argument is the protection"),
    ("the same text on a line that matched is no mistake",
     outcome("exception", 0xC0000005, "writing"), verdict(("=", STATE_RO, STATE_RO), ("-", None, "you typed:")),
     "commit the reserved page"),
    ("an extra line counts as differing",
     outcome(), verdict(("+", "debug: PAGE_READONLY", None)), "the 4th argument is the protection"),
    ("an error name seen on stderr, with its outcome",
     outcome("exit", 2, stderr="VirtualFree failed: ERROR_INVALID_PARAMETER (87)\n"), verdict(),
     "MEM_RELEASE takes size 0"),
    ("the error name, but another outcome: not that mistake",
     outcome("exit", 0, stdout="result: FALSE, ERROR_INVALID_PARAMETER (87)\n"), verdict(("!", "x", "y")),
     "commit the reserved page"),
    ("an outcome alone", outcome("timeout", None), verdict(), "it never ended"),
    ("none applies: the case's own hint", outcome("exit", 1), verdict(("!", "x", "y")),
     "commit the reserved page"),
    ("the first that applies wins",
     outcome("timeout", None), verdict(("!", STATE_RO, STATE_RW)), "the 4th argument is the protection"),
    ("a passed case gets its own hint", outcome("timeout", None), verdict(passed=True),
     "commit the reserved page"),
]


@pytest.mark.parametrize("run, judged, hint", [r[1:] for r in RUNS], ids=[r[0] for r in RUNS])
def test_the_first_mistake_that_applies_gives_the_hint(run, judged, hint):
    assert hints.choose(CASE, run, judged, lang="en") == hint


def test_the_hint_in_italian():
    run, judged = outcome("exception", 0xC0000005, "writing"), verdict(("!", STATE_RO, STATE_RW))
    assert hints.choose(CASE, run, judged, lang="it") == "il 4° argomento è la protezione"
    assert hints.choose(CASE, outcome("exit", 1), verdict(), lang="it") == "impegnate la pagina riservata"


def test_without_a_run_the_case_hint():
    """Grading's cases that never ran (missing, not compiled, parent failed)."""
    assert hints.choose(CASE, lang="en") == "commit the reserved page"
