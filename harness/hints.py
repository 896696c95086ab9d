"""hints: the hint for the mistake made, not one per case.

A case may carry mistakes (`[[case.mistake]]` in expected/, see expected/README.md): each a
hint with the condition it answers, an outcome, a text seen in the output, a line of the
output that differs from the expected one. choose() gives the first whose condition holds for
this run, else the case's own hint; in the student's language (i18n.language()).
"""
from __future__ import annotations

from .i18n import pick
from .match import outcome_matches

WRONG_MARKS = "!+"      # the program's line that did not match: wrong, or not expected


def differing_lines(verdict) -> list:
    """The program's lines that did not match what the case expects (standard output, then
    standard error when the case checks it)."""
    if verdict is None or verdict.result is None:
        return []
    rows = verdict.result.stdout_rows + verdict.result.stderr_rows
    return [row.got for row in rows if row.mark in WRONG_MARKS and row.got is not None]


def applies(mistake, outcome, verdict) -> bool:
    """Every condition the mistake names holds for this run."""
    if mistake.outcome is not None and (outcome is None or not outcome_matches(mistake.outcome, outcome)):
        return False
    if mistake.seen is not None and (outcome is None or not any(
            mistake.seen in text for text in (outcome.stdout, outcome.stderr))):
        return False
    if mistake.differs is not None and not any(mistake.differs in line
                                               for line in differing_lines(verdict)):
        return False
    return True


def choose(case, outcome=None, verdict=None, lang=None) -> str:
    """The hint a student reads for this run of case: the first mistake that applies, or
    the case's own hint (none applies, or the case passed)."""
    if verdict is None or not verdict.passed:
        for mistake in case.mistakes:
            if applies(mistake, outcome, verdict):
                return pick(mistake.hint, mistake.it, lang)
    return pick(case.hint, case.hint_it, lang)
