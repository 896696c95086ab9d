"""make run: the lecture's experiments, in lecture order, narrated.

Every case with a `demo` line is run as it is graded: a header, what to watch for, the
command, the program's own output, how it ended, and what just happened. Each run is also
judged against its case, so a student sees at once when a lab does not behave as the
lecture says. Exit 0 when every experiment behaved as expected, 1 otherwise.
"""
from __future__ import annotations

import shlex
import sys
import textwrap

from . import cases, settings
from .build import compile_lab
from .explain import describe
from .i18n import _, pick
from .pipeline import check_cases, invocation
from .run import session
from .settings import ROOT

RULE = "=" * 78


def shell_line(case, outcome) -> str:
    command = " ".join(shlex.quote(part) for part in outcome.command)
    if not case.stdin:
        return f"$ {command} < /dev/null"
    if len(case.stdin) <= 40 and case.stdin.endswith("\n") and "\n" not in case.stdin[:-1]:
        return f"$ echo {shlex.quote(case.stdin[:-1])} | {command}"
    return f"$ {command}    " + _("(standard input: {size} bytes, {start!r}...)").format(
        size=len(case.stdin), start=case.stdin[:12])


def wrap(label: str, text: str) -> str:
    return textwrap.fill(text, 78, initial_indent=label, subsequent_indent=" " * len(label))


def how_it_ended(outcome) -> str:
    text = f"-> {describe(outcome)}"
    if outcome.kind == "exception" and outcome.platform == "wine":
        text += "\n   " + _("(under Wine the exit status shows only the low byte of {code}: {low})").format(
            code=f"0x{outcome.code:08X}", low=outcome.code & 0xFF)
    return text


def main(argv) -> int:
    config = settings.current()
    build = config.build
    try:
        labs = cases.load_all(ROOT / "expected", tuple(argv))
    except cases.CaseError as e:
        print(_("bad case file: {error}").format(error=e), file=sys.stderr)
        return 2
    if argv and not labs:
        print(_("no lab named {name}; labs: {labs}").format(
            name=" ".join(argv), labs=" ".join(lab.name for lab in cases.load_all(ROOT / "expected"))),
            file=sys.stderr)
        return 2
    try:
        seed = int(config.seed) if config.seed else cases.new_seed()
    except ValueError:
        print(_("SEED={seed!r}: expected a whole number (a seed printed by an earlier run)")
              .format(seed=config.seed), file=sys.stderr)
        return 2
    surprises = []
    with session(build) as runner:
        for lab in labs:
            demos = [case for case in lab.cases if case.demo]
            if not demos or (lab.native and sys.platform == "win32"):
                continue
            print(f"\n{RULE}\n {lab.order}. {lab.name}: {pick(lab.title, lab.title_it)}\n{RULE}")
            exe = compile_lab(ROOT / "labs" / f"{lab.name}.c", build, native=lab.native)
            if not exe.ok:
                print(_("{lab}.c does not compile:").format(lab=lab.name) + f"\n{exe.message}")
                surprises.append(f"{lab.name}: " + _("does not compile"))
                continue
            runs = {}               # invocation -> the cases that read its run, in order
            with runner.job() as job:       # the lab's runs share one sandbox (job.py)
                for done in check_cases(demos, exe.exe, job, seed, lab.native):
                    runs.setdefault(invocation(done.case), []).append(done)
            for same in runs.values():  # a run shown once, however many cases read it
                print()
                for done in same:
                    print(wrap(_("watch: "), pick(done.case.demo, done.case.demo_it)))
                outcome = same[0].outcome
                print(shell_line(same[0].case, outcome))
                print(outcome.stdout, end="" if outcome.stdout.endswith("\n") or not outcome.stdout else "\n")
                if outcome.stderr:
                    print(outcome.stderr, end="" if outcome.stderr.endswith("\n") else "\n")
                print(how_it_ended(outcome))
                for done in same:
                    if done.passed:
                        variant = _(" (the {variant} behaviour)").format(variant=done.verdict.variant) \
                            if done.verdict.variant else ""
                        print("   " + _("as expected") + variant
                              + (f": {done.case.name}" if len(same) > 1 else ""))
                        if done.case.lesson:
                            print(wrap(_("what happened: "), pick(done.case.lesson, done.case.lesson_it)))
                    else:
                        print("   " + _("NOT as expected: see `make check LAB={lab}` for the differences")
                              .format(lab=lab.name) + (f" ({done.case.name})" if len(same) > 1 else ""))
                        surprises.append(done.case.id)
    print(f"\n{RULE}")
    if surprises:
        print(_("{count} experiment(s) did not behave as expected: {which}").format(
            count=len(surprises), which=", ".join(surprises)))
        return 1
    print(_("Every experiment behaved as the lecture says. Next: `make check` grades every case."))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
