"""pytest glue: the cases in expected/ become test items; one Runner serves the session."""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from . import cases as cases_mod
from .build import (FLAVOURS_32, PROGRAMS, BuildFolderError, check_build_folder,
                    compile_32, compile_alone, compile_lab, compile_program)
from . import sandbox, settings
from .explain import describe
from .job import Jobs
from .run import Runner
from .settings import ROOT, ConfigError


def pytest_addoption(parser):
    group = parser.getgroup("vmlabs")
    group.addoption("--labs-dir", default=str(ROOT / "labs"),
                    help="folder holding the labs' .c files (default: labs/)")
    group.addoption("--expected", default=str(ROOT / "expected"),
                    help="folder holding the case files (default: expected/)")
    config = settings.current()
    group.addoption("--build-dir", default=str(config.build),
                    help="where executables, the Wine prefix and results go (default: build/)")
    group.addoption("--lab", action="append", default=[],
                    help="only this lab's cases (repeatable; make check LAB=name)")
    group.addoption("--hidden", default=config.hidden or None,
                    help="also the instructor's hidden cases in this folder (EXPECTED_HIDDEN)")
    group.addoption("--seed", type=int, default=config.seed or None,   # text: parsed as given
                    help="the seed of the random standard inputs (SEED; default: a new one)")


def pytest_configure(config):
    only = tuple(config.getoption("--lab") or ())
    try:
        labs = cases_mod.load_all(Path(config.getoption("--expected")), only,
                                  config.getoption("--hidden"))
    except cases_mod.CaseError as e:
        pytest.exit(f"cannot load the cases: {e}", returncode=2)
    missing = set(only) - {lab.name for lab in labs}
    if missing:
        pytest.exit(f"no case file for lab(s) {', '.join(sorted(missing))} in "
                    f"{config.getoption('--expected')}", returncode=2)
    config.vmlabs_labs = labs
    config_ = settings.current()
    try:
        config_.limits
        sandboxed = config_.sandbox != "none"
    except ConfigError as e:
        pytest.exit(f"cannot run the labs: {e}", returncode=2)
    if not config.option.collectonly:
        try:
            check_build_folder(Path(config.getoption("--build-dir")))
        except BuildFolderError as e:
            pytest.exit(str(e), returncode=2)
    config.addinivalue_line("markers", "needs_sandbox: only where bwrap starts; skipped, with "
                            "bwrap's reason, where it cannot")
    config.vmlabs_no_sandbox = ""
    if not hasattr(config, "workerinput") and sandboxed:
        refused = sandbox_refusal()
        if refused and config_.sandbox_text:
            # SANDBOX=1 asked for it: said here, once, before any pytest-xdist worker starts
            pytest.exit(f"cannot run the labs: {refused}", returncode=2)
        if refused:
            go_without_sandbox(config, refused.splitlines()[0].removeprefix(
                "the sandbox does not start here: "))
    if hasattr(config, "workerinput"):         # a pytest-xdist worker: the controller's seed
        config.vmlabs_seed = config.workerinput["vmlabs_seed"]
    else:
        config.vmlabs_seed = config.getoption("--seed")
        if config.vmlabs_seed is None:
            config.vmlabs_seed = cases_mod.new_seed()


def sandbox_refusal() -> str:
    """Why bwrap is installed but cannot start here (Ubuntu 24.04's AppArmor, a container):
    the runner's message, bwrap's own words first; "" when it starts, or when it is missing
    (the runner says so when it starts)."""
    return sandbox.refusal(settings.current().bwrap)


def go_without_sandbox(config, why: str):
    """make check on the student's own machine, with the sandbox left to its default: where
    bwrap cannot start, the labs (the reference's or the student's own code) run without it,
    as with SANDBOX=0, said once; the tests that need it are skipped with that reason. One
    worker: unsandboxed runs share one wineserver. Grading never gets here: it refuses, or
    as root takes the user level (run.py)."""
    if not why:
        return
    config.vmlabs_no_sandbox = why
    settings.export("SANDBOX", "0")         # for this session and the harness it starts
    if getattr(config.option, "dist", "no") != "no":
        config.option.dist, config.option.tx, config.option.numprocesses = "no", [], 0
    print(f"sandbox: off, bwrap cannot start here ({why}): the labs run without it and the "
          f"hostile self-tests are skipped; to turn it on, let bwrap create user namespaces "
          f"(Ubuntu 24.04: sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an "
          f"AppArmor profile for bwrap: README, Platforms); SANDBOX=1 makes this an error",
          file=sys.stderr, flush=True)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--lab"):
        # make check LAB=name: that lab's checks, and no word about what was not chosen
        placeholder = [item for item in items if item.name == "test_case_32bit[i686]"]
        if placeholder:
            config.hook.pytest_deselected(items=placeholder)
            items[:] = [item for item in items if item not in placeholder]
    if not config.vmlabs_no_sandbox:
        return
    why = f"the sandbox cannot start here ({config.vmlabs_no_sandbox})"
    for item in items:
        if "sandboxed" in item.fixturenames:
            item.add_marker(pytest.mark.skip(reason=f"{why}: hostile programs run only in it"))
        elif item.get_closest_marker("needs_sandbox"):
            item.add_marker(pytest.mark.skip(reason=f"{why}: this test needs bwrap to start"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: every worker draws the random inputs from the one seed the header shows."""
    node.workerinput["vmlabs_seed"] = node.config.vmlabs_seed


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
        if settings.current().arch == "i686":
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
    try:
        r = Runner.started(build_dir)
    except ConfigError as e:            # SANDBOX, MEMORY, ... or no bwrap: said once, here
        pytest.exit(f"cannot run the labs: {e}", returncode=2)
    except (RuntimeError, OSError) as e:
        pytest.exit(f"cannot run the labs: {e}\nrun `make deps` to install Wine", returncode=2)
    yield r
    r.stop()


class Background:
    """Compiles started ahead of the tests that need them, beside the runs: windows.h costs
    most of a second per program, and a run mostly waits for Wine. Each compile once."""

    def __init__(self, labs_dir: Path, build_dir: Path, workers: int):
        self.labs_dir, self.build_dir = labs_dir, build_dir
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.jobs = {}
        self.lock = threading.Lock()

    def _compile(self, how, source: Path, *options) -> Future:
        with self.lock:
            if (how, source) not in self.jobs:
                self.jobs[how, source] = self.pool.submit(how, source, self.build_dir, *options)
            return self.jobs[how, source]

    def alone(self, lab) -> Future:
        """labs/NAME.c built by itself with the plain command, into build/alone/."""
        return self._compile(compile_alone, self.labs_dir / f"{lab.name}.c", lab.native)

    def program(self, name: str) -> Future:
        """harness/tests/programs/NAME.c, with lab.h, into build/selftest/."""
        return self._compile(compile_program, PROGRAMS / f"{name}.c")


@pytest.fixture(scope="session")
def background(request, labs_dir, build_dir):
    """The compiles the selected tests will need, started at the first test: one compiler
    at a time on two cores (the other runs the labs), more on bigger machines."""
    work = Background(labs_dir, build_dir, max(1, (os.cpu_count() or 2) - 1))
    items = request.session.items
    for lab in request.config.vmlabs_labs:
        if any(item.name == f"test_compiles_alone[{lab.name}]" for item in items):
            work.alone(lab)
    if any(PROGRAMS.parent in Path(item.fspath).parents for item in items):
        for source in sorted(PROGRAMS.glob("*.c")):
            work.program(source.stem)
    yield work
    work.pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="session", autouse=True)
def _start_background(background):
    """Instantiates background at the first test, so that its compiles start at once."""


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
def jobs(runner):
    """lab name -> its JobRunner: the runs of one lab share one sandbox and wineserver
    (job.py), as they do when grading."""
    open_jobs = Jobs(runner)
    yield open_jobs
    open_jobs.close()


@pytest.fixture(scope="session")
def runs() -> dict:
    """(program, invocation) -> the Outcome of its run in this session (of this worker): cases
    that differ only in what they expect of a run are judged on one."""
    return {}


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
                   f"printed {outcome.stdout!r} and ended with {describe(outcome)} under "
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
