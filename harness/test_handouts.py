"""Every captured output in a handout (labs/NAME.md, labs/NAME.it.md) matches the lab today."""
from __future__ import annotations

import difflib

import pytest

from . import handouts


def pytest_generate_tests(metafunc):
    if "block" in metafunc.fixturenames:
        labs_dir = metafunc.config.getoption("--labs-dir")
        found = handouts.blocks(labs_dir)
        metafunc.parametrize("block", found, ids=[b.id for b in found])


def test_handout_output_is_current(block, labs_by_name, built, runner):
    lab = labs_by_name.get(block.lab)
    if lab is None:
        pytest.skip(f"no case file for {block.lab} (make check LAB=... selected others)")
    case = next((c for c in lab.cases if c.name == block.case), None)
    assert case is not None, f"{block.id}: {block.lab} has no case named {block.case!r}"
    if runner.platform != "wine" and not lab.native:
        pytest.skip("the handouts show runs under Wine")
    exe = built(lab)
    assert exe.ok, exe.message
    outcome = runner.run(exe.exe, case.args, case.stdin, case.timeout, native=lab.native)
    want, got = handouts.normalised(block.body), handouts.normalised(handouts.shown(outcome))
    if want != got:
        diff = "\n".join(difflib.unified_diff(want, got, "handout", "the lab now", lineterm=""))
        pytest.fail(f"{block.handout}:{block.line}: the captured output of case {block.case} is out "
                    f"of date (addresses are ignored):\n{diff}\n"
                    f"run `make handouts` to refresh it, then read the text around it again",
                    pytrace=False)
