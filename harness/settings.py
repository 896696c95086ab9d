"""settings: every environment variable the harness reads, and where things are, in one place.

make passes its variables on through the environment (BUILD, CC, SANDBOX, TIMEOUT, ...); a
tool run by hand reads the same names. Nothing else in harness/ reads os.environ: it asks
for a Settings (current(), read when asked, so that a test may set a variable first) or,
to start a program outside the sandbox, for environ() (a copy to change).

Limits are settings too: what one run may use (CPUTIME, MEMORY, PROCS, OUTPUT, SCRATCH).
"""
from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent       # the checkout (or the starter, the bundle)
LABS = ROOT / "labs"
EXPECTED = ROOT / "expected"

OUTPUT_LIMIT = 1 << 20          # default bytes of stdout (and of stderr) kept; more kills the program
SMALLEST_MEMORY = 64 << 20      # Wine itself needs some 12 MiB of data to start
# What a sandboxed program keeps of the grader's environment: how to spell and show text.
KEPT = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")


class ConfigError(ValueError):
    """A setting (SANDBOX, MEMORY, ...) that cannot be used: the message says which and why."""


def environ(drop=(), **values) -> dict:
    """A copy of this process's environment, for programs started outside the sandbox:
    without the variables in drop, with values set."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(values)
    return env


def variables() -> dict:
    """The environment as it is now, read-only and not copied: for a lookup on a hot path
    (every translated message asks for the language), where current() would copy it all."""
    return os.environ


def export(name: str, value: str):
    """Sets a variable for this process and every program it starts (make check turning the
    sandbox off where bwrap cannot start)."""
    os.environ[name] = value


def _size(name: str, text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if not m:
        raise ConfigError(f"{name}={text!r}: expected a size such as 1048576, 512K, 64M or 1G")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def _number(name: str, text: str, kind=float):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value <= 0 or (kind is float and not math.isfinite(value)):
        raise ConfigError(f"{name}={text!r}: expected a positive number")
    return value


def mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


@dataclass(frozen=True)
class Limits:
    """What one run may use. The wall time comes with each run (the case's timeout)."""
    cpu: float | None = None        # CPU seconds per process; None: the wall time + 1 s
    memory: int = 1 << 30           # bytes of memory a program may commit (RLIMIT_DATA)
    processes: int = 32             # processes in the sandbox at once, Wine's server included
    output: int = OUTPUT_LIMIT      # bytes of stdout, and of stderr, kept
    scratch: int = 64 << 20         # bytes the program may write (its folder, /tmp, %TEMP%)

    @classmethod
    def from_environment(cls, env=None) -> Limits:
        """CPUTIME (s), MEMORY, PROCS, OUTPUT, SCRATCH (sizes: 1048576, 64M, 1G) from make."""
        env = os.environ if env is None else env
        values = {}
        if env.get("CPUTIME"):
            values["cpu"] = _number("CPUTIME", env["CPUTIME"])
        if env.get("MEMORY"):
            values["memory"] = _size("MEMORY", env["MEMORY"])
            if values["memory"] < SMALLEST_MEMORY:
                raise ConfigError(f"MEMORY={env['MEMORY']}: too small for Wine itself to start; "
                                  f"at least {mib(SMALLEST_MEMORY)}")
        if env.get("PROCS"):
            values["processes"] = _number("PROCS", env["PROCS"], int)
        if env.get("OUTPUT"):
            values["output"] = _size("OUTPUT", env["OUTPUT"])
        if env.get("SCRATCH"):
            values["scratch"] = _size("SCRATCH", env["SCRATCH"])
        return cls(**values)

    def cpu_for(self, timeout: float) -> int:
        # One second more than the wall time: a single busy thread is a timeout, not this.
        return max(1, math.ceil(self.cpu if self.cpu is not None else timeout + 1))

    def describe(self, timeout: float, sandboxed: bool) -> str:
        text = (f"{timeout:g} s wall, {self.cpu_for(timeout)} s CPU per process, "
                f"{mib(self.memory)} memory, {mib(self.output)} output")
        if sandboxed:
            text += f", {self.processes} processes, {mib(self.scratch)} to write"
        return text


def sandbox_level(text: str | None) -> str:
    """SANDBOX: "bwrap" (1, the default), "user" (every run as a user of its own: for a root
    grader where bwrap cannot start; chosen by itself there) or "none" (0)."""
    value = (text or "1").strip().lower()
    if value in ("1", "yes", "on", "true", "bwrap"):
        return "bwrap"
    if value == "user":
        return "user"
    if value in ("0", "no", "off", "false"):
        return "none"
    raise ConfigError(f"SANDBOX={text!r}: use SANDBOX=1 (the default), SANDBOX=user "
                      f"(as root, each run as a user of its own) or SANDBOX=0")


@dataclass(frozen=True)
class Settings:
    """The variables make passes on (README: the make variables), as read at one moment."""
    build: Path = ROOT / "build"
    runner: str | None = None       # RUNNER: None means the default (wine, except on Windows)
    sandbox_text: str = ""          # SANDBOX as given ("" = the default)
    bwrap: str = "bwrap"            # BWRAP: another bwrap, a path or a name on PATH
    cc: str = ""                    # CC, CFLAGS, HOSTCC, HOSTCFLAGS, CC32 ("" = the default)
    cflags: str = ""
    hostcc: str = ""
    hostcflags: str = ""
    cc32: str = ""
    arch: str = ""                  # ARCH=i686: also the 32-bit builds
    seed: str = ""                  # SEED: replay the random inputs
    timeout: str = ""               # TIMEOUT: at most this many seconds for any case
    hidden: str = ""                # EXPECTED_HIDDEN: the instructor's hidden cases
    jobs: str = ""                  # JOBS: how many at once
    verbose: bool = False           # V=1
    roster: str = ""                # ROSTER, ASSIGNMENT, PREVIOUS (grade-all)
    assignment: str = ""
    previous: str = ""
    bench_class: str = ""           # BENCH_CLASS: the class sizes make bench grades
    kept: dict = field(default_factory=dict)    # KEPT, as set
    env: dict = field(default_factory=dict, repr=False)     # everything, for Limits

    @classmethod
    def from_environment(cls, env=None) -> Settings:
        env = dict(os.environ if env is None else env)
        get = lambda name: env.get(name) or ""     # noqa: E731 - unset and empty alike
        return cls(build=Path(get("BUILD") or ROOT / "build"), runner=env.get("RUNNER"),
                   sandbox_text=get("SANDBOX").strip(), bwrap=get("BWRAP") or "bwrap",
                   cc=get("CC"), cflags=get("CFLAGS"), hostcc=get("HOSTCC"),
                   hostcflags=get("HOSTCFLAGS"), cc32=get("CC32"), arch=get("ARCH"),
                   seed=get("SEED"), timeout=get("TIMEOUT"), hidden=get("EXPECTED_HIDDEN"),
                   jobs=get("JOBS"), verbose=get("V") == "1", roster=get("ROSTER"),
                   assignment=get("ASSIGNMENT"), previous=get("PREVIOUS"),
                   bench_class=get("BENCH_CLASS"),
                   kept={k: env[k] for k in KEPT if env.get(k)}, env=env)

    @property
    def sandbox(self) -> str:
        """"bwrap", "user" or "none"; ConfigError for a value that is none of them."""
        return sandbox_level(self.sandbox_text)

    @property
    def runner_command(self) -> str:
        """RUNNER from the Makefile (default: wine except on Windows); "" means native."""
        if self.runner is None:
            return "" if sys.platform == "win32" else "wine"
        return self.runner

    @property
    def limits(self) -> Limits:
        return Limits.from_environment(self.env)

    @property
    def workers(self) -> int:
        """JOBS, else one per core."""
        return int(self.jobs) if self.jobs.strip().isdigit() and int(self.jobs) > 0 \
            else os.cpu_count() or 2


def current() -> Settings:
    """The settings as the environment has them now."""
    return Settings.from_environment()
