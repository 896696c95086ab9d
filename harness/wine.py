"""wine: the private Wine prefix, the persistent wineserver, and Wine's environment, once.

Every Wine the harness starts, and `make run-LAB`, run with the same three variables:
WINEPREFIX (the prefix under BUILD, never ~/.wine), WINEDEBUG=-all (no debug channels on
stderr, which a case may compare) and WINEDLLOVERRIDES (no debugger: an unhandled fault
ends the program with its status instead of a winedbg that exits 0; no .NET or Gecko
installer). `python3 -m harness.wine BUILD` prints them for make.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from . import settings

try:
    import fcntl
except ImportError:             # Windows: no Wine prefix to lock
    fcntl = None

OVERRIDES = "winedbg.exe=d;mscoree=d;mshtml=d"
# In a sandboxed run also no wineboot: no services and no prefix update (see sandbox.Sandbox).
SANDBOXED_OVERRIDES = OVERRIDES + ";wineboot.exe=d"


def environment(prefix: Path, sandboxed=False) -> dict:
    """Wine's own variables for a run with this prefix."""
    return dict(WINEPREFIX=str(Path(prefix).resolve()), WINEDEBUG="-all",
                WINEDLLOVERRIDES=SANDBOXED_OVERRIDES if sandboxed else OVERRIDES)


def host_environment(prefix: Path | None) -> dict:
    """The whole environment for Wine (or any program) run outside the sandbox."""
    env = settings.environ()
    if prefix is not None:
        env.pop("TMPDIR", None)     # Wine 10.0 aborts at start when it is set (measured, Debian 13)
        env.update(environment(prefix))
    return env


def prepare(command: list, prefix: Path, quiet=False):
    """Creates the private Wine prefix once (a lock keeps parallel runs from racing)."""
    prefix = Path(prefix)
    if (prefix / "system.reg").exists():
        return
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        lock = open(prefix.parent / ".wineprefix.lock", "w")
    except OSError as e:
        raise RuntimeError(f"cannot create the Wine prefix in {prefix.parent}: {e.strerror}") from None
    with lock:
        if fcntl:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (prefix / "system.reg").exists():
            return
        if not quiet:
            print(f"Creating the Wine prefix {prefix} (first time only, about 10 s) ...",
                  file=sys.stderr, flush=True)
        boot = [*command, "wineboot", "--init"]
        log = prefix.parent / "wineprefix.log"
        env = host_environment(prefix)
        with open(log, "wb") as errors:
            # Not pipes: Wine's services inherit them and would hold them open.
            result = subprocess.run(boot, env=env, stdin=subprocess.DEVNULL,
                                    stdout=errors, stderr=errors, timeout=300)
        # wineboot returns while its services still run; wait for them to settle.
        subprocess.run(["wineserver", "-w"], env=env, timeout=300)
        if result.returncode != 0 or not (prefix / "system.reg").exists():
            raise RuntimeError(f"could not create the Wine prefix with {' '.join(boot)}; "
                               f"its messages are in {log}")


class Server:
    """One persistent wineserver for an unsandboxed session (SANDBOX=0), so that runs start
    fast. Only code you trust: every run shares it (see sandbox.Sandbox for why sandboxed
    runs each have their own)."""

    def __init__(self, command: list, prefix: Path):
        self.command, self.prefix, self.proc = list(command), Path(prefix), None

    def start(self):
        if self.proc is not None or not shutil.which("wineserver"):
            return
        quiet = dict(env=host_environment(self.prefix), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.proc = subprocess.Popen(["wineserver", "--foreground", "--persistent"], **quiet)
        # The first program of a server starts Wine's services, which inherit its
        # standard output: start them here, on /dev/null, not on a lab's pipes.
        subprocess.run([*self.command, "cmd", "/c", "exit"], timeout=120, **quiet)

    def stop(self):
        # Only the server this one started: when another session already served the
        # prefix, ours exited at once, and `wineserver -k` would stop that session's.
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run(["wineserver", "-k"], env=host_environment(self.prefix),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


if __name__ == "__main__":
    # make run-LAB: the variables to run a lab under Wine with, as make's shell words.
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else settings.current().build
    print(" ".join(f"{k}='{v}'" for k, v in environment(build / "wineprefix").items()))
