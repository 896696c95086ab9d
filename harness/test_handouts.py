"""Every captured output in a handout (labs/NAME.md, labs/NAME.it.md) matches the lab today:
exactly on the toolchain that captured it, by the shape of every line on any other."""
from __future__ import annotations

import difflib

import pytest

from . import handouts
from .pipeline import check_case


def pytest_generate_tests(metafunc):
    if "block" in metafunc.fixturenames:
        labs_dir = metafunc.config.getoption("--labs-dir")
        chosen = {lab.name for lab in metafunc.config.vmlabs_labs}     # make check LAB=...
        found = [b for b in handouts.blocks(labs_dir) if b.lab in chosen]
        metafunc.parametrize("block", found, ids=[b.id for b in found])


def test_handout_output_is_current(block, labs_by_name, built, runner, jobs, seed, runs):
    lab = labs_by_name.get(block.lab)
    if lab is None:
        pytest.skip(f"no case file for {block.lab} (make check LAB=... selected others)")
    case = next((c for c in lab.cases if c.name == block.case), None)
    assert case is not None, f"{block.id}: {block.lab} has no case named {block.case!r}"
    if runner.platform != "wine" and not lab.native:
        pytest.skip("the handouts show runs under Wine")
    exe = built(lab)
    assert exe.ok, exe.message
    outcome = check_case(case, exe.exe, jobs.get(lab.name), seed, lab.native, runs=runs).outcome    # the case's run, if made
    current = handouts.toolchain(lab.native, runner.wine)
    want, got, how = handouts.compared(block, handouts.shown(outcome), current)
    if want != got:
        diff = "\n".join(difflib.unified_diff(want, got, "handout", "the lab now", lineterm=""))
        if how == "exactly":
            compared = "addresses are ignored"
        else:
            compared = (f"captured with {block.toolchain}, run with {current}: compared by the "
                        f"shape of each line, numbers ignored")
        pytest.fail(f"{block.handout}:{block.line}: the captured output of case {block.case} is out "
                    f"of date ({compared}):\n{diff}\n"
                    f"run `make handouts` to refresh it, then read the text around it again",
                    pytrace=False)


# The comparison itself, on a plain table: the run now, against WINE_8 captured -> equal by shape?
WINE_8 = """\
platform:               Wine 8.0
failed in the image:    65 (VirtualQuery: MEM_IMAGE, this program's)
image size:             303104 bytes (SizeOfImage, PE optional header)
behaviour:              wine: Windows 6.1 would be row x64-8tb; Wine's own limit applies
map: address           size  state
0x0000000000000000    64 KB  MEM_FREE     -    #####              free
0x0000000000010000     8 KB  MEM_COMMIT   MEM_MAPPED   ##         l_intl.nls
MEM_IMAGE:              |#######         | 32 regions, 16371712 bytes (16 MB), 16371712 committed

walk:                   78 VirtualQuery calls from address 0
"""
SHAPES = [
    ("the same run", WINE_8, True),
    ("other numbers, sizes, bars, behaviour, map rows (another Wine, another GCC)",
     WINE_8.replace("65 (", "64 (").replace("303104", "299008")
     .replace("Windows 6.1 would be row x64-8tb; Wine's own limit applies",
              "the same limit as Windows 10.0 (row x64-128tb)")
     .replace("0x0000000000010000     8 KB  MEM_COMMIT   MEM_MAPPED   ##         l_intl.nls\n",
              "0x000000007fde0000  1920 KB  MEM_RESERVE  MEM_PRIVATE  #########  private\n"
              "0x000000007ffc0000   128 KB  MEM_COMMIT   MEM_PRIVATE  ######     private\n")
     .replace("(16 MB)", "(900 KB)").replace("|#######         |", "|###########     |"), True),
    ("a label renamed", WINE_8.replace("failed in the image:", "failed inside image:"), False),
    ("a word changed", WINE_8.replace("this program's", "the program's"), False),
    ("a line missing", WINE_8.replace("walk:                   78 VirtualQuery calls from address 0\n", ""), False),
    ("lines swapped", WINE_8.replace("platform:               Wine 8.0\nfailed", "failed")
     .replace("image size:", "platform:               Wine 8.0\nimage size:"), False),
    ("the map gone", WINE_8.replace("0x0000000000000000    64 KB  MEM_FREE     -    #####              free\n", "")
     .replace("0x0000000000010000     8 KB  MEM_COMMIT   MEM_MAPPED   ##         l_intl.nls\n", ""), False),
]


@pytest.mark.parametrize("now, equal", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_another_toolchain_compares_the_shape_of_each_line(now, equal):
    assert (handouts.shape(WINE_8) == handouts.shape(now)) is equal


@pytest.mark.parametrize("captured, now, equal", [
    ("child:  pid 48 (remote.exe child)", "child:  pid 916 (remote.exe child)", True),
    ("mapping:    Local\\vmlabs-mapping-32, 4096 bytes", "mapping:    Local\\vmlabs-mapping-588, 4096 bytes", True),
    ("VirtualQuery: reserved 262144, committed 4096 bytes (1 of 64 pages, -4)",
     "VirtualQuery: reserved 262144, committed 4096 bytes (1 of 64 pages, -5)", False),
    ("row:  x64-8tb", "row:  x64-128tb", False),
    ("failed attempts:        71", "failed attempts:        72", False),
    ("cost:       storing the word: commit charge n/a, working set +8 KB, page faults n/a",
     "cost:       storing the word: commit charge n/a, working set +1304 KB, page faults n/a", True),
    ("cost:       decommitting: commit charge n/a, working set -4 KB, page faults n/a",
     "cost:       decommitting: commit charge n/a, working set +4 KB, page faults n/a", False),
    ("faults:              writing it: +1 minor", "faults:              writing it: +2 minor", True),
], ids=["a pid", "a name made from a pid", "a count after a dash", "a row name", "a count",
        "a measured cost", "a cost of the other sign", "a fault count"])
def test_process_ids_vary_even_on_the_same_toolchain(captured, now, equal):
    """A process id is the wineserver's (a new one per sandboxed run, a shared one with
    SANDBOX=0), not the lab's: a placeholder, like an address; so is a measured cost (the
    working set moves with the stdio buffers and threads of the moment), its sign kept;
    other numbers are not."""
    assert (handouts.normalised(captured) == handouts.normalised(now)) is equal


def block_with(toolchain):
    return handouts.Block(handouts.Path("labs/x.md"), "x", "case", "page: 4096\n", 1, toolchain)


@pytest.mark.parametrize("recorded, current, how", [
    ("wine-8.0, x86_64-w64-mingw32-gcc 12-win32", "wine-8.0, x86_64-w64-mingw32-gcc 12-win32", "exactly"),
    ("wine-8.0, x86_64-w64-mingw32-gcc 12-win32", "wine-10.0, x86_64-w64-mingw32-gcc 14-win32", "by shape"),
    ("wine-8.0, x86_64-w64-mingw32-gcc 12-win32", "wine-8.0, x86_64-w64-mingw32-gcc 14-win32", "by shape"),
    ("", "wine-10.0, x86_64-w64-mingw32-gcc 14-win32", "exactly"),
], ids=["same toolchain", "another Wine and GCC", "another GCC", "none recorded"])
def test_exact_only_on_the_toolchain_that_captured_it(recorded, current, how):
    want, got, compared = handouts.compared(block_with(recorded), "page: 8192\n", current)
    assert compared == how
    assert (want == got) is (how == "by shape")


def test_the_marker_records_the_toolchain(tmp_path):
    handout = tmp_path / "x.md"
    handout.write_text("Run:\n\n<!-- output: case -->\n```text\nold\n```\n", encoding="utf-8")

    class Ran:
        stdout, stderr = "page: 4096\n", ""
    changed = handouts.update(tmp_path, lambda lab, case: Ran, lambda lab: "wine-9.0, gcc 13")
    assert changed == 1
    assert handout.read_text(encoding="utf-8") == (
        "Run:\n\n<!-- output: case; toolchain: wine-9.0, gcc 13 -->\n```text\npage: 4096\n```\n")
    [block] = handouts.blocks(tmp_path)
    assert (block.case, block.toolchain, block.body) == ("case", "wine-9.0, gcc 13", "page: 4096\n")
    assert handouts.update(tmp_path, lambda lab, case: Ran, lambda lab: "wine-9.0, gcc 13") == 0
