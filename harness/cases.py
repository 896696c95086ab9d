"""cases: load and validate expected/*.toml into Lab, Case and Variant values.

The format is described in expected/README.md. Every error names the file and the line
(of the case it is in, when the TOML itself parsed) and says what is wrong.
"""
from __future__ import annotations

import math
import random
import re
import string
from dataclasses import dataclass, replace
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:     # Python 3.10 (Ubuntu 22.04, Gradescope's image): the same parser
    import tomli as tomllib

from . import expr, ntstatus, settings
from .pattern import PatternError, capture_names, compile_block

LAB_KEYS = {"title", "title_it", "order", "native", "case"}
# A student reads these: each has its Italian beside it (KEY_it), and hint_it is required.
SAID = ("hint", "demo", "lesson")
NOTE_KEYS = ("platform_note", "source")    # whose behaviour it is, and what says so: text
CASE_KEYS = {"name", "args", "stdin", "outcome", "timeout", "points", "expect",
             "stderr", "checks", "variant", "parent", "mistake",
             *SAID, *(f"{key}_it" for key in SAID), *NOTE_KEYS}
VARIANT_KEYS = {"name", "platform", "expect", "stderr", "outcome", "checks", *NOTE_KEYS}
MISTAKE_KEYS = {"outcome", "seen", "differs", "hint", "it"}
MISTAKE_CONDITIONS = ("outcome", "seen", "differs")
PLATFORMS = ("wine", "windows", "linux")
PREDEFINED = {"input", "fault_address", "exit_code"}

# Outcome words -> exception codes (NTSTATUS), for `outcome = "..."`.
EXCEPTIONS = ntstatus.BY_WORD
ACCESSES = ("reading", "writing", "executing")
CASE_NAME = re.compile(r"[a-z0-9_]+\Z")
RANDOM_KINDS = ("word", "words")   # stdin = { random = "word" }: one word; "words": three
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
        if self.kind == "signal":
            return "segmentation fault" + (f" {self.access}" if self.access else "")
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
    m = re.fullmatch(r"segmentation fault(?: (reading|writing|executing))?", words)
    if m:                   # a Linux program's SIGSEGV (posix_vm): a signal, 11
        return OutcomeSpec("signal", 11, m.group(1))
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
                     f"'segmentation fault' (+ reading/writing/executing: Linux), "
                     f"or {', '.join(repr(n) for n in EXCEPTIONS)} (optionally + reading/writing/executing)")


@dataclass(frozen=True)
class Variant:
    name: str               # "" for a case without variants
    platform: str | None    # None: every platform
    expect: tuple           # LinePatterns for stdout
    stderr: tuple | None    # LinePatterns for stderr, None: not checked
    outcome: OutcomeSpec
    checks: tuple           # expression texts
    platform_note: str = ""  # whose behaviour this is ("Wine 8: ..."), the case's own if unset
    source: str = ""         # what it rests on: a Microsoft Learn page or a Wine test function


class Named:
    """What a case and its grade are called: LAB/NAME, and who sees them (Gradescope's word
    for it). Both have lab, name and hidden."""

    @property
    def id(self) -> str:
        return f"{self.lab}/{self.name}"

    @property
    def visibility(self) -> str:
        return "after_published" if self.hidden else "visible"


@dataclass(frozen=True)
class Mistake:
    """A hint for one mistake, and the conditions that tell it happened (all must hold)."""
    hint: str
    it: str                             # the hint in Italian
    outcome: OutcomeSpec | None = None  # the run ended this way
    seen: str | None = None             # this text is in its standard output or error
    differs: str | None = None          # a line of its output that did not match holds this


@dataclass(frozen=True)
class Case(Named):
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
    parent: str | None = None       # no points unless this case (same lab) passed
    random_stdin: str | None = None  # "word", "words": stdin is drawn from a seed (with_input)
    seed: int | None = None          # the seed the stdin was drawn from, once it was
    hidden: bool = False             # from EXPECTED_HIDDEN: graded, never shipped
    hint_it: str = ""                # the Italian of hint, demo, lesson (i18n.pick chooses)
    demo_it: str | None = None
    lesson_it: str | None = None
    mistakes: tuple = ()             # Mistake: the hint for the mistake made (harness/hints.py)

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
    title_it: str = ""


def _line_of(text: str, case_name: str | None) -> int:
    """The line where a case's name is set: where its errors are reported."""
    if case_name is None:
        return 1
    m = re.search(r'^\s*name\s*=\s*["\']' + re.escape(case_name) + r'["\']', text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _mistake_line(text: str, case_line: int, number: int) -> int:
    """The line of the case's number-th [[case.mistake]] (after its name's line)."""
    start = sum(len(line) + 1 for line in text.split("\n")[:case_line])
    found = list(re.finditer(r"^[ \t]*\[\[[ \t]*case\.mistake[ \t]*\]\]", text[start:], re.M))
    if len(found) < number:
        return case_line
    return case_line + text.count("\n", start, start + found[number - 1].start()) + 1


def _stdin(value, fail) -> tuple:
    """(the text, or "" until it is drawn; the random kind or None)."""
    if value is None:
        return "", None
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and set(value) == {"repeat", "times"} \
            and isinstance(value["repeat"], str) and isinstance(value["times"], int):
        return value["repeat"] * value["times"] + "\n", None
    if isinstance(value, dict) and set(value) == {"random"} and value["random"] in RANDOM_KINDS:
        return "", value["random"]
    fail("stdin must be a string, { repeat = \"a\", times = N }, "
         + " or ".join(f"{{ random = \"{kind}\" }}" for kind in RANDOM_KINDS))


def random_word(rng: random.Random) -> str:
    """6 to 10 lower-case letters: never a word a program could have memorised."""
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 10)))


def with_input(case: Case, seed: int) -> Case:
    """The case with its random standard input drawn: the same seed, the same input (each
    case draws from its own stream, so the order cases run in does not matter)."""
    if case.random_stdin is None:
        return case
    rng = random.Random(f"{seed}:{case.lab}/{case.name}")
    count = 3 if case.random_stdin == "words" else 1
    return replace(case, stdin=" ".join(random_word(rng) for _ in range(count)) + "\n", seed=seed)


def new_seed() -> int:
    return random.SystemRandom().randrange(1_000_000)


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
    for key in NOTE_KEYS:
        if not isinstance(merged.get(key, ""), str):
            fail(f"{key} must be a string")
    return Variant(name, platform, expect, stderr, outcome, tuple(checks),
                   merged.get("platform_note", ""), merged.get("source", ""))


def timeout_cap(env=None) -> float:
    """TIMEOUT from make or the environment: at most this many seconds for any case (as
    grading reads it too); infinity when not set."""
    text = (settings.current().timeout if env is None else env.get("TIMEOUT")) or ""
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
    for key in (*SAID, *(f"{key}_it" for key in SAID)):
        if key in table and not isinstance(table[key], str):
            fail(f"{key} must be a string")
    for key in SAID:
        if f"{key}_it" in table and key not in table:
            fail(f"{key}_it without {key}: the English is the default")
    base = {k: table[k] for k in ("expect", "stderr", "outcome", "checks", *NOTE_KEYS) if k in table}
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
    if "parent" in table and (not isinstance(table["parent"], str) or not table["parent"]):
        fail("parent must be the name of an earlier case of this lab")
    stdin, random_kind = _stdin(table.get("stdin"), fail)
    mistakes = table.get("mistake", [])
    if not isinstance(mistakes, list) or not all(isinstance(m, dict) for m in mistakes):
        fail("mistake must be an array of tables: write each as [[case.mistake]]")
    if mistakes and "hint" not in table:
        fail("a case with [[case.mistake]] needs its own hint too: the one shown when none applies")
    return Case(lab, name, tuple(args), stdin,
                min(float(table.get("timeout", DEFAULT_TIMEOUT)), cap), int(table.get("points", 1)),
                table.get("hint", ""), table.get("demo"), table.get("lesson"),
                tuple(variants), "", table.get("parent"), random_kind,
                hint_it=table.get("hint_it", ""), demo_it=table.get("demo_it"),
                lesson_it=table.get("lesson_it"),
                mistakes=tuple(_mistake(m, fail, i) for i, m in enumerate(mistakes, 1)))


def _mistake(table: dict, fail, number: int) -> Mistake:
    """One [[case.mistake]]: its hint (and Italian) and at least one condition."""
    def failing(message):
        fail(f"mistake {number}: {message}", mistake=number)

    unknown = set(table) - MISTAKE_KEYS
    if unknown:
        failing(f"unknown key(s) {', '.join(sorted(unknown))}; a mistake has "
                f"{', '.join(sorted(MISTAKE_KEYS))}")
    for key in MISTAKE_KEYS:
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            failing(f"{key} must be a non-empty string")
    if "hint" not in table:
        failing("needs hint = \"...\" (and its Italian, it = \"...\")")
    if not any(key in table for key in MISTAKE_CONDITIONS):
        failing(f"needs a condition: {', '.join(MISTAKE_CONDITIONS)} (all that are given must hold)")
    outcome = None
    if "outcome" in table:
        try:
            outcome = parse_outcome(table["outcome"])
        except ValueError as e:
            failing(str(e))
    return Mistake(table["hint"], table.get("it", ""), outcome, table.get("seen"), table.get("differs"))


def _read_cases(path: Path, lab: str, before=(), hidden=False, cap: float = math.inf) -> tuple:
    """(top-level table, cases) of one file; before: the cases already known for this lab
    (a hidden file's cases follow the public ones: their names are taken, parents allowed);
    cap: at most this many seconds for any case (TIMEOUT)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CaseError(f"{path}:1: cannot be read: {getattr(e, 'strerror', None) or e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        raise CaseError(f"{path}:{line.group(1) if line else 1}: not valid TOML: {e}") from None

    def failer(case_name):
        def fail(message, mistake=None):
            line = _line_of(text, case_name)
            if mistake is not None:
                line = _mistake_line(text, line, mistake)
            raise CaseError(f"{path}:{line}: "
                            f"{'case ' + case_name + ': ' if case_name else ''}{message}")
        return fail

    unknown = set(data) - LAB_KEYS
    if unknown:
        failer(None)(f"unknown key(s) {', '.join(sorted(unknown))}; the top of a lab's file has "
                     f"{', '.join(sorted(LAB_KEYS - {'case'}))} and then [[case]] tables")
    if not isinstance(data.get("title", ""), str) or not isinstance(data.get("order", 0), int):
        failer(None)("title must be a string and order an integer")
    if not isinstance(data.get("title_it", ""), str):
        failer(None)("title_it must be a string: the title in Italian")
    cases, seen = [], {c.name for c in before}
    if not isinstance(data.get("case", []), list):
        failer(None)("case must be an array of tables: write each case as [[case]]")
    for table in data.get("case", []):
        if not isinstance(table, dict):
            failer(None)("case must be a table: write each case as [[case]]")
        name = table.get("name") if isinstance(table.get("name"), str) else None
        case = _case(lab, table, failer(name), cap)
        if case.name in seen:
            failer(name)(f"a second case named {case.name!r}"
                         + (" (the public cases of this lab have one)" if hidden else ""))
        if case.parent is not None and case.parent not in seen:
            failer(name)(f"parent {case.parent!r} is not an earlier case of {lab}: a case can only "
                         f"depend on one above it (known: {', '.join(sorted(seen)) or 'none'})")
        seen.add(case.name)
        where = f"{path}:{_line_of(text, case.name)}"
        cases.append(replace(case, where=where, hidden=hidden))
    if not cases:
        failer(None)("no [[case]] in this file")
    return data, tuple(cases)


def load_lab(path: Path, cap: float | None = None) -> Lab:
    """One lab's cases; cap: at most this many seconds for any case (None: TIMEOUT from
    the environment, else each case's own)."""
    path = Path(path)
    cap = timeout_cap() if cap is None else cap
    data, cases = _read_cases(path, path.stem, cap=cap)
    return Lab(path.stem, data.get("title", path.stem), data.get("order", 1000),
               bool(data.get("native", False)), cases, path, data.get("title_it", ""))


def load_all(directory: Path, only=(), hidden: Path | None = None, cap: float | None = None) -> list:
    """Every lab with a case file in directory, in lecture order (then by name); with
    hidden, the instructor's extra cases (hidden/NAME.toml) appended to NAME's. cap: as
    for load_lab, for the hidden cases too."""
    cap = timeout_cap() if cap is None else cap
    labs = [load_lab(p, cap) for p in sorted(Path(directory).glob("*.toml"))
            if not only or p.stem in only]
    if hidden is not None:
        labs = add_hidden(labs, Path(hidden), only, cap)
    return sorted(labs, key=lambda lab: (lab.order, lab.name))


def add_hidden(labs, directory: Path, only=(), cap: float = math.inf) -> list:
    """The labs with the cases of directory/NAME.toml appended to NAME's, marked hidden.
    A hidden file has the same format; its title, order and native are ignored."""
    if not directory.is_dir():
        raise CaseError(f"{directory}: the hidden cases' folder does not exist")
    by_name = {lab.name: lab for lab in labs}
    for path in sorted(directory.glob("*.toml")):
        if only and path.stem not in only:
            continue
        lab = by_name.get(path.stem)
        if lab is None:
            raise CaseError(f"{path}:1: there is no lab {path.stem!r} to add hidden cases to "
                            f"(labs: {', '.join(sorted(by_name))})")
        _, extra = _read_cases(path, lab.name, lab.cases, hidden=True, cap=cap)
        by_name[lab.name] = replace(lab, cases=lab.cases + extra)
    return [by_name[lab.name] for lab in labs]


if __name__ == "__main__":
    # make: which labs are Linux programs (--native), or every lab in lecture order (--labs).
    import sys
    if sys.argv[1:] not in (["--native"], ["--labs"]):
        sys.exit("usage: python3 -m harness.cases --native | --labs")
    try:
        labs = load_all(settings.EXPECTED)
    except CaseError as e:
        sys.exit(str(e))         # make check says it again, where it is read
    print("\n".join(lab.name for lab in labs if lab.native or sys.argv[1] == "--labs"))
