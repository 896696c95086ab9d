"""Compiling submissions: lab.h's precompiled header is used when it can be, and changes
nothing in what is built; when it cannot be used the submission still compiles.

Real compiles with MinGW gcc (-H makes gcc name each header it reads: "! lab.h.gch" is the
precompiled one, ". lab.h" the text).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .. import build

ROOT = Path(__file__).resolve().parent.parent.parent
LAB_H = ROOT / "labs" / "lab.h"

pytestmark = pytest.mark.skipif(shutil.which(build.toolchain(False)[0][0]) is None,
                                reason="the MinGW compiler is not installed (make deps)")


def flags(*extra):
    """Grading's flags; the linker told not to stamp the time, so that two builds compare."""
    return [f for f in build.toolchain(False)[1] if f != "-Werror"] + \
        ["-Wl,--no-insert-timestamp", *extra]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: lab.h is precompiled once (2 s), not once per test."""
    return tmp_path_factory.mktemp("cache")


def submission(tmp_path, text=None, name="reserve_commit"):
    folder = tmp_path / "student"
    folder.mkdir(exist_ok=True)
    source = folder / f"{name}.c"
    if text is None:
        shutil.copyfile(ROOT / "labs" / f"{name}.c", source)
    else:
        source.write_text(text)
    return source


def test_the_precompiled_header_is_read_instead_of_lab_h(tmp_path, cache):
    built = build.compile_submission(submission(tmp_path, "#include \"lab.h\"\nint main(void) "
                                                "{ return 0; }\n"), LAB_H, cache, flags=flags("-H"))
    assert built.ok, built.message
    assert "! lab.h.gch" in built.message.splitlines(), \
        f"gcc read lab.h as text:\n{built.message[:2000]}"
    assert len(list(cache.glob("pch-*/lab.h.gch"))) == 1


def test_the_sandboxed_compile_reads_it_too(tmp_path, cache, runner):
    """Grading's compile runs in the sandbox, where the header is bound read-only: still read."""
    if runner.sandbox is None:
        pytest.skip("SANDBOX=0: the compile is not sandboxed")
    built = build.compile_submission(submission(tmp_path), LAB_H, cache, flags=flags("-H"),
                                     runner=runner)
    assert built.ok, built.message
    assert "! lab.h.gch" in built.message.splitlines(), built.message[:2000]


def test_what_is_built_is_the_same_with_or_without_it(tmp_path, cache, monkeypatch):
    source = submission(tmp_path)
    with_header = build.compile_submission(source, LAB_H, cache, flags=flags("-H"))
    assert "! lab.h.gch" in with_header.message.splitlines()
    monkeypatch.setattr(build, "precompiled_header", lambda *args: None)
    without = build.compile_submission(source, LAB_H, tmp_path / "without", flags=flags("-H"))
    assert with_header.ok and without.ok, with_header.message + without.message
    assert with_header.exe.read_bytes() == without.exe.read_bytes()


def test_a_submission_that_includes_something_else_first_still_compiles(tmp_path, cache):
    text = ("#include <stdio.h>\n#include \"lab.h\"\n"
            "int main(void) { printf(\"%s\\n\", access_name(0)); return 0; }\n")
    built = build.compile_submission(submission(tmp_path, text), LAB_H, cache, flags=flags("-H"))
    assert built.ok, built.message
    read = built.message.splitlines()
    assert "! lab.h.gch" not in read and ". lab.h" in read, built.message[:2000]


def test_another_lab_h_gets_a_header_of_its_own(tmp_path):
    """A header made from the old lab.h must never be read for the new one: gcc does not
    compare them itself. Two small lab.h that differ in one number: two headers, each read,
    and two different programs (a stale header would make the second like the first)."""
    source = submission(tmp_path, "#include \"lab.h\"\nint main(void) { return ANSWER; }\n")
    exes = []
    for answer in (1, 2):
        lab_h = tmp_path / str(answer) / "lab.h"
        lab_h.parent.mkdir()
        lab_h.write_text(f"#define ANSWER {answer}\n")
        built = build.compile_submission(source, lab_h, tmp_path / "cache", flags=flags("-H"))
        assert built.ok, built.message
        assert "! lab.h.gch" in built.message.splitlines(), built.message
        exes.append(built.exe.read_bytes())
    assert len(list((tmp_path / "cache").glob("pch-*/lab.h.gch"))) == 2
    assert exes[0] != exes[1]
