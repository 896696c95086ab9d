"""handouts: the captured outputs in labs/NAME.md and labs/NAME.it.md, kept in step with the labs.

A handout shows a real run as a fenced block right after a marker naming the case it comes
from and the toolchain that captured it (the compiler, and Wine for a Windows lab):

    <!-- output: commit_then_write; toolchain: wine-8.0, x86_64-w64-mingw32-gcc 12-win32 -->
    ```text
    page size:  4096 bytes
    ...
    ```

The block is what the terminal shows for that case: standard output, then standard error.
`make check` compares every such block with a fresh run. On the toolchain that captured it,
exactly (addresses, process ids and the `platform:` line may differ: they are placeholders).
On any other, the image, the attempt counts and the address-space layout differ (another
compiler lays the .exe out differently, another Wine places and sizes things differently),
so only every line's shape is compared: numbers and sizes are placeholders too, a `behaviour:`
line's value names what this platform did, and a run of lines that start with an address (a
map) is one line. `make handouts` rewrites the blocks from fresh runs and records the
toolchain; a marker without one is compared exactly.
"""
from __future__ import annotations

import functools
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import settings
from .build import toolchain as compiler

MARKER = re.compile(r"^<!-- output: (?P<case>[a-z0-9_]+)(?:; toolchain: (?P<toolchain>[^\n]*?))? -->\n"
                    r"```text\n(?P<body>.*?)^```$", re.M | re.S)
ADDRESS = re.compile(r"0x[0-9A-Fa-f]{8,16}\b")
# A process id, as printed (`pid 48`) or in a name made from it (`vmlabs-mapping-32`): small
# and fixed with a wineserver per run (the sandbox), growing with a shared one (SANDBOX=0).
PID = re.compile(r"(\bpid |[A-Za-z]-)\d+\b")
PLATFORM = re.compile(r"^(platform: +).*$")
# What a step cost, measured while the program runs (working set, commit charge, page
# faults: the labs' `cost:` and `faults:` lines): it moves with the stdio buffers and
# threads of the moment, so only its sign is kept.
COST = re.compile(r"(?<![\w.])([+-])\d+( KB| minor)\b")
# Shapes, for another toolchain's run (see shape()):
BEHAVIOUR = re.compile(r"^(\s*behaviour: +).*$")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
UNIT = re.compile(r"<n> (?:KB|MB|GB|TB)\b")
BAR = re.compile(r"#+")
ROW = "<a line per region>"


@dataclass(frozen=True)
class Block:
    handout: Path
    lab: str
    case: str
    body: str
    line: int
    toolchain: str          # "" when the marker names none

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
                               text.count("\n", 0, m.start()) + 1, m.group("toolchain") or ""))
    return found


def shown(outcome) -> str:
    """What a terminal shows for a run: standard output, then standard error."""
    text = outcome.stdout
    if text and not text.endswith("\n"):
        text += "\n"
    text += outcome.stderr
    return text if not text or text.endswith("\n") else text + "\n"


def normalised(text: str) -> list:
    """Lines as compared on the toolchain that captured them: addresses, process ids, the
    platform line (Wine's or the kernel's version) and the measured costs (+8 KB, +1 minor:
    their sign is kept) are placeholders, the rest must be equal."""
    lines = [COST.sub(r"\1<n>\2", PID.sub(r"\1<pid>", ADDRESS.sub("0x<address>", line.rstrip())))
             for line in text.rstrip("\n").split("\n")]
    return [PLATFORM.sub(r"\1<platform>", line) for line in lines]


def shape(text: str) -> list:
    """Lines as compared on another toolchain: normalised(), and numbers, sizes, bars and the
    value of a `behaviour:` line are placeholders, spacing is one space, and a run of lines
    that start with an address (a map's regions: how many, and which, is the platform's) is
    one line. Labels, words and the order of the lines must still be equal."""
    shaped = []
    for line in normalised(text):
        if line.startswith("0x<address>"):
            if not shaped or shaped[-1] != ROW:
                shaped.append(ROW)
            continue
        line = BEHAVIOUR.sub(r"\1<behaviour>", line)
        line = UNIT.sub("<n> <unit>", NUMBER.sub("<n>", line))
        shaped.append(" ".join(BAR.sub("#", line).split()))
    return shaped


@functools.lru_cache(maxsize=None)
def _version(*command) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                env=settings.environ(WINEDEBUG="-all"))
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = result.stdout.split()
    return words[0] if result.returncode == 0 and words else "unknown"


def toolchain(native: bool, wine=None) -> str:
    """What a captured output depends on besides the lab: the compiler and its version (CC,
    or HOSTCC for a native lab) and, for a Windows lab run by Wine, Wine's version:
    e.g. "wine-8.0, x86_64-w64-mingw32-gcc 12-win32"."""
    cc = compiler(native)[0]
    parts = [f"{Path(cc[0]).name} {_version(*cc, '-dumpfullversion')}"]
    if wine and not native:
        parts.insert(0, _version(*wine, "--version"))
    return ", ".join(parts)


def compared(block: Block, body: str, current: str) -> tuple:
    """(what the handout shows, what the run shows, how): exactly when the block was captured
    with the current toolchain or names none, else by shape."""
    if block.toolchain and block.toolchain != current:
        return shape(block.body), shape(body), "by shape"
    return normalised(block.body), normalised(body), "exactly"


def update(labs_dir: Path, run_case, current, only=()) -> int:
    """Rewrites every block (of the labs in only, when given) from a fresh run and records
    the toolchain; run_case(lab, case) -> Outcome, current(lab) -> its toolchain. Returns how
    many changed."""
    changed = 0
    for handout in sorted(Path(labs_dir).glob("*.md")):
        lab = lab_of(handout)
        if only and lab not in only:
            continue
        text = handout.read_text(encoding="utf-8")

        def fresh(m):
            nonlocal changed
            body = shown(run_case(lab, m.group("case")))
            if normalised(body) == normalised(m.group("body")) and m.group("toolchain") == current(lab):
                return m.group(0)       # the same but for addresses and pids: left as it was
            changed += 1
            return f"<!-- output: {m.group('case')}; toolchain: {current(lab)} -->\n```text\n{body}```"

        new = MARKER.sub(fresh, text)
        if new != text:
            handout.write_text(new, encoding="utf-8")
    return changed


def main() -> int:
    from . import cases
    from .build import compile_lab
    from .job import Jobs
    from .pipeline import check_case
    from .run import session

    root = Path(__file__).resolve().parent.parent
    build = settings.current().build
    labs = {lab.name: lab for lab in cases.load_all(root / "expected")}
    seed = int(settings.current().seed or 0)        # a random input is the same at every refresh

    def run_case(lab_name, case_name):
        lab = labs[lab_name]
        case = next(c for c in lab.cases if c.name == case_name)
        exe = compile_lab(root / "labs" / f"{lab.name}.c", build, native=lab.native)
        return check_case(case, exe.exe, jobs.get(lab.name), seed, lab.native).outcome

    def current(lab_name):
        return toolchain(labs[lab_name].native, runner.wine)

    with session(build, "refresh the handouts") as runner:
        jobs = Jobs(runner)
        try:
            changed = update(root / "labs", run_case, current, tuple(sys.argv[1:]))
        finally:
            jobs.close()
    print(f"handouts: {changed} captured output(s) refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
