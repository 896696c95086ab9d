"""make quiz: the same seed gives the same quiz, the quiz's model agrees with vmsh, and a wrong
prediction is marked with the rule it broke."""
from __future__ import annotations

import pytest

from .. import quiz
from ..build import compile_lab
from ..conftest import ROOT


@pytest.fixture(scope="module")
def vmsh(build_dir):
    exe = compile_lab(ROOT / "labs" / "vmsh.c", build_dir)
    assert exe.ok, exe.message
    return exe.exe


def test_the_same_seed_gives_the_same_quiz():
    assert quiz.generate(1234) == quiz.generate(1234)
    assert quiz.generate(1234).script == quiz.generate(1234).script
    assert len({quiz.generate(seed).script for seed in range(20)}) == 20


def test_a_quiz_avoids_what_wine_and_windows_do_differently():
    for seed in range(200):
        for line in quiz.generate(seed).script.splitlines():
            assert line.split()[0] not in ("reset", "undo", "reset-undo", "exec"), line
            assert "wc" not in line.split() and "nocache" not in line, line


def test_a_commit_in_a_quiz_covers_reserved_pages_only():
    for seed in range(200):
        q = quiz.generate(seed)
        pages = [quiz.Page() for _ in range(int(q.setup[0].split()[1]))]
        for command in q.setup[1:] + [s.command for s in q.steps]:
            words = command.split()
            if words[0] == "commit":
                first, count = int(words[1]), int(words[2])
                assert all(p.state == "R" for p in pages[first:first + count]), (seed, command)
            if words[0] in ("commit", "decommit"):
                first, count = (int(words[2]), 2) if words[1] == "end" else (int(words[1]), int(words[2]))
                for i in range(first, first + count):
                    pages[i] = quiz.Page("C" if words[0] == "commit" else "R")


@pytest.mark.parametrize("kind, said, meant", [
    ("strip", "[C][R][g]", "[C][R][G]"), ("strip", "c r -", "[C][R][-]"), ("strip", "CR", "[C][R]"),
    ("call", "OK", "ok"), ("call", "false", "fails"), ("call", "fallisce", "fails"),
    ("access", "faults", "fault"), ("access", " ok ", "ok"), ("access", "no", "fault"),
])
def test_predictions_are_read_leniently(kind, said, meant):
    assert quiz.normal(kind, said) == meant


def test_predictions_from_a_file_by_number_or_in_order(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("# my answers\nok\n3: fault\n\n[C][R]\n", encoding="utf-8")
    assert quiz.read_predictions(path, 4) == ["ok", "[C][R]", "fault", ""]


def test_the_model_agrees_with_vmsh(runner, vmsh):
    """The rules the quiz explains with are the ones vmsh shows: over 60 seeds, every step."""
    for seed in range(60):
        q = quiz.generate(seed)
        got = quiz.judged(q, quiz.run_script(runner, vmsh, q.script))
        assert len(got) == len(q.steps)
        for step, answer, line in got:
            assert quiz.normal(step.kind, step.answer) == quiz.normal(step.kind, answer), \
                f"seed {seed}: {step.command}: the model says {step.answer}, vmsh {answer} ({line})"


def test_a_wrong_prediction_is_marked_with_its_rule(runner, vmsh):
    q = next(q for q in map(quiz.generate, range(7, 100)) if any(s.kind == "access" for s in q.steps))
    stdout = quiz.run_script(runner, vmsh, q.script)
    truth = [answer for _, answer, _ in quiz.judged(q, stdout)]
    wrong = next(i for i, s in enumerate(q.steps) if s.kind == "access")
    predictions = list(truth)
    predictions[wrong] = "ok" if truth[wrong] == "fault" else "fault"
    rules = quiz.hints()
    text, right = quiz.mark(q, stdout, predictions, rules)
    assert right == len(q.steps) - 1
    assert text.count("WRONG") == 1 and f"score: {right}/{len(q.steps)}" in text
    marked = text.split("WRONG")[1]
    first_words = " ".join(q.steps[wrong].why(rules).split()[:6])
    assert first_words in " ".join(marked.split()), text
    assert "right" in text.split("WRONG")[0] or wrong == 0


def test_answers_name_the_rule_in_english_and_italian(runner, vmsh):
    q = quiz.generate(11)
    stdout = quiz.run_script(runner, vmsh, q.script)
    english = quiz.show_answers(q, stdout, quiz.hints(), "en")
    italian = quiz.show_answers(q, stdout, quiz.hints("it"), "it")
    assert english.count("rule:") == len(q.steps) and italian.count("regola:") == len(q.steps)
    assert quiz.hints("it") != quiz.hints() and set(quiz.hints("it")) == set(quiz.hints())


def test_a_quiz_set_writes_quizzes_and_answers_in_both_languages(runner, vmsh, tmp_path):
    written = quiz.quiz_set(2, 99, tmp_path, runner, vmsh)
    assert sorted(p.name for p in written) == ["answers.it.md", "answers.md", "quiz.it.md", "quiz.md"]
    for path in written:
        assert path.read_text(encoding="utf-8").count("## ") == 2, path
    again = tmp_path / "again"
    quiz.quiz_set(2, 99, again, runner, vmsh)
    assert (again / "answers.md").read_text() == (tmp_path / "answers.md").read_text()
