"""sandbox: the bubblewrap (bwrap) command line for one job, a run or a compile alike.

A Job is one process to start as the sandbox sees it; Sandbox.arguments() is bwrap's command
line for it, Sandbox.probe() the strongest form of it that starts on this machine. Starting
and watching the job is run.py's; finding and killing its processes watch.py's; the user
level (no namespaces: a uid of its own per run) sandbox_user.py's.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .settings import ConfigError, Limits

# What a sandboxed run sees of /etc: what the dynamic loader, Wine's launcher and fontconfig
# read. Not all of it: /etc holds secrets (shadow, ssh keys) that a program could print.
ETC_VISIBLE = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime",
               "passwd", "group", "nsswitch.conf")
SCRATCH = "/sandbox"            # the program's own folder, inside the sandbox


class SandboxUnavailable(ConfigError):
    """bwrap cannot be used here: the message says why and what to do."""


@dataclass(frozen=True)
class Job:
    """One process to start, as the sandbox sees it."""
    command: tuple                  # what runs (inside the sandbox: paths as it sees them)
    env: dict                       # its whole environment
    exe: Path | None = None         # a program bound read-only at its own path
    folder: Path | None = None      # a host folder it works in, read-write (else an empty tmpfs)
    readonly: tuple = ()            # other host paths it sees, read-only, at their own paths
    reserved: int = 0               # address space allowed beside the memory limit
    file_size: int | None = None    # RLIMIT_FSIZE: the largest file it may write



class Sandbox:
    """A bubblewrap (bwrap) command line for one run, or for one job's runs (job.py).

    What a run sees: /usr, a few files of /etc and the CPU list of /sys, read-only; a new
    /dev and /proc (its own processes only); the Wine prefix and the program, read-only, at
    their own paths; its scratch folder SCRATCH (its cwd and $HOME), a private /tmp and
    %TEMP%, all three empty tmpfs of limited size that vanish with it. Nothing else: not
    expected/, not the rest of the checkout, not other programs or submissions, not /root or
    $HOME, not the host's /tmp. No network (its own empty network namespace), its own pid,
    IPC and UTS namespaces; it cannot make new user namespaces.

    Why the wineserver is inside the sandbox, never the session's persistent one: the
    wineserver opens files *for* its clients (NtCreateFile sends the Unix path to the
    server, which open()s it), so a sandboxed program talking to a server outside reads what
    the server sees: measured, a program in a sandbox where expected/ was hidden read the
    real expected/README.md through the shared server. Its clients must also share its pid
    namespace (it signals and reads the memory of processes by the pids they report). So a
    sandbox for one run starts a server of its own (with wineboot disabled, WINEDLLOVERRIDES
    wineboot.exe=d: no services, no prefix update, some 20 ms), and a job (job.py) keeps one
    sandbox and its server for all the runs of one lab, emptied between them.

    The prefix is bound read-only: Wine runs with it (the registry is loaded into the
    server's memory and never saved, since the server is killed with the sandbox), and no
    run can change what another sandbox sees.
    """

    kind = "bwrap"

    def __init__(self, bwrap: str, limits: Limits, prefix: Path | None = None, wine=None,
                 kept: dict | None = None):
        self.bwrap = bwrap
        self.kept = dict(kept or {})    # settings.KEPT, as the grader has them
        self.limits = limits
        self.prefix = Path(prefix).resolve() if prefix else None
        self.extra_binds = []           # a Wine installed outside /usr (e.g. /opt/wine)
        self.wine = list(wine) if wine else None
        self.wineserver = "wineserver"
        if wine and shutil.which(wine[0]):
            # Found here, by absolute path: the sandbox's PATH is /usr/bin:/bin. Its server
            # is the wineserver beside it: another version would refuse its clients.
            real = Path(os.path.realpath(shutil.which(wine[0])))
            self.wine = [str(real), *wine[1:]]
            if (real.parent / "wineserver").exists():
                self.wineserver = str(real.parent / "wineserver")
            if not str(real).startswith("/usr/"):
                self.extra_binds.append(str(real.parent.parent))
        self.disable_userns = True      # bwrap >= 0.8; dropped by probe() when older
        self.pid_namespace = True       # dropped by probe() where /proc cannot be mounted

    def arguments(self, exe: Path | None, env: dict, folder: Path | None = None,
                  readonly=(), pid1: bool = False) -> list:
        """bwrap's command line: exe bound read-only at its own path; folder (a host folder)
        bound read-write as SCRATCH, else SCRATCH is an empty tmpfs; readonly, more host
        paths bound read-only at their own paths; pid1: the command is the pid namespace's
        init, with no bwrap reaper (a job's spawner: job.py)."""
        size = str(self.limits.scratch)
        args = [self.bwrap, "--unshare-user", *(["--unshare-pid"] if self.pid_namespace else []),
                "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
        if self.disable_userns:
            args.append("--disable-userns")
        if os.geteuid() == 0:
            # bwrap run by root keeps every capability inside its user namespace (measured:
            # CapEff 1fffeffffff): a run could then ptrace any process of its sandbox.
            args += ["--cap-drop", "ALL"]
        if pid1:
            args.append("--as-pid-1")
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in ETC_VISIBLE:
            if os.path.lexists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for path in self.extra_binds:
            args += ["--ro-bind", path, path]
        args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",
                 "--dev", "/dev", *(["--proc", "/proc"] if self.pid_namespace else
                                    ["--ro-bind", "/proc", "/proc"]),
                 "--size", size, "--tmpfs", "/tmp"]
        if self.prefix:
            args += ["--ro-bind", str(self.prefix), str(self.prefix)]
            for temp in self.temp_folders():
                args += ["--size", size, "--tmpfs", str(temp)]
        if folder is None:
            args += ["--size", size, "--tmpfs", SCRATCH]
        else:
            args += ["--bind", str(folder), SCRATCH]
        args += ["--chdir", SCRATCH]
        for path in (*([exe] if exe is not None else []), *readonly):
            args += ["--ro-bind", str(path), str(path)]
        args += ["--remount-ro", "/", "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args

    def temp_folders(self) -> list:
        """The prefix's %TEMP% folders: each run's own, empty, in memory."""
        return sorted(self.prefix.glob("drive_c/users/*/AppData/Local/Temp")) if self.prefix else []

    def describe(self) -> str:
        if self.pid_namespace:
            return "bwrap sandbox"
        return ("bwrap sandbox without a pid namespace (a new /proc cannot be mounted here, as "
                "inside another sandbox: the machine's processes are visible, read-only)")

    def environment(self, wine_env: dict) -> dict:
        # No TMPDIR (its /tmp is the default): Wine 10.0 aborts at start whenever TMPDIR
        # is set ("free(): invalid pointer"; measured on Debian 13's 10.0~repack-6).
        env = {"PATH": "/usr/bin:/bin", "HOME": SCRATCH}
        env.update(self.kept)
        env.update(wine_env)
        return env

    def probe(self):
        """Runs /bin/true in the sandbox once, and keeps the strongest form that starts: all
        namespaces; else (an older bwrap) without --disable-userns; else, where no new /proc
        can be mounted (inside another sandbox or a container that masks /proc), without a pid
        namespace. bwrap missing or refused says so here, clearly."""
        first = None
        for self.pid_namespace in (True, False):
            for self.disable_userns in (True, False):
                command = [*self.arguments(None, {"PATH": "/usr/bin:/bin"}), "--", "true"]
                try:
                    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                            text=True, timeout=60)
                except (OSError, subprocess.TimeoutExpired) as e:
                    raise SandboxUnavailable(f"cannot start the sandbox ({self.bwrap}): {e}") from None
                if result.returncode == 0:
                    if not self.pid_namespace:
                        print(f"sandbox: {self.describe()}", file=sys.stderr, flush=True)
                    return
                first = first or result
                if "disable-userns" not in result.stderr:
                    break               # not an older bwrap: --disable-userns is not the trouble
        self.pid_namespace = self.disable_userns = True
        raise SandboxUnavailable(
            f"the sandbox does not start here: {first.stderr.strip() or first.returncode}\n"
            "bwrap needs user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
            "24.04 AppArmor's bwrap profile). To run without a sandbox, only code you trust: SANDBOX=0")


def refusal(wanted: str = "bwrap") -> str:
    """Why bwrap is installed but cannot start here (Ubuntu 24.04's AppArmor, a container):
    bwrap's own words; "" when it starts, or when it is missing (the runner says so when it
    starts). make check on a student's machine then runs without it, and says so."""
    try:
        bwrap = find_bwrap(wanted)
    except SandboxUnavailable:
        return ""
    try:
        with contextlib.redirect_stderr(io.StringIO()):    # the runner says its level itself
            Sandbox(bwrap, Limits()).probe()
    except SandboxUnavailable as e:
        return str(e)
    return ""


def find_bwrap(wanted: str = "bwrap") -> str:
    """bwrap's path (wanted: BWRAP, a path or a name on PATH; the tests give one that always
    fails), or SandboxUnavailable saying what to install."""
    if sys.platform == "win32":
        raise SandboxUnavailable(
            "there is no sandbox on Windows (bwrap is Linux-only): programs would run with all "
            "your rights. To run them anyway, only code you trust: SANDBOX=0 (make check SANDBOX=0)")
    found = shutil.which(wanted)
    if not found:
        if wanted != "bwrap":
            raise SandboxUnavailable(f"BWRAP={wanted!r} is not a program that can be run")
        raise SandboxUnavailable(
            "bwrap (bubblewrap) is not installed, so programs cannot run sandboxed. `make deps` "
            "installs it (Debian/Ubuntu: apt-get install bubblewrap); to run without a sandbox, "
            "only code you trust: SANDBOX=0")
    return found


if __name__ == "__main__":
    # The starter's make run and make check: why the sandbox cannot start here, in one line.
    from .settings import current
    why = refusal(current().bwrap)
    print(why.splitlines()[0].removeprefix("the sandbox does not start here: ") if why else "")
