"""run: run one program (under Wine, natively on Windows, or natively on Linux) -> Outcome.

This module knows nothing of expected output. It starts the program with its arguments and
standard input, kills it (and everything it started) at the timeout or when its output passes
the limit, and classifies how it ended:

  exit        it returned or called exit: `code` is the status
  exception   an exception ended it: `code` is the NTSTATUS (0xC0000005, ...), `access` and
              `address` are set for an access violation, from whichever report there is:
                - lab.h's reporter on stderr:  fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) writing 0x...
                - Wine's unhandled-exception line:  wine: Unhandled page fault on write access to ...
                - on Windows, the exit status itself (0xC0000005); the address only from lab.h
  timeout     still running after the timeout: killed
  output_cut  printed more than the output limit: killed, output kept up to the limit
  signal      (a native Linux program) a signal ended it: `code` is the signal number

Under Wine the exit status is only the low byte of the code (0xC0000005 -> 5), so a status
alone never makes an exception there: a report line must name it.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:             # Windows: no Wine prefix to lock
    fcntl = None

OUTPUT_LIMIT = 1 << 20          # bytes of stdout (and of stderr) kept; more kills the program

# Names of exception codes, as lab.h and the documentation spell them.
EXCEPTION_NAMES = {
    0xC0000005: "access violation",
    0x80000001: "guard page",
    0xC00000FD: "stack overflow",
    0xC0000094: "divide by zero",
    0xC000001D: "illegal instruction",
    0xC0000096: "privileged instruction",
    0xC0000006: "in-page error",
    0xC0000409: "stack buffer overrun",
}
WINE_UNHANDLED = {
    "division by zero": 0xC0000094,
    "stack overflow": 0xC00000FD,
    "illegal instruction": 0xC000001D,
    "privileged instruction": 0xC0000096,
}
ACCESS_WORDS = {"read": "reading", "write": "writing", "execute": "executing"}

LAB_FAULT = re.compile(r"^fault: \w+ \(0x([0-9A-Fa-f]{8})\) "
                       r"(?:(reading|writing|executing|accessing) (0x[0-9A-Fa-f]+)|at instruction)", re.M)
WINE_PAGE_FAULT = re.compile(r"^wine: Unhandled page fault on (read|write|execute) access to "
                             r"(?:0x)?([0-9A-Fa-f]+)", re.M)
WINE_OTHER = re.compile(r"^wine: Unhandled (" + "|".join(WINE_UNHANDLED) + r")", re.M)
WINE_EXCEPTION = re.compile(r"^wine: Unhandled exception 0x([0-9A-Fa-f]+)", re.M)


@dataclass(frozen=True)
class Outcome:
    kind: str                   # exit | exception | timeout | output_cut | signal
    code: int | None            # exit status, or exception code
    access: str | None          # reading | writing | executing, for access violations
    address: int | None         # the address the access was refused at
    stdout: str
    stderr: str
    seconds: float
    command: tuple
    stdin: str
    platform: str               # wine | windows | linux
    source: str                 # how the kind was known, in words

    def describe(self) -> str:
        """One line a student can read: what happened to the program."""
        if self.kind == "exit":
            return f"exit {self.code}"
        if self.kind == "timeout":
            return f"timeout: still running after {self.seconds:.1f} s, killed"
        if self.kind == "output_cut":
            return f"output cut: more than {OUTPUT_LIMIT} bytes printed, killed"
        if self.kind == "signal":
            return f"killed by signal {signal.Signals(self.code).name} ({self.code})"
        name = EXCEPTION_NAMES.get(self.code, "exception")
        text = f"{name} (0x{self.code:08X})"
        if self.access:
            text += f" {self.access}"
        if self.address is not None:
            text += f" 0x{self.address:016x}"
        return text


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace").replace("\r\n", "\n")


def classify(status: int, stdout: str, stderr: str, platform: str):
    """(kind, code, access, address, source) from how a process ended and what it said."""
    if status == 0:
        return "exit", 0, None, None, "exit status"
    if status < 0:
        return "signal", -status, None, None, "killed by a signal"
    m = LAB_FAULT.search(stderr)
    if m:
        code = int(m.group(1), 16)
        if status in (code, code & 0xFF):
            access = m.group(2) if m.group(2) != "accessing" else None
            address = int(m.group(3), 16) if m.group(3) else None
            return "exception", code, access, address, "lab.h's fault report"
    if platform == "wine":
        m = WINE_PAGE_FAULT.search(stderr)
        if m:
            return ("exception", 0xC0000005, ACCESS_WORDS[m.group(1)], int(m.group(2), 16),
                    "Wine's unhandled page fault line")
        m = WINE_OTHER.search(stderr)
        if m:
            return "exception", WINE_UNHANDLED[m.group(1)], None, None, "Wine's unhandled exception line"
        m = WINE_EXCEPTION.search(stderr)
        if m:
            return "exception", int(m.group(1), 16), None, None, "Wine's unhandled exception line"
    if platform == "windows" and status >= 0x80000000:
        return "exception", status, None, None, "exit status"
    return "exit", status, None, None, "exit status"


class Runner:
    """Runs programs. wine: the runner command (e.g. ["wine"]), or None to run natively."""

    def __init__(self, wine=None, prefix: Path | None = None):
        self.wine = list(wine) if wine else None
        self.prefix = Path(prefix) if prefix else None
        self.server = None

    @classmethod
    def from_environment(cls, build: Path):
        """RUNNER from the Makefile (default: wine except on Windows); "" means native."""
        runner = os.environ.get("RUNNER")
        if runner is None:
            runner = "" if sys.platform == "win32" else "wine"
        return cls(shlex.split(runner) or None, Path(build) / "wineprefix")

    @property
    def platform(self) -> str:
        if self.wine:
            return "wine"
        return "windows" if sys.platform == "win32" else "linux"

    def environment(self) -> dict:
        env = dict(os.environ)
        if self.wine:
            env.update(WINEPREFIX=str(self.prefix.resolve()), WINEDEBUG="-all",
                       WINEDLLOVERRIDES="winedbg.exe=d;mscoree=d;mshtml=d")
        return env

    def prepare(self, quiet=False):
        """Creates the private Wine prefix once (a lock keeps parallel runs from racing)."""
        if not self.wine:
            return
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        with open(self.prefix.parent / ".wineprefix.lock", "w") as lock:
            if fcntl:
                fcntl.flock(lock, fcntl.LOCK_EX)
            if (self.prefix / "system.reg").exists():
                return
            if not quiet:
                print(f"Creating the Wine prefix {self.prefix} (first time only, about 10 s) ...",
                      file=sys.stderr, flush=True)
            boot = [*self.wine, "wineboot", "--init"]
            log = self.prefix.parent / "wineprefix.log"
            with open(log, "wb") as errors:
                # Not pipes: Wine's services inherit them and would hold them open.
                result = subprocess.run(boot, env=self.environment(), stdin=subprocess.DEVNULL,
                                        stdout=errors, stderr=errors, timeout=300)
            # wineboot returns while its services still run; wait for them to settle.
            subprocess.run(["wineserver", "-w"], env=self.environment(), timeout=300)
            if result.returncode != 0 or not (self.prefix / "system.reg").exists():
                raise RuntimeError(f"could not create the Wine prefix with {' '.join(boot)}; "
                                   f"its messages are in {log}")

    def start(self):
        """Prefix ready, and one persistent wineserver for the session: runs start fast."""
        if sys.platform == "win32":
            # No "program has stopped working" dialog for a crashing lab: it would wait for a
            # click until the timeout. Children inherit this error mode.
            import ctypes
            SEM_FAILCRITICALERRORS, SEM_NOGPFAULTERRORBOX = 0x0001, 0x0002
            ctypes.windll.kernel32.SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX)
        self.prepare()
        if self.wine and self.server is None and shutil.which("wineserver"):
            quiet = dict(env=self.environment(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
            self.server = subprocess.Popen(["wineserver", "--foreground", "--persistent"], **quiet)
            # The first program of a server starts Wine's services, which inherit its
            # standard output: start them here, on /dev/null, not on a lab's pipes.
            subprocess.run([*self.wine, "cmd", "/c", "exit"], timeout=120, **quiet)

    def stop(self):
        # Only the server this Runner started: when another session already served the
        # prefix, ours exited at once, and `wineserver -k` would stop that session's.
        if self.server is not None and self.server.poll() is None:
            subprocess.run(["wineserver", "-k"], env=self.environment(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
        self.server = None

    def command(self, exe: Path, args=(), native=False) -> list:
        prefix = [] if native or not self.wine else self.wine
        return [*prefix, str(exe), *args]

    def run(self, exe: Path, args=(), stdin: str = "", timeout: float = 10,
            native=False) -> Outcome:
        command = self.command(exe, args, native)
        platform = "linux" if native else self.platform
        started = time.monotonic()
        proc = subprocess.Popen(command, env=self.environment(), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=hasattr(os, "killpg"))
        out, err, cut = bytearray(), bytearray(), threading.Event()

        def read(pipe, into):
            while chunk := pipe.read1(65536):
                if len(into) < OUTPUT_LIMIT:
                    into += chunk[:OUTPUT_LIMIT - len(into)]
                else:
                    cut.set()
                    _kill(proc)

        def feed():
            try:
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass

        threads = [threading.Thread(target=read, args=(proc.stdout, out)),
                   threading.Thread(target=read, args=(proc.stderr, err)),
                   threading.Thread(target=feed)]
        for t in threads:
            t.daemon = True
            t.start()
        timed_out = False
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            status = proc.wait()
        _kill(proc)             # whatever it started and left running
        for t in threads:
            t.join(timeout=5)
        seconds = time.monotonic() - started
        stdout, stderr = _text(out), _text(err)
        if timed_out:
            kind, code, access, address, source = "timeout", None, None, None, "timeout"
        elif cut.is_set():
            kind, code, access, address, source = "output_cut", None, None, None, "output limit"
        else:
            kind, code, access, address, source = classify(status, stdout, stderr, platform)
        return Outcome(kind, code, access, address, stdout, stderr, seconds, tuple(command),
                       stdin, platform, source)


def _kill(proc):
    """The program and everything it started (its own process group)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


if __name__ == "__main__":
    # make prefix: create the Wine prefix under $BUILD before anything runs.
    import argparse
    parser = argparse.ArgumentParser(description="run a lab, or prepare the Wine prefix")
    parser.add_argument("--prepare", action="store_true", help="create the Wine prefix and exit")
    parser.add_argument("exe", nargs="?")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    runner = Runner.from_environment(Path(os.environ.get("BUILD") or "build"))
    try:
        runner.prepare()
    except (RuntimeError, FileNotFoundError) as e:
        sys.exit(f"cannot prepare Wine: {e}")
    if options.exe:
        result = runner.run(Path(options.exe), options.args, sys.stdin.read())
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
        print(f"[{result.describe()}]")
