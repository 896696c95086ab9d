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
from .pipeline import check_case
from .run import Runner
from .settings import ConfigError
from .settings import ROOT

RULE = "=" * 78


def shell_line(case, outcome) -> str:
    command = " ".join(shlex.quote(part) for part in outcome.command)
    if not case.stdin:
        return f"$ {command} < /dev/null"
    if len(case.stdin) <= 40 and case.stdin.endswith("\n") and "\n" not in case.stdin[:-1]:
        return f"$ echo {shlex.quote(case.stdin[:-1])} | {command}"
    return f"$ {command}    (standard input: {len(case.stdin)} bytes, {case.stdin[:12]!r}...)"


def wrap(label: str, text: str) -> str:
    return textwrap.fill(text, 78, initial_indent=label, subsequent_indent=" " * len(label))


def how_it_ended(outcome) -> str:
    text = f"-> {describe(outcome)}"
    if outcome.kind == "exception" and outcome.platform == "wine":
        text += (f"\n   (under Wine the exit status shows only the low byte of "
                 f"0x{outcome.code:08X}: {outcome.code & 0xFF})")
    return text


def main(argv) -> int:
    config = settings.current()
    build = config.build
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
        seed = int(config.seed) if config.seed else cases.new_seed()
    except ValueError:
        print(f"SEED={config.seed!r}: expected a whole number (a seed printed by an "
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
            print(f"\n{RULE}\n {lab.order}. {lab.name}: {lab.title}\n{RULE}")
            exe = compile_lab(ROOT / "labs" / f"{lab.name}.c", build, native=lab.native)
            if not exe.ok:
                print(f"{lab.name}.c does not compile:\n{exe.message}")
                surprises.append(f"{lab.name}: does not compile")
                continue
            for case in demos:
                print()
                print(wrap("watch: ", case.demo))
                done = check_case(case, exe.exe, runner, seed, lab.native)
                case, outcome, verdict = done.case, done.outcome, done.verdict
                print(shell_line(case, outcome))
                print(outcome.stdout, end="" if outcome.stdout.endswith("\n") or not outcome.stdout else "\n")
                if outcome.stderr:
                    print(outcome.stderr, end="" if outcome.stderr.endswith("\n") else "\n")
                print(how_it_ended(outcome))
                if verdict.passed:
                    variant = f" (the {verdict.variant} behaviour)" if verdict.variant else ""
                    print(f"   as expected{variant}")
                    if case.lesson:
                        print(wrap("what happened: ", case.lesson))
                else:
                    print(f"   NOT as expected: see `make check LAB={lab.name}` for the differences")
                    surprises.append(case.id)
    finally:
        runner.stop()
    print(f"\n{RULE}")
    if surprises:
        print(f"{len(surprises)} experiment(s) did not behave as expected: {', '.join(surprises)}")
        return 1
    print("Every experiment behaved as the lecture says. Next: `make check` grades every case.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
