"""match: a case's expectations vs an Outcome -> Verdict, with the output annotated.

Never runs anything. For each variant of the case that applies to the platform: the
outcome kind, the standard output (and standard error when the case gives one) line by
line, then the checks over everything captured. The case passes when one variant passes.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import expr
from .i18n import N_
from .pattern import show


@dataclass(frozen=True)
class Row:
    """One line of the annotated output."""
    mark: str               # "=" matched, "!" wrong, "-" expected but missing, "+" extra, "~" under "..."
    got: str | None         # the program's line
    expected: str | None    # the expected line, as written
    why: str | None = None


@dataclass(frozen=True)
class Check:
    text: str
    ok: bool
    detail: str             # the values it used, or why it could not be evaluated


@dataclass(frozen=True)
class Result:
    """One variant judged."""
    name: str
    outcome_ok: bool
    stdout_ok: bool
    stdout_rows: tuple
    stderr_ok: bool
    stderr_rows: tuple
    checks: tuple
    captures: dict

    @property
    def passed(self) -> bool:
        return (self.outcome_ok and self.stdout_ok and self.stderr_ok
                and all(c.ok for c in self.checks))

    @property
    def badness(self) -> int:
        """How far from passing: to show the nearest variant when none passed."""
        rows = self.stdout_rows + self.stderr_rows
        return ((not self.outcome_ok) * 100 + sum(r.mark in "!-+" for r in rows)
                + sum(not c.ok for c in self.checks))


@dataclass(frozen=True)
class Verdict:
    passed: bool
    result: Result | None       # the variant that passed, or the nearest one
    tried: tuple                # every Result, in the case's order
    note: str = ""              # why no variant could even be tried

    @property
    def variant(self) -> str:
        return self.result.name if self.result else ""


def lines_of(text: str) -> list:
    lines = [line.rstrip() for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def full_match(patterns, lines, captures, i=0, j=0):
    """The captures when every pattern matches the lines in order, else None."""
    if i == len(patterns):
        return captures if j == len(lines) else None
    p = patterns[i]
    if p.ellipsis:
        if i + 1 == len(patterns):
            return captures
        for k in range(j, len(lines) + 1):
            found = full_match(patterns, lines, captures, i + 1, k)
            if found is not None:
                return found
        return None
    if j >= len(lines):
        return None
    found, _ = p.match(lines[j], captures)
    return None if found is None else full_match(patterns, lines, found, i + 1, j + 1)


def annotate(patterns, lines, captures):
    """Rows for the report: a line-by-line walk that resynchronises after a difference."""
    rows, i, j = [], 0, 0
    captures = dict(captures)

    def first_match(p, start):
        for k in range(start, len(lines)):
            if p.match(lines[k], captures)[0] is not None:
                return k
        return None

    while i < len(patterns):
        p = patterns[i]
        if p.ellipsis:
            following = next((q for q in patterns[i + 1:] if not q.ellipsis), None)
            k = len(lines) if following is None else first_match(following, j)
            k = j if k is None else k
            rows += [Row("~", line, None) for line in lines[j:k]]
            i, j = i + 1, k
            continue
        if j >= len(lines):
            rows.append(Row("-", None, p.text, N_("the output ended before this line")))
            i += 1
            continue
        found, why = p.match(lines[j], captures)
        if found is not None:
            rows.append(Row("=", lines[j], p.text))
            captures = found
            i, j = i + 1, j + 1
            continue
        later = first_match(p, j + 1)
        later_pattern = next((q for q in patterns[i + 1:] if not q.ellipsis
                              and q.match(lines[j], captures)[0] is not None), None)
        if later is not None and later_pattern is None:
            rows += [Row("+", line, None, N_("not expected here")) for line in lines[j:later]]
            j = later
        elif later_pattern is not None:
            rows.append(Row("-", None, p.text, N_("missing from the output")))
            i += 1
        else:
            rows.append(Row("!", lines[j], p.text, why))
            i, j = i + 1, j + 1
    rows += [Row("+", line, None, N_("more output than expected")) for line in lines[j:]]
    return tuple(rows), captures


def outcome_matches(spec, outcome) -> bool:
    if spec.kind != outcome.kind:
        return False
    if spec.kind in ("timeout", "output_cut"):
        return True
    if spec.kind == "limit":
        return spec.limit is None or spec.limit == outcome.limit
    return spec.code == outcome.code and (spec.access is None or spec.access == outcome.access)


def predefined(case, outcome) -> dict:
    values = {}
    words = case.stdin.split()
    if words:
        values["input"] = words[0]
    for i, word in enumerate(words[:9], 1):     # input1 .. input9: each word of stdin
        values[f"input{i}"] = word
    if outcome.address is not None:
        values["fault_address"] = outcome.address
    if outcome.kind == "exit":
        values["exit_code"] = outcome.code
    return values


def judge_variant(case, variant, outcome) -> Result:
    start = predefined(case, outcome)
    out_lines = lines_of(outcome.stdout)
    captures = full_match(variant.expect, out_lines, start)
    stdout_ok = captures is not None
    stdout_rows, annotated = annotate(variant.expect, out_lines, start)
    captures = captures if stdout_ok else annotated

    stderr_ok, stderr_rows = True, ()
    if variant.stderr is not None:
        err_lines = lines_of(outcome.stderr)
        found = full_match(variant.stderr, err_lines, captures)
        stderr_ok = found is not None
        stderr_rows, annotated = annotate(variant.stderr, err_lines, captures)
        captures = found if stderr_ok else annotated

    checks = []
    for text in variant.checks:
        used = ", ".join(f"{n} = {show(captures[n])}" for n in sorted(expr.names(text)) if n in captures)
        try:
            ok = bool(expr.evaluate(text, captures))
            checks.append(Check(text, ok, used))
        except expr.ExprError as e:
            checks.append(Check(text, False, str(e)))
    return Result(variant.name, outcome_matches(variant.outcome, outcome), stdout_ok,
                  stdout_rows, stderr_ok, stderr_rows, tuple(checks), captures)


def judge(case, outcome) -> Verdict:
    variants = case.variants_for(outcome.platform)
    if not variants:
        names = ", ".join(f"{v.name} ({v.platform})" for v in case.variants)
        return Verdict(False, None, (), f"no variant of this case is for {outcome.platform}: {names}")
    tried = tuple(judge_variant(case, v, outcome) for v in variants)
    passing = next((r for r in tried if r.passed), None)
    if passing:
        return Verdict(True, passing, tried)
    return Verdict(False, min(tried, key=lambda r: r.badness), tried)
