"""report: a Verdict as text a student can act on.

What ran, what was expected and what happened, the output with every line marked against
the expected line, the checks with the values they used, and the hint for the mistake made
(harness/hints.py), in the student's language (harness/i18n.py).
"""
from __future__ import annotations

import re
import shlex

from . import hints
from .explain import describe, meaning
from .i18n import N_, _

MAX_ROWS = 80
LEGEND = N_("= matched   ! wrong   - missing   + extra   ~ under ...")
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


LABELS = (N_("ran:"), N_("stdin:"), N_("problem:"), N_("outcome:"), N_("meaning:"),
          N_("variant:"), N_("hint:"), N_("note:"), N_("source:"))


def field(label: str, value: str) -> str:
    """A label (already translated) and its value, the values in one column: the longest
    label and 2 spaces (10 characters in English)."""
    width = max(len(_(name)) for name in LABELS) + 1
    return f"{label:<{width}} {value}"


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
    return ([field(_("note:"), v.platform_note)] if v.platform_note else []) + \
           ([field(_("source:"), v.source)] if v.source else [])


def rows_text(rows) -> list:
    lines = []
    for row in rows[:MAX_ROWS]:
        if row.mark in "=~+":
            lines.append(f"  {row.mark} {safe(row.got)}")
            if row.mark == "+" and row.why:
                lines[-1] += f"      <- {_(row.why)}"
        elif row.mark == "-":
            lines.append(f"  - {safe(row.expected)}      <- {_(row.why)}")
        else:
            lines.append(f"  ! {safe(row.got)}")
            lines.append("      " + _("expected:") + f" {safe(row.expected)}")
            if row.why and row.why != "different text":
                lines.append(f"      {_(row.why)}")
    if len(rows) > MAX_ROWS:
        lines.append("  " + _("... {count} more lines (the full output is in the results file)")
                     .format(count=len(rows) - MAX_ROWS))
    return lines


def stdin_line(case) -> str:
    """The case's standard input; a random one says how to draw it again."""
    text = field(_("stdin:"), short(case.stdin) if case.stdin else _("(empty)"))
    if case.seed is not None:
        what = _("three random words") if case.random_stdin == "words" else _("a random word")
        text += "  " + _("({what}, seed {seed}: SEED={seed} replays it)").format(what=what, seed=case.seed)
    return text


def failure(case, outcome, verdict, results_file=None) -> str:
    r = verdict.result
    out = [_("{case} failed ({where})").format(case=case.id, where=case.where),
           field(_("ran:"), command_line(outcome)),
           stdin_line(case)]
    hint = hints.choose(case, outcome, verdict)
    if verdict.note:
        return "\n".join(out + [field(_("problem:"), verdict.note)]
                         + ([field(_("hint:"), hint)] if hint else []))
    expected = expected_outcome(case, verdict)
    mark = _("ok") if r.outcome_ok else _("WRONG")
    out.append(field(_("outcome:"), _("expected {expected}, got {got}  [{mark}; known from {source}]")
                     .format(expected=expected, got=describe(outcome), mark=mark, source=_(outcome.source))))
    if not r.outcome_ok:
        out.append(field(_("meaning:"), meaning(outcome)))
    if len(verdict.tried) > 1 or r.name:
        others = [t.name for t in verdict.tried if t is not r]
        out.append(field(_("variant:"), _("nearest is {name!r}").format(name=r.name)
                         + (_("; also tried {others}").format(others=", ".join(others)) if others else "")))
    out += note_lines(case, verdict)
    out.append(_("standard output ({legend}):").format(legend=_(LEGEND)) if outcome.stdout or r.stdout_rows
               else _("standard output: (none)"))
    out += rows_text(r.stdout_rows)
    if r.stderr_rows or not r.stderr_ok:
        out.append(_("standard error:"))
        out += rows_text(r.stderr_rows)
    elif outcome.stderr.strip():
        out.append(_("standard error (not graded - read it):"))
        out += [f"  {safe(line)}" for line in outcome.stderr.rstrip("\n").split("\n")[:20]]
    if r.checks:
        out.append(_("checks:"))
        out += [f"  {'ok  ' if c.ok else 'FAIL'} {c.text}" + (f"   ({c.detail})" if c.detail else "")
                for c in r.checks]
    if hint:
        out.append(field(_("hint:"), hint))
    if results_file:
        out.append(_("full output:") + f" {results_file}")
    return "\n".join(out)


def full_record(case, outcome, verdict) -> str:
    """Everything about one run, for the results file: the output with control characters
    shown escaped (\\x1b[2J), so that printing the file never obeys them."""
    text = failure(case, outcome, verdict) if not verdict.passed else \
        "\n".join([_("{case} passed ({where}), variant {variant}").format(
            case=case.id, where=case.where, variant=verdict.variant or _("(only)")),
            *note_lines(case, verdict), stdin_line(case)])
    return (f"{text}\n\n--- " + _("standard output") + f" ---\n{safe_lines(outcome.stdout)}"
            "\n--- " + _("standard error") + f" ---\n{safe_lines(outcome.stderr)}"
            f"\n--- {describe(outcome)} in {outcome.seconds:.2f} s: {meaning(outcome)} ---"
            f"\n--- ran in: {outcome.sandbox or 'no sandbox'} ---\n")


def safe_lines(text: str) -> str:
    """safe(), line by line: newlines kept, every other control character escaped."""
    return "\n".join(safe(line) for line in text.split("\n"))


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def one_line(text: str) -> str:
    return " ".join(text.split())


LABEL = re.compile(r"^\s*([A-Za-z][\w ()./-]{0,30}):\s+(.*)$")


def labelled(line: str) -> tuple:
    """("page state", "MEM_COMMIT, ...") for a line "page state:  MEM_COMMIT, ..."; ("", line)
    for a line without a label."""
    m = LABEL.match(line)
    return (m.group(1).strip(), m.group(2).strip()) if m else ("", line.strip())


def around_difference(got: str, expected: str, room: int = 40) -> tuple:
    """Both values, cut to about room characters around where they first differ."""
    if max(len(got), len(expected)) <= room:
        return got, expected
    start = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    begin = 0 if start < room // 2 else start - room // 4

    def part(text):
        piece = text[begin:begin + room]
        return ("\u2026" if begin else "") + piece + ("\u2026" if begin + room < len(text) else "")
    return part(got), part(expected)


def reason_of(case, outcome, verdict) -> str:
    """What went wrong, in one line: the first difference a student should look at."""
    if verdict.note:
        return verdict.note
    r = verdict.result
    if not r.outcome_ok:
        expected = expected_outcome(case, verdict)
        return _("expected {expected}, got {got}").format(expected=expected, got=describe(outcome))
    for label, ok, rows in ((_("output"), r.stdout_ok, r.stdout_rows),
                            (_("stderr"), r.stderr_ok, r.stderr_rows)):
        if ok:
            continue
        line = 0
        for row in rows:
            line += row.got is not None
            if row.mark == "!":
                why = f" ({_(row.why)})" if row.why and row.why != "different text" else ""
                name, got = labelled(row.got)
                same, expected = labelled(row.expected)
                if name and name == same:       # the same line, another value: say only that
                    got, expected = around_difference(got, expected)
                    return _("{label} line {line}, {name}: got {got!r}, expected {expected!r}").format(
                        label=label, line=line, name=name, got=got, expected=expected) + why
                return _("{label} line {line}: got {got!r}, expected {expected!r}").format(
                    label=label, line=line, got=row.got.strip(), expected=row.expected.strip()) + why
            if row.mark == "-":
                return _("{label}: missing {expected!r}").format(label=label, expected=row.expected.strip())
            if row.mark == "+" and rows is r.stdout_rows:
                labels = {labelled(other.expected)[0] for other in rows if other.expected}
                if labelled(row.got)[0] in labels - {""}:   # a line of the lab's, where none is due
                    return _("output line {line}: {got!r} is not expected there: compare the "
                             "lines around it with the expected ones").format(
                        line=line, got=cut(row.got.strip(), 60))
                return _("output line {line}: {got!r} is extra: debug prints go to stderr, which "
                         "is not graded").format(line=line, got=cut(row.got.strip(), 40))
            if row.mark == "+":
                return _("{label} line {line}: {got!r} not expected ({why})").format(
                    label=label, line=line, got=row.got.strip(), why=_(row.why))
        return _("{label} does not match").format(label=label)
    failed = next((c for c in r.checks if not c.ok), None)
    if failed:
        return _("check failed: {check}").format(check=failed.text) + \
            (f" ({failed.detail})" if failed.detail else "")
    return _("failed")


def last_said(outcome) -> str:
    """What the program said last, when that says more than how it ended: for one that ended
    itself with an error, its last line on stderr (die()'s "VirtualFree failed:
    ERROR_INVALID_PARAMETER (87)" rather than status 2); for one killed at the timeout, its
    last line of output (where it was when it hung)."""
    if outcome.label in ("nonzero_exit", "nonzero_exit_3", "abort"):
        text, prefix = outcome.stderr, ""
    elif outcome.label == "timeout":
        text, prefix = outcome.stdout, _("(its last line) ")
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
