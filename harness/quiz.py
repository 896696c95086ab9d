"""quiz: predict, then run. A short random vmsh script from a seed; the student predicts each
step (the page strip, whether the call succeeds, whether the access faults); vmsh runs it, in the
sandbox like every run, and each prediction is marked, a wrong one with the rule it broke.

    make quiz                      a new seed (printed), predictions typed at the prompt
    make quiz SEED=n               that quiz again; PREDICTIONS=file: predictions from a file,
                                   one a line ("3: fault" or just "fault", in step order)
    make quiz SEED=n ANSWERS=1     the answers, with the rule behind each (OSTEP's -c)
    make quiz-set N=10 SEED=s      N quizzes and their answers for an exam, English and
                                   Italian, in build/quiz-set/

vmsh's run is the judge; a small model of the pages (below) names the rule behind each answer,
and the tests check over many seeds that it agrees with vmsh. The English rules are the hints
of expected/vmsh.toml's cases. Quizzes use no command whose result differs between Wine and
Windows (no reset or undo, no WRITECOPY, no NOCACHE; exec is left out as DEP-dependent; a
commit only ever covers reserved pages: what it does to a committed page's protection is not
pinned by a conformance test).
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from . import settings
from .explain import describe
from .i18n import language, pick
from .settings import ROOT



TEXT = {
    "en": {
        "title": "vmsh quiz, seed {seed}",
        "replay": "(make quiz SEED={seed} replays it; ANSWERS=1 shows the answers)",
        "setup": "The region so far",
        "legend": "Predict each step: strip = the page strip after it ([C] committed, [R] reserved, "
                  "[G] guard, [-] free), call = ok or fails, access = ok or fault.",
        "strip": "strip?", "call": "ok or fails?", "access": "ok or fault?",
        "you": "you", "right": "right", "wrong": "WRONG", "why": "why", "said": "vmsh",
        "score": "score", "answers": "Answers", "rule": "rule", "none": "(no answer)",
        "disagree": "note: the quiz's model predicted {model}; vmsh is the judge",
    },
    "it": {
        "title": "quiz vmsh, seme {seed}",
        "replay": "(make quiz SEED={seed} lo ripete; ANSWERS=1 mostra le risposte)",
        "setup": "La regione finora",
        "legend": "Prevedi ogni passo: strip = la striscia delle pagine dopo il passo ([C] impegnata, "
                  "[R] riservata, [G] guardia, [-] libera), call = ok o fails (fallisce), "
                  "access = ok o fault (eccezione).",
        "strip": "striscia?", "call": "ok o fails?", "access": "ok o fault?",
        "you": "tu", "right": "giusto", "wrong": "SBAGLIATO", "why": "perché", "said": "vmsh",
        "score": "punteggio", "answers": "Risposte", "rule": "regola", "none": "(nessuna risposta)",
        "disagree": "nota: il modello del quiz prevedeva {model}; decide vmsh",
    },
}


def hints(lang: str = "en") -> dict:
    """The rules: the hints of expected/vmsh.toml's cases (hint_it in Italian), by case name."""
    from . import cases
    lab = cases.load_lab(ROOT / "expected" / "vmsh.toml")
    return {case.name: " ".join(pick(case.hint, case.hint_it, lang).split()) for case in lab.cases}


# ---- the model: what each page is, and what each command does to it ----

@dataclass
class Page:
    state: str = "R"            # R reserved, C committed
    prot: str = "rw"            # rw ro na rx, for a committed page
    guard: bool = False

    def cell(self) -> str:
        return "[R]" if self.state == "R" else "[G]" if self.guard else "[C]"


@dataclass
class Step:
    command: str
    kind: str                   # strip | call | access
    answer: str = ""            # the model's
    rule: str = ""              # the case whose hint explains it; "a+b": both

    def why(self, rules: dict) -> str:
        return "; ".join(rules[name] for name in self.rule.split("+"))


@dataclass
class Quiz:
    seed: int
    setup: list
    start: str                  # the strip after the setup
    steps: list = field(default_factory=list)

    @property
    def script(self) -> str:
        return "".join(f"{line}\n" for line in self.setup + [s.command for s in self.steps])


def strip_of(pages) -> str:
    return "".join(p.cell() for p in pages)


def _touch(pages, first, count, write):
    """(ok or fault, the rule) for an access of count bytes, page by page from first."""
    for n, page in enumerate(pages[first:first + count]):
        if page.state == "R":
            return "fault", "straddle+reserved_faults" if n else "reserved_faults"
        if page.guard:
            page.guard = False
            return "fault", "straddle+guard_once" if n else "guard_once"
        if page.prot == "na" or (write and page.prot in ("ro", "rx")):
            return "fault", "straddle+readonly_noaccess" if n else "readonly_noaccess"
    return "ok", "straddle" if count > 1 else ("readonly_noaccess" if pages[first].prot != "rw"
                                               else "reserve_commit")


def _step(rng: random.Random, pages) -> Step:
    n = len(pages)
    p = rng.randrange(n)
    count = rng.randint(1, n - p)
    what = rng.choice(["commit", "commit", "commit", "decommit", "protect", "protect", "guard",
                       "read", "write", "write", "straddle-protect", "straddle-decommit",
                       "straddle-write"])
    if what.startswith("straddle") and p == n - 1:
        p -= 1
    reserved = [i for i in range(n) if pages[i].state == "R"]
    if what == "commit" and not reserved:
        what = "decommit"
    if what == "commit":
        # Only reserved pages: what a commit does to a committed page's protection and guard
        # is not pinned by a conformance test, so a quiz does not ask it.
        p, count = rng.choice(reserved), 1
        while p + count < n and pages[p + count].state == "R" and rng.random() < 0.7:
            count += 1
    span = range(p, p + (2 if what.startswith("straddle") else count))
    if what == "commit":
        prot = rng.choice(["rw", "rw", "ro"])
        for i in span:
            pages[i] = Page("C", prot)
        return Step(f"commit {p} {count} {prot}", "strip", strip_of(pages), "reserve_commit")
    if what in ("decommit", "straddle-decommit"):
        for i in span:
            pages[i] = Page()
        command = f"decommit {p} {count}" if what == "decommit" else f"decommit end {p} 2"
        return Step(command, "strip", strip_of(pages),
                    "decommit_release" if what == "decommit" else "straddle")
    if what in ("protect", "guard", "straddle-protect"):
        prot = "rw" if what == "guard" else rng.choice(["ro", "na", "rw", "rx"])
        command = {"protect": f"protect {p} {count} {prot}", "guard": f"guard {p} {count}",
                   "straddle-protect": f"protect end {p} 2 {prot}"}[what]
        if any(pages[i].state == "R" for i in span):
            ok, rule = "fails", "protect_uncommitted"
        else:
            for i in span:
                pages[i].prot, pages[i].guard = prot, what == "guard"
            ok, rule = "ok", {"guard": "guard_once", "protect": "readonly_noaccess",
                              "straddle-protect": "straddle"}[what]
        if what == "guard":
            return Step(command, "strip", strip_of(pages), rule)
        return Step(command, "call", ok, rule)
    if what == "straddle-write":
        answer, rule = _touch(pages, p, 2, True)
        return Step(f"write end {p} 2", "access", answer, rule)
    answer, rule = _touch(pages, p, 1, what == "write")
    return Step(f"{what} {p}", "access", answer, rule)


def generate(seed: int, steps: int = 6) -> Quiz:
    """The same seed, the same quiz."""
    rng = random.Random(f"vmsh-quiz:{seed}")
    n = rng.randint(3, 5)
    pages = [Page() for _ in range(n)]
    setup = [f"reserve {n}"]
    first = rng.randrange(n)
    count = rng.randint(1, n - first)
    setup.append(f"commit {first} {count} rw")
    for i in range(first, first + count):
        pages[i] = Page("C", "rw")
    quiz = Quiz(seed, setup, strip_of(pages))
    for _ in range(steps):
        quiz.steps.append(_step(rng, pages))
    return quiz


# ---- vmsh's run: the judge ----

def results(stdout: str) -> list:
    """Per command echoed by vmsh ("> ..."): (its lines, the strip after it)."""
    chunks = []
    for line in stdout.splitlines():
        if line.startswith("> "):
            chunks.append([line[2:], []])
        elif chunks:
            chunks[-1][1].append(line)
    return chunks


def truth(step: Step, lines) -> tuple:
    """(vmsh's answer to step, the line that shows it)."""
    if step.kind == "strip":
        strips = [m.group(1) for m in map(re.compile(r"^region 0x[0-9a-fA-F]+: (.*)$").match, lines) if m]
        return (strips[-1] if strips else "?"), (strips[-1] if strips else "")
    if step.kind == "call":
        line = next((l for l in lines if " = " in l), "")
        return ("fails" if "= FALSE" in line else "ok"), line
    faults = [l for l in lines if l.startswith("fault:")]
    return ("fault" if faults else "ok"), (faults[0] if faults else lines[0] if lines else "")


def normal(kind: str, text: str) -> str:
    text = text.strip().lower()
    if kind == "strip":
        return "".join(f"[{c}]" for c in re.sub(r"[^a-z\-]", "", text).upper())
    return {"yes": "ok", "succeeds": "ok", "true": "ok", "riesce": "ok", "fail": "fails",
            "false": "fails", "fallisce": "fails", "faults": "fault", "eccezione": "fault",
            "no": "fails" if kind == "call" else "fault"}.get(text, text)


def run_script(runner, exe, script: str) -> str:
    outcome = runner.run(exe, [], script, 10)
    if outcome.kind != "exit" or outcome.code != 0:
        raise RuntimeError(f"vmsh did not finish the quiz's script: {describe(outcome)}\n"
                           f"{outcome.stdout}{outcome.stderr}")
    return outcome.stdout


def judged(quiz: Quiz, stdout: str) -> list:
    """[(step, vmsh's answer, the line showing it)], one per step."""
    chunks = results(stdout)[len(quiz.setup):]
    return [(step, *truth(step, lines)) for step, (_, lines) in zip(quiz.steps, chunks)]


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(text, 94, initial_indent=label, subsequent_indent=" " * len(label))


def show_quiz(quiz: Quiz, lang: str = "en") -> str:
    t = TEXT[lang]
    out = [t["title"].format(seed=quiz.seed) + " " + t["replay"].format(seed=quiz.seed),
           f"{t['setup']}: {' ; '.join(quiz.setup)}  ->  {quiz.start}", textwrap.fill(t["legend"], 94)]
    for i, step in enumerate(quiz.steps, 1):
        out.append(f"{i:2}. {step.command:<22} {step.kind}: {t[step.kind]}")
    return "\n".join(out) + "\n"


def mark(quiz: Quiz, stdout: str, predictions, rules: dict, lang: str = "en") -> tuple:
    """(the marked text, how many right). predictions: one per step ("" = no answer)."""
    t = TEXT[lang]
    out, right = [], 0
    for i, (step, answer, line) in enumerate(judged(quiz, stdout), 1):
        said = predictions[i - 1] if i - 1 < len(predictions) else ""
        good = normal(step.kind, said) == normal(step.kind, answer)
        right += good
        out.append(f"{i:2}. {step.command:<22} {t['you']}: {said or t['none']:<18} "
                   f"{t['said']}: {answer:<18} {t['right'] if good else t['wrong']}")
        if not good:
            out.append(_wrap(f"      {t['why']}: ", step.why(rules)))
            if line and line != answer:
                out.append(f"      {t['said']}: {line}")
        if normal(step.kind, step.answer) != normal(step.kind, answer):
            out.append(f"      {t['disagree'].format(model=step.answer)}")
    out.append(f"{t['score']}: {right}/{len(quiz.steps)}")
    return "\n".join(out) + "\n", right


def show_answers(quiz: Quiz, stdout: str, rules: dict, lang: str = "en") -> str:
    t = TEXT[lang]
    out = [f"{t['answers']} ({t['title'].format(seed=quiz.seed)})"]
    for i, (step, answer, line) in enumerate(judged(quiz, stdout), 1):
        out.append(f"{i:2}. {step.command:<22} {answer}")
        out.append(_wrap(f"      {t['rule']}: ", step.why(rules)))
    return "\n".join(out) + "\n"


def read_predictions(path: Path, count: int) -> list:
    """One a line, in step order, or "N: answer"; blank lines and # comments skipped."""
    found, plain = {}, []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        m = re.match(r"^(\d+)\s*[:.)]\s*(.*)$", line)
        if m:
            found[int(m.group(1))] = m.group(2)
        elif line:
            plain.append(line)
    return [found.get(i, plain[i - 1] if i - 1 < len(plain) else "") for i in range(1, count + 1)]


def ask(quiz: Quiz, lang: str) -> list:
    answers = []
    for i, step in enumerate(quiz.steps, 1):
        try:
            answers.append(input(f"{i:2}. {step.command:<22} {TEXT[lang][step.kind]} "))
        except EOFError:
            answers.append("")
    return answers


def quiz_set(count: int, seed: int, out: Path, runner, exe) -> list:
    """N quizzes and their answers, English and Italian: quiz.md, answers.md, quiz.it.md,
    answers.it.md in out. Returns the files written."""
    rng = random.Random(f"vmsh-quiz-set:{seed}")
    quizzes = [generate(rng.randrange(1_000_000)) for _ in range(count)]
    runs = [run_script(runner, exe, q.script) for q in quizzes]
    rules = {"en": hints(), "it": hints("it")}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang, suffix in (("en", ""), ("it", ".it")):
        head = {"en": f"vmsh quizzes (set {seed}, {count} quizzes)",
                "it": f"quiz vmsh (serie {seed}, {count} quiz)"}[lang]
        for name, body in (("quiz", lambda q, r: show_quiz(q, lang)),
                           ("answers", lambda q, r: show_answers(q, r, rules[lang], lang))):
            path = out / f"{name}{suffix}.md"
            text = [f"# {head}\n"]
            for i, (q, r) in enumerate(zip(quizzes, runs), 1):
                text.append(f"## {i}\n\n```text\n{body(q, r)}```\n")
            path.write_text("\n".join(text), encoding="utf-8")
            written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.quiz", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, help="the quiz's seed (default: a new one)")
    parser.add_argument("--answers", action="store_true", help="print the answers (OSTEP's -c)")
    parser.add_argument("--predictions", type=Path, help="predictions from this file")
    parser.add_argument("--lang", choices=("en", "it"), default=None,
                        help="default: VMLABS_LANG or the locale (harness/i18n.py)")
    parser.add_argument("--set", type=int, metavar="N", help="write N quizzes and answers")
    parser.add_argument("--out", type=Path, default=None, help="where --set writes")
    args = parser.parse_args(argv)
    if args.lang is None:
        args.lang = language()

    from . import cases
    from .build import compile_lab
    from .run import session
    build = settings.current().build
    seed = args.seed if args.seed is not None else cases.new_seed()
    exe = compile_lab(ROOT / "labs" / "vmsh.c", build)
    if not exe.ok:
        print(f"vmsh.c does not compile:\n{exe.message}", file=sys.stderr)
        return 2
    quiz = generate(seed)
    if not args.set:
        print(show_quiz(quiz, args.lang))
        if args.predictions and not args.answers:
            predictions = read_predictions(args.predictions, len(quiz.steps))
        elif not args.answers:
            predictions = ask(quiz, args.lang)
    with session(build, "run vmsh") as runner:
        try:
            if args.set:
                for path in quiz_set(args.set, seed, args.out or build / "quiz-set", runner, exe.exe):
                    print(f"wrote {path}")
                return 0
            stdout = run_script(runner, exe.exe, quiz.script)
        except RuntimeError as e:
            print(e, file=sys.stderr)
            return 2
    rules = hints(args.lang)
    if args.answers:
        print(show_answers(quiz, stdout, rules, args.lang), end="")
        return 0
    text, right = mark(quiz, stdout, predictions, rules, args.lang)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
