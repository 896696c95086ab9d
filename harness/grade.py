"""grade: verdicts + points -> a grade; written as a table, results.json, junit.xml and a CSV.

A submission is a folder holding some or all of the labs under their own names (NAME.c, or
labs/NAME.c as in the starter). Each lab is compiled on its own against the reference
labs/lab.h and its cases are run and judged exactly as `make check` does (build, run,
match); a case earns its points when it passes, nothing when it fails or when its parent
case did not pass. A lab that is missing or does not compile costs that lab's points only.

    python3 -m harness.grade                       the reference labs        (make grade)
    python3 -m harness.grade --submission DIR      one student's folder      (make grade SUBMISSION=DIR)
    python3 -m harness.grade --all DIR             a folder of such folders  (make grade-all SUBMISSIONS=DIR)

Every run goes through run.Runner.run, as in `make check`: in its own sandbox (bwrap, a
wineserver of its own) unless SANDBOX=0, so a submission sees neither the cases (public or
hidden) nor the other submissions. Every case's outcome is named with run.EXPLANATIONS (and
so are "missing", "did_not_compile" and "not_run", which grading decides without a run): the
same names and lines in the table, results.json and grades.csv.

Exit status: 0 full marks, 1 points were lost, 2 grading could not run (a bad path, a
missing compiler or Wine, no sandbox, a broken case file). --all exits 0 once every student
is graded.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import json
import os
import shutil
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from . import cases, match, report
from .build import compile_submission, toolchain
from .run import EXPLANATIONS, ConfigError, Runner
from .sandbox_user import private_folder
from .submission import find_sources, read_source

ROOT = Path(__file__).resolve().parent.parent
PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"
COMPILE_PROBLEMS = ("did_not_compile", "program_too_large")     # a lab with no program to run
OUTPUT_LIMIT = 6000         # characters of one case's explanation in results.json
REASON_LIMIT = 150          # characters of the one-line reason


class GradingError(RuntimeError):
    """Grading cannot run at all (exit 2): the message says what to fix."""


@dataclass(frozen=True)
class CaseGrade:
    lab: str
    name: str
    points: int             # earned
    max_points: int
    status: str             # passed | failed | not run
    reason: str             # one line: what happened ("" when it passed)
    hint: str
    output: str             # what a student reads: the failure report, or how it passed
    hidden: bool
    seed: int | None        # the seed of its random stdin, when it had one
    record: str | None      # the full record, relative to the submission's grade folder
    outcome: str = ""       # how it ended, a key of run.EXPLANATIONS (Outcome.label, or
                            # "missing", "did_not_compile", "not_run": decided without a run)
    meaning: str = ""       # that outcome's line from EXPLANATIONS, filled in
    outcome_wrong: bool = False     # it ran, and did not end as the case expects
    said: str = ""          # its last line on stderr, when it ended itself with an error

    @property
    def id(self) -> str:
        return f"{self.lab}/{self.name}"

    @property
    def visibility(self) -> str:
        return "after_published" if self.hidden else "visible"


@dataclass(frozen=True)
class LabGrade:
    lab: str
    title: str
    order: int
    problem: str            # "" | "missing" | "did_not_compile" | "program_too_large" (run.EXPLANATIONS)
    message: str            # the problem in full: the compile command and the compiler's output
    cases: tuple
    seconds: float
    warnings: str = ""      # what the compiler said about a lab that compiled

    @property
    def points(self) -> int:
        return sum(c.points for c in self.cases)

    @property
    def max_points(self) -> int:
        return sum(c.max_points for c in self.cases)


@dataclass(frozen=True)
class Grade:
    student: str
    folder: str             # what was graded, as given
    labs: tuple
    seed: int
    notes: tuple = ()       # about the submission as a whole: files ignored, lab.h
    seconds: float = 0.0
    sandbox: str = ""       # where its compiles and runs ran: Runner.describe_sandbox()

    @property
    def score(self) -> int:
        return sum(lab.points for lab in self.labs)

    @property
    def max_score(self) -> int:
        return sum(lab.max_points for lab in self.labs)

    @property
    def cases(self) -> list:
        return [c for lab in self.labs for c in lab.cases]


@dataclass
class Setup:
    """What every lab of every submission is graded with."""
    labs: list              # cases.Lab, hidden cases appended
    runner: Runner
    lab_h: Path             # the reference lab.h: the one every submission compiles with
    cache: Path             # compiled submissions, by content
    seed: int
    flags: dict = field(default_factory=dict)   # native -> compiler flags
    known: frozenset = frozenset()  # every lab's name, graded this time or not (LAB=)


def grading_flags(native: bool) -> list:
    """The build's flags without -Werror: a warning is shown, it never costs points."""
    return [f for f in toolchain(native)[1] if f != "-Werror"]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reason_of(case, outcome, verdict) -> str:
    """What went wrong, in one line: the first difference a student should look at."""
    if verdict.note:
        return verdict.note
    r = verdict.result
    if not r.outcome_ok:
        expected = report.expected_outcome(case, verdict)
        return f"expected {expected}, got {outcome.describe()}"
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
                return (f"output line {line}: {_cut(row.got.strip(), 40)!r} is extra: debug "
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
    return prefix + _cut(report.safe(lines[-1]), 120) if lines else ""


def _not_run(case, label: str, reason: str, output: str) -> CaseGrade:
    """A case grading decided without running it: label is "missing", "did_not_compile"
    or "not_run"."""
    return CaseGrade(case.lab, case.name, 0, case.points, NOT_RUN, reason, case.hint, output,
                     case.hidden, None, None, label, EXPLANATIONS[label])


def first_warning(message: str) -> str:
    lines = message.splitlines()
    return _cut(_one_line(next((l for l in lines if "warning" in l), lines[0] if lines else "")), 100)


def first_error(message: str) -> str:
    lines = message.splitlines()
    line = next((l for l in lines if "error" in l.lower()), lines[0] if lines else "")
    return _one_line(line)


def grade_lab(setup: Setup, lab, source, out: Path, missing_note: str = "") -> LabGrade:
    """Compile one lab of one submission (a submission.Source, a path read as one, or None:
    missing), run and judge each of its cases, give points."""
    if isinstance(source, Path):
        source = read_source(source)
    started = time.monotonic()

    def done(problem, message, graded, warnings=""):
        return LabGrade(lab.name, lab.title, lab.order, problem, message, tuple(graded),
                        time.monotonic() - started, warnings)

    if source is None:
        reason = f"{lab.name}.c is missing from the submission{missing_note}"
        return done("missing", reason, [_not_run(c, "missing", reason, reason) for c in lab.cases])
    try:
        built = compile_submission(source, setup.lab_h, setup.cache, lab.native,
                                   setup.flags.get(lab.native), runner=setup.runner)
    except (RuntimeError, OSError) as e:    # the sandbox, not the submission
        raise GradingError(f"cannot compile {lab.name}.c: {e}") from None
    if not built.ok:
        if source.refused:
            reason = message = source.refused
        else:
            reason = f"{lab.name}.c does not compile: {first_error(built.message)}"
            message = f"$ {' '.join(built.command)}\n{built.message}"
        return done(built.problem, message,
                    [_not_run(c, built.problem, reason, f"{lab.name}.c does not compile:\n{message}")
                     for c in lab.cases])
    status, graded = {}, []
    for case in lab.cases:
        if case.parent is not None and status.get(case.parent) != PASSED:
            why = "failed" if status.get(case.parent) == FAILED else "was not run"
            reason = f"not run: needs {case.parent}, which {why}"
            graded.append(_not_run(case, "not_run", reason,
                                   f"{reason}: it only counts once {case.parent} passes"))
            status[case.name] = NOT_RUN
            continue
        case = cases.with_input(case, setup.seed)
        try:
            outcome = setup.runner.run(built.exe, case.args, case.stdin, case.timeout,
                                       native=lab.native)
        except (RuntimeError, OSError) as e:     # the sandbox or Wine, not the submission
            raise GradingError(f"cannot run {case.id}: {e}") from None
        verdict = match.judge(case, outcome)
        wrong = verdict.result is not None and not verdict.result.outcome_ok
        named = dict(outcome=outcome.label, meaning=outcome.explain(), outcome_wrong=wrong,
                     said=last_said(outcome) if wrong else "")
        record = Path("cases") / lab.name / f"{case.name}.txt"
        (out / record).parent.mkdir(parents=True, exist_ok=True)
        (out / record).write_text(report.full_record(case, outcome, verdict), encoding="utf-8")
        if verdict.passed:
            text = "passed" + (f" (the {verdict.variant} behaviour)" if verdict.variant else "")
            text += "".join("\n" + line for line in report.note_lines(case, verdict))
            if case.seed is not None:
                text += "\n" + report.stdin_line(case)
            graded.append(CaseGrade(case.lab, case.name, case.points, case.points, PASSED, "",
                                    case.hint, text, case.hidden, case.seed, str(record), **named))
        else:
            text = _cut(report.failure(case, outcome, verdict), OUTPUT_LIMIT)
            reason = _one_line(reason_of(case, outcome, verdict))
            if case.seed is not None:
                reason = f"{_cut(reason, REASON_LIMIT - 30)} (the word sent: {case.stdin.split()[0]!r})"
            graded.append(CaseGrade(case.lab, case.name, 0, case.points, FAILED,
                                    _cut(reason, REASON_LIMIT),
                                    case.hint, text, case.hidden, case.seed, str(record), **named))
        status[case.name] = graded[-1].status
    return done("", "", graded, built.message)


def grade_folder(setup: Setup, student: str, folder: Path, out: Path, pool=None,
                 notes=True) -> Grade:
    """Every lab of one submission (in parallel on pool, when given)."""
    started = time.monotonic()
    shutil.rmtree(out / "cases", ignore_errors=True)
    sources, missing, remarks = find_sources(folder, setup.labs, setup.known)
    jobs = [(lab, sources[lab.name], missing.get(lab.name, "")) for lab in setup.labs]
    if pool is None:
        labs = [grade_lab(setup, lab, src, out, why) for lab, src, why in jobs]
    else:
        labs = list(pool.map(lambda job: grade_lab(setup, job[0], job[1], out, job[2]), jobs))
    return Grade(student, str(folder), tuple(labs), setup.seed, tuple(remarks) if notes else (),
                 time.monotonic() - started, setup.runner.describe_sandbox())


# ---- what a grade is written as -------------------------------------------------------

def replay(grade: Grade) -> str:
    return f"SEED={grade.seed}"


def _wrapped(head: str, text: str, width: int, most: int = 4) -> list:
    """text after head, wrapped under itself, on at most `most` lines (the rest is in the
    details and in grade.txt)."""
    lines = textwrap.wrap(text, max(40, width - len(head)), break_on_hyphens=False) or [""]
    if len(lines) > most:
        lines = lines[:most - 1] + [_cut(lines[most - 1], max(40, width - len(head)) - 1) + "\u2026"]
    return [head + lines[0], *(" " * len(head) + line for line in lines[1:])]


FOLDED = (("  = ", "lines as expected"), ("  - ", "more lines missing"),
          ("  FAIL ", "more checks failed"))


def brief(text: str, keep: int = 2) -> str:
    """A failure's report with each run of alike lines (matched output "  = ", missing lines
    "  - ", failed checks) longer than 2 * keep + 1 folded to its first and last `keep`
    lines: the differences stay in view."""
    out, run, kind = [], [], None

    def flush():
        if len(run) > 2 * keep + 1:
            indent = run[0][:len(run[0]) - len(run[0].lstrip())]
            out.extend(run[:keep] + [f"{indent}... {len(run) - 2 * keep} {kind[1]}"] + run[-keep:])
        else:
            out.extend(run)
        run.clear()

    for line in text.split("\n"):
        alike = next((k for k in FOLDED if line.startswith(k[0])), None)
        if alike is not kind:
            flush()
            kind = alike
        if alike is None:
            out.append(line)
        else:
            run.append(line)
    flush()
    return "\n".join(out)


def table(grade: Grade, width: int = 110) -> str:
    """Per lab: each case, its points, its status and, when it failed, what happened and the
    hint; an explanation or a hint already given in the lab is not given again."""
    out = []
    for lab in grade.labs:
        out.append(f"{lab.lab}: {lab.points}/{lab.max_points} - {lab.title}")
        if lab.problem:
            out.append(f"  {lab.cases[0].reason}")
            names = ", ".join(c.name + (" (hidden)" if c.hidden else "") for c in lab.cases)
            out += _wrapped("  not run: ", f"{names} ({lab.cases[0].meaning})", width)
            out.append("")
            continue
        if lab.warnings:
            out.append(f"  the compiler warns (no points lost, but read it): {first_warning(lab.warnings)}")
        out.append(f"  {'case':<28} {'points':>6}  {'status':<8} what happened")
        said = set()
        for c in lab.cases:
            name = c.name + (" (hidden)" if c.hidden else "")
            status = "FAILED" if c.status == FAILED else c.status
            head = f"  {name:<28} {f'{c.points}/{c.max_points}':>6}  {status:<8} "
            if c.status == PASSED:
                out.append(head.rstrip())
                continue
            parts = [c.reason]
            if c.status == FAILED:
                if c.said:
                    parts.append(f"it said: {c.said}")
                if c.outcome_wrong and c.meaning not in said:
                    parts.append(c.meaning)
                    said.add(c.meaning)
                hint = _one_line(c.hint)
                if hint and hint not in said:
                    parts.append(f"hint: {hint}")
                    said.add(hint)
                elif hint:
                    parts.append("hint: as above")
            out += _wrapped(head, " -- ".join(parts), width)
        out.append("")
    return "\n".join(out)


def details(grade: Grade, every: bool = True) -> str:
    """The full explanation of the failures: compile errors once per lab, then each failed
    case; every=False, only the first failure of each lab, the others named."""
    out = []
    for lab in grade.labs:
        if lab.problem in COMPILE_PROBLEMS:
            out.append(f"---- {lab.lab}.c does not compile (0/{lab.max_points})\n{lab.message}")
            continue
        if lab.warnings and every:
            out.append(f"---- {lab.lab}.c compiles, with warnings (no points lost)\n{lab.warnings}")
        failed = [c for c in lab.cases if c.status == FAILED]
        for c in failed if every else failed[:1]:
            out.append(f"---- {c.id} (0/{c.max_points})\n{c.output if every else brief(c.output)}")
        if not every and len(failed) > 1:
            out.append(f"---- {lab.lab}: also failed, each in the table above: "
                       f"{', '.join(c.name for c in failed[1:])}")
    return "\n\n".join(out)


def summary(grade: Grade) -> str:
    """One line per lab, then the score: the last thing a student reads."""
    width = max(len(lab.lab) for lab in grade.labs) if grade.labs else 0
    lines = []
    for lab in grade.labs:
        lost = [c.name for c in lab.cases if c.points < c.max_points]
        why = lab.problem.replace("_", " ") if lab.problem else \
            ("full marks" if not lost else f"lost: {', '.join(lost)}")
        lines.append(f"  {lab.lab:<{width}}  {f'{lab.points}/{lab.max_points}':>6}  {_cut(why, 80)}")
    return "\n".join(lines)


def header(grade: Grade) -> str:
    lines = [f"vmlabs grade: {grade.folder} ({grade.student})",
             f"random inputs: seed {grade.seed} ({replay(grade)} replays them)"]
    if grade.sandbox:
        lines.append(f"compiled and run in: {grade.sandbox}")
    lines += [f"note: {n}" for n in grade.notes]
    return "\n".join(lines)


def text_report(grade: Grade, with_details=True, every=True) -> str:
    """The header, the table, what went wrong (every failure, or every=False the first of
    each lab), then one line per lab and the score."""
    parts = [header(grade), "", table(grade)]
    explained = details(grade, every) if with_details else ""
    if explained:
        title = "What went wrong, case by case:" if every else \
            ("What went wrong, the first failure of each lab (every one: --details, or V=1; "
             "all of them are in grade.txt):")
        parts += [title, "", explained, ""]
    if len(grade.labs) > 1:
        parts += [summary(grade), ""]
    parts.append(f"Score: {grade.score}/{grade.max_score}")
    return "\n".join(parts) + "\n"


def results_json(grade: Grade) -> dict:
    """Gradescope's results.json: https://gradescope-autograders.readthedocs.io/en/latest/specs/"""
    summary = [header(grade), ""]
    summary += [f"{lab.lab}: {lab.points}/{lab.max_points}"
                + (f" ({lab.problem}: {EXPLANATIONS[lab.problem]})" if lab.problem else "")
                + (f"\n  the compiler warns: {first_warning(lab.warnings)}" if lab.warnings else "")
                for lab in grade.labs]
    tests = []
    for i, lab in enumerate(grade.labs, 1):
        for j, c in enumerate(lab.cases, 1):
            output = c.output if c.status == PASSED else \
                f"{c.reason}\n{c.outcome}: {c.meaning}\nhint: {c.hint}\n\n{c.output}"
            tests.append({"name": c.id, "number": f"{i}.{j}", "score": c.points,
                          "max_score": c.max_points, "status": PASSED if c.status == PASSED else FAILED,
                          "output": output, "visibility": c.visibility, "tags": [lab.lab],
                          "extra_data": {"outcome": c.outcome, "meaning": c.meaning}})
    return {"score": grade.score, "max_score": grade.max_score,
            "execution_time": round(grade.seconds, 2), "output": "\n".join(summary),
            "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"student": grade.student, "seed": grade.seed, "notes": list(grade.notes),
                           "sandbox": grade.sandbox},
            "tests": tests}


def junit_xml(grade: Grade) -> str:
    root = ET.Element("testsuites", name=f"vmlabs {grade.student}", tests=str(len(grade.cases)),
                      failures=str(sum(c.status == FAILED for c in grade.cases)),
                      skipped=str(sum(c.status == NOT_RUN for c in grade.cases)),
                      time=f"{grade.seconds:.2f}")
    for lab in grade.labs:
        suite = ET.SubElement(root, "testsuite", name=lab.lab, tests=str(len(lab.cases)),
                              failures=str(sum(c.status == FAILED for c in lab.cases)),
                              skipped=str(sum(c.status == NOT_RUN for c in lab.cases)),
                              time=f"{lab.seconds:.2f}")
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="points", value=f"{lab.points}/{lab.max_points}")
        ET.SubElement(props, "property", name="seed", value=str(grade.seed))
        for c in lab.cases:
            case = ET.SubElement(suite, "testcase", classname=lab.lab, name=c.name)
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="points", value=f"{c.points}/{c.max_points}")
            ET.SubElement(props, "property", name="outcome", value=c.outcome)
            if c.status == FAILED:
                ET.SubElement(case, "failure", message=c.reason, type="failed").text = c.output
            elif c.status == NOT_RUN:
                ET.SubElement(case, "skipped", message=c.reason).text = c.output
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def lost(lab: LabGrade) -> str:
    """Why a lab lost points, by outcome name (run.EXPLANATIONS): "missing", "did_not_compile",
    or each case that earned nothing as case=outcome ("" at full marks)."""
    if lab.problem:
        return lab.problem
    return " ".join(f"{c.name}={c.outcome}" for c in lab.cases if c.points < c.max_points)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A CSV cell a spreadsheet shows as the text it is: a student's folder named
    =HYPERLINK(...) must not become a formula (OWASP's CSV injection advice: a leading ')."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def grades_csv(grades, labs) -> str:
    """One row per student: the points of each lab and the total, then per lab what cost
    points, by outcome name; a spreadsheet opens it (the points come first, for importing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *(lab.name for lab in labs), "total",
                     *(f"{lab.name} lost" for lab in labs)])
    writer.writerow(["Points Possible", *(sum(c.points for c in lab.cases) for lab in labs),
                     sum(c.points for lab in labs for c in lab.cases), *("" for _ in labs)])
    for grade in sorted(grades, key=lambda g: g.student):
        by_lab = {lab.lab: lab for lab in grade.labs}
        writer.writerow([cell(grade.student), *(by_lab[lab.name].points if lab.name in by_lab else 0
                                          for lab in labs), grade.score,
                         *(lost(by_lab[lab.name]) if lab.name in by_lab else "" for lab in labs)])
    return buffer.getvalue()


def write_atomic(path: Path, text: str):
    """A reader never sees half a file: written beside it, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_grade(grade: Grade, out: Path, with_details=True):
    """results.json, junit.xml and grade.txt (the table and every failure) in out."""
    write_atomic(out / "results.json", json.dumps(results_json(grade), indent=1) + "\n")
    write_atomic(out / "junit.xml", junit_xml(grade))
    write_atomic(out / "grade.txt", text_report(grade, with_details))


# ---- the command line -------------------------------------------------------------------

def prepare(options, runner: Runner | None = None) -> Setup:
    """Everything grading needs, or GradingError saying what is missing. runner: one that
    is started already (the caller stops it), else one is started here."""
    only = tuple(options.lab or ()) + tuple(c.split("/")[0] for c in options.case or ())
    try:
        cap = options.timeout if options.timeout is not None else cases.timeout_cap()
    except cases.CaseError as e:
        raise GradingError(str(e)) from None
    if not cap > 0:
        raise GradingError(f"--timeout {cap:g}: expected a positive number of seconds")
    try:
        labs = cases.load_all(Path(options.expected), only, options.hidden or None, cap)
    except cases.CaseError as e:
        raise GradingError(f"bad case file: {e}") from None
    missing = set(only) - {lab.name for lab in labs}
    if missing:
        raise GradingError(f"no lab named {', '.join(sorted(missing))}; labs: "
                           f"{', '.join(p.stem for p in sorted(Path(options.expected).glob('*.toml')))}")
    if sys.platform == "win32":
        labs = [lab for lab in labs if not lab.native]
    for native in sorted({lab.native for lab in labs}):
        cc = toolchain(native)[0][0]
        if shutil.which(cc) is None:
            raise GradingError(f"the compiler {cc} is not installed: run `make deps`")
    lab_h = Path(options.labs) / "lab.h"
    if not lab_h.is_file():
        raise GradingError(f"{lab_h} does not exist: the reference lab.h is needed to compile")
    build = Path(options.build)
    if runner is None:
        try:
            runner = Runner.started(build, user_level=True)
        except ConfigError as e:        # SANDBOX, MEMORY, ... or no bwrap
            raise GradingError(f"cannot run the labs: {e}") from None
        except (RuntimeError, OSError) as e:
            raise GradingError(f"cannot run the labs: {e} (run `make deps` to install Wine)") from None
    if runner.sandbox is not None and runner.sandbox.kind == "user":
        keep_private(runner, options, labs)
    return Setup(labs, runner, lab_h, build / "cache", options.seed,
                 {native: grading_flags(native) for native in (False, True)},
                 frozenset(p.stem for p in Path(options.expected).glob("*.toml")))


def keep_private(runner: Runner, options, labs):
    """The user level (no namespaces: each run as a user of its own) hides only what the
    file modes hide. The folders grading writes are made root's only; the cases, hidden or
    public, the harness and the submissions must already be: a run's user tries to read each
    (and the files in them) before the first run, and grading stops, saying which and how to
    fix it, when one can be read."""
    build = Path(options.build)
    for folder in (build / "cache", options.out):
        private_folder(folder)
    folders = [Path(options.expected), options.hidden and Path(options.hidden),
               Path(__file__).resolve().parent, Path(options.submission or options.all or options.labs)]
    readable = runner.sandbox.check_private(_with_children([f for f in folders if f]))
    if readable:
        shown = ", ".join(readable[:5]) + (f" and {len(readable) - 5} more" if len(readable) > 5 else "")
        raise GradingError(
            f"the user level (no namespaces here: each submission runs as a user of its own) "
            f"hides only what file modes hide, and a run's user can read {shown}: make the "
            f"grader's folders readable by root only (chmod -R go-rwx FOLDER), or run where bwrap "
            f"works")


def _with_children(folders, most: int = 400) -> list:
    """folders, and what is in them two levels down (a class: its students and their files)."""
    found = []
    for folder in folders:
        found.append(folder)
        if folder.is_dir() and not folder.is_symlink():
            for child in sorted(folder.iterdir())[:most]:
                found.append(child)
                if child.is_dir() and not child.is_symlink():
                    found += sorted(child.iterdir())[:most]
    return found[:most * 4]


def students_in(folder: Path) -> list:
    """(name, folder) of every student's sub-folder, by name."""
    found = [(p.name, p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    others = [p.name for p in sorted(folder.iterdir()) if not p.is_dir() and not p.name.startswith(".")]
    if others:
        print(f"grade-all: not a student's folder, ignored: {', '.join(others[:10])}"
              + (f" and {len(others) - 10} more" if len(others) > 10 else ""), file=sys.stderr)
    if not found:
        raise GradingError(f"{folder} holds no sub-folder: grade-all wants one folder per student")
    return found


def _duration(seconds: float) -> str:
    if seconds < 0.5:
        return "under a second"
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def time_left(spent: float, done: int, total: int) -> str:
    """The progress line's clock: time so far and, from the pace so far, time to go."""
    if done >= total:
        return f" ({_duration(spent)} in all)"
    return f" ({_duration(spent)} so far, about {_duration(spent / done * (total - done))} left)"


def forget_others(out: Path, students) -> list:
    """Removes the per-student folders (those holding a results.json) of out that belong to
    no student of this class: a class graded before must not show up as this one's.
    Returns their names."""
    names = {name for name, _ in students}
    gone = []
    if out.is_dir():
        for entry in sorted(out.iterdir()):
            if entry.name not in names and entry.is_dir() and not entry.is_symlink() \
                    and (entry / "results.json").is_file():
                shutil.rmtree(entry)
                gone.append(entry.name)
    return gone


def grade_all(setup: Setup, students, out: Path, jobs: int, progress=sys.stderr) -> list:
    """Every student, labs graded in parallel on jobs workers, each run in a sandbox and
    with a wineserver of its own (SANDBOX=0: all sharing the session's server). A student's
    files are written the moment their last lab is graded."""
    begun = time.monotonic()
    pending, grades = {}, []
    tty = hasattr(progress, "isatty") and progress.isatty()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for name, folder in students:
            shutil.rmtree(out / name / "cases", ignore_errors=True)
            sources, missing, notes = find_sources(folder, setup.labs, setup.known)
            pending[name] = {"folder": folder, "notes": notes, "labs": {}, "left": len(setup.labs)}
            for lab in setup.labs:
                future = pool.submit(grade_lab, setup, lab, sources[lab.name], out / name,
                                     missing.get(lab.name, ""))
                futures[future] = (name, lab.name)
        for future in concurrent.futures.as_completed(futures):
            name, lab_name = futures[future]
            entry = pending[name]
            entry["labs"][lab_name] = future.result()
            entry["left"] -= 1
            if entry["left"]:
                continue
            labs = tuple(entry["labs"][lab.name] for lab in setup.labs)
            grade = Grade(name, str(entry["folder"]), labs, setup.seed, tuple(entry["notes"]),
                          sum(lab.seconds for lab in labs), setup.runner.describe_sandbox())
            write_grade(grade, out / name, with_details=True)
            grades.append(grade)
            line = (f"graded {len(grades)}/{len(students)}: {name} {grade.score}/{grade.max_score}"
                    f"{time_left(time.monotonic() - begun, len(grades), len(students))}")
            if tty:
                print(f"\r\033[K{line}", end="" if len(grades) < len(students) else "\n",
                      file=progress, flush=True)
            else:
                print(line, file=progress, flush=True)
    return sorted(grades, key=lambda g: g.student)


def parse(argv):
    build = os.environ.get("BUILD") or str(ROOT / "build")
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python3 -m harness.grade",
                                     description="grade the reference labs, one submission, or a class")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--submission", metavar="DIR", help="a student's folder (NAME.c or labs/NAME.c)")
    what.add_argument("--all", metavar="DIR", help="a folder holding one folder per student")
    parser.add_argument("--out", metavar="DIR", help="where the grade files go (default: BUILD/grade)")
    parser.add_argument("--results", metavar="FILE", help="also write results.json here (Gradescope)")
    parser.add_argument("--hidden", metavar="DIR", default=env("EXPECTED_HIDDEN") or None,
                        help="the instructor's hidden cases (EXPECTED_HIDDEN)")
    # A default given as text goes through type= too: a bad SEED or JOBS is a usage error.
    parser.add_argument("--seed", type=int, default=env("SEED") or None,
                        help="the seed of the random standard inputs (SEED; default: a new one)")
    parser.add_argument("--jobs", type=int, default=env("JOBS") or str(os.cpu_count() or 2),
                        help="labs run at once, each in its own sandbox (JOBS; default: the "
                             "number of cores)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="at most this many seconds for any case (default: TIMEOUT, else "
                             "each case's own)")
    parser.add_argument("--lab", action="append", help="only this lab (repeatable)")
    parser.add_argument("--case", action="append", metavar="LAB/CASE",
                        help="report only this case; exit 0 when it passed (GitHub Classroom)")
    parser.add_argument("--quiet", action="store_true", help="the table and the score, no details")
    parser.add_argument("--roster", metavar="CSV", default=env("ROSTER") or None,
                        help="with --all: folder -> name, email, LMS id; also writes canvas.csv "
                             "and moodle.csv (ROSTER)")
    parser.add_argument("--assignment", default=env("ASSIGNMENT") or "vmlabs",
                        help="the assignment's column in canvas.csv and moodle.csv (ASSIGNMENT; "
                             "default vmlabs; Canvas: \"vmlabs (1234)\" names it by its id)")
    parser.add_argument("--previous", metavar="PATH", default=env("PREVIOUS") or None,
                        help="with --all: a grades.csv or grade folder to compare with: who "
                             "gained or lost what (PREVIOUS)")
    parser.add_argument("--details", action="store_true", default=env("V") == "1",
                        help="every failure in full, not only the first of each lab (V=1)")
    parser.add_argument("--expected", default=str(ROOT / "expected"), help=argparse.SUPPRESS)
    parser.add_argument("--labs", default=str(ROOT / "labs"), help=argparse.SUPPRESS)
    parser.add_argument("--build", default=build, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.seed is None:
        options.seed = cases.new_seed()
    options.out = Path(options.out or Path(options.build) / "grade")
    return options


def only_cases(grade: Grade, wanted) -> Grade:
    labs = []
    for lab in grade.labs:
        kept = tuple(c for c in lab.cases if c.id in wanted)
        if kept:
            labs.append(LabGrade(lab.lab, lab.title, lab.order, lab.problem, lab.message, kept,
                                 lab.seconds, lab.warnings))
    return Grade(grade.student, grade.folder, tuple(labs), grade.seed, grade.notes, grade.seconds,
                 grade.sandbox)


def fail_results(path: Path, message: str):
    """A results.json that says why there is no grade, for Gradescope to show."""
    write_atomic(path, json.dumps({"score": 0, "max_score": 0, "execution_time": 0,
                                   "output": f"The autograder could not run: {message}",
                                   "visibility": "visible", "stdout_visibility": "hidden",
                                   "tests": []}, indent=1) + "\n")


def main(argv, runner: Runner | None = None) -> int:
    """The command line; runner: one already started, which the caller stops."""
    options = parse(argv)
    setup = None
    try:
        target = Path(options.submission or options.all or options.labs)
        if not target.is_dir():
            raise GradingError(f"{target} is not a folder")
        students = students_in(target) if options.all else None
        setup = prepare(options, runner)
        if options.all:
            return class_main(setup, students, options)
        student = target.resolve().name
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            grade = grade_folder(setup, student, target, options.out, pool,
                                 notes=bool(options.submission))
        if options.case:
            missing = set(options.case) - {c.id for c in grade.cases}
            if missing:
                raise GradingError(f"no case {', '.join(sorted(missing))}")
            grade = only_cases(grade, set(options.case))
        write_grade(grade, options.out, with_details=True)
        if options.results:
            write_atomic(Path(options.results), json.dumps(results_json(grade), indent=1) + "\n")
        print(text_report(grade, with_details=not options.quiet, every=options.details), end="")
        print(f"(written: {options.out / 'results.json'}, junit.xml, grade.txt; every run in "
              f"{options.out / 'cases'})", file=sys.stderr)
        return 0 if grade.score == grade.max_score else 1
    except GradingError as e:
        print(f"grade: {e}", file=sys.stderr)
        if options.results:
            fail_results(Path(options.results), str(e))
        return 2
    finally:
        if setup is not None and runner is None:
            setup.runner.stop()


def class_main(setup: Setup, students, options) -> int:
    from . import classreport, gradebook, regrade
    out = options.out
    started = time.monotonic()
    try:        # read before grading: a bad roster or PREVIOUS stops now, not in ten minutes
        roster = gradebook.read_roster(Path(options.roster)) if options.roster else None
        before = regrade.load(options.previous) if options.previous else None
    except (gradebook.RosterError, regrade.RegradeError, OSError, ValueError) as e:
        raise GradingError(str(e)) from None
    kept = regrade.keep(out)
    if kept:
        print(f"the previous grading is kept in {kept}", file=sys.stderr)
    for stale in ("canvas.csv", "moodle.csv", "roster.txt", "changes.txt"):   # not from this one
        (out / stale).unlink(missing_ok=True)
    print(f"grading {len(students)} students, {len(setup.labs)} labs each, {options.jobs} at a time "
          f"(seed {setup.seed})", file=sys.stderr)
    gone = forget_others(out, students)
    if gone:
        print(f"removed from {out}: the folders of {len(gone)} students not in this class "
              f"({', '.join(gone[:5])}{' ...' if len(gone) > 5 else ''})", file=sys.stderr)
    grades = grade_all(setup, students, out, max(1, options.jobs))
    write_atomic(out / "grades.csv", grades_csv(grades, setup.labs))
    for line in gradebook.write(out, grades, setup.labs, roster, options.assignment,
                                [ROOT, Path(options.build).resolve(), out.resolve(),
                                 Path(options.all).resolve(), Path(options.all)]):
        print(line, file=sys.stderr)
    changes = None
    if before is not None:
        changes = (str(options.previous), regrade.compare(before, grades))
        write_atomic(out / "changes.txt", "".join(f"{line}\n" for line in changes[1]))
        print(f"changes since {options.previous}: "
              + (f"{len(changes[1])} student{'s' if len(changes[1]) > 1 else ''}"
                 if changes[1] else "none"))
        for line in changes[1]:
            print(f"  {line}")
    classreport.write(out, grades, setup.labs, changes)
    total = sum(c.points for lab in setup.labs for c in lab.cases)
    scores = sorted(g.score for g in grades)
    print(f"{len(grades)} students graded in {time.monotonic() - started:.1f} s: "
          f"median {scores[len(scores) // 2]}/{total}, {sum(s == total for s in scores)} at full marks")
    print(f"written: {out / 'grades.csv'}, {out / 'report.html'}, {out}/STUDENT/results.json, "
          f"feedback.txt" + (", canvas.csv, moodle.csv, roster.txt" if roster else "")
          + (", changes.txt" if changes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
