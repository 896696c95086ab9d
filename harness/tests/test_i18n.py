"""Italian, all the way: the one function that picks the language, the catalogue of the
harness's own words (every marked message translated, msgfmt accepts it), and a real failing
case graded and reported in Italian."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .. import cases, grade, i18n
from .test_grade import TIMEOUT, one_mistake

HARNESS = Path(__file__).resolve().parent.parent
ROOT = HARNESS.parent


@pytest.mark.parametrize("env, lang", [
    ({}, "en"),
    ({"LANG": "it_IT.UTF-8"}, "it"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"VMLABS_LANG": "it"}, "it"),
    ({"VMLABS_LANG": "en", "LANG": "it_IT.UTF-8"}, "en"),
    ({"LC_ALL": "it_CH.UTF-8", "LANG": "en_GB.UTF-8"}, "it"),
    ({"LC_MESSAGES": "it_IT", "LANG": "en_GB.UTF-8"}, "it"),
    ({"VMLABS_LANG": "italiano"}, "en"),
], ids=lambda v: str(v))
def test_one_function_picks_the_language(env, lang):
    assert i18n.language(env) == lang


def marked_messages(tmp_path) -> set:
    """Every _("...") and N_("...") in the harness, as xgettext (Debian's gettext) finds them."""
    if shutil.which("xgettext") is None:
        pytest.skip("xgettext is not installed (make deps installs gettext)")
    sources = sorted(str(p) for p in HARNESS.glob("*.py") if re.search(r"\bN?_\(", p.read_text()))
    pot = tmp_path / "vmlabs.pot"
    subprocess.run(["xgettext", "--language=Python", "--keyword=_", "--keyword=N_",
                    "--from-code=UTF-8", "-o", str(pot), *sources], check=True)
    # read_po keeps translated entries: give each msgid a msgstr of its own to read them all
    text = re.sub(r'^msgstr ""$', 'msgstr "x"', pot.read_text(encoding="utf-8"), flags=re.M)
    pot.write_text(text, encoding="utf-8")
    return set(i18n.read_po(pot))


def test_every_marked_message_has_italian(tmp_path):
    catalogue = i18n.read_po(i18n.PO)
    marked = marked_messages(tmp_path)
    assert len(marked) > 100 and "hint:" in marked
    missing = sorted(marked - set(catalogue))
    assert not missing, (f"{len(missing)} message(s) with no Italian in {i18n.PO}:\n"
                         + "\n".join(missing))


def test_msgfmt_accepts_the_catalogue_and_gettext_reads_what_the_harness_reads(tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt is not installed (make deps installs gettext)")
    mo = tmp_path / "vmlabs.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(mo), str(i18n.PO)], check=True)
    import gettext
    with mo.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    messages = i18n.read_po(i18n.PO)
    assert len(messages) > 100
    assert all(compiled.gettext(k) == v for k, v in messages.items())


def test_an_italian_report_for_a_real_failing_case(tmp_path, runner, build_dir, monkeypatch):
    """The readonly commit, graded as `VMLABS_LANG=it make grade SUBMISSION=...` would: the
    table, the outcome's meaning, the report's labels and the hint for the mistake, in Italian."""
    folder = tmp_path / "wrong_flag"
    folder.mkdir()
    name, text = one_mistake("wrong_flag")
    (folder / name).write_text(text)
    monkeypatch.setenv("VMLABS_LANG", "it")
    out = tmp_path / "grade"
    status = grade.main(["--submission", str(folder), "--out", str(out), "--lab", "reserve_commit",
                         "--timeout", TIMEOUT, "--seed", "7", "--build", str(build_dir)], runner=runner)
    assert status == 1
    report = (out / "grade.txt").read_text(encoding="utf-8")
    most = sum(c.points for c in cases.load_lab(ROOT / "expected" / "reserve_commit.toml").cases)
    for italian in (f"reserve_commit: 1/{most} - Una pagina riservata è un indirizzo, non memoria",
                    "caso", "punti", "FALLITO", "il programma ha scritto memoria che non può toccare",
                    "consiglio:  la pagina è impegnata, ma PAGE_READONLY: la protezione è il 4° "
                    "argomento di VirtualAlloc",
                    "esito:      atteso exit 0, ottenuto access violation",
                    "[SBAGLIATO; lo dice il rapporto di fault di lab.h]",
                    "standard error (non valutato: leggetelo):",
                    "saltato  non eseguito: richiede commit_then_write",
                    f"Punteggio: 1/{most}"):
        assert italian in report, f"{italian!r} not in:\n{report}"
    assert "hint:" not in report and "the program wrote" not in report
