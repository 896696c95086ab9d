"""The one chain: a case checked against a program, and cases that read the same run."""
from __future__ import annotations

from pathlib import Path

from .. import cases
from ..outcome import Outcome
from ..pipeline import check_cases

CASES = '''title = "t"

[[case]]
name = "one"
expect = "value: {num:n}"

[[case]]
name = "two"
expect = "value: 42"

[[case]]
name = "other_input"
stdin = "x\\n"
expect = "value: 42"
'''


class CountingRunner:
    """Runs nothing: every run prints "value: 42" and exits 0, and is counted."""

    def __init__(self):
        self.runs = []

    def run(self, exe, args=(), stdin="", timeout=10, native=False):
        self.runs.append((tuple(args), stdin))
        return Outcome("exit", 0, None, None, "value: 42\n", "", 0.01, (str(exe), *args), stdin,
                       "wine", "exit status")


def test_cases_with_the_same_invocation_share_one_run(tmp_path):
    (tmp_path / "demo.toml").write_text(CASES)
    lab = cases.load_lab(tmp_path / "demo.toml")
    runner = CountingRunner()
    checked = check_cases(lab.cases, Path("demo.exe"), runner, seed=1, records=tmp_path / "records")
    assert [c.case.name for c in checked] == ["one", "two", "other_input"]
    assert all(c.passed for c in checked)
    assert runner.runs == [((), ""), ((), "x\n")]          # one run for one and two
    assert all(c.record.is_file() for c in checked)        # each case its own record
