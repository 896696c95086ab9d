"""similarity: which students handed in the same solutions (make similarity SUBMISSIONS=class).

For every lab, each student's file is compared with every other's by Dolos (harness/dolos.mjs:
winnowing over tree-sitter's tokens, so names and layout do not count), with the starter's
version of the lab as the baseline: what the starter gives everyone is never counted, so what
is compared is what students wrote in place of the TODOs (the SOLUTION regions). Byte-identical
files (the compile cache would compile them once) are listed first; a file that is the starter
unchanged is not compared at all.

    python3 -m harness.similarity CLASS [--lab NAME] [--out DIR] [--top N] [--dolos DIR]

writes OUT/similarity.html (the pairs ranked, the top ones side by side with what they share
marked; no script, nothing from the network) and OUT/similarity.csv (every pair, per lab).
Files are read as grading reads them (submission.read_source: never through a link), and
Dolos, whose parser reads them, runs in the sandbox as a compile does (SANDBOX=0: without).
Exit status 0, or 2 when it cannot run (no such folder, Dolos not installed: make similarity
installs it into BUILD/dolos with npm).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import itertools
import json
import shutil
import sys
import tempfile
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from . import cases, settings, starter
from .grade import GradingError
from .grade_all import students_in
from .results import cell, write_atomic
from .explain import describe
from .run import Runner
from .settings import ConfigError
from .submission import find_sources
from .settings import ROOT

ENGINE = Path(__file__).resolve().with_name("dolos.mjs")
ENGINE_TIMEOUT = 600        # seconds for one lab of a class (300 students: about 20 s)


class SimilarityError(RuntimeError):
    """The check cannot run: the message says what to do."""


@dataclass(frozen=True)
class Shared:
    """What two students' files of one lab have in common."""
    lab: str
    similarity: float       # 0..1, the starter's code left out
    overlap: int            # tokens in common
    longest: int            # the longest run of tokens in common
    identical: bool = False
    fragments: tuple = ()   # ((first, last line of a), (first, last line of b)), 0-based


@dataclass
class Pair:
    a: str
    b: str
    labs: dict = field(default_factory=dict)    # lab -> Shared

    @property
    def identical(self) -> int:
        return sum(s.identical for s in self.labs.values())

    @property
    def score(self) -> float:
        return max((s.similarity for s in self.labs.values()), default=0.0)

    def rank(self):
        return (-self.identical, -self.score, -sum(s.overlap for s in self.labs.values()),
                self.a, self.b)


def dolos_engine(dolos: Path, runner: Runner, work: Path):
    """An engine: (files {student: text}, baseline text) -> [(a, b, similarity, overlap,
    longest, fragments)], computed by Dolos installed in the folder dolos. Its parser reads
    the submissions: it runs as a compiler does (Runner.run_tool: in the sandbox, with the
    limits), seeing only Dolos, the script, and a folder of work holding the files."""
    node = shutil.which("node")
    if node is None or not (Path(dolos) / "node_modules" / "@dodona" / "dolos-lib").is_dir():
        raise SimilarityError(f"Dolos is not installed in {dolos}: `make similarity` installs it "
                              f"(npm install @dodona/dolos-lib; needs node, npm, g++ and make: "
                              f"apt-get install nodejs npm build-essential)")

    def engine(files: dict, baseline: str) -> list:
        given = {"ignore": {"path": "starter.c", "content": baseline},
                 "files": [{"path": name, "content": text} for name, text in files.items()]}
        Path(work).mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="dolos-", dir=work))
        try:
            (folder / "files.json").write_text(json.dumps(given), encoding="utf-8")
            outcome = runner.run_tool([node, str(ENGINE), str(Path(dolos).resolve()), "files.json",
                                       "pairs.json"], folder, ENGINE_TIMEOUT,
                                      readonly=[ENGINE, Path(dolos)])
            if outcome.label != "exit" or not (folder / "pairs.json").is_file():
                raise SimilarityError(f"Dolos failed: {describe(outcome)}: "
                                      f"{outcome.stderr.strip()[-800:]}")
            pairs = json.loads((folder / "pairs.json").read_text(encoding="utf-8"))["pairs"]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return [(p["left"], p["right"], p["similarity"], p["overlap"], p["longest"],
                 tuple((tuple(f["left"]), tuple(f["right"])) for f in p["fragments"]))
                for p in pairs]
    return engine


def sandbox(build: Path) -> Runner:
    """A started Runner for Dolos: the sandbox (and its level) grading would use, no Wine
    (Dolos is a program of this machine). The caller stops it."""
    config = dataclasses.replace(settings.current(), runner="")     # no Wine, no prefix
    try:
        runner = Runner.started(build, user_level=True, config=config)
    except (ConfigError, RuntimeError, OSError) as e:
        raise SimilarityError(f"cannot run Dolos in the sandbox: {e}") from None
    return runner


def read_class(folder: Path, labs, known) -> dict:
    """{lab: {student: text}} of every file that was read (not refused)."""
    found = {lab.name: {} for lab in labs}
    for student, path in students_in(Path(folder)):
        sources, _, _ = find_sources(path, labs, known)
        for lab in labs:
            source = sources[lab.name]
            if source is not None and not source.refused and source.data.strip():
                found[lab.name][student] = source.data
    return found


def handed_in(files: dict, baselines: dict) -> dict:
    """files without those that are the starter unchanged: there is nothing of theirs in them."""
    return {lab: {s: data for s, data in by_student.items() if data != baselines[lab].encode()}
            for lab, by_student in files.items()}


def identical_groups(files: dict) -> list:
    """[(lab, [students])]: files byte for byte the same, largest groups first."""
    groups = []
    for lab, by_student in files.items():
        by_hash = {}
        for student, data in sorted(by_student.items()):
            by_hash.setdefault(hashlib.sha256(data).hexdigest(), []).append(student)
        groups += [(lab, group) for group in by_hash.values() if len(group) > 1]
    return sorted(groups, key=lambda g: (-len(g[1]), g[0], g[1]))


def compare(files: dict, baselines: dict, engine) -> list:
    """files {lab: {student: bytes}} (handed_in's), baselines {lab: the starter's text} ->
    [Pair], ranked."""
    pairs = {}

    def pair(a, b) -> Pair:
        a, b = sorted((a, b))
        return pairs.setdefault((a, b), Pair(a, b))

    for lab, group in identical_groups(files):
        for a, b in itertools.combinations(group, 2):
            pair(a, b).labs[lab] = Shared(lab, 1.0, 0, 0, True)
    for lab, kept in files.items():
        baseline = baselines[lab]
        if len(kept) < 2:
            continue
        texts = {s: data.decode("utf-8", "replace") for s, data in kept.items()}
        for a, b, similarity, overlap, longest, fragments in engine(texts, baseline):
            if similarity <= 0 and not overlap:
                continue
            p = pair(a, b)
            if a > b:
                fragments = tuple((right, left) for left, right in fragments)
            if lab in p.labs:       # identical: keep the engine's numbers and fragments too
                similarity = 1.0
            p.labs[lab] = Shared(lab, similarity, overlap, longest, lab in p.labs, fragments)
    return sorted(pairs.values(), key=Pair.rank)


# ---- what it is written as --------------------------------------------------------------

def esc(text) -> str:
    return html.escape(str(text), quote=True)


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def listed(pair: Pair) -> str:
    return ", ".join(f"{lab} {'identical' if s.identical else percent(s.similarity)}"
                     for lab, s in sorted(pair.labs.items(), key=lambda i: -i[1].similarity))


def side_by_side(pair: Pair, lab: str, files: dict) -> str:
    """The two files of one lab next to each other, the lines they share marked."""
    shared = pair.labs[lab]
    marked = ({}, {})
    for n, (left, right) in enumerate(shared.fragments, 1):
        for side, (first, last) in zip(marked, (left, right)):
            for line in range(first, last + 1):
                side.setdefault(line, n)
    columns = []
    for student, marks in zip((pair.a, pair.b), marked):
        text = files[lab][student].decode("utf-8", "replace")
        rows = []
        for i, line in enumerate(text.split("\n")):
            body = f'<span class="n">{i + 1:4}</span> {esc(line)}'
            rows.append(f'<mark title="shared fragment {marks[i]}">{body}</mark>' if i in marks else body)
        columns.append(f'<div><h4>{esc(student)}/{esc(lab)}.c</h4><pre>{chr(10).join(rows)}</pre></div>')
    head = "byte for byte the same" if shared.identical else \
        f"{percent(shared.similarity)} the same, {shared.overlap} tokens in common, the longest run {shared.longest}"
    return f'<h3>{esc(pair.a)} and {esc(pair.b)}: {esc(lab)}.c, {esc(head)}</h3><div class="two">{"".join(columns)}</div>'


STYLE = """body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1400px; padding: 0 16px; color: #1b1f24; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; } .meta { color: #57606a; } .two { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
pre { font: 12px/1.35 ui-monospace, monospace; background: #f6f8fa; padding: 6px; overflow-x: auto; max-height: 640px; }
mark { background: #ffd8b5; display: block; } .n { color: #8c959f; } h3 { margin-top: 28px; }"""


def page(pairs, files, top: int, labs) -> str:
    """files: handed_in's."""
    out = ["<h1>vmlabs: similarity</h1>",
           f'<p class="meta">{len({s for f in files.values() for s in f})} students, labs: '
           f'{esc(", ".join(labs))}. Each pair\'s share of code in common per lab, computed by '
           f'Dolos with the starter as the baseline (the starter\'s code is never counted; names '
           f'and layout do not matter). Byte-identical files first. A high share is a question to '
           f'ask, not a verdict: short solutions to the same TODO look alike.</p>']
    groups = identical_groups(files)
    out.append("<h2>Byte-identical files</h2>")
    out.append("<ul>" + "".join(f"<li>{esc(lab)}.c: {len(group)} students, {esc(', '.join(group))}</li>"
                                for lab, group in groups) + "</ul>" if groups else "<p>None.</p>")
    out.append("<h2>Pairs, most alike first</h2><table><tr><th>#</th><th>students</th>"
               "<th>most alike lab</th><th>per lab</th></tr>")
    for i, p in enumerate(pairs[:max(top * 5, 50)], 1):
        out.append(f'<tr><td>{i}</td><td><a href="#pair{i}">{esc(p.a)} &amp; {esc(p.b)}</a></td>'
                   f"<td>{percent(p.score)}</td><td>{esc(listed(p))}</td></tr>")
    out.append("</table><h2>The top pairs, side by side</h2>")
    for i, p in enumerate(pairs[:top], 1):
        lab = max(p.labs, key=lambda name: (p.labs[name].similarity, p.labs[name].overlap))
        out.append(f'<div id="pair{i}">{side_by_side(p, lab, files)}</div>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>vmlabs similarity'
            f"</title><style>{STYLE}</style></head>\n<body>\n" + "\n".join(out) + "\n</body></html>\n")


def table_csv(pairs, labs) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "student", "most alike", *labs, "identical labs"])
    for p in pairs:
        writer.writerow([cell(p.a), cell(p.b), f"{p.score:.3f}",
                         *(f"{p.labs[lab].similarity:.3f}" if lab in p.labs else "" for lab in labs),
                         " ".join(lab for lab in labs if lab in p.labs and p.labs[lab].identical)])
    return buffer.getvalue()


def baselines_of(labs, labs_dir: Path) -> dict:
    return {lab.name: starter.strip((labs_dir / f"{lab.name}.c").read_text(encoding="utf-8"),
                                    str(labs_dir / f"{lab.name}.c"))[0] for lab in labs}


def run(folder: Path, out: Path, engine, only=(), top: int = 10,
        expected: Path = ROOT / "expected", labs_dir: Path = ROOT / "labs") -> list:
    labs = [lab for lab in cases.load_all(expected, tuple(only)) if (labs_dir / f"{lab.name}.c").is_file()]
    known = frozenset(p.stem for p in expected.glob("*.toml"))
    baselines = baselines_of(labs, labs_dir)
    files = handed_in(read_class(folder, labs, known), baselines)
    pairs = compare(files, baselines, engine)
    names = [lab.name for lab in labs]
    write_atomic(out / "similarity.html", page(pairs, files, top, names))
    write_atomic(out / "similarity.csv", table_csv(pairs, names))
    return pairs


def main(argv) -> int:
    build = settings.current().build
    parser = argparse.ArgumentParser(prog="python3 -m harness.similarity",
                                     description="rank pairs of students by the code they share")
    parser.add_argument("folder", help="a folder holding one folder per student")
    parser.add_argument("--lab", action="append", default=[], help="only this lab (repeatable)")
    parser.add_argument("--out", default=str(build / "similarity"), help="where the page goes")
    parser.add_argument("--top", type=int, default=10, help="pairs shown side by side (10)")
    parser.add_argument("--dolos", default=str(build / "dolos"), help="where Dolos is installed")
    options = parser.parse_args(argv)
    runner = None
    try:
        if not Path(options.folder).is_dir():
            raise SimilarityError(f"{options.folder} is not a folder")
        dolos_engine(Path(options.dolos), None, build)      # installed? said before starting
        runner = sandbox(build)
        out = Path(options.out)
        pairs = run(Path(options.folder), out,
                    dolos_engine(Path(options.dolos), runner, out / "work"), options.lab, options.top)
    except (SimilarityError, GradingError, cases.CaseError, starter.StarterError) as e:
        print(f"similarity: {e}", file=sys.stderr)
        return 2
    finally:
        if runner is not None:
            runner.stop()
        shutil.rmtree(Path(options.out) / "work", ignore_errors=True)
    for p in pairs[:options.top]:
        print(f"{p.a} & {p.b}: {listed(p)}")
    print(f"written: {Path(options.out) / 'similarity.html'}, similarity.csv ({len(pairs)} pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
