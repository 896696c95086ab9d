"""ntstatus: the exceptions the labs meet, once: code, name, the case file's word, Wine's words.

A case says `outcome = "guard page"`; lab.h's reporter prints STATUS_GUARD_PAGE_VIOLATION
(0x80000001); Wine, when nothing handled it, names some exceptions in its own words
("wine: Unhandled division by zero"). All three are the same code, found here.
"""
from __future__ import annotations

from typing import NamedTuple


class Status(NamedTuple):
    code: int           # the NTSTATUS
    name: str           # as winnt.h and lab.h spell it
    word: str           # in a case file's `outcome`, and in an Outcome's label (spaces -> _)
    wine: str = ""      # how Wine's "Unhandled ..." line names it, when not by its number
    own_label: bool = True  # an Outcome label of its own (access_violation); else "exception"


TABLE = (
    Status(0xC0000005, "EXCEPTION_ACCESS_VIOLATION", "access violation"),
    Status(0x80000001, "STATUS_GUARD_PAGE_VIOLATION", "guard page"),
    Status(0xC00000FD, "EXCEPTION_STACK_OVERFLOW", "stack overflow", "stack overflow"),
    Status(0xC0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO", "divide by zero", "division by zero"),
    Status(0xC000001D, "EXCEPTION_ILLEGAL_INSTRUCTION", "illegal instruction", "illegal instruction"),
    Status(0xC0000096, "EXCEPTION_PRIV_INSTRUCTION", "privileged instruction", "privileged instruction", False),
    Status(0xC0000006, "EXCEPTION_IN_PAGE_ERROR", "in-page error", own_label=False),
    Status(0xC0000409, "STATUS_STACK_BUFFER_OVERRUN", "stack buffer overrun", own_label=False),
)
ACCESS_VIOLATION = 0xC0000005

BY_CODE = {s.code: s for s in TABLE}
BY_WORD = {s.word: s.code for s in TABLE}
BY_WINE_WORDS = {s.wine: s.code for s in TABLE if s.wine}


def word(code: int) -> str:
    """The case file's word for code ("access violation"), or "" for one not in the table."""
    status = BY_CODE.get(code)
    return status.word if status else ""


def label(code: int) -> str:
    """An Outcome's label for an exception: its own (access_violation), else "exception"."""
    status = BY_CODE.get(code)
    return status.word.replace(" ", "_") if status and status.own_label else "exception"
