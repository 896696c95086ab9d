"""gradescope: the autograder bundle (make gradescope -> build/gradescope/autograder.zip).

Gradescope builds an image from the zip: setup.sh runs once, as root, on Ubuntu, and installs
MinGW-w64, Wine, bubblewrap and Python and creates the Wine prefix; run_autograder then runs for every
submission: it grades /autograder/submission (the labs' .c files, at its top or in labs/) with
the cases in the zip and writes /autograder/results/results.json. Its own log (the table,
every failure) goes to standard output, which Gradescope keeps for the instructor; the JSON
holds only the grade. Every case has its own timeout, so a hang costs that case only, and
every compile and run is sandboxed as in `make grade`: the submission cannot read the hidden
cases beside it. Where the image cannot run bwrap (Docker's default profile refuses it
namespaces), the grader, root there, runs each compile and run as a user of its own instead
(the user level, harness/sandbox_user.py), with the grader's files readable by root only;
`make gradescope SANDBOX=0` makes a bundle that runs submissions unsandboxed (each is still in
a container of its own, but can read the hidden cases and print them into its results).

The zip holds the harness, the public cases, the hidden ones (EXPECTED_HIDDEN, shown to
students after the grades are published) and the reference lab.h: no solution.
AUTOGRADER_ROOT=dir runs both scripts on a folder laid out like /autograder, to try it here.
"""
from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

from . import cases, settings
from .settings import ROOT, ConfigError
from .starter import PIPELINE as HARNESS

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu):
# MinGW-w64 to compile the labs, Wine to run them, Python for the harness; then the Wine
# prefix is created here, once, instead of at every submission (about 10 s).
set -eu
root="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
if ! command -v x86_64-w64-mingw32-gcc wine bwrap gcc make python3 setpriv >/dev/null; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends gcc-mingw-w64-x86-64 wine wine64 bubblewrap \
        gcc make python3 util-linux
fi
# Python 3.10 (Ubuntu 22.04) has no tomllib: its twin, tomli, reads the cases.
python3 -c 'import tomllib' 2>/dev/null || apt-get install -y -q --no-install-recommends python3-tomli
cd "$root/source"
BUILD="$root/build" python3 -m harness.run --prepare
{{PRIVATE}}
echo "vmlabs autograder ready: $(x86_64-w64-mingw32-gcc --version | head -1); $(wine --version)"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $root/submission, write
# $root/results/results.json. Everything printed here is the instructor's log; the
# student sees only the JSON. The grader's exit status (0 full marks, 1 points lost,
# 2 could not grade) is logged; a results.json is written in every case.
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
{{SANDBOX}}cd "$root/source" || exit 1
export BUILD="$root/build"
mkdir -p "$root/results"
{{PRIVATE}}
hidden=""
if [ -d hidden ]; then hidden="--hidden hidden"; fi
python3 -m harness.grade --submission "$root/submission" --results "$root/results/results.json" \\
    --out "$BUILD/grade" $hidden
echo "grader exit status: $? (0 full marks, 1 points lost, 2 could not grade)"
exit 0
"""


# Where bwrap cannot start (Docker's default profile refuses it namespaces) the grader, root,
# runs every compile and run as a user of its own (harness/sandbox_user.py), which sees what
# file modes let any user see. So what the grader keeps is root's only, and what a run needs
# (the way to the build folder; the Wine prefix, readable as root made it) can be reached: set
# at setup and before every grading (the grader checks it again, as that user, before the
# first run). Not chmod -R on the prefix: Debian's Wine wants its wineserver file 0400.
PRIVATE = """chmod 0711 "$root" "$root/build"
chmod 0700 "$root/source"
for folder in submission results build/grade build/cache; do
    if [ -d "$root/$folder" ]; then chmod 0700 "$root/$folder"; fi
done"""


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    zf.writestr(info, data)


def setup_sh() -> str:
    return SETUP.replace("{{PRIVATE}}", PRIVATE)


def run_autograder(sandboxed: bool) -> str:
    text = RUN.replace("{{PRIVATE}}", PRIVATE)
    if sandboxed:
        return text.replace("{{SANDBOX}}", "")
    return text.replace("{{SANDBOX}}", "# Made with SANDBOX=0: submissions run without bwrap and can read the hidden cases.\n"
                                       "export SANDBOX=0\n")


def write(zip_path: Path, hidden: Path | None = None, root: Path = ROOT,
          sandboxed: bool = True) -> list:
    """The autograder zip; returns the names in it. hidden: the instructor's hidden cases,
    checked (they must load with the public ones) before they are packed. sandboxed=False
    (SANDBOX=0): run_autograder runs the submissions without bwrap."""
    labs = cases.load_all(root / "expected", hidden=hidden)     # a broken case file stops here
    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as zf:
        _add(zf, "setup.sh", setup_sh().encode(), executable=True)
        _add(zf, "run_autograder", run_autograder(sandboxed).encode(), executable=True)
        for name in HARNESS:
            _add(zf, f"harness/{name}", (root / "harness" / name).read_bytes())
        _add(zf, "labs/lab.h", (root / "labs" / "lab.h").read_bytes())
        for toml in sorted((root / "expected").glob("*.toml")):
            _add(zf, f"expected/{toml.name}", toml.read_bytes())
        if hidden is not None:
            for toml in sorted(Path(hidden).glob("*.toml")):
                _add(zf, f"hidden/{toml.name}", toml.read_bytes())
        names = zf.namelist()
    os.replace(temporary, zip_path)
    points = sum(c.points for lab in labs for c in lab.cases)
    hidden_count = sum(c.hidden for lab in labs for c in lab.cases)
    print(f"{zip_path}: {len(labs)} labs, {sum(len(lab.cases) for lab in labs)} cases "
          f"({hidden_count} hidden), {points} points. Upload it as the assignment's autograder.")
    return names


def main(argv) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "gradescope"
    config = settings.current()
    try:
        write(out / "autograder.zip", Path(config.hidden) if config.hidden else None,
              sandboxed=config.sandbox != "none")
    except (cases.CaseError, OSError, ConfigError) as e:
        print(f"gradescope: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
