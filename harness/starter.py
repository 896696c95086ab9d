"""starter: the students' copy, generated from the reference (make starter -> build/starter/).

One source: a reference lab marks the code a student is to write,

    /* BEGIN SOLUTION: the hint, which may go on
     * over several comment lines */
    ...the reference code...
    /* END SOLUTION */                        or   /* END SOLUTION, starter: return x; */

and the starter has `/* TODO: the hint */` there instead (then the starter code, when the
END line gives one, so that the starter still compiles). The markers are plain comments: the
reference compiles and prints exactly the same with them.

The starter holds the labs with TODOs, lab.h, the handouts, the public cases (never the
hidden ones), the harness a student needs to run and check the labs, a Makefile and a
README for students, a GitHub Classroom workflow giving each public case its points, and
the dev container (.devcontainer/: GitHub Codespaces, VS Code Dev Containers).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

from . import cases
from .settings import ROOT

STUDENT = Path(__file__).resolve().parent / "student"     # the files only the starter has
# The pipeline: what grading a submission needs, and all the starter and Gradescope ship of
# harness/ (the instructor's tools beside it are never shipped).
PIPELINE = ("__init__.py", "settings.py", "ntstatus.py", "cases.py", "pattern.py", "expr.py",
            "match.py", "submission.py", "build.py", "outcome.py", "explain.py", "sandbox.py",
            "sandbox_user.py", "watch.py", "wine.py", "job.py", "spawner.py", "regwatch.c", "run.py",
            "report.py", "pipeline.py", "grades.py", "results.py", "grade.py", "hints.py", "i18n.py",
            "locale/it/LC_MESSAGES/vmlabs.po")
HARNESS = (*PIPELINE, "demo.py", "deps.sh")

CONTAINER = (".devcontainer", ".dockerignore")                  # as they are in the checkout

BEGIN = re.compile(r"^(?P<indent>[ \t]*)/\* BEGIN SOLUTION(?P<rest>.*)$")
END = re.compile(r"^[ \t]*/\* END SOLUTION(?:, starter: (?P<code>.*?))?\s*\*/\s*$")


class StarterError(ValueError):
    """A reference lab whose markers do not pair up: the message starts with file:line."""


def strip(text: str, where: str = "lab") -> tuple:
    """(the starter text, [(line in the starter, hint)]): every solution region replaced by
    its TODO (and starter code)."""
    lines = text.split("\n")
    out, todos, i = [], [], 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if "SOLUTION" in lines[i] and re.search(r"\b(BEGIN|END) SOLUTION\b", lines[i]):
                raise StarterError(f"{where}:{i + 1}: END SOLUTION without a BEGIN SOLUTION above it"
                                   if "END SOLUTION" in lines[i] else
                                   f"{where}:{i + 1}: a BEGIN SOLUTION marker must start its line: "
                                   f"/* BEGIN SOLUTION: hint */")
            out.append(lines[i])
            i += 1
            continue
        start, indent = i, m.group("indent")
        comment = m.group("rest")
        while "*/" not in comment:
            i += 1
            if i == len(lines):
                raise StarterError(f"{where}:{start + 1}: the BEGIN SOLUTION comment never ends")
            comment += " " + lines[i].strip().lstrip("*").strip()
        hint = " ".join(comment[:comment.index("*/")].lstrip(":").split())
        if not hint:
            raise StarterError(f"{where}:{start + 1}: BEGIN SOLUTION needs a hint: "
                               f"/* BEGIN SOLUTION: what to write */")
        i += 1
        while i < len(lines) and not END.match(lines[i]):
            if BEGIN.match(lines[i]):
                raise StarterError(f"{where}:{i + 1}: BEGIN SOLUTION inside the region opened "
                                   f"at line {start + 1}")
            i += 1
        if i == len(lines):
            raise StarterError(f"{where}:{start + 1}: BEGIN SOLUTION without an END SOLUTION")
        code = END.match(lines[i]).group("code")
        if code:        # the starter's line only keeps it compiling: nothing to build on
            hint += "; then replace the next line"
        todos.append((len(out) + 1, hint))
        wrapped = textwrap.wrap(f"TODO: {hint}", 92 - len(indent) - 3)
        out.append(f"{indent}/* {wrapped[0]}" + (" */" if len(wrapped) == 1 else ""))
        out += [f"{indent} * {line}" for line in wrapped[1:]]
        if len(wrapped) > 1:
            out[-1] += " */"
        if code:
            out.append(f"{indent}{code}")
        i += 1
    return "\n".join(out), todos


def workflow(labs) -> str:
    """A GitHub Classroom workflow: every public case one step, worth its points."""
    steps, runners, env = [], [], []
    for lab in labs:
        for case in lab.cases:
            step = f"{lab.name}-{case.name}".replace("_", "-")
            runners.append(step)
            env.append(f'          {step.upper()}_RESULTS: "${{{{steps.{step}.outputs.result}}}}"')
            steps.append(f"""      - name: {case.id}
        id: {step}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {case.id}
          command: python3 -m harness.grade --case {case.id}
          timeout: 2
          max-score: {case.points}""")
    return f"""# GitHub Classroom: every public case of every lab is one test, worth its points.
# Generated by `make starter` from the cases in expected/; `make check` runs the same checks.
name: vmlabs checks
on: [push, workflow_dispatch, repository_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  checks:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    # Your own code on a runner of its own, with no hidden case to keep from it: no sandbox
    # (bwrap needs user namespaces, which a runner may not allow).
    env:
      SANDBOX: "0"
    steps:
      - uses: actions/checkout@v4
      - name: Install MinGW-w64 and Wine, create the Wine prefix
        run: make deps prefix
      - name: make check (every case, every failure explained)
        run: make check
        continue-on-error: true
{chr(10).join(steps)}
      - name: Points
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{chr(10).join(env)}
        with:
          runners: {','.join(runners)}
"""


MANIFEST = ".starter-labs.json"     # each lab as make starter wrote it: its SHA-256


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edited(out: Path, root: Path = ROOT) -> list:
    """The labs of a starter in out that are not as make starter wrote them: a student's
    work. Without the record of what was written (an older starter), against a fresh one."""
    out = Path(out)
    try:
        written = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = {source.name: hashlib.sha256(strip(source.read_text(encoding="utf-8"),
                                                     str(source))[0].encode()).hexdigest()
                   for source in sorted((root / "labs").glob("*.c"))}
    return [f"labs/{name}" for name, digest in sorted(written.items())
            if (out / "labs" / name).is_file() and _digest(out / "labs" / name) != digest]


def write(out: Path, root: Path = ROOT, force: bool = False) -> list:
    """The starter in out (replacing what was there, unless its labs hold a student's work
    and not force: StarterError). Returns [(lab, [(line, hint)])]."""
    out = Path(out)
    work = [] if force or not out.exists() else edited(out, root)
    if work:
        raise StarterError(f"{out} holds work of yours ({', '.join(work)} changed since make "
                           f"starter wrote them): copy it somewhere else first (cp -r {out} ~/vmlabs), "
                           f"or overwrite it: make starter FORCE=1")
    if out.exists():
        shutil.rmtree(out)
    (out / "labs").mkdir(parents=True)
    labs = cases.load_all(root / "expected")
    found, written = [], {}
    for source in sorted((root / "labs").glob("*.c")):
        text, todos = strip(source.read_text(encoding="utf-8"), str(source))
        if not todos:
            raise StarterError(f"{source}:1: no BEGIN SOLUTION region: the starter would be "
                               f"the solution")
        (out / "labs" / source.name).write_text(text, encoding="utf-8")
        written[source.name] = _digest(out / "labs" / source.name)
        found.append((source.stem, todos))
    (out / MANIFEST).write_text(json.dumps(written, indent=1) + "\n", encoding="utf-8")
    for other in [root / "labs" / "lab.h", *sorted((root / "labs").glob("*.md"))]:
        shutil.copy(other, out / "labs")
    (out / "expected").mkdir()
    for toml in sorted((root / "expected").glob("*.toml")):
        shutil.copy(toml, out / "expected")
    shutil.copy(root / "expected" / "README.md", out / "expected")
    (out / "harness").mkdir()
    for name in HARNESS:
        (out / "harness" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "harness" / name, out / "harness" / name)
    shutil.copy(STUDENT / "Makefile", out / "Makefile")
    shutil.copytree(root / "mk", out / "mk")        # the rules both Makefiles share
    shutil.copy(STUDENT / "gitignore", out / ".gitignore")
    todo_list = "\n".join(f"| [`labs/{lab}.c`](labs/{lab}.c) | "
                          + "; ".join(hint for _, hint in todos) + " |"
                          for lab, todos in found)
    readme = (STUDENT / "README.md").read_text(encoding="utf-8")
    (out / "README.md").write_text(readme.replace("{{TODOS}}", todo_list), encoding="utf-8")
    for container in CONTAINER:      # Codespaces and Dev Containers: nothing to install
        copy = shutil.copytree if (root / container).is_dir() else shutil.copy
        copy(root / container, out / container)
    (out / ".github" / "workflows").mkdir(parents=True)
    (out / ".github" / "workflows" / "classroom.yml").write_text(workflow(labs), encoding="utf-8")
    return found


def main(argv) -> int:
    force = "--force" in argv
    argv = [a for a in argv if a != "--force"]
    out = Path(argv[0]) if argv else ROOT / "build" / "starter"
    try:
        found = write(out, force=force)
    except (StarterError, cases.CaseError) as e:
        print(f"starter: {e}", file=sys.stderr)
        return 2
    print(f"starter written to {out}: {len(found)} labs, "
          f"{sum(len(t) for _, t in found)} TODOs (cd {out} && make check)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
