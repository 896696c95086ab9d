"""cases: load and validate expected/*.toml into Lab, Case and Variant values.

The format is described in expected/README.md. Every error names the file and the line
(of the case it is in, when the TOML itself parsed) and says what is wrong.
"""
from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from . import expr
from .pattern import PatternError, capture_names, compile_block

LAB_KEYS = {"title", "order", "native", "case"}
CASE_KEYS = {"name", "args", "stdin", "outcome", "timeout", "points", "hint", "expect",
             "stderr", "checks", "demo", "lesson", "variant"}
VARIANT_KEYS = {"name", "platform", "expect", "stderr", "outcome", "checks"}
PLATFORMS = ("wine", "windows", "linux")
PREDEFINED = {"input", "fault_address", "exit_code"}

# Outcome words -> exception codes (NTSTATUS), for `outcome = "..."`.
EXCEPTIONS = {
    "access violation": 0xC0000005,
    "guard page": 0x80000001,
    "stack overflow": 0xC00000FD,
    "divide by zero": 0xC0000094,
    "illegal instruction": 0xC000001D,
    "privileged instruction": 0xC0000096,
}
ACCESSES = ("reading", "writing", "executing")
CASE_NAME = re.compile(r"[a-z0-9_]+\Z")
DEFAULT_TIMEOUT = 10.0          # seconds, for a case that sets none; TIMEOUT=N caps every case


class CaseError(ValueError):
    """A case file that cannot be used: the message starts with file:line."""


@dataclass(frozen=True)
class OutcomeSpec:
    kind: str                # "exit", "exception", "abort", "timeout", "output_cut" or "limit"
    code: int | None = None  # exit status, or exception code
    access: str | None = None
    limit: str | None = None  # for "limit": "cpu" or "processes" (None: either)

    def __str__(self):
        if self.kind == "exit":
            return f"exit {self.code}"
        if self.kind in ("timeout", "abort"):
            return self.kind
        if self.kind == "output_cut":
            return "output cut"
        if self.kind == "limit":
            return f"limit {self.limit}" if self.limit else "limit"
        name = next((n for n, c in EXCEPTIONS.items() if c == self.code), f"exception 0x{self.code:08X}")
        return f"{name} {self.access}" if self.access else name


LIMITS = ("cpu", "processes")


def parse_outcome(text: str) -> OutcomeSpec:
    words = text.strip().lower()
    if words == "timeout":
        return OutcomeSpec("timeout")
    if words == "abort":
        return OutcomeSpec("abort", 3)
    if words == "output cut":
        return OutcomeSpec("output_cut")
    if words == "limit" or words in (f"limit {name}" for name in LIMITS):
        return OutcomeSpec("limit", limit=words[6:] or None)
    m = re.fullmatch(r"exit (\d+)", words)
    if m:
        return OutcomeSpec("exit", int(m.group(1)))
    m = re.fullmatch(r"exception (0x[0-9a-f]{1,8})", words)
    if m:
        return OutcomeSpec("exception", int(m.group(1), 16))
    for name, code in EXCEPTIONS.items():
        if words == name:
            return OutcomeSpec("exception", code)
        for access in ACCESSES:
            if words == f"{name} {access}":
                return OutcomeSpec("exception", code, access)
    raise ValueError(f"outcome {text!r} is not one of: 'exit N', 'timeout', 'abort', 'output cut', "
                     f"'limit' (or 'limit cpu', 'limit processes'), 'exception 0xC0000094', "
                     f"or {', '.join(repr(n) for n in EXCEPTIONS)} (optionally + reading/writing/executing)")


@dataclass(frozen=True)
class Variant:
    name: str               # "" for a case without variants
    platform: str | None    # None: every platform
    expect: tuple           # LinePatterns for stdout
    stderr: tuple | None    # LinePatterns for stderr, None: not checked
    outcome: OutcomeSpec
    checks: tuple           # expression texts


@dataclass(frozen=True)
class Case:
    lab: str
    name: str
    args: tuple
    stdin: str
    timeout: float
    points: int
    hint: str
    demo: str | None
    lesson: str | None
    variants: tuple
    where: str              # "expected/lab.toml:12"

    @property
    def id(self) -> str:
        return f"{self.lab}/{self.name}"

    def variants_for(self, platform: str) -> tuple:
        return tuple(v for v in self.variants if v.platform in (None, platform))


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    order: int
    native: bool            # a Linux program (host compiler, no Wine)
    cases: tuple
    path: Path


def _line_of(text: str, case_name: str | None) -> int:
    """The line where a case's name is set: where its errors are reported."""
    if case_name is None:
        return 1
    m = re.search(r'^\s*name\s*=\s*["\']' + re.escape(case_name) + r'["\']', text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _stdin(value, fail) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"repeat", "times"} \
            and isinstance(value["repeat"], str) and isinstance(value["times"], int):
        return value["repeat"] * value["times"] + "\n"
    fail("stdin must be a string or { repeat = \"a\", times = N }")


def _variant(table: dict, base: dict, fail, name="", platform=None) -> Variant:
    merged = {**base, **table}

    def block(key):
        if merged.get(key) is None:
            return None
        if not isinstance(merged[key], str):
            fail(f"{key} must be a string")
        try:
            return compile_block(merged[key])
        except PatternError as e:
            fail(f"{key}: {e}")

    expect = block("expect")
    if expect is None:
        fail("expect is missing: the expected standard output (\"\" for none)")
    stderr = block("stderr")
    try:
        outcome = parse_outcome(merged.get("outcome", "exit 0"))
    except (ValueError, AttributeError) as e:
        fail(str(e))
    checks = merged.get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        fail("checks must be a list of strings")
    known = capture_names(expect) | capture_names(stderr or ()) | PREDEFINED
    for check in checks:
        try:
            missing = expr.names(check) - known
        except expr.ExprError as e:
            fail(str(e))
        if missing:
            fail(f"check {check!r} uses {', '.join(sorted(missing))}, never captured "
                 f"(captured: {', '.join(sorted(known))})")
    return Variant(name, platform, expect, stderr, outcome, tuple(checks))


def timeout_cap(env=None) -> float:
    """TIMEOUT from make or the environment: at most this many seconds for any case (as
    grading reads it too); infinity when not set."""
    text = (os.environ if env is None else env).get("TIMEOUT") or ""
    if not text:
        return math.inf
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not (value > 0 and math.isfinite(value)):
        raise CaseError(f"TIMEOUT={text!r}: expected a positive number of seconds (at most "
                        f"this long for any case; default: each case's own, {DEFAULT_TIMEOUT:g} "
                        f"when it sets none)")
    return value


def _case(lab: str, table: dict, fail, cap: float = math.inf) -> Case:
    unknown = set(table) - CASE_KEYS
    if unknown:
        fail(f"unknown key(s) {', '.join(sorted(unknown))}; a case has {', '.join(sorted(CASE_KEYS))}")
    name = table.get("name")
    if not isinstance(name, str) or not CASE_NAME.match(name):
        fail("every case needs name = \"...\" made of a-z, 0-9 and _")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        fail("args must be a list of strings")
    for key, kind in (("timeout", (int, float)), ("points", int)):
        if key in table and (not isinstance(table[key], kind) or table[key] < 0):
            fail(f"{key} must be a non-negative number")
    for key in ("hint", "demo", "lesson"):
        if key in table and not isinstance(table[key], str):
            fail(f"{key} must be a string")
    base = {k: table[k] for k in ("expect", "stderr", "outcome", "checks") if k in table}
    variants = []
    for v in table.get("variant", []):
        unknown = set(v) - VARIANT_KEYS
        if unknown:
            fail(f"variant: unknown key(s) {', '.join(sorted(unknown))}; a variant has "
                 f"{', '.join(sorted(VARIANT_KEYS))}")
        if not isinstance(v.get("name"), str) or not v["name"]:
            fail("every variant needs a name")
        if v.get("platform") not in (None, *PLATFORMS):
            fail(f"variant {v['name']}: platform must be one of {', '.join(PLATFORMS)}")
        variants.append(_variant({k: v[k] for k in v if k not in ("name", "platform")}, base,
                                 fail, v["name"], v.get("platform")))
    if not variants:
        variants.append(_variant({}, base, fail))
    return Case(lab, name, tuple(args), _stdin(table.get("stdin"), fail),
                min(float(table.get("timeout", DEFAULT_TIMEOUT)), cap), int(table.get("points", 1)),
                table.get("hint", ""), table.get("demo"), table.get("lesson"),
                tuple(variants), "")


def load_lab(path: Path) -> Lab:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CaseError(f"{path}:1: cannot be read: {getattr(e, 'strerror', None) or e}") from None
    lab = path.stem
    cap = timeout_cap()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        raise CaseError(f"{path}:{line.group(1) if line else 1}: not valid TOML: {e}") from None

    def failer(case_name):
        def fail(message):
            raise CaseError(f"{path}:{_line_of(text, case_name)}: "
                            f"{'case ' + case_name + ': ' if case_name else ''}{message}")
        return fail

    unknown = set(data) - LAB_KEYS
    if unknown:
        failer(None)(f"unknown key(s) {', '.join(sorted(unknown))}; the top of a lab's file has "
                     f"{', '.join(sorted(LAB_KEYS - {'case'}))} and then [[case]] tables")
    if not isinstance(data.get("title", ""), str) or not isinstance(data.get("order", 0), int):
        failer(None)("title must be a string and order an integer")
    cases, seen = [], set()
    if not isinstance(data.get("case", []), list):
        failer(None)("case must be an array of tables: write each case as [[case]]")
    for table in data.get("case", []):
        if not isinstance(table, dict):
            failer(None)("case must be a table: write each case as [[case]]")
        name = table.get("name") if isinstance(table.get("name"), str) else None
        case = _case(lab, table, failer(name), cap)
        if case.name in seen:
            failer(name)(f"a second case named {case.name!r}")
        seen.add(case.name)
        where = f"{path}:{_line_of(text, case.name)}"
        cases.append(replace(case, where=where))
    if not cases:
        failer(None)("no [[case]] in this file")
    return Lab(lab, data.get("title", lab), data.get("order", 1000), bool(data.get("native", False)),
               tuple(cases), path)


def load_all(directory: Path, only=()) -> list:
    """Every lab with a case file in directory, in lecture order (then by name)."""
    labs = [load_lab(p) for p in sorted(Path(directory).glob("*.toml"))
            if not only or p.stem in only]
    return sorted(labs, key=lambda lab: (lab.order, lab.name))
