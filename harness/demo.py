"""make run: the lecture's experiments, in lecture order, narrated.

Every case with a `demo` line is run as it is graded: a header, what to watch for, the
command, the program's own output, how it ended, and what just happened. Each run is also
judged against its case, so a student sees at once when a lab does not behave as the
lecture says. Exit 0 when every experiment behaved as expected, 1 otherwise.
"""
from __future__ import annotations

import os
import shlex
import sys
import textwrap
from pathlib import Path

from . import cases, match
from .build import compile_lab
from .i18n import _, pick
from .run import ConfigError, Runner

ROOT = Path(__file__).resolve().parent.parent
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
    text = f"-> {outcome.describe()}"
    if outcome.kind == "exception" and outcome.platform == "wine":
        text += "\n   " + _("(under Wine the exit status shows only the low byte of {code}: {low})").format(
            code=f"0x{outcome.code:08X}", low=outcome.code & 0xFF)
    return text


def main(argv) -> int:
    build = Path(os.environ.get("BUILD") or ROOT / "build")
    try:
        labs = cases.load_all(ROOT / "expected", tuple(argv))
    except cases.CaseError as e:
        print(f"bad case file: {e}", file=sys.stderr)
        return 2
    if argv and not labs:
        print(f"no lab named {' '.join(argv)}; labs: "
              f"{' '.join(lab.name for lab in cases.load_all(ROOT / 'expected'))}", file=sys.stderr)
        return 2
    try:
        seed = int(os.environ["SEED"]) if os.environ.get("SEED") else cases.new_seed()
    except ValueError:
        print(f"SEED={os.environ['SEED']!r}: expected a whole number (a seed printed by an "
              f"earlier run)", file=sys.stderr)
        return 2
    try:
        runner = Runner.started(build)
    except (ConfigError, RuntimeError, OSError) as e:
        print(f"cannot run the labs: {e}", file=sys.stderr)
        return 2
    surprises = []
    try:
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
            for case in demos:
                case = cases.with_input(case, seed)
                print()
                print(wrap(_("watch: "), pick(case.demo, case.demo_it)))
                outcome = runner.run(exe.exe, case.args, case.stdin, case.timeout, native=lab.native)
                print(shell_line(case, outcome))
                print(outcome.stdout, end="" if outcome.stdout.endswith("\n") or not outcome.stdout else "\n")
                if outcome.stderr:
                    print(outcome.stderr, end="" if outcome.stderr.endswith("\n") else "\n")
                print(how_it_ended(outcome))
                verdict = match.judge(case, outcome)
                if verdict.passed:
                    variant = _(" (the {variant} behaviour)").format(variant=verdict.variant) \
                        if verdict.variant else ""
                    print("   " + _("as expected") + variant)
                    if case.lesson:
                        print(wrap(_("what happened: "), pick(case.lesson, case.lesson_it)))
                else:
                    print("   " + _("NOT as expected: see `make check LAB={lab}` for the differences")
                          .format(lab=lab.name))
                    surprises.append(case.id)
    finally:
        runner.stop()
    print(f"\n{RULE}")
    if surprises:
        print(_("{count} experiment(s) did not behave as expected: {which}").format(
            count=len(surprises), which=", ".join(surprises)))
        return 1
    print(_("Every experiment behaved as the lecture says. Next: `make check` grades every case."))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
