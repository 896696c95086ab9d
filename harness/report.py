"""report: a Verdict as text a student can act on.

What ran, what was expected and what happened, the output with every line marked against
the expected line, the checks with the values they used, and the case's hint.
"""
from __future__ import annotations

import re
import shlex

from .explain import describe, meaning

MAX_ROWS = 80
LEGEND = "= matched   ! wrong   - missing   + extra   ~ under ..."
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def safe(text: str) -> str:
    """Control characters (terminal escapes among them) shown, never obeyed."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def short(text: str, limit: int = 60) -> str:
    shown = repr(text if len(text) <= limit else text[:limit])
    return shown if len(text) <= limit else f"{shown}... ({len(text)} bytes)"


def command_line(outcome) -> str:
    return " ".join(shlex.quote(part) for part in outcome.command)


def expected_outcome(case, verdict) -> str:
    if verdict.result is None:
        return str(case.variants[0].outcome)
    return str(next(v.outcome for v in case.variants if v.name == verdict.result.name))


def variant_of(case, verdict):
    """The Variant that matched (or came nearest), None when none could be tried."""
    if verdict.result is None:
        return None
    return next((v for v in case.variants if v.name == verdict.result.name), None)


def note_lines(case, verdict) -> list:
    """Whose behaviour the matched (or nearest) variant is, and what says so."""
    v = variant_of(case, verdict)
    if v is None:
        return []
    return ([f"platform: {v.platform_note}"] if v.platform_note else []) + \
           ([f"source:   {v.source}"] if v.source else [])


def rows_text(rows) -> list:
    lines = []
    for row in rows[:MAX_ROWS]:
        if row.mark in "=~+":
            lines.append(f"  {row.mark} {safe(row.got)}")
            if row.mark == "+" and row.why:
                lines[-1] += f"      <- {row.why}"
        elif row.mark == "-":
            lines.append(f"  - {safe(row.expected)}      <- {row.why}")
        else:
            lines.append(f"  ! {safe(row.got)}")
            lines.append(f"      expected: {safe(row.expected)}")
            if row.why and row.why != "different text":
                lines.append(f"      {row.why}")
    if len(rows) > MAX_ROWS:
        lines.append(f"  ... {len(rows) - MAX_ROWS} more lines (the full output is in the results file)")
    return lines


def stdin_line(case) -> str:
    """The case's standard input; a random one says how to draw it again."""
    text = f"stdin:    {short(case.stdin)}" if case.stdin else "stdin:    (empty)"
    if case.seed is not None:
        what = "three random words" if case.random_stdin == "words" else "a random word"
        text += f"  ({what}, seed {case.seed}: SEED={case.seed} replays it)"
    return text


def failure(case, outcome, verdict, results_file=None) -> str:
    r = verdict.result
    out = [f"{case.id} failed ({case.where})",
           f"ran:      {command_line(outcome)}",
           stdin_line(case)]
    if verdict.note:
        return "\n".join(out + [f"problem:  {verdict.note}"])
    expected = expected_outcome(case, verdict)
    mark = "ok" if r.outcome_ok else "WRONG"
    out.append(f"outcome:  expected {expected}, got {describe(outcome)}  [{mark}; known from {outcome.source}]")
    if not r.outcome_ok:
        out.append(f"meaning:  {meaning(outcome)}")
    if len(verdict.tried) > 1 or r.name:
        others = [t.name for t in verdict.tried if t is not r]
        out.append(f"variant:  nearest is {r.name!r}" + (f"; also tried {', '.join(others)}" if others else ""))
    out += note_lines(case, verdict)
    out.append(f"standard output ({LEGEND}):" if outcome.stdout or r.stdout_rows else "standard output: (none)")
    out += rows_text(r.stdout_rows)
    if r.stderr_rows or not r.stderr_ok:
        out.append("standard error:")
        out += rows_text(r.stderr_rows)
    elif outcome.stderr.strip():
        out.append("standard error (not graded - read it):")
        out += [f"  {safe(line)}" for line in outcome.stderr.rstrip("\n").split("\n")[:20]]
    if r.checks:
        out.append("checks:")
        out += [f"  {'ok  ' if c.ok else 'FAIL'} {c.text}" + (f"   ({c.detail})" if c.detail else "")
                for c in r.checks]
    if case.hint:
        out.append(f"hint:     {case.hint}")
    if results_file:
        out.append(f"full output: {results_file}")
    return "\n".join(out)


def full_record(case, outcome, verdict) -> str:
    """Everything about one run, for the results file: the output with control characters
    shown escaped (\\x1b[2J), so that printing the file never obeys them."""
    text = failure(case, outcome, verdict) if not verdict.passed else \
        "\n".join([f"{case.id} passed ({case.where}), variant {verdict.variant or '(only)'}",
                   *note_lines(case, verdict), stdin_line(case)])
    return (f"{text}\n\n--- standard output ---\n{safe_lines(outcome.stdout)}"
            f"\n--- standard error ---\n{safe_lines(outcome.stderr)}"
            f"\n--- {describe(outcome)} in {outcome.seconds:.2f} s: {meaning(outcome)} ---"
            f"\n--- ran in: {outcome.sandbox or 'no sandbox'} ---\n")


def safe_lines(text: str) -> str:
    """safe(), line by line: newlines kept, every other control character escaped."""
    return "\n".join(safe(line) for line in text.split("\n"))


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def one_line(text: str) -> str:
    return " ".join(text.split())



def reason_of(case, outcome, verdict) -> str:
    """What went wrong, in one line: the first difference a student should look at."""
    if verdict.note:
        return verdict.note
    r = verdict.result
    if not r.outcome_ok:
        expected = expected_outcome(case, verdict)
        return f"expected {expected}, got {describe(outcome)}"
    for label, ok, rows in (("output", r.stdout_ok, r.stdout_rows), ("stderr", r.stderr_ok, r.stderr_rows)):
        if ok:
            continue
        line = 0
        for row in rows:
            line += row.got is not None
            if row.mark == "!":
                why = f" ({row.why})" if row.why and row.why != "different text" else ""
                return f"{label} line {line}: got {row.got.strip()!r}, expected {row.expected.strip()!r}{why}"
            if row.mark == "-":
                return f"{label}: missing {row.expected.strip()!r}"
            if row.mark == "+" and label == "output":
                return (f"output line {line}: {cut(row.got.strip(), 40)!r} is extra: debug "
                        f"prints go to stderr, which is not graded")
            if row.mark == "+":
                return f"{label} line {line}: {row.got.strip()!r} not expected ({row.why})"
        return f"{label} does not match"
    failed = next((c for c in r.checks if not c.ok), None)
    if failed:
        return f"check failed: {failed.text}" + (f" ({failed.detail})" if failed.detail else "")
    return "failed"


def last_said(outcome) -> str:
    """What the program said last, when that says more than how it ended: for one that ended
    itself with an error, its last line on stderr (die()'s "VirtualFree failed:
    ERROR_INVALID_PARAMETER (87)" rather than status 2); for one killed at the timeout, its
    last line of output (where it was when it hung)."""
    if outcome.label in ("nonzero_exit", "nonzero_exit_3", "abort"):
        text, prefix = outcome.stderr, ""
    elif outcome.label == "timeout":
        text, prefix = outcome.stdout, "(its last line) "
    else:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return prefix + cut(safe(lines[-1]), 120) if lines else ""


def first_warning(message: str) -> str:
    lines = message.splitlines()
    return cut(one_line(next((l for l in lines if "warning" in l), lines[0] if lines else "")), 100)


def first_error(message: str) -> str:
    lines = message.splitlines()
    line = next((l for l in lines if "error" in l.lower()), lines[0] if lines else "")
    return one_line(line)
