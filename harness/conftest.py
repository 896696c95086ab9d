"""pytest glue: the cases in expected/ become test items; one Runner serves the session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import cases as cases_mod
from .build import FLAVOURS_32, compile_32, compile_lab
from .run import Runner

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    group = parser.getgroup("vmlabs")
    group.addoption("--labs-dir", default=str(ROOT / "labs"),
                    help="folder holding the labs' .c files (default: labs/)")
    group.addoption("--expected", default=str(ROOT / "expected"),
                    help="folder holding the case files (default: expected/)")
    group.addoption("--build-dir", default=os.environ.get("BUILD") or str(ROOT / "build"),
                    help="where executables, the Wine prefix and results go (default: build/)")
    group.addoption("--lab", action="append", default=[],
                    help="only this lab's cases (repeatable; make check LAB=name)")
    group.addoption("--hidden", default=os.environ.get("EXPECTED_HIDDEN") or None,
                    help="also the instructor's hidden cases in this folder (EXPECTED_HIDDEN)")
    group.addoption("--seed", type=int, default=int(os.environ["SEED"]) if os.environ.get("SEED") else None,
                    help="the seed of the random standard inputs (SEED; default: a new one)")


def pytest_configure(config):
    only = tuple(config.getoption("--lab") or ())
    try:
        labs = cases_mod.load_all(Path(config.getoption("--expected")), only,
                                  config.getoption("--hidden"))
    except cases_mod.CaseError as e:
        raise pytest.UsageError(f"bad case file: {e}") from None
    missing = set(only) - {lab.name for lab in labs}
    if missing:
        raise pytest.UsageError(f"no case file for lab(s) {', '.join(sorted(missing))} in "
                                f"{config.getoption('--expected')}")
    config.vmlabs_labs = labs
    config.vmlabs_seed = config.getoption("--seed")
    if config.vmlabs_seed is None:
        config.vmlabs_seed = cases_mod.new_seed()


def pytest_report_header(config):
    return f"random standard input: seed {config.vmlabs_seed} (SEED={config.vmlabs_seed} replays it)"


def pytest_generate_tests(metafunc):
    labs = metafunc.config.vmlabs_labs
    if "case" in metafunc.fixturenames:
        all_cases = [case for lab in labs for case in lab.cases]
        metafunc.parametrize("case", all_cases, ids=[c.id for c in all_cases])
    if "lab" in metafunc.fixturenames:
        metafunc.parametrize("lab", labs, ids=[lab.name for lab in labs])
    if "case32" in metafunc.fixturenames:
        if os.environ.get("ARCH") == "i686":
            pairs = [(flavour, case) for flavour in FLAVOURS_32 for lab in labs if not lab.native
                     for case in lab.cases]
            metafunc.parametrize("case32", pairs, ids=[f"{f}:{c.id}" for f, c in pairs])
        else:
            metafunc.parametrize("case32", [pytest.param(None, marks=pytest.mark.skip(
                reason="32-bit builds are checked with make check ARCH=i686"))], ids=["i686"])


@pytest.fixture(scope="session")
def build_dir(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--build-dir"))


@pytest.fixture(scope="session")
def labs_dir(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--labs-dir"))


@pytest.fixture(scope="session")
def runner(build_dir):
    r = Runner.from_environment(build_dir)
    try:
        r.start()
    except (RuntimeError, FileNotFoundError) as e:
        pytest.exit(f"cannot run the labs: {e}\nrun `make deps` to install Wine", returncode=2)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def seed(pytestconfig) -> int:
    return pytestconfig.vmlabs_seed


@pytest.fixture(scope="session")
def labs_by_name(pytestconfig) -> dict:
    return {lab.name: lab for lab in pytestconfig.vmlabs_labs}


@pytest.fixture(scope="session")
def built(labs_dir, build_dir):
    """lab -> Built, compiled once per session (reused when make already built it)."""
    cache = {}

    def get(lab):
        if lab.name not in cache:
            cache[lab.name] = compile_lab(labs_dir / f"{lab.name}.c", build_dir, native=lab.native)
        return cache[lab.name]
    return get


@pytest.fixture(scope="session")
def runs_32bit(build_dir, runner):
    """Whether this machine runs 32-bit Windows programs, and if not, why not."""
    hello = compile_32(ROOT / "harness" / "tests" / "programs" / "hello.c", build_dir, "i686")
    if not hello.ok:
        return False, f"the 32-bit compiler does not work here: {hello.message}"
    outcome = runner.run(hello.exe, timeout=30)
    if outcome.stdout == "hello\n":
        return True, ""
    return False, (f"this machine cannot run 32-bit Windows programs: the i686 build of hello.c "
                   f"printed {outcome.stdout!r} and ended with {outcome.describe()} under "
                   f"{runner.platform} (Debian's wine64 alone has no 32-bit support; it needs "
                   f"wine32:i386 and a kernel that runs 32-bit code)")


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        for key, value in report.user_properties:
            if key == "variant" and value:
                _variants.append((report.nodeid.split("[")[-1].rstrip("]"), value))


_variants = []


def pytest_terminal_summary(terminalreporter):
    if _variants:
        terminalreporter.section("platform variants matched")
        for case_id, variant in _variants:
            terminalreporter.write_line(f"{case_id}: {variant}")
