"""The Gradescope bundle, run here: the zip unpacked into a folder laid out like /autograder,
run_autograder run on a submission, results.json read back."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

from .. import cases, gradescope, settings
from .test_grade import submission

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def test_run_autograder_grades_a_submission_and_writes_results_json(tmp_path, borrowed_build):
    zip_path = tmp_path / "autograder.zip"
    names = gradescope.write(zip_path, HERE / "hidden")
    assert {"setup.sh", "run_autograder", "labs/lab.h", "hidden/reserve_commit.toml"} <= set(names)
    assert not [n for n in names if n.startswith("labs/") and n.endswith(".c")]    # no solution
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():          # extractall drops the mode: set it as unzip would
            os.chmod(root / "source" / info.filename, info.external_attr >> 16)
    assert os.stat(root / "source" / "run_autograder").st_mode & stat.S_IXUSR
    shutil.copytree(submission("wrong_address", tmp_path / "class"), root / "submission")
    borrowed_build.rename(root / "build")       # where run_autograder keeps its BUILD

    result = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True, text=True,
                            env=settings.environ(AUTOGRADER_ROOT=str(root)), timeout=300)
    assert result.returncode == 0, result.stderr
    most = sum(c.points for lab in cases.load_all(ROOT / "expected", hidden=HERE / "hidden")
               for c in lab.cases)
    # wrong_address: 16 public points of reserve_commit, 2 hidden (its fault is still off the page)
    assert f"Score: 18/{most}" in result.stdout and "grader exit status: 1" in result.stdout
    data = json.loads((root / "results" / "results.json").read_text())
    assert (data["score"], data["max_score"]) == (18, most)
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["reserve_commit/reserve_only_faults"]["score"] == 0
    hidden = tests["reserve_commit/random_word_still_faults"]
    assert hidden["visibility"] == "after_published" and hidden["score"] == 0
    assert tests["reserve_commit/only_the_first_word"]["score"] == 2
    assert sum(t["visibility"] == "after_published" for t in data["tests"]) == 2
