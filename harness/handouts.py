"""handouts: the captured outputs in labs/NAME.md and labs/NAME.it.md, kept in step with the labs.

A handout shows a real run as a fenced block right after a marker naming the case it comes from:

    <!-- output: commit_then_write -->
    ```text
    page size:  4096 bytes
    ...
    ```

The block is what the terminal shows for that case: standard output, then standard error.
`make check` compares every such block with a fresh run (addresses and the `platform:` line
may differ: they are compared as placeholders); `make handouts` rewrites the blocks from fresh runs.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"^<!-- output: (?P<case>[a-z0-9_]+) -->\n```text\n(?P<body>.*?)^```$",
                    re.M | re.S)
ADDRESS = re.compile(r"0x[0-9A-Fa-f]{8,16}\b")
PLATFORM = re.compile(r"^(platform: +).*$")


@dataclass(frozen=True)
class Block:
    handout: Path
    lab: str
    case: str
    body: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.handout.name}:{self.line}:{self.case}"


def lab_of(handout: Path) -> str:
    return handout.name.split(".")[0]


def blocks(labs_dir: Path) -> list:
    found = []
    for handout in sorted(Path(labs_dir).glob("*.md")):
        text = handout.read_text(encoding="utf-8")
        for m in MARKER.finditer(text):
            found.append(Block(handout, lab_of(handout), m.group("case"), m.group("body"),
                               text.count("\n", 0, m.start()) + 1))
    return found


def shown(outcome) -> str:
    """What a terminal shows for a run: standard output, then standard error."""
    text = outcome.stdout
    if text and not text.endswith("\n"):
        text += "\n"
    text += outcome.stderr
    return text if not text or text.endswith("\n") else text + "\n"


def normalised(text: str) -> list:
    """Lines as compared: addresses and the platform line (Wine's or the kernel's version)
    are placeholders, the rest must be equal."""
    lines = [ADDRESS.sub("0x<address>", line.rstrip()) for line in text.rstrip("\n").split("\n")]
    return [PLATFORM.sub(r"\1<platform>", line) for line in lines]


def update(labs_dir: Path, run_case, only=()) -> int:
    """Rewrites every block (of the labs in only, when given) from a fresh run;
    run_case(lab, case) -> Outcome. Returns how many changed."""
    changed = 0
    for handout in sorted(Path(labs_dir).glob("*.md")):
        if only and lab_of(handout) not in only:
            continue
        text = handout.read_text(encoding="utf-8")

        def fresh(m):
            nonlocal changed
            body = shown(run_case(lab_of(handout), m.group("case")))
            if normalised(body) != normalised(m.group("body")):
                changed += 1
            return f"<!-- output: {m.group('case')} -->\n```text\n{body}```"

        new = MARKER.sub(fresh, text)
        if new != text:
            handout.write_text(new, encoding="utf-8")
    return changed


def main() -> int:
    from . import cases
    from .build import compile_lab
    from .run import Runner

    root = Path(__file__).resolve().parent.parent
    build = Path(os.environ.get("BUILD") or root / "build")
    labs = {lab.name: lab for lab in cases.load_all(root / "expected")}
    runner = Runner.from_environment(build)
    runner.start()

    def run_case(lab_name, case_name):
        lab = labs[lab_name]
        case = next(c for c in lab.cases if c.name == case_name)
        exe = compile_lab(root / "labs" / f"{lab.name}.c", build, native=lab.native)
        return runner.run(exe.exe, case.args, case.stdin, case.timeout, native=lab.native)

    try:
        changed = update(root / "labs", run_case, tuple(sys.argv[1:]))
    finally:
        runner.stop()
    print(f"handouts: {changed} captured output(s) refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
