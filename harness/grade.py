"""grade: the command line that grades the reference labs or one submission.

A submission is a folder holding some or all of the labs under their own names (NAME.c, or
labs/NAME.c as in the starter). Each lab is compiled on its own against the reference
labs/lab.h and its cases are run and judged exactly as `make check` does (build, run,
match); a case earns its points when it passes, nothing when it fails or when its parent
case did not pass. A lab that is missing or does not compile costs that lab's points only.

    python3 -m harness.grade                       the reference labs        (make grade)
    python3 -m harness.grade --submission DIR      one student's folder      (make grade SUBMISSION=DIR)

A class (make grade-all SUBMISSIONS=DIR) is grade_all.py's, an instructor's tool built on this.

Each case is checked by pipeline.check_case, as in `make check`; the points are grades.py's
and the files (the table, results.json, junit.xml, grades.csv) results.py's. Every compile and
run goes through run.Runner, as in `make check`: in its own sandbox (bwrap, a
wineserver of its own) unless SANDBOX=0, so a submission sees neither the cases (public or
hidden) nor the other submissions. Every case's outcome is named with explain.EXPLANATIONS (and
so are "missing", "did_not_compile" and "not_run", which grading decides without a run): the
same names and lines in the table, results.json and grades.csv.

Exit status: 0 full marks, 1 points were lost, 2 grading could not run (a bad path, a
missing compiler or Wine, no sandbox, a broken case file).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cases, hints, report, settings
from .build import compile_submission, toolchain
from .explain import EXPLANATIONS, meaning
from .i18n import _, pick
from .grades import FAILED, NOT_RUN, PASSED, CaseGrade, Grade, LabGrade, only_cases
from .report import cut as _cut, first_error, last_said, one_line as _one_line, reason_of
from .results import fail_results, results_json, text_report, write_atomic, write_grade
from .pipeline import check_case
from .run import Runner
from .sandbox_user import private_folder
from .submission import find_sources, read_source
from .settings import ROOT, ConfigError

OUTPUT_LIMIT = 6000         # characters of one case's explanation in results.json
REASON_LIMIT = 150          # characters of the one-line reason


class GradingError(RuntimeError):
    """Grading cannot run at all (exit 2): the message says what to fix."""



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
    progress: object = None         # called with each case graded (a CaseGrade), as it is


class Progress:
    """On a terminal, one line that says which case was graded last and how many are left,
    rewritten in place: a program that hangs is never 30 silent seconds. Gone at the end."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.lock = threading.Lock()

    def __call__(self, graded):
        with self.lock:
            self.done += 1
            status = _("FAILED") if graded.status == FAILED else _(graded.status)
            print("\r\033[K" + _("graded {case}: {status} ({done}/{total})").format(
                case=graded.id, status=status, done=self.done, total=self.total),
                end="", file=self.stream, flush=True)

    def close(self):
        print("\r\033[K", end="", file=self.stream, flush=True)


def grading_flags(native: bool) -> list:
    """The build's flags without -Werror (a warning is shown, it never costs points) and at
    -O1: with lab.h precompiled, a lab compiles in 223 ms at -O1 against 315 ms at -O2 (the
    fastest of 3, 11 labs; -pipe and lld gain nothing), and every case and handout passes at
    both. The starter's Makefile builds at -O1 too, so a student runs what is graded."""
    return ["-O1" if f.startswith("-O") else f for f in toolchain(native)[1] if f != "-Werror"]



def _not_run(case, label: str, reason: str, output: str) -> CaseGrade:
    """A case grading decided without running it: label is "missing", "did_not_compile"
    or "not_run"."""
    return CaseGrade(case.lab, case.name, 0, case.points, NOT_RUN, reason, hints.choose(case),
                     output, case.hidden, None, None, label, _(EXPLANATIONS[label]))


def grade_lab(setup: Setup, lab, source, out: Path, missing_note: str = "") -> LabGrade:
    """Compile one lab of one submission (a submission.Source, a path read as one, or None:
    missing), run and judge each of its cases, give points."""
    if isinstance(source, Path):
        source = read_source(source)
    started = time.monotonic()

    def done(problem, message, graded, warnings=""):
        return LabGrade(lab.name, pick(lab.title, lab.title_it), lab.order, problem, message, tuple(graded),
                        time.monotonic() - started, warnings)

    if source is None:
        reason = _("{lab}.c is missing from the submission").format(lab=lab.name) + missing_note
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
            reason = _("{lab}.c does not compile: {error}").format(lab=lab.name,
                                                                   error=first_error(built.message))
            message = f"$ {' '.join(built.command)}\n{built.message}"
        return done(built.problem, message,
                    [_not_run(c, built.problem, reason,
                              _("{lab}.c does not compile:").format(lab=lab.name) + f"\n{message}")
                     for c in lab.cases])
    with setup.runner.job() as job:     # the lab's runs share one sandbox (job.py)
        graded = _grade_cases(setup, lab, built.exe, job, out)
    return done("", "", graded, built.message)


def _grade_cases(setup: Setup, lab, exe: Path, runner, out: Path) -> list:
    """Each case of lab run on exe (through runner: the lab's job) and judged, in order; a
    case whose parent did not pass is not run."""
    status, graded, runs = {}, [], {}
    for case in lab.cases:
        if case.parent is not None and status.get(case.parent) != PASSED:
            reason = (_("not run: needs {parent}, which failed") if status.get(case.parent) == FAILED
                      else _("not run: needs {parent}, which was not run")).format(parent=case.parent)
            graded.append(_not_run(case, "not_run", reason,
                                   reason + _(": it only counts once {parent} passes").format(
                                       parent=case.parent)))
            status[case.name] = NOT_RUN
            continue
        try:        # two cases of one invocation: one run (runs)
            checked = check_case(case, exe, runner, setup.seed, lab.native,
                                 records=out / "cases", runs=runs)
        except (RuntimeError, OSError) as e:     # the sandbox or Wine, not the submission
            raise GradingError(f"cannot run {case.id}: {e}") from None
        case, outcome, verdict = checked.case, checked.outcome, checked.verdict
        hint = hints.choose(case, outcome, verdict)
        wrong = verdict.result is not None and not verdict.result.outcome_ok
        named = dict(outcome=outcome.label, meaning=meaning(outcome), outcome_wrong=wrong,
                     said=last_said(outcome) if wrong else "")
        record = checked.record.relative_to(out)
        if verdict.passed:
            text = _("passed") + (_(" (the {variant} behaviour)").format(variant=verdict.variant)
                                  if verdict.variant else "")
            text += "".join("\n" + line for line in report.note_lines(case, verdict))
            if case.seed is not None:
                text += "\n" + report.stdin_line(case)
            graded.append(CaseGrade(case.lab, case.name, case.points, case.points, PASSED, "",
                                    hint, text, case.hidden, case.seed, str(record), **named))
        else:
            text = _cut(report.failure(case, outcome, verdict), OUTPUT_LIMIT)
            reason = _one_line(reason_of(case, outcome, verdict))
            if case.seed is not None:
                reason = _cut(reason, REASON_LIMIT - 30) + \
                    _(" (the word sent: {word!r})").format(word=case.stdin.split()[0])
            graded.append(CaseGrade(case.lab, case.name, 0, case.points, FAILED,
                                    _cut(reason, REASON_LIMIT),
                                    hint, text, case.hidden, case.seed, str(record), **named))
        status[case.name] = graded[-1].status
        if setup.progress:
            setup.progress(graded[-1])
    return graded


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


def parse(argv, klass: bool = False):
    """The options of grade (the reference, or --submission) or, klass, of grade_all (--all
    and the class's own: --roster, --previous, --assignment)."""
    config = settings.current()
    build = str(config.build)
    if klass:
        parser = argparse.ArgumentParser(prog="python3 -m harness.grade_all",
                                         description="grade a class: one folder per student")
        parser.add_argument("--all", metavar="DIR", required=True,
                            help="a folder holding one folder per student")
    else:
        parser = argparse.ArgumentParser(prog="python3 -m harness.grade",
                                         description="grade the reference labs, or one submission")
        parser.add_argument("--submission", metavar="DIR",
                            help="a student's folder (NAME.c or labs/NAME.c)")
    parser.add_argument("--out", metavar="DIR", help="where the grade files go (default: BUILD/grade)")
    parser.add_argument("--results", metavar="FILE", help="also write results.json here (Gradescope)")
    parser.add_argument("--hidden", metavar="DIR", default=config.hidden or None,
                        help="the instructor's hidden cases (EXPECTED_HIDDEN)")
    # A default given as text goes through type= too: a bad SEED or JOBS is a usage error.
    parser.add_argument("--seed", type=int, default=config.seed or None,
                        help="the seed of the random standard inputs (SEED; default: a new one)")
    parser.add_argument("--jobs", type=int, default=config.jobs or str(os.cpu_count() or 2),
                        help="labs run at once, each in its own sandbox (JOBS; default: the "
                             "number of cores)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="at most this many seconds for any case (default: TIMEOUT, else "
                             "each case's own)")
    parser.add_argument("--lab", action="append", help="only this lab (repeatable)")
    parser.add_argument("--case", action="append", metavar="LAB/CASE",
                        help="report only this case; exit 0 when it passed (GitHub Classroom)")
    parser.add_argument("--quiet", action="store_true", help="the table and the score, no details")
    parser.add_argument("--details", action="store_true", default=config.verbose,
                        help="every failure in full, not only the first of each lab (V=1)")
    if klass:
        parser.add_argument("--roster", metavar="CSV", default=config.roster or None,
                            help="with --all: folder -> name, email, LMS id; also writes canvas.csv "
                                 "and moodle.csv (ROSTER)")
        parser.add_argument("--assignment", default=config.assignment or "vmlabs",
                            help="the assignment's column in canvas.csv and moodle.csv (ASSIGNMENT; "
                                 "default vmlabs; Canvas: \"vmlabs (1234)\" names it by its id)")
        parser.add_argument("--previous", metavar="PATH", default=config.previous or None,
                            help="with --all: a grades.csv or grade folder to compare with: who "
                                 "gained or lost what (PREVIOUS)")
    parser.add_argument("--expected", default=str(ROOT / "expected"), help=argparse.SUPPRESS)
    parser.add_argument("--labs", default=str(ROOT / "labs"), help=argparse.SUPPRESS)
    parser.add_argument("--build", default=build, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    for absent in ("submission", "all"):
        setattr(options, absent, getattr(options, absent, None))
    if options.seed is None:
        options.seed = cases.new_seed()
    options.out = Path(options.out or Path(options.build) / "grade")
    return options


def command(name: str, options, runner, body) -> int:
    """A grading command line: body(setup, the folder given) -> its exit status. A
    GradingError is said in one line (and, with --results, in a results.json for Gradescope
    to show) and exits 2; the runner started here is stopped. runner: one already started,
    which the caller stops."""
    setup = None
    try:
        target = Path(options.submission or options.all or options.labs)
        if not target.is_dir():
            raise GradingError(f"{target} is not a folder")
        setup = prepare(options, runner)
        return body(setup, target)
    except GradingError as e:
        print(f"{name}: {e}", file=sys.stderr)
        if options.results:
            fail_results(Path(options.results), str(e))
        return 2
    finally:
        if setup is not None and runner is None:
            setup.runner.stop()


def grade_one(setup: Setup, target: Path, options) -> int:
    """The reference labs, or one submission: graded, written, reported."""
    if sys.stderr.isatty():
        setup.progress = Progress(sum(len(lab.cases) for lab in setup.labs))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            grade = grade_folder(setup, target.resolve().name, target, options.out, pool,
                                 notes=bool(options.submission))
    finally:
        if setup.progress:
            setup.progress.close()
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


def main(argv, runner: Runner | None = None) -> int:
    options = parse(argv)
    return command("grade", options, runner, lambda setup, target: grade_one(setup, target, options))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
