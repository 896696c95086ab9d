"""outcome: how a run ended, as a small value, and how that is known (classify).

  exit        it returned or called exit: `code` is the status
  exception   an exception ended it: `code` is the NTSTATUS (0xC0000005, ...), `access` and
              `address` are set for an access violation, from whichever report there is:
                - lab.h's reporter on stderr:  fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) writing 0x...
                - Wine's unhandled-exception line:  wine: Unhandled page fault on write access to ...
                - on Windows, the exit status itself (0xC0000005); the address only from lab.h
  abort       abort() ended it (status 3), known from a line on stderr (see classify)
  timeout     still running after the timeout: killed
  output_cut  printed more than the output limit: killed, output kept up to the limit
  limit       killed at a limit: `limit` says which ("cpu" or "processes")
  signal      (a native Linux program) a signal ended it: `code` is the signal number

Under Wine the exit status is only the low byte of the code (0xC0000005 -> 5), so a status
alone never makes an exception there: a report line must name it. classify() is pure: the
table of harness/tests/test_outcomes.py checks it without running anything. What an outcome
means in words is explain.py's.
"""
from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from . import ntstatus
from .i18n import N_
from .ntstatus import ACCESS_VIOLATION, BY_WINE_WORDS

ACCESS_WORDS = {"read": "reading", "write": "writing", "execute": "executing"}

LAB_FAULT = re.compile(r"^fault: \w+ \(0x([0-9A-Fa-f]{8})\) "
                       r"(?:(reading|writing|executing|accessing) (0x[0-9A-Fa-f]+)|at instruction)", re.M)
LINUX_FAULT = re.compile(r"^fault: SIGSEGV \(\w+\) (reading|writing|executing|accessing) "
                         r"(0x[0-9A-Fa-f]+)", re.M)
WINE_PAGE_FAULT = re.compile(r"^wine: Unhandled page fault on (read|write|execute) access to "
                             r"(?:0x)?([0-9A-Fa-f]+)", re.M)
WINE_OTHER = re.compile(r"^wine: Unhandled (" + "|".join(BY_WINE_WORDS) + r")", re.M)
WINE_EXCEPTION = re.compile(r"^wine: Unhandled exception 0x([0-9A-Fa-f]+)", re.M)
# abort() in msvcrt (what MinGW links) raises SIGABRT and exits with status 3. Its own message
# goes to the console, not to stderr, so under Wine with pipes it is silent: only these lines
# tell it from exit(3). lab.h's reporter prints the first; a failed assert() the second.
ABORT_LINE = re.compile(r"^(abort: abort\(\) was called|Assertion failed[:!])", re.M)
ABORT_STATUS = 3


@dataclass(frozen=True)
class Outcome:
    kind: str                   # exit | exception | abort | timeout | output_cut | limit | signal
    code: int | None            # exit status, or exception code, or signal number
    access: str | None          # reading | writing | executing, for access violations
    address: int | None         # the address the access was refused at
    stdout: str
    stderr: str
    seconds: float
    command: tuple
    stdin: str
    platform: str               # wine | windows | linux
    source: str                 # how the kind was known, in words
    limit: str | None = None    # the limit that was hit: "cpu", "processes", "time", "output"
    limit_value: str = ""       # that limit, in words ("10 s", "1 MiB")
    sandbox: str = ""           # where it ran and with which limits, in words

    @property
    def label(self) -> str:
        """The outcome's name for results.json and the CSV: a key of explain.EXPLANATIONS."""
        if self.kind == "exit":
            if self.code == 0:
                return "exit"
            return "nonzero_exit_3" if self.code == ABORT_STATUS and self.platform != "linux" \
                else "nonzero_exit"
        if self.kind == "exception":
            return ntstatus.label(self.code)
        if self.kind == "limit":
            return {"cpu": "cpu_limit", "processes": "process_limit"}.get(self.limit, "cpu_limit")
        if self.kind == "signal" and self.code == signal.SIGSEGV:
            return "segmentation_fault"
        return self.kind


def signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return str(number)


def classify(status: int, stdout: str, stderr: str, platform: str):
    """(kind, code, access, address, source) from how a process ended and what it said."""
    if status == 0:
        return "exit", 0, None, None, N_("exit status")
    if platform == "linux" and status in (-signal.SIGSEGV, 128 + signal.SIGSEGV):
        # Killed by SIGSEGV (through bwrap, or a shell: 128 + 11), or a handler's report and
        # _exit(139), as posix_vm does: a segmentation fault, at the address it reports.
        m = LINUX_FAULT.search(stderr)
        if m:
            access = m.group(1) if m.group(1) != "accessing" else None
            return "signal", signal.SIGSEGV, access, int(m.group(2), 16), N_("the program's SIGSEGV report")
        return "signal", signal.SIGSEGV, None, None, N_("status 139: SIGSEGV")
    if status < 0:
        return "signal", -status, None, None, N_("killed by a signal")
    m = LAB_FAULT.search(stderr)
    if m:
        code = int(m.group(1), 16)
        if status in (code, code & 0xFF):
            access = m.group(2) if m.group(2) != "accessing" else None
            address = int(m.group(3), 16) if m.group(3) else None
            return "exception", code, access, address, N_("lab.h's fault report")
    if platform == "wine":
        m = WINE_PAGE_FAULT.search(stderr)
        if m:
            return ("exception", ACCESS_VIOLATION, ACCESS_WORDS[m.group(1)], int(m.group(2), 16),
                    N_("Wine's unhandled page fault line"))
        m = WINE_OTHER.search(stderr)
        if m:
            return "exception", BY_WINE_WORDS[m.group(1)], None, None, N_("Wine's unhandled exception line")
        m = WINE_EXCEPTION.search(stderr)
        if m:
            return "exception", int(m.group(1), 16), None, None, N_("Wine's unhandled exception line")
    if platform in ("wine", "windows") and status == ABORT_STATUS:
        m = ABORT_LINE.search(stderr)
        if m:
            what = "lab.h's abort report" if m.group(1).startswith("abort") else "the assert() message"
            return "abort", status, None, None, f"status 3 and {what}"
    if platform == "windows" and status >= 0x80000000:
        return "exception", status, None, None, N_("exit status")
    return "exit", status, None, None, N_("exit status")


