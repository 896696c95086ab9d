"""run: run one program (under Wine, natively on Windows, or natively on Linux) -> Outcome.

This module knows nothing of expected output. Runner.run starts the program with its
arguments and standard input in its sandbox (sandbox.py: bwrap; sandbox_user.py: a uid of its
own) with limits (settings.Limits), feeds it, reads it, watches it (watch.py), kills it and
everything it started at the timeout, at a limit or when its output passes the limit, and
classifies how it ended (outcome.py). Runner.run_tool runs the compiler the same way.

The sandbox (SANDBOX=1, the default; see sandbox.Sandbox for what it allows and why) gives
every run its own wineserver, or, for the runs made through a JobRunner (Runner.job()), one
sandbox and server for all of them, emptied between two runs (job.py). SANDBOX=0 runs
programs directly, with one persistent wineserver for the session (wine.Server; only for
code you trust).
"""
from __future__ import annotations

import contextlib
import copy
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from . import sandbox_user, settings, wine as wine_mod
from .explain import describe, meaning
from .i18n import N_
from .outcome import Outcome, classify
from .sandbox import Job, Sandbox, SandboxUnavailable, find_bwrap
from .settings import ConfigError, Limits, mib
from .job import JobBroken, JobRunner, JobWatch
from .watch import BwrapWatch, GroupWatch, killed_for_cpu

try:
    import resource
except ImportError:             # Windows: no rlimits
    resource = None

WINE_RESERVED = 2 << 30         # address space Wine reserves for itself at start (1.7 GiB measured)
NATIVE_RESERVED = 256 << 20     # libc, stack reservation and the like, for a native program


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace").replace("\r\n", "\n")


@contextlib.contextmanager
def session(build: Path, what: str = "run the labs", **options):
    """A started Runner for a command line, stopped when the block ends. When it cannot
    start (the sandbox, a setting, Wine), says why in one line and exits with status 2."""
    try:
        runner = Runner.started(build, **options)
    except (ConfigError, RuntimeError, OSError) as e:
        print(f"cannot {what}: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        yield runner
    finally:
        runner.stop()


def _user_sandbox(limits: Limits, prefix: Path | None, bwrap: Sandbox):
    """The user level, with bwrap's view of Wine (the real wine and wineserver, the prefix);
    its runs' folders under the build folder, beside the prefix."""
    base = (Path(prefix).parent if prefix else Path("build")) / "users"
    return sandbox_user.UserSandbox(limits, base, bwrap.prefix, bwrap.wine, bwrap.wineserver)



class Runner:
    """Runs programs. wine: the runner command (e.g. ["wine"]), or None to run natively.
    sandbox: a Sandbox, or None to run programs directly (SANDBOX=0)."""

    def __init__(self, wine=None, prefix: Path | None = None, sandbox: Sandbox | None = None,
                 limits: Limits | None = None, user_level: bool = False):
        self.wine = list(wine) if wine else None
        self.prefix = Path(prefix) if prefix else None
        self.limits = limits or (sandbox.limits if sandbox else Limits())
        self.sandbox = sandbox
        self.server = wine_mod.Server(self.wine, self.prefix) if self.wine else None
        # Grading: where bwrap cannot start and the grader is root, each compile and run as a
        # user of its own (sandbox_user.py) rather than no grading at all.
        self.user_level = user_level

    @classmethod
    def from_environment(cls, build: Path, limits: Limits | None = None, sandboxed=None,
                         user_level: bool = False, config: settings.Settings | None = None):
        """The Runner the settings ask for (config, else settings.current()): RUNNER (wine,
        or "" for native), SANDBOX (sandboxed=False: none, to create the prefix) and the
        limits. Raises ConfigError (SandboxUnavailable among them) with a message for the
        student."""
        config = config or settings.current()
        wine = shlex.split(config.runner_command) or None
        prefix = Path(build) / "wineprefix"
        limits = limits or config.limits
        level = config.sandbox
        if sandboxed is None:
            sandboxed = level != "none"
        if not sandboxed:
            return cls(wine, prefix, None, limits)
        # for Wine's paths, also at the user level
        bwrap = Sandbox("bwrap", limits, prefix if wine else None, wine, config.kept)
        if sandboxed is True and level == "user":
            cannot = sandbox_user.is_possible()
            if cannot:
                raise ConfigError(f"SANDBOX=user: {cannot}")
            return cls(wine, prefix, _user_sandbox(limits, prefix, bwrap), limits, user_level=True)
        try:
            bwrap.bwrap = find_bwrap(config.bwrap)
        except SandboxUnavailable:
            if not user_level or sandbox_user.is_possible():
                raise
            # not installed: start() turns to the user level
        return cls(wine, prefix, bwrap, limits, user_level)

    @classmethod
    def started(cls, build: Path, **options) -> Runner:
        """from_environment(build, **options), started: the one way every tool gets its
        Runner. Raises ConfigError (SandboxUnavailable among them: the sandbox, a setting),
        RuntimeError or OSError (Wine, the prefix) with a message for the student, having
        stopped whatever the start began. The caller stops the Runner it gets."""
        runner = cls.from_environment(build, **options)
        try:
            runner.start()
        except BaseException:
            runner.stop()
            raise
        return runner

    def describe_sandbox(self) -> str:
        return self.sandbox.describe() if self.sandbox else "no sandbox (SANDBOX=0)"

    def _to_user_level(self, why: SandboxUnavailable):
        """bwrap cannot start (why): each run as a user of its own instead, when allowed."""
        cannot = sandbox_user.is_possible()
        if cannot:
            raise SandboxUnavailable(f"{why}\n(the user level, each submission run as a user of "
                                     f"its own, cannot be used either: {cannot})") from None
        user = _user_sandbox(self.limits, self.prefix, self.sandbox)
        try:
            user.probe()
        except sandbox_user.UserSandboxUnavailable as e:
            raise SandboxUnavailable(f"{why}\n(and the user level cannot start: {e})") from None
        self.sandbox = user
        first = str(why).splitlines()[0]
        print(f"sandbox: bwrap cannot start here ({first}); as root, every compile and run of a "
              f"submission runs as a user of its own instead (the user level: README, The sandbox)",
              file=sys.stderr, flush=True)

    def with_limits(self, limits: Limits) -> Runner:
        """The same runner with other limits: for runs of this session that need them.
        It shares the session's wineserver (SANDBOX=0) but does not own it: stop() the
        original, not the copy."""
        sandbox = None
        if self.sandbox:
            sandbox = copy.copy(self.sandbox)
            sandbox.limits = limits
        runner = Runner(self.wine, self.prefix, sandbox, limits, self.user_level)
        runner.server = None            # the session's, stopped by the original
        return runner

    @property
    def platform(self) -> str:
        if self.wine:
            return "wine"
        return "windows" if sys.platform == "win32" else "linux"

    def environment(self) -> dict:
        """For programs run outside the sandbox (SANDBOX=0, and creating the prefix)."""
        return wine_mod.host_environment(self.prefix if self.wine else None)

    def prepare(self, quiet=False):
        """Creates the private Wine prefix once."""
        if self.wine:
            wine_mod.prepare(self.wine, self.prefix, quiet)

    def start(self):
        """Prefix ready; then either the sandbox checked once, or (SANDBOX=0) one persistent
        wineserver for the session so that runs start fast."""
        if sys.platform == "win32":
            # No "program has stopped working" dialog for a crashing lab: it would wait for a
            # click until the timeout. Children inherit this error mode.
            import ctypes
            SEM_FAILCRITICALERRORS, SEM_NOGPFAULTERRORBOX = 0x0001, 0x0002
            ctypes.windll.kernel32.SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX)
        self.prepare()
        if self.sandbox:
            try:
                self.sandbox.probe()
            except sandbox_user.UserSandboxUnavailable as e:
                raise SandboxUnavailable(f"SANDBOX=user: {e}") from None
            except SandboxUnavailable as e:
                if self.sandbox.kind != "bwrap" or not self.user_level:
                    raise
                self._to_user_level(e)
            return
        if self.server:
            self.server.start()

    def stop(self):
        if self.server:
            self.server.stop()

    def command(self, exe: Path, args=(), native=False) -> list:
        prefix = [] if native or not self.wine else self.wine
        return [*prefix, str(exe), *args]

    def _program_job(self, exe: Path, args, native) -> Job:
        """A program to run: bound read-only alone, under Wine unless native."""
        wine = bool(self.wine) and not native
        if not self.sandbox:
            return Job(tuple(self.command(exe, args, native)), self.environment(),
                       reserved=WINE_RESERVED if wine else NATIVE_RESERVED)
        exe = Path(exe).resolve()
        inner = [str(exe), *args]
        if wine:
            # The run's wineserver, started first with its output on /dev/null: started by
            # the program instead, it inherits the program's stderr, and a server that lives
            # long enough to exit by itself writes "could not save registry branch ...:
            # Read-only file system" into it. -p: it stays until the sandbox dies.
            inner = ["sh", "-c", '"$0" -p </dev/null >/dev/null 2>&1; exec "$@"',
                     self.sandbox.wineserver, *self.sandbox.wine, *inner]
        env = self.sandbox.environment(wine_mod.environment(self.prefix, sandboxed=True) if wine else {})
        return Job(tuple(inner), env, exe=exe,
                   reserved=WINE_RESERVED if wine else NATIVE_RESERVED)

    def _tool_job(self, command, folder: Path, readonly=(), file_size=None) -> Job:
        """A program of this machine (the compiler) working in folder: in the sandbox, folder
        is its only writable place (SCRATCH, its cwd) and readonly the only other files it
        sees besides the system's."""
        env = self.sandbox.environment({}) if self.sandbox else settings.environ()
        return Job(tuple(command), env, folder=Path(folder).resolve(),
                   readonly=tuple(Path(p).resolve() for p in readonly),
                   reserved=NATIVE_RESERVED, file_size=file_size)

    def _launch(self, job: Job, timeout):
        """Popen of the job (in its sandbox), and the read end of bwrap's info pipe."""
        limits = self.limits
        cpu = limits.cpu_for(timeout)

        def set_limits():
            # In the child, before exec: inherited by bwrap and everything in the sandbox.
            # Memory: RLIMIT_DATA counts private writable memory, what VirtualAlloc(MEM_COMMIT),
            # HeapAlloc and malloc take: a program gets about `memory` of commit, then
            # VirtualAlloc fails. RLIMIT_AS alone cannot do that: Wine reserves 1.7 GiB of
            # address space at start and stops (virtual_init's assertion) under 1.5 GiB
            # (measured), while commits inside its reservations do not count. RLIMIT_AS is
            # only the backstop, for shared mappings and huge reservations.
            # RLIMIT_NPROC is not used: it counts every process of the user (and never
            # applies to root), so the harness counts the sandbox's processes itself.
            # RLIMIT_FSIZE (compiles): no file written may pass it; the compiler's assembler
            # or linker is stopped with SIGXFSZ instead.
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_DATA, (limits.memory,) * 2)
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory + job.reserved,) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if job.file_size is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (job.file_size,) * 2)

        options = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       start_new_session=hasattr(os, "killpg"))
        if resource:
            options["preexec_fn"] = set_limits
        if not self.sandbox:
            proc = subprocess.Popen(job.command, env=job.env, cwd=job.folder, **options)
            return proc, GroupWatch(proc)
        if self.sandbox.kind == "user":
            return self.sandbox.launch(job, options)
        info_read, info_write = os.pipe()
        # Without a pid namespace the sandbox waits (--block-fd) until its mount namespace,
        # by which its processes are found and killed, is held open here: see BwrapWatch.
        gate_read, gate_write = os.pipe() if not self.sandbox.pid_namespace else (None, None)
        try:
            arguments = self.sandbox.arguments(job.exe, job.env, job.folder, job.readonly)
            fds = [info_write] + ([gate_read] if gate_read is not None else [])
            gate = ["--block-fd", str(gate_read)] if gate_read is not None else []
            proc = subprocess.Popen([*arguments, "--info-fd", str(info_write), *gate, "--",
                                     *job.command], pass_fds=fds, **options)
        finally:
            os.close(info_write)
            if gate_read is not None:
                os.close(gate_read)
        return proc, BwrapWatch(proc, info_read, gate_write)

    def job(self):
        """A JobRunner: the Wine runs made through it share one sandbox and one wineserver
        (job.py), until it is closed; `with runner.job() as job: job.run(...)`."""
        return JobRunner(self)

    def run(self, exe: Path, args=(), stdin: str = "", timeout: float = 10,
            native=False, job: JobRunner | None = None) -> Outcome:
        """The program exe with args and stdin, in its sandbox, killed after timeout s; in
        job's sandbox when one is given (JobRunner.run gives it)."""
        if not Path(exe).is_file():
            raise FileNotFoundError(f"{exe} does not exist")
        job_spec = self._program_job(exe, args, native)
        shown = tuple(self.command(exe, args, native))
        platform = "linux" if native else self.platform
        outcome = self._run_once(job_spec, shown, stdin, timeout, platform, job)
        if self.sandbox and self.wine and not native and outcome.kind == "exit" \
                and outcome.code == 1 and not outcome.stdout and not outcome.stderr:
            # About one sandboxed start of Wine in a thousand to three thousand ends at once
            # (25 ms) with status 1 and not a word: measured 1 in 900 runs of `bwrap ... wine
            # arena.exe` (arena prints 3 KiB), 1 in 3000 with the server started first; none
            # in 1500 with Wine's err channel on or in 4000 without rlimits, which at this
            # rate proves nothing. The cause is not found. A run that ends so is made once
            # more: a program that really does gives the same outcome, and the report says
            # it was run twice.
            again = self._run_once(job_spec, shown, stdin, timeout, platform, job)
            outcome = replace(again, source=f"{again.source} (run twice: the first ended at "
                                            f"once with status 1 and no output)")
        return outcome

    def _run_once(self, job_spec: Job, shown, stdin, timeout, platform, job) -> Outcome:
        """One run in job's sandbox, or (no job, or it broke) in a sandbox of its own."""
        if job is not None:
            try:
                return self._run(job_spec, shown, stdin, timeout, platform, job)
            except JobBroken as e:
                job.close()
                job.broken = str(e) or "broken"
                print(f"sandbox: a job's sandbox broke ({e}); this run in a sandbox of its own",
                      file=sys.stderr, flush=True)
        return self._run(job_spec, shown, stdin, timeout, platform)

    def run_tool(self, command, folder: Path, timeout: float, readonly=(),
                 file_size: int | None = None) -> Outcome:
        """A program of this machine (the compiler), on untrusted input: in the sandbox, with
        folder as its working folder and the only place it can write, readonly (files or
        folders) the only other things it sees besides the system; no file it writes larger
        than file_size. Without the sandbox (SANDBOX=0) it runs in folder with the limits."""
        job = self._tool_job(command, folder, readonly, file_size)
        return self._run(job, tuple(command), "", timeout, "linux")

    def _run(self, job: Job, command: tuple, stdin: str, timeout: float,
             platform: str, shared: JobRunner | None = None) -> Outcome:
        started = time.monotonic()
        if shared is not None:
            argv = [*self.sandbox.wine, str(job.exe), *command[len(self.wine) + 1:]]
            proc, watch = shared.sandbox_for(job.exe, job.reserved).launch(
                argv, self.limits.cpu_for(timeout))
        else:
            proc, watch = self._launch(job, timeout)
        try:
            outcome = self._watch(proc, watch, command, stdin, timeout, platform, started)
        finally:
            watch.close()
        if getattr(watch, "broken", ""):
            raise JobBroken(watch.broken)
        return outcome

    def _watch(self, proc, watch, command: tuple, stdin: str, timeout: float, platform: str,
               started: float) -> Outcome:
        """Feeds, reads and watches a started job until it ends or is killed -> its Outcome."""
        limits = self.limits
        out, err, cut = bytearray(), bytearray(), threading.Event()
        ended = threading.Event()
        usage = []
        kill = watch.kill

        def read(pipe, into):
            while chunk := pipe.read1(65536):
                if len(into) + len(chunk) <= limits.output:
                    into += chunk
                else:
                    into += chunk[:limits.output - len(into)]
                    cut.set()
                    kill()

        def feed():
            try:
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass

        def wait():
            proc.returncode, cpu = watch.wait()
            usage.append(cpu)
            ended.set()

        threads = [threading.Thread(target=read, args=(proc.stdout, out)),
                   threading.Thread(target=read, args=(proc.stderr, err)),
                   threading.Thread(target=feed)]
        waiter = threading.Thread(target=wait)
        for t in (*threads, waiter):
            t.daemon = True
            t.start()
        watch.begin()
        hit = None                      # "time" or "processes"
        while not ended.wait(0.05):
            if time.monotonic() - started >= timeout:
                hit = "time"
            elif (sample := watch.sample()) is not None:
                count, cpu = sample
                usage.append(cpu)
                if count > limits.processes:
                    hit = "processes"
            if hit:
                kill()
                ended.wait()
                break
        else:
            # Counted once more as it ends: a fork loop can pass the limit and end (its fork
            # refused by RLIMIT_NPROC at the user level) between two counts, leaving what it
            # started still running (measured: 3 of 6 such runs under load ended "exit 2").
            if (sample := watch.sample()) is not None and sample[0] > limits.processes:
                hit = "processes"
        kill()                  # whatever it started and left running (unsandboxed)
        for t in threads:
            t.join(timeout=5)
        seconds = time.monotonic() - started
        stdout, stderr = _text(out), _text(err)
        bwrap = self.sandbox is not None and self.sandbox.kind == "bwrap"
        if getattr(watch, "broken", ""):
            return None             # the job broke: _run raises JobBroken, the run is made again
        if bwrap and proc.returncode == 1 and stderr.startswith("bwrap: ") and hit is None \
                and not cut.is_set():
            raise RuntimeError(f"the sandbox did not start: {stderr.strip()}")
        ending = self._ending(hit, cut.is_set(), proc.returncode, max(usage, default=0.0),
                              timeout, bwrap)
        if ending is None:
            kind, code, access, address, source = classify(proc.returncode, stdout, stderr, platform)
            ending = dict(kind=kind, code=code, access=access, address=address, source=source)
        where = self.describe_sandbox() + (" of this lab's job (one for its runs, emptied "
                                           "between them)" if isinstance(watch, JobWatch) else "")
        sandbox = f"{where}; limits: {limits.describe(timeout, self.sandbox is not None)}"
        return Outcome(**{"code": None, "access": None, "address": None, **ending}, stdout=stdout,
                       stderr=stderr, seconds=seconds, command=tuple(command), stdin=stdin,
                       platform=platform, sandbox=sandbox)

    def _ending(self, hit, cut: bool, status, cpu_used: float, timeout: float, bwrap: bool):
        """A run the harness ended, as Outcome's fields: at the timeout, the process count,
        the output limit or the CPU limit; None when the program ended by itself."""
        limits = self.limits
        cpu = limits.cpu_for(timeout)
        if hit == "time":
            return dict(kind="timeout", source=N_("timeout"), limit="time", limit_value=f"{timeout:g} s")
        if hit == "processes":
            return dict(kind="limit", source=N_("process count"), limit="processes",
                        limit_value=f"{limits.processes} processes")
        if cut:
            return dict(kind="output_cut", source=N_("output limit"), limit="output",
                        limit_value=mib(limits.output))
        if killed_for_cpu(status, cpu_used, cpu, bwrap):
            return dict(kind="limit", source=f"SIGXCPU/SIGKILL after {cpu_used:.1f} s of CPU",
                        limit="cpu", limit_value=f"{cpu} s")
        return None



if __name__ == "__main__":
    # make prefix: create the Wine prefix under $BUILD before anything runs.
    import argparse
    parser = argparse.ArgumentParser(description="run a lab, or prepare the Wine prefix")
    parser.add_argument("--prepare", action="store_true", help="create the Wine prefix and exit")
    parser.add_argument("exe", nargs="?")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    build = settings.current().build
    if options.prepare:
        try:
            Runner.from_environment(build, sandboxed=False).prepare()
        except (RuntimeError, OSError, ConfigError) as e:
            print(f"cannot run the labs: {e}", file=sys.stderr)
            sys.exit(2)
    elif options.exe:
        with session(build) as runner:
            result = runner.run(Path(options.exe), options.args, sys.stdin.read())
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
        print(f"[{describe(result)}: {meaning(result)}]")

