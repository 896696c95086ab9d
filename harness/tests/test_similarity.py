"""make similarity: pairs ranked by the solution code they share, the starter never counted,
byte-identical files first, the top pairs side by side.

The ranking and the page are tested with a stand-in engine (always); Dolos itself on a small
class when it is installed (make similarity installs it into BUILD/dolos: about 4 minutes, so
make check does not).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .. import similarity, starter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REFERENCE = (ROOT / "labs" / "reserve_commit.c").read_text()
STARTER = starter.strip(REFERENCE)[0]


def write_class(folder: Path, files: dict) -> Path:
    for student, text in files.items():
        (folder / student).mkdir(parents=True)
        (folder / student / "reserve_commit.c").write_text(text)
    return folder


def renamed(text: str) -> str:
    """The reference with other names and another layout: the same code to Dolos."""
    return text.replace("page", "pg_size").replace("    ", "\t").replace("word", "w")


OWN = STARTER.replace("/* TODO:", "if (!VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE)) "
                      "{ fprintf(stderr, \"no\\n\"); return 3; } /* TODO:", 1)


def fake_engine(calls):
    """Similarity: the share of lines two files share that the starter does not have."""
    def engine(files, baseline):
        calls.append((sorted(files), baseline))
        own = {s: set(t.splitlines()) - set(baseline.splitlines()) for s, t in files.items()}
        out = []
        for a in sorted(files):
            for b in sorted(files):
                if a < b:
                    common = own[a] & own[b]
                    share = 2 * len(common) / max(1, len(own[a]) + len(own[b]))
                    out.append((b, a, share, len(common), len(common), (((0, 1), (2, 3)),)))
        return out[::-1]        # worst first: the ranking is compare's
    return engine


def test_identical_first_the_starter_never_compared(tmp_path):
    klass = write_class(tmp_path / "class", {
        "alice": REFERENCE, "dave": REFERENCE,            # byte for byte
        "bob": REFERENCE.replace("die(", "die2("),          # close
        "carol": OWN, "erin": STARTER,                      # her own; the starter unchanged
        "<i>frank": OWN + "\n/* more */\n"})
    calls = []
    pairs = similarity.run(klass, tmp_path / "out", fake_engine(calls), ["reserve_commit"])
    assert calls and "erin" not in calls[0][0] and calls[0][1] == STARTER
    assert (pairs[0].a, pairs[0].b, pairs[0].identical) == ("alice", "dave", 1)
    assert pairs[0].labs["reserve_commit"].similarity == 1.0
    assert all("erin" not in (p.a, p.b) for p in pairs)
    assert [p.identical for p in pairs[1:]] == [0] * (len(pairs) - 1)
    assert [(p.a, p.b) for p in pairs[1:]] == [("<i>frank", "carol"), ("alice", "bob"), ("bob", "dave")]
    swapped = next(p for p in pairs if (p.a, p.b) == ("alice", "bob"))
    assert swapped.labs["reserve_commit"].fragments == (((2, 3), (0, 1)),)   # a's lines first
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "<script" not in page and "https://" not in page
    assert "&lt;i&gt;frank" in page and "<i>frank" not in page
    assert "<li>reserve_commit.c: 2 students, alice, dave</li>" in page
    assert page.index("Byte-identical") < page.index("alice and dave: reserve_commit")
    assert "<mark" in page
    rows = (tmp_path / "out" / "similarity.csv").read_text().splitlines()
    assert rows[1].startswith("alice,dave,1.000,") and rows[1].endswith(",reserve_commit")


def test_a_link_is_not_followed(tmp_path):
    klass = write_class(tmp_path / "class", {"alice": REFERENCE})
    (klass / "mallory").mkdir()
    (klass / "mallory" / "reserve_commit.c").symlink_to(klass / "alice" / "reserve_commit.c")
    pairs = similarity.run(klass, tmp_path / "out", fake_engine([]), ["reserve_commit"])
    assert pairs == []


def test_without_dolos_it_says_how_to_install_it(tmp_path, capsys):
    assert similarity.main([str(tmp_path), "--dolos", str(tmp_path / "none")]) == 2
    assert "make similarity` installs it" in capsys.readouterr().err


def test_dolos_ranks_a_renamed_copy_above_an_own_solution(tmp_path, build_dir, runner):
    dolos = build_dir / "dolos"
    if not (dolos / "node_modules" / "@dodona" / "dolos-lib").is_dir() or not shutil.which("node"):
        pytest.skip("Dolos is not installed here (make similarity installs it into BUILD/dolos)")
    klass = write_class(tmp_path / "class", {"alice": REFERENCE, "bob": renamed(REFERENCE),
                                             "carol": OWN, "dave": REFERENCE, "erin": STARTER})
    pairs = similarity.run(klass, tmp_path / "out", similarity.dolos_engine(dolos, runner, tmp_path / "work"),
                           ["reserve_commit"])
    ranked = [(p.a, p.b) for p in pairs]
    assert ranked[0] == ("alice", "dave") and pairs[0].identical
    assert ranked.index(("alice", "bob")) < min(ranked.index(pair) for pair in ranked if "carol" in pair)
    renamed_copy = next(p for p in pairs if (p.a, p.b) == ("alice", "bob")).labs["reserve_commit"]
    assert renamed_copy.similarity > 0.5 and renamed_copy.fragments
    assert all("erin" not in pair for pair in ranked)
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert re.search(r"alice and bob: reserve_commit\.c, \d+% the same", page)
