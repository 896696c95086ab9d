"""mutants: the grader tests its own cases (make mutants).

The mistakes students make are a catalogue, as data (expected/mutants/catalogue.toml: the
format is at its top). Each mistake is applied alone, at every place in a lab where it fits,
and the lab so changed is graded as a submission by the grader itself (grade.grade_lab: the
same compile, sandboxed runs and judging as `make grade`). A mutant is *caught* when it
loses points, *survives* when it earns full marks. Two figures per lab: the mutants in the
SOLUTION regions (what a student writes: every one must be caught or listed as equivalent
in the catalogue with the reason) and the mutants of the lab's other Virtual*/mmap calls.
A mutant that does not compile is no mistake a case could catch: it is counted apart.

    python3 -m harness.mutants                 every mutant, JOBS at a time   (make mutants)
    python3 -m harness.mutants --lab boundary  one lab's
    python3 -m harness.mutants --list          the mutants, not graded

It also grades the untouched starter (make starter's labs) and prints its score. The report
goes to stdout and to BUILD/mutants/report.md; exit 1 when a region mutant survives that the
catalogue does not list as equivalent, 2 when grading cannot run.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import re
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from . import grade, settings, starter
from .cases import tomllib
from .settings import ROOT

CATALOGUE = ROOT / "expected" / "mutants" / "catalogue.toml"
TIMEOUT = "10"          # seconds, at most, per case: the default; less, and a loaded machine
                        # times out a case the mutant did not break (seen at load 10 with 5 s)


class CatalogueError(ValueError):
    """A catalogue that cannot be used: the message says where."""


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    op: str                 # "replace" | "drop" | "unchecked"
    find: re.Pattern | None
    replace: str


@dataclass(frozen=True)
class Catalogue:
    mutations: tuple
    calls: re.Pattern       # a statement that calls one of these is mutated outside the regions
    equivalent: dict        # (lab, mutation, code) -> reason
    self_test: tuple        # (lab, mutation, code, "caught" | "equivalent")


@dataclass(frozen=True)
class Mutant:
    lab: str
    line: int               # in the reference labs/LAB.c
    mutation: str
    region: bool            # inside a SOLUTION region
    code: str               # the reference's line, stripped
    changed: str            # the mutated statement, on one line
    source: str             # the whole mutated lab
    equivalent: str = ""    # the catalogue's reason, when it lists this one
    occurrence: int = 1     # the how-manyth line of the lab that reads as code does

    @property
    def id(self) -> str:
        return f"{self.lab}.c:{self.line}:{self.mutation}"


def load_catalogue(path: Path = CATALOGUE) -> Catalogue:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CatalogueError(f"{path}: {e}") from None
    mutations, seen = [], set()
    for i, m in enumerate(data.get("mutation", []), 1):
        name, op = m.get("name"), m.get("op", "replace")
        if not name or name in seen or op not in ("replace", "drop", "unchecked"):
            raise CatalogueError(f"{path}: mutation {i}: needs a new name and op replace, drop "
                                 f"or unchecked")
        if op == "replace" and ("find" not in m or "replace" not in m):
            raise CatalogueError(f"{path}: mutation {name}: needs find and replace")
        try:
            find = re.compile(m["find"]) if "find" in m else None
        except re.error as e:
            raise CatalogueError(f"{path}: mutation {name}: find: {e}") from None
        seen.add(name)
        mutations.append(Mutation(name, m.get("what", name), op, find, m.get("replace", "")))
    calls = re.compile(r"\b(?:" + "|".join(map(re.escape, data.get("calls", []))) + r")\s*\(")
    equivalent = {}
    for e in data.get("equivalent", []):
        key = (e.get("lab"), e.get("mutation"), e.get("code"))
        if None in key or not e.get("reason") or key[1] not in seen:
            raise CatalogueError(f"{path}: equivalent {key}: needs lab, a known mutation, code "
                                 f"and reason")
        if "occurrence" in e:       # only the Nth line of the lab that reads so
            key += (e["occurrence"],)
        equivalent[key] = e["reason"]
    tests = tuple((t["lab"], t["mutation"], t["code"], t.get("expect", "caught"))
                  for t in data.get("self_test", []))
    return Catalogue(tuple(mutations), calls, equivalent, tests)


# ---- the places: statements, code and the regions -----------------------------------------

def code_mask(text: str) -> list:
    """True at each character of code: not in a comment, a string or a character literal,
    nor on a preprocessor line."""
    mask, i, n = [True] * len(text), 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            j = i
            while j < n and (text[j] != "\n" or text[j - 1] == "\\"):
                j += 1
            mask[i:j] = [False] * (j - i)
            i = j
            continue
        if c == "\n":
            line_start = True
            i += 1
            continue
        if c not in " \t":
            line_start = False
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            mask[i:j] = [False] * (j - i)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            mask[i:j] = [False] * (j - i)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            mask[i:j] = [False] * (j - i)
            i = j
        else:
            i += 1
    return mask


def statements(text: str, mask: list) -> list:
    """(start, end) of every statement inside a function: the code up to a `;` outside
    parentheses, or up to a brace (not included). What is at file scope (declarations, a
    function's own header) is no statement."""
    found, start, depth, braces = [], None, 0, 0
    for i, c in enumerate(text):
        if not mask[i]:
            continue
        if start is None and not c.isspace() and c not in "{}":
            start, inside = i, braces > 0
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and c == ";" and start is not None:
            if inside:
                found.append((start, i + 1))
            start = None
        elif depth == 0 and c in "{}":
            if start is not None and inside:
                found.append((start, i))
            start = None
            braces += 1 if c == "{" else -1
    return found


def region_lines(text: str) -> list:
    """(first, last) line numbers of the code inside each SOLUTION region."""
    spans, begin = [], None
    for number, line in enumerate(text.split("\n"), 1):
        if starter.BEGIN.match(line):
            begin = number
        elif begin is not None and starter.END.match(line):
            spans.append((begin, number))
            begin = None
    return spans


def _close(text: str, mask: list, opening: int) -> int:
    """The index just past the parenthesis that closes the one at opening."""
    depth = 0
    for i in range(opening, len(text)):
        if mask[i] and text[i] == "(":
            depth += 1
        elif mask[i] and text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


LVALUE = re.compile(r"^[A-Za-z_]\w*(\s*(->|\.)\s*\w+)*$")


def _statement_edit(op: str, text: str, mask: list, start: int, end: int, calls: re.Pattern):
    """The replacement of text[start:end] for a drop or an unchecked, or None where it does
    not fit: the statement must end with `;` and make the call itself."""
    stmt = text[start:end]
    if not stmt.endswith(";") or not calls.search(_code_only(stmt, mask[start:end])):
        return None
    if re.match(r"\s*else\b", _code_only(text[end:end + 200], mask[end:end + 200])):
        return None                     # an if with an else: left out, the else would dangle
    head = re.match(r"(if|check)\s*\(", stmt)
    if op == "unchecked":
        if head is None:
            return None
        opening = start + head.end() - 1
        closing = _close(text, mask, opening)
        inner = text[opening + 1:closing - 1]
        if head.group(1) == "check":     # check(FAILED, "call"): keep FAILED, drop the check
            depth, cut = 0, None
            for j, ch in enumerate(inner):
                if not mask[opening + 1 + j]:
                    continue
                depth += ch == "("
                depth -= ch == ")"
                if ch == "," and depth == 0:
                    cut = j
                    break
            if cut is None:
                return None
            inner = inner[:cut]
        if not calls.search(inner):
            return None
        return f"(void)({inner.strip()});"
    if head is not None and head.group(1) == "if" or re.match(r"(for|while|check)\s*\(|\w+\s*\(", stmt):
        return ""
    assign = re.match(r"(?s)(?P<lhs>[^=;()]*?)\s*=(?!=)\s*(?P<rhs>.*);$", stmt)
    if assign is None or not calls.search(assign.group("rhs")) or re.search(r"\)\s*,", assign.group("rhs")):
        return None                     # (not `T a = call(...), b;`: b would go too)
    if LVALUE.match(assign.group("lhs").strip()):
        return ""                       # an assignment: it is not made at all
    return f"{assign.group('lhs')} = 0;"  # a declaration: the variable gets nothing from the call


def _code_only(text: str, mask: list) -> str:
    return "".join(c if m else " " for c, m in zip(text, mask))


def mutants_of(lab: str, text: str, catalogue: Catalogue) -> list:
    """Every mutant of one lab's reference source, in source order."""
    mask = code_mask(text)
    spans = region_lines(text)
    line_of = [0] * (len(text) + 1)
    number = 1
    for i, c in enumerate(text):
        line_of[i] = number
        number += c == "\n"
    lines = text.split("\n")
    found = []
    for start, end in statements(text, mask):
        region = any(a < line_of[start] < b for a, b in spans)
        code = _code_only(text[start:end], mask[start:end])
        if not region and not catalogue.calls.search(code):
            continue
        for m in catalogue.mutations:
            edits = []
            if m.op == "replace":       # on the code only: strings and comments are blanks
                edits = [(start + hit.start(), start + hit.end(), hit.expand(m.replace))
                         for hit in m.find.finditer(code)]
            else:
                new = _statement_edit(m.op, text, mask, start, end, catalogue.calls)
                if new is not None:
                    edits.append((start, end, new))
            for a, b, new in edits:
                source = text[:a] + new + text[b:]
                line = line_of[a if m.op == "replace" else start]
                changed = " ".join((source[start:end + len(source) - len(text)]).split())
                code_line = lines[line - 1].strip()
                nth = sum(1 for other in lines[:line] if other.strip() == code_line)
                found.append(Mutant(lab, line, m.name, region, code_line,
                                    changed or "(left out)", source,
                                    equivalent_reason(catalogue, lab, m.name, code_line, nth), nth))
    return found


def equivalent_reason(catalogue: Catalogue, lab: str, mutation: str, code: str,
                      occurrence: int = 1) -> str:
    """The catalogue's reason when it lists this mutant as equivalent ("*" for lab or code:
    every lab, every line), else ""."""
    for key in ((lab, mutation, code, occurrence), (lab, mutation, code), (lab, mutation, "*"),
                ("*", mutation, code), ("*", mutation, "*")):
        if key in catalogue.equivalent:
            return catalogue.equivalent[key]
    return ""


def listed_exactly(catalogue: Catalogue, mutant: Mutant) -> bool:
    key = (mutant.lab, mutant.mutation, mutant.code)
    return key in catalogue.equivalent or key + (mutant.occurrence,) in catalogue.equivalent


def all_mutants(labs_dir: Path, catalogue: Catalogue, only=()) -> list:
    found = []
    for source in sorted(Path(labs_dir).glob("*.c")):
        if only and source.stem not in only:
            continue
        found += mutants_of(source.stem, source.read_text(encoding="utf-8"), catalogue)
    return found


def stale_equivalents(mutants, catalogue: Catalogue, every_lab: bool = True) -> list:
    """The catalogue's equivalents that name no mutant: the lab changed under them (those
    for every lab, "*", only when every lab's mutants are there)."""
    labs = {m.lab for m in mutants} | ({"*"} if every_lab else set())

    def names(key, m):
        return all(k in ("*", v) for k, v in zip(key, (m.lab, m.mutation, m.code, m.occurrence)))
    return [key for key in catalogue.equivalent if key[0] in labs
            and not any(names(key, m) for m in mutants)]


# ---- grading -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    mutant: Mutant
    status: str             # "caught" | "survived" | "stillborn" (does not compile)
    points: int
    max_points: int
    failed: tuple           # the names of the cases that cost points


def setup_for(build: Path, labs_dir: Path, expected: Path, jobs: int, runner=None,
              seed: int = 4242) -> grade.Setup:
    """The grader's own Setup (the runner started when none is given), with a compile cache
    of the mutants' own."""
    options = grade.parse(["--build", str(build), "--labs", str(labs_dir), "--expected",
                           str(expected), "--timeout", TIMEOUT, "--seed", str(seed),
                           "--jobs", str(jobs)])
    setup = grade.prepare(options, runner)
    setup.cache = Path(build) / "mutants" / "cache"
    return setup


def grade_one(setup: grade.Setup, mutant: Mutant, work: Path) -> Result:
    """The mutant graded case by case, in the lab's order, until one loses points: that is
    all "caught" needs (the cases before it passed, so a parent's child runs as grading
    would run it). The source is compiled once (the cache is by content)."""
    lab = next(lab for lab in setup.labs if lab.name == mutant.lab)
    folder = work / mutant.id.replace(":", "_").replace(".c", "")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = folder / f"{mutant.lab}.c"
    source.write_text(mutant.source, encoding="utf-8")
    status, points, most, failed = "survived", 0, 0, ()
    try:
        for case in lab.cases:
            one = replace(lab, cases=(replace(case, parent=None),))
            graded = grade.grade_lab(setup, one, source, folder / "grade")
            if graded.problem == "did_not_compile":
                status = "stillborn"
                break
            points, most = points + graded.points, most + graded.max_points
            if graded.points < graded.max_points:
                status, failed = "caught", (case.name,)
                break
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Result(mutant, status, points, most, failed)


def grade_mutants(setup: grade.Setup, mutants, work: Path, jobs: int, progress=None) -> list:
    results = [None] * len(mutants)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, setup, m, work): i for i, m in enumerate(mutants)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            results[futures[future]] = future.result()
            if progress is not None and progress.isatty():
                print(f"\r\033[Kgraded {done}/{len(mutants)} mutants", end="", file=progress,
                      flush=True)
            elif progress is not None and (done % 50 == 0 or done == len(mutants)):
                print(f"graded {done}/{len(mutants)} mutants", file=progress, flush=True)
    if progress is not None and progress.isatty() and mutants:
        print(file=progress)
    return results


def starter_score(setup: grade.Setup, work: Path, root: Path = ROOT) -> tuple:
    """(points, max) of the untouched starter: make starter's labs, graded."""
    folder = work / "starter"
    starter.write(folder, root, force=True)      # its own scratch copy
    graded = grade.grade_folder(setup, "starter", folder / "labs", work / "starter-grade")
    shutil.rmtree(work / "starter-grade", ignore_errors=True)
    return graded.score, graded.max_score


# ---- the report --------------------------------------------------------------------------

def figures(results) -> dict:
    """lab -> {"region"/"elsewhere": {caught, survived, equivalent, stillborn, total}}."""
    table = {}
    for r in results:
        where = table.setdefault(r.mutant.lab, {}).setdefault(
            "region" if r.mutant.region else "elsewhere",
            {"caught": 0, "survived": 0, "equivalent": 0, "stillborn": 0, "total": 0})
        if r.status == "stillborn":
            where["stillborn"] += 1
            continue
        where["total"] += 1
        if r.status == "caught":
            where["caught"] += 1
        elif r.mutant.equivalent:
            where["equivalent"] += 1
        else:
            where["survived"] += 1
    return table


def _cell(f) -> str:
    if not f or not f["total"]:
        return "-"
    text = f"{f['caught']}/{f['total']}"
    extra = [f"{f['equivalent']} equivalent"] if f["equivalent"] else []
    extra += [f"{f['stillborn']} do not compile"] if f["stillborn"] else []
    return text + (f" ({', '.join(extra)})" if extra else "")


def report(results, seconds: float, score=None, jobs: int = 1, catalogue=None) -> str:
    table = figures(results)
    out = ["| lab | in the SOLUTION regions: caught/total | elsewhere (other Virtual*/mmap calls) |",
           "|---|---:|---:|"]
    totals = {"region": dict.fromkeys(("caught", "survived", "equivalent", "stillborn", "total"), 0),
              "elsewhere": dict.fromkeys(("caught", "survived", "equivalent", "stillborn", "total"), 0)}
    for lab, where in table.items():
        out.append(f"| {lab} | {_cell(where.get('region'))} | {_cell(where.get('elsewhere'))} |")
        for key, f in where.items():
            for k, v in f.items():
                totals[key][k] += v
    out.append(f"| **all** | **{_cell(totals['region'])}** | **{_cell(totals['elsewhere'])}** |")
    survivors = [r for r in results if r.status == "survived" and not r.mutant.equivalent]
    out += ["", f"Survivors ({len(survivors)}): full marks with the mistake in"]
    for r in sorted(survivors, key=lambda r: (not r.mutant.region, r.mutant.lab, r.mutant.line)):
        m = r.mutant
        out.append(f"- {'region' if m.region else 'elsewhere'} labs/{m.lab}.c:{m.line}: {m.mutation}: "
                   f"`{m.changed}`")
    equivalents = [r for r in results if r.mutant.equivalent and r.status != "stillborn" and
                   (r.status == "survived" or catalogue is not None and listed_exactly(catalogue, r.mutant))]
    if equivalents:
        out += ["", f"Equivalent ({len(equivalents)}, listed in the catalogue): why, then where"]
        by_reason = {}
        for r in equivalents:
            m = r.mutant
            flag = " CAUGHT: not equivalent after all, take it out of the catalogue" \
                if r.status == "caught" else ""
            by_reason.setdefault(m.equivalent, []).append(f"{m.lab}.c:{m.line} {m.mutation}{flag}")
        for reason, places in by_reason.items():
            out.append(f"- {reason}: {', '.join(places)}")
    stillborn = [r.mutant for r in results if r.status == "stillborn"]
    if stillborn:
        out += ["", f"Do not compile ({len(stillborn)}, no mistake a case could catch): "
                    + ", ".join(f"{m.lab}.c:{m.line} {m.mutation}" for m in stillborn)]
    if score is not None:
        out += ["", f"The untouched starter: {score[0]}/{score[1]} "
                    f"({100 * score[0] / max(1, score[1]):.1f}%)"]
    out += ["", f"{len(results)} mutants graded in {seconds:.0f} s, {jobs} at a time"]
    return "\n".join(out) + "\n"


def parse(argv):
    parser = argparse.ArgumentParser(prog="python3 -m harness.mutants",
                                     description="grade every catalogue mutant of the labs")
    parser.add_argument("--lab", action="append", help="only this lab's mutants (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants, grade nothing")
    parser.add_argument("--jobs", type=int, default=settings.current().workers)
    parser.add_argument("--no-starter", action="store_true", help="do not grade the starter")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose labs and cases "
                        "are graded (default: this one; the catalogue is always this one's)")
    parser.add_argument("--build", default=str(settings.current().build))
    return parser.parse_args(argv)


def main(argv) -> int:
    options = parse(argv)
    root = Path(options.root).resolve()
    try:
        catalogue = load_catalogue()
    except CatalogueError as e:
        print(f"mutants: {e}", file=sys.stderr)
        return 2
    mutants = all_mutants(root / "labs", catalogue, tuple(options.lab or ()))
    stale = stale_equivalents(mutants, catalogue, not options.lab)
    for key in stale:
        print(f"mutants: the catalogue lists {key} as equivalent, but no such mutant exists "
              f"(did the lab change?)", file=sys.stderr)
    if options.list:
        for m in mutants:
            print(f"{m.id}{' (region)' if m.region else ''}: {m.changed}")
        return 2 if stale else 0
    build = Path(options.build)
    work = build / "mutants" / "work"
    started = time.monotonic()
    try:
        setup = setup_for(build, root / "labs", root / "expected", options.jobs)
    except grade.GradingError as e:
        print(f"mutants: {e}", file=sys.stderr)
        return 2
    try:
        only = set(options.lab or ())
        setup.labs = [lab for lab in setup.labs if not only or lab.name in only]
        reference = grade.grade_folder(setup, "reference", root / "labs", work / "reference")
        if reference.score != reference.max_score:
            lost = [c.id for c in reference.cases if c.points < c.max_points]
            print(f"mutants: the reference itself loses points ({', '.join(lost)}): "
                  f"no mutant can be judged against it", file=sys.stderr)
            return 2
        print(f"{len(mutants)} mutants, {options.jobs} at a time", file=sys.stderr)
        results = grade_mutants(setup, mutants, work, options.jobs, progress=sys.stderr)
        score = None if options.no_starter or only else starter_score(setup, work, root)
    finally:
        setup.runner.stop()
    text = report(results, time.monotonic() - started, score, options.jobs, catalogue)
    (build / "mutants").mkdir(parents=True, exist_ok=True)
    (build / "mutants" / "report.md").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"(written: {build / 'mutants' / 'report.md'})", file=sys.stderr)
    missed = [r for r in results if r.mutant.region and r.status == "survived" and not r.mutant.equivalent]
    return 2 if stale else 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
