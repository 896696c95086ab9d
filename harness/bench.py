"""make bench: how fast make check is, measured against what it cannot avoid, on this machine.

One run measures, in this order:
  floor         every lab compiled once (the command make uses, one after the other) and
                every case run once, bare: `wine lab.exe ARGS < stdin` with a warm
                persistent wineserver, no sandbox, no harness, nothing judged; each
                compile and each run the fastest of FLOOR_TRIES
  check warm    `make check` with everything built and the Wine prefix there; its ratio to
                the floor (goal: at most 1.3)
  check fresh   `make check` in a fresh clone of HEAD (the packages installed), against the
                floor + creating a Wine prefix + 5 s (the goal)
  sandbox       one program run many times through the harness, sandboxed and not: the
                sandbox's own cost per run; and every lab compiled as grading compiles it,
                through the sandbox and directly: the compile sandbox's cost per lab
  class         generated classes graded with 1 and with 2 workers (harness/bench_class.py)
and writes BENCHMARKS.md (date, machine, figures, how to reproduce). Other work on the
machine slows every figure: the load average before and after is written too.
"""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import bench_class, cases, settings
from .build import compile_lab, compile_submission, precompiled_header, toolchain
from .grade import grading_flags
from .run import Runner
from .settings import ROOT

OUT = ROOT / "BENCHMARKS.md"
CHECK_GOAL = 1.3
RUN_GOAL = 1.3              # a sandboxed run (in a job) against a bare warm one
FRESH_SLACK = 5.0
SANDBOX_RUNS = 20
FLOOR_TRIES = 3             # each floor step is timed this many times; the fastest counts


def clock(function, *args, **kwargs):
    started = time.monotonic()
    result = function(*args, **kwargs)
    return time.monotonic() - started, result


def say(text):
    print(f"bench: {text}", flush=True)


def make_env(**extra) -> dict:
    """The environment for a make of its own: not this make's jobserver or goals."""
    env = settings.environ(drop=("MAKEFLAGS", "MFLAGS", "MAKELEVEL"))
    env.update(extra)
    return env


def make(goal: str, cwd: Path, **extra) -> float:
    seconds, result = clock(subprocess.run, ["make", goal], cwd=cwd, env=make_env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: `make {goal}` in {cwd} failed:\n{result.stdout[-3000:]}")
    return seconds


def fastest(function, *args, **kwargs):
    """(the least seconds of FLOOR_TRIES calls, the last result): a floor is what the work
    takes when nothing else on the machine gets in its way."""
    times, result = [], None
    for _ in range(FLOOR_TRIES):
        seconds, result = clock(function, *args, **kwargs)
        times.append(seconds)
    return min(times), result


def floor(labs, build: Path) -> dict:
    """Compile every lab once, then run every case once, bare (each the fastest of
    FLOOR_TRIES)."""
    out = Path(tempfile.mkdtemp(prefix="vmlabs-floor-"))
    try:
        compile_seconds = 0.0
        exes = {}
        for lab in labs:
            cc, flags = toolchain(lab.native)
            exe = out / (lab.name if lab.native else f"{lab.name}.exe")
            seconds, result = fastest(subprocess.run,
                                      [*cc, *flags, "-o", str(exe), str(ROOT / "labs" / f"{lab.name}.c")],
                                      capture_output=True)
            if result.returncode != 0:
                sys.exit(f"bench: {lab.name}.c does not compile: {result.stderr.decode()[-2000:]}")
            compile_seconds += seconds
            exes[lab.name] = exe
        say(f"floor: compiled {len(labs)} labs in {compile_seconds:.1f} s")
        compile_pch = min(compile_graded(labs, out / f"cache{n}") for n in range(FLOOR_TRIES))
        say(f"floor: compiled {len(labs)} labs as grading does (lab.h precompiled) in "
            f"{compile_pch:.1f} s")
        server = Runner.started(build, sandboxed=False)     # warm, persistent: the fastest run
        env = server.environment()
        run_seconds, runs = 0.0, 0
        try:
            for lab in labs:
                for case in lab.cases:
                    command = [str(exes[lab.name]), *case.args]
                    if not lab.native and server.wine:
                        command = [*server.wine, *command]
                    seconds, _ = fastest(subprocess.run, command, input=case.stdin.encode(),
                                         env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, timeout=case.timeout + 5)
                    run_seconds += seconds
                    runs += 1
        finally:
            server.stop()
        say(f"floor: ran {runs} cases in {run_seconds:.1f} s")
        return dict(compile=compile_seconds, runs=run_seconds, cases=runs,
                    total=compile_seconds + run_seconds, compile_pch=compile_pch)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def compile_graded(labs, cache: Path) -> float:
    """Every lab compiled as grading compiles a submission's (compile_submission), with
    lab.h precompiled beforehand (once per class, not counted)."""
    lab_h = ROOT / "labs" / "lab.h"
    precompiled_header(lab_h, cache, toolchain(False)[0], grading_flags(False))
    seconds = 0.0
    for lab in labs:
        spent, built = clock(compile_submission, ROOT / "labs" / f"{lab.name}.c", lab_h, cache,
                             lab.native, grading_flags(lab.native))
        if not built.ok:
            sys.exit(f"bench: {lab.name}.c does not compile: {built.message[-2000:]}")
        seconds += spent
    return seconds


def compile_cost(labs, build: Path) -> dict:
    """Every lab compiled as grading compiles a submission's, lab.h precompiled beforehand,
    each compile from an empty cache entry and the fastest of FLOOR_TRIES: through the
    sandbox (Runner.run_tool: bwrap, limits) and directly. Seconds per lab, summed."""
    lab_h = ROOT / "labs" / "lab.h"
    cache = Path(tempfile.mkdtemp(prefix="vmlabs-compile-"))
    runner = Runner.started(build, sandboxed=True)
    try:
        precompiled_header(lab_h, cache, toolchain(False)[0], grading_flags(False))
        figures = {"sandboxed": 0.0, "direct": 0.0}
        for lab in labs:
            for how, through in (("sandboxed", runner), ("direct", None)):
                times = []
                for _ in range(FLOOR_TRIES):
                    spent, built = clock(compile_submission, ROOT / "labs" / f"{lab.name}.c", lab_h,
                                         cache, lab.native, grading_flags(lab.native), runner=through)
                    if not built.ok:
                        sys.exit(f"bench: {lab.name}.c does not compile: {built.message[-2000:]}")
                    shutil.rmtree(built.exe.parent)     # the next compile starts from nothing
                    times.append(spent)
                figures[how] += min(times)
        figures["labs"] = len(labs)
        return figures
    finally:
        runner.stop()
        shutil.rmtree(cache, ignore_errors=True)


def prefix_creation() -> float:
    """Creating a Wine prefix, alone, in a folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="vmlabs-prefix-"))
    try:
        runner = Runner.from_environment(folder, sandboxed=False)
        seconds, _ = clock(runner.prepare, quiet=True)
        return seconds
    finally:
        subprocess.run(["wineserver", "-k"], env=settings.environ(WINEPREFIX=str(folder / "wineprefix")),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_clone() -> dict:
    """make check in a fresh clone of HEAD, then once more (warm) there."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix="vmlabs-clone-"))
    clone = folder / "vmlabs"
    try:
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", head], cwd=clone, check=True)
        fresh = make("check", clone, BUILD="build")
        say(f"fresh clone: make check in {fresh:.1f} s")
        warm = make("check", clone, BUILD="build")
        return dict(head=head[:12], fresh=fresh, warm=warm)
    finally:
        subprocess.run(["wineserver", "-k"],
                       env=settings.environ(WINEPREFIX=str(clone / "build" / "wineprefix")),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def sandbox_cost(build: Path) -> dict:
    """The same small program run SANDBOX_RUNS times through the harness: in a job (job.py:
    one sandbox and wineserver for all the runs, what grading and make check use), in a
    sandbox of its own per run (bwrap and a wineserver each time: where a job cannot be
    used), and bare (SANDBOX=0: the session's warm persistent wineserver). Also what
    starting a job costs, once per lab of a student."""
    exe = compile_lab(ROOT / "harness" / "tests" / "programs" / "hello.c", build / "selftest")
    if not exe.ok:
        sys.exit(f"bench: hello.c does not compile: {exe.message}")
    figures = {}
    for name, sandboxed in (("job", True), ("sandboxed", True), ("unsandboxed", False)):
        runner = Runner.started(build, sandboxed=sandboxed)
        job = runner.job() if name == "job" else runner
        try:
            runner.run(exe.exe)         # the first run of a session is not the typical one
            if name == "job":
                figures["job_start"] = statistics.median(job_start(job, exe.exe) for _ in range(5))
                job.run(exe.exe)
            times = [clock(job.run, exe.exe)[0] for _ in range(SANDBOX_RUNS)]
            if name == "job" and (job.broken or job.current is None):
                sys.exit("bench: the runs were not made in a job (its sandbox broke)")
        finally:
            if name == "job":
                job.close()
            runner.stop()
        figures[name] = statistics.median(times)
    bwrap = runner_bwrap_only(build)
    figures["bwrap"] = bwrap
    return figures


def job_start(job, exe: Path) -> float:
    """What the first run of a job takes more than the second: starting its sandbox, its
    spawner, its wineserver and regwatch."""
    first, _ = clock(job.run, exe)
    second, _ = clock(job.run, exe)
    job.close()
    return first - second


def runner_bwrap_only(build: Path) -> float:
    """bwrap with the sandbox's arguments around /bin/true: the namespaces and mounts alone."""
    runner = Runner.from_environment(build, sandboxed=True)
    command = [*runner.sandbox.arguments(None, {"PATH": "/usr/bin:/bin"}), "--", "true"]
    return statistics.median([clock(subprocess.run, command, check=True)[0]
                              for _ in range(SANDBOX_RUNS)])


def machine() -> dict:
    def first(command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "?"
    model = "?"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = "?"
    try:
        kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        memory = f"{kib / (1 << 20):.1f} GiB"
    except (OSError, StopIteration):
        pass
    cc, _ = toolchain(False)
    return dict(system=f"{platform.system()} {platform.release()}",
                distribution=platform.freedesktop_os_release().get("PRETTY_NAME", "?")
                if hasattr(platform, "freedesktop_os_release") else "?",
                cpu=f"{model}, {os.cpu_count()} cores", memory=memory,
                wine=first(["wine", "--version"]), bwrap=first(["bwrap", "--version"]),
                compiler=first([*cc, "--version"]), python=platform.python_version())


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def ok(good: bool) -> str:
    return "meets the goal" if good else "**misses the goal**"


def report(facts, floor_, warm, prefix, fresh, sandbox, compiles, classes, loads) -> str:
    ratio = warm / floor_["total"]
    fresh_goal = floor_["total"] + prefix + FRESH_SLACK
    run_ratio = sandbox["job"] / sandbox["unsandboxed"]
    compile_extra = (compiles["sandboxed"] - compiles["direct"]) / compiles["labs"]
    compile_share = compile_extra * compiles["labs"] / bench_class.per_student(classes, 1)
    lines = [
        "# vmlabs benchmarks",
        "",
        f"Measured by `make bench` on {facts['date']}; load average (1, 5, 15 min) "
        f"{loads[0]} before, {loads[1]} after: other work on the machine slows every figure.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in facts.items() if key != "date"),
        "",
        "## Figures",
        "",
        "| what | seconds | against | ratio |",
        "|---|---:|---|---:|",
        f"| floor: compile every lab once ({len(floor_['labs'])} labs, one after the other) "
        f"| {floor_['compile']:.1f} | | |",
        f"| (the same labs compiled as grading does: lab.h precompiled) "
        f"| ({floor_['compile_pch']:.1f}) | | |",
        f"| floor: one bare warm `wine lab.exe` per case ({floor_['cases']} cases) "
        f"| {floor_['runs']:.1f} | | |",
        f"| **floor** | **{floor_['total']:.1f}** | | |",
        f"| `make check`, warm (built, prefix there) | {warm:.1f} | floor | "
        f"{ratio:.2f} (goal ≤ {CHECK_GOAL}: {ok(ratio <= CHECK_GOAL)}) |",
        f"| creating a Wine prefix | {prefix:.1f} | | |",
        f"| `make check`, fresh clone of {fresh['head']} | {fresh['fresh']:.1f} | floor + prefix + "
        f"{FRESH_SLACK:g} s = {fresh_goal:.1f} | {fresh['fresh'] / fresh_goal:.2f} "
        f"({ok(fresh['fresh'] <= fresh_goal)}) |",
        f"| `make check` again in that clone | {fresh['warm']:.1f} | floor | "
        f"{fresh['warm'] / floor_['total']:.2f} |",
        "",
        "Warm, `make check` compiles nothing (no lab changed), so it can take less than the "
        "floor, which compiles every lab. What it adds to the floor's bare runs is the sandbox "
        "(below), the judging of every case, and its own tests: broken and hostile programs, "
        "two of which wait for their timeout (2 s and 1 s); and the grading tests, which run "
        "the labs' cases several times more: the broken submissions graded to their exact "
        "scores (two wait for a 3 s timeout), the starter graded by its own copy of the "
        "harness, the Gradescope bundle run on a submission, every handout's captured output "
        "run again. The floor runs each case once: the goal of 1.3 was set before those tests "
        "existed. It runs on every core (pytest-xdist); "
        "the floor, one thing at a time. On a fresh clone it also builds each lab a second time "
        "(alone, with the README's command) and the self-test programs, beside the Wine prefix.",
        "",
        "## The sandbox's own cost",
        "",
        f"One small program (harness/tests/programs/hello.c) run {SANDBOX_RUNS} times through "
        "the harness (`Runner.run`), median per run:",
        "",
        "| how | ms per run | against bare | ratio |",
        "|---|---:|---|---:|",
        f"| **in a job** (SANDBOX=1, what grading and `make check` use: one sandbox and "
        f"wineserver for a lab's runs, job.py) | **{sandbox['job'] * 1000:.0f}** | bare | "
        f"**{run_ratio:.2f}** (goal ≤ {RUN_GOAL}: {ok(run_ratio <= RUN_GOAL)}) |",
        f"| in a sandbox of its own (SANDBOX=1 where a job cannot be used): bwrap, and a "
        f"wineserver of its own | {sandbox['sandboxed'] * 1000:.0f} | bare | "
        f"{sandbox['sandboxed'] / sandbox['unsandboxed']:.2f} |",
        f"| bare (SANDBOX=0): the session's warm persistent wineserver "
        f"| {sandbox['unsandboxed'] * 1000:.0f} | | |",
        f"| of a sandbox of its own: bwrap alone (its namespaces and mounts around /bin/true) "
        f"| {sandbox['bwrap'] * 1000:.0f} | | |",
        f"| starting a job (once per lab of a student: bwrap, the spawner, a wineserver, "
        f"regwatch) | {sandbox['job_start'] * 1000:.0f} | | |",
        "",
        "A sandbox of its own per run pays, each time, bwrap's namespaces and mounts and a "
        "fresh wineserver, which loads the prefix's registry (some 20 ms of CPU; Wine's "
        "services are not started: wineboot is disabled in the sandbox). A job pays them once "
        "per lab: its runs share the sandbox and the server, and between two runs the "
        "spawner kills what the last one left running and empties its folders; a run that "
        "changed the registry leaves a fresh server to the next (README, The sandbox).",
        "",
        "A submission's compile goes through the same sandbox (`Runner.run_tool`): every lab "
        f"compiled as grading compiles it (lab.h precompiled once beforehand; each compile from "
        f"an empty cache entry, the fastest of {FLOOR_TRIES}), through the sandbox and directly:",
        "",
        "| how | ms per lab |",
        "|---|---:|",
        f"| sandboxed: bwrap, limits, a fresh folder | {compiles['sandboxed'] / compiles['labs'] * 1000:.0f} |",
        f"| directly (the reference labs, in `make check`) | {compiles['direct'] / compiles['labs'] * 1000:.0f} |",
        f"| **the compile sandbox's cost** | **{compile_extra * 1000:.0f}** "
        + (f"({compile_share:.1%} of grading one student with 1 worker) |" if compile_extra > 0
           else "(none measured: less than what the same compile varies from one try to the "
                "next) |"),
        "",
        "## Grading a class",
        "",
        "Generated classes (every student hands in every lab: the reference labs, each file "
        "made unique so that nothing is compiled once for two students) graded by "
        "`python3 -m harness.grade_all --all`, what `make grade-all` runs, sandboxed, from an empty "
        "compile cache; every student at full marks, or the figure is refused "
        "(harness/bench_class.py):",
        "",
        *bench_class.section(classes, floor_),
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench                      # about twelve minutes; rewrites BENCHMARKS.md",
        'make bench BENCH_CLASS="10 100"  # other class sizes (100 students: some 25 minutes more)',
        "```",
        "",
        "The floor compiles with the compiler and flags make uses (CC, CFLAGS) and runs every "
        "case of expected/ with a warm persistent wineserver and nothing else; each compile "
        f"and each run is timed {FLOOR_TRIES} times and the fastest counts (a floor is the "
        "work without what else the machine is doing). `make check` "
        "warm is the second of two in this checkout; the fresh clone is `git clone` of HEAD "
        "into a temporary folder, then `make check` there (Wine prefix created, every lab "
        "built, the self-test programs built). The other figures are wall-clock seconds "
        "(time.monotonic) of one run each.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    build = settings.current().build
    facts = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **machine()}
    loads = [load()]
    labs = cases.load_all(ROOT / "expected")
    say("make check, to warm up (built, prefix there) ...")
    make("check", ROOT)
    say("floor ...")
    floor_ = floor(labs, build)
    floor_["labs"] = labs
    say("make check, warm ...")
    warm = make("check", ROOT)
    say(f"make check warm: {warm:.1f} s, {warm / floor_['total']:.2f} x the floor")
    say("creating a Wine prefix, alone ...")
    prefix = prefix_creation()
    say("make check in a fresh clone of HEAD ...")
    fresh = fresh_clone()
    say("the sandbox's cost per run ...")
    sandbox = sandbox_cost(build)
    say("the compile sandbox's cost per lab ...")
    compiles = compile_cost(labs, build)
    say("grading generated classes ...")
    classes = bench_class.measure(labs, build / "wineprefix", say)
    loads.append(load())
    text = report(facts, floor_, warm, prefix, fresh, sandbox, compiles, classes, loads)
    OUT.write_text(text, encoding="utf-8")
    print()
    print(text)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        print("note: the working tree has uncommitted changes; the fresh clone measured HEAD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
