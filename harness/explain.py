"""explain: an Outcome in words, for the student who reads it.

describe(outcome)  what happened to the program ("access violation (0xC0000005) writing 0x...")
meaning(outcome)   what that means, in one line: EXPLANATIONS, by the outcome's label

Every label has its line here, grading's own too (missing, did_not_compile, not_run, ...):
the report, results.json, grades.csv and the class report all say it in these words.
"""
from __future__ import annotations

import signal

from .i18n import N_, _
from .ntstatus import BY_CODE
from .outcome import Outcome, signal_name
from .settings import OUTPUT_LIMIT, mib

# Every way a run can end, by Outcome.label: the one line a student reads in the report,
# results.json and the CSV. "did_not_compile", "program_too_large", "missing" and "not_run" are
# decided by grading (harness/grade.py and the compile in harness/build.py), without a run.
EXPLANATIONS = {
    "exit": N_("the program ended normally, with status 0"),
    "nonzero_exit": N_("the program ended itself with status {code}: it reported an error "
                    "(the labs exit 2 for a usage or API error)"),
    "nonzero_exit_3": N_("the program ended with status 3: it called exit(3), or abort() - under "
                      "Wine abort() also ends a program with status 3 and no message"),
    "access_violation": N_("the program {access} memory it may not touch ({address}): a page that is "
                        "free, only reserved, or protected against that access"),
    "guard_page": N_("the program touched a PAGE_GUARD page and nothing handled the one-shot "
                  "STATUS_GUARD_PAGE_VIOLATION (0x80000001)"),
    "stack_overflow": N_("the stack ran into its guard page (EXCEPTION_STACK_OVERFLOW, 0xC00000FD): "
                      "endless recursion, or a very large local array"),
    "divide_by_zero": N_("an integer division by zero (EXCEPTION_INT_DIVIDE_BY_ZERO, 0xC0000094)"),
    "illegal_instruction": N_("the CPU met an instruction it cannot execute (0xC000001D): a jump "
                           "into data, or __builtin_trap()"),
    "exception": N_("an exception nobody handled ended the program ({code})"),
    "abort": N_("abort() ended the program (directly, or through a failed assert()): it stopped itself"),
    "timeout": N_("still running after {limit}: killed (an endless loop, or waiting for something "
               "that never comes)"),
    "output_cut": N_("printed more than {limit}: the rest was cut and the program stopped"),
    "cpu_limit": N_("used more than {limit} of CPU time: killed (busy threads, or an endless loop)"),
    "process_limit": N_("had more than {limit} at once: killed (CreateProcess in a loop?)"),
    "signal": N_("a signal ended the program: {code}"),
    "segmentation_fault": N_("SIGSEGV: the program {access} memory it may not touch ({address}): "
                          "not mapped, or mapped PROT_NONE or read-only"),
    "did_not_compile": N_("the source did not compile: the compiler's message says where and why"),
    "program_too_large": N_("the compiler was stopped: the program would be larger than 16 MiB "
                         "(an .incbin of a large file, or a huge initialised array?)"),
    "missing": N_("no file was handed in for this lab"),
    "not_run": N_("not run: it counts only once the case it depends on (its parent) passes"),
}

ACCESS_VERBS = {"reading": N_("read"), "writing": N_("wrote"), "executing": N_("executed code in")}


def meaning(outcome: Outcome) -> str:
    """One line a student understands: what this outcome means."""
    code = outcome.code
    if outcome.kind == "exception" and code is not None:
        code = f"0x{code:08X}"
    elif outcome.kind == "signal" and code is not None:
        code = signal_name(code)
    address = f"0x{outcome.address:016x}" if outcome.address is not None else _("an address")
    access = _(ACCESS_VERBS.get(outcome.access, N_("accessed")))
    return _(EXPLANATIONS[outcome.label]).format(code=code, access=access, address=address,
                                                 limit=outcome.limit_value or _("its limit"))


def describe(outcome: Outcome) -> str:
    """One line a student can read: what happened to the program."""
    if outcome.kind == "exit":
        return f"exit {outcome.code}"
    if outcome.kind == "abort":
        return _("abort() (status {code})").format(code=outcome.code)
    if outcome.kind == "timeout":
        # The limit, not the time measured: the sandbox's watch loop (every 50 ms) and
        # the kill end a run a little after it, more so on a busy machine.
        return _("timeout: still running after {limit}, killed").format(
            limit=outcome.limit_value or f"{outcome.seconds:.1f} s")
    if outcome.kind == "output_cut":
        return _("output cut: more than {limit} printed, killed").format(
            limit=outcome.limit_value or mib(OUTPUT_LIMIT))
    if outcome.kind == "limit":
        what = {"cpu": N_("CPU time"), "processes": N_("processes")}.get(outcome.limit, outcome.limit)
        return _("killed at the {what} limit ({value})").format(what=_(what), value=outcome.limit_value)
    if outcome.kind == "signal" and outcome.code == signal.SIGSEGV:
        return "segmentation fault (SIGSEGV)" + (f" {outcome.access}" if outcome.access else "") + \
            (f" 0x{outcome.address:016x}" if outcome.address is not None else "")
    if outcome.kind == "signal":
        return _("killed by signal {name}").format(name=signal_name(outcome.code))
    status = BY_CODE.get(outcome.code)
    text = f"{status.word if status else 'exception'} (0x{outcome.code:08X})"
    if outcome.access:
        text += f" {outcome.access}"
    if outcome.address is not None:
        text += f" 0x{outcome.address:016x}"
    return text
