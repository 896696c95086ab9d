"""make mutants: the catalogue, where its mistakes fit (plain tables), and a small fixed subset
of the labs' mutants graded for real: each caught, or surviving and listed as equivalent."""
from __future__ import annotations

from pathlib import Path

import pytest

from .. import mutants

ROOT = Path(__file__).resolve().parent.parent.parent

LAB = """static void f(char *p, size_t page)
{
    puts("MEM_COMMIT in a string is no code");   /* nor MEM_COMMIT in a comment */
    /* BEGIN SOLUTION: commit the page */
    if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
        die("VirtualAlloc(MEM_COMMIT)");
    /* END SOLUTION */
    x = round(p + page - 1);
    VirtualFree(p, 0, MEM_RELEASE);
}
"""


@pytest.fixture(scope="module")
def catalogue():
    return mutants.load_catalogue()


def test_the_mutants_of_a_small_lab(catalogue):
    found = {(m.line, m.mutation, m.region): m.changed for m in mutants.mutants_of("f", LAB, catalogue)}
    assert found == {
        (5, "commit-as-reserve", True):
            'if (VirtualAlloc(p, page, MEM_RESERVE, PAGE_READWRITE) != p) die("VirtualAlloc(MEM_COMMIT)");',
        (5, "readwrite-as-readonly", True):
            'if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READONLY) != p) die("VirtualAlloc(MEM_COMMIT)");',
        (5, "half-page", True):
            'if (VirtualAlloc(p, page / 2, MEM_COMMIT, PAGE_READWRITE) != p) die("VirtualAlloc(MEM_COMMIT)");',
        (5, "truncated-pointer", True): 'if (VirtualAlloc((void *)(unsigned int)(p), page, MEM_COMMIT, '
                                        'PAGE_READWRITE) != p) die("VirtualAlloc(MEM_COMMIT)");',
        (5, "call-left-out", True): "(left out)",
        (5, "result-not-checked", True): "(void)(VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p);",
        # line 8 calls nothing of the catalogue's and is outside the region: no mutant
        (9, "release-as-decommit", False): "VirtualFree(p, 0, MEM_DECOMMIT);",
        (9, "release-with-size", False): "VirtualFree(p, 1, MEM_RELEASE);",
        (9, "truncated-pointer", False): "VirtualFree((void *)(unsigned int)(p), 0, MEM_RELEASE);",
        (9, "call-left-out", False): "(left out)",
    }


def test_every_mistake_fits_somewhere_and_no_equivalent_is_stale(catalogue):
    every = mutants.all_mutants(ROOT / "labs", catalogue)
    assert {m.name for m in catalogue.mutations} == {m.mutation for m in every}
    assert mutants.stale_equivalents(every, catalogue) == []
    assert all(m.region for m in every if m.lab == "boundary" and m.mutation == "minus-one-dropped")


def chosen(catalogue):
    every = mutants.all_mutants(ROOT / "labs", catalogue)
    picked = []
    for lab, mutation, code, expect in catalogue.self_test:
        matches = [m for m in every if (m.lab, m.mutation, m.code) == (lab, mutation, code)]
        assert len(matches) == 1, (lab, mutation, code, len(matches))
        picked.append((matches[0], expect))
    return picked


def test_a_fixed_subset_is_caught_or_listed_as_equivalent(catalogue, runner, build_dir, tmp_path):
    """The lecture's truncation, the off-by-one round_up, a wrong protection, a MADV_ swap:
    each loses points; MEM_RESET's ignored protection survives, listed with its reason."""
    picked = chosen(catalogue)
    assert len(picked) >= 5
    setup = mutants.setup_for(build_dir, ROOT / "labs", ROOT / "expected", 2, runner)
    references = [mutants.Mutant(m.lab, 0, "none", True, "", "", (ROOT / "labs" / f"{m.lab}.c").read_text())
                  for m, _ in picked]
    for reference in mutants.grade_mutants(setup, references, tmp_path, 2):
        assert reference.status == "survived", f"the reference {reference.mutant.lab}.c loses points"
    results = mutants.grade_mutants(setup, [m for m, _ in picked], tmp_path, 2)
    for (mutant, expect), result in zip(picked, results):
        if expect == "caught":
            assert result.status == "caught", (mutant.id, result)
        else:
            assert result.status == "survived" and mutant.equivalent, (mutant.id, result)
