"""watch: which processes a started job has, and how to kill them all.

GroupWatch: an unsandboxed job (SANDBOX=0), known by its process group. BwrapWatch: a job in
bwrap, known by its pid namespace (or, where none can be made, its mount namespace), which no
process of it can leave. The user level has its own (sandbox_user.py): by its uid.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal

from . import sandbox_user


class GroupWatch:
    """An unsandboxed job (SANDBOX=0): its processes are not counted; killing it kills its
    process group, also after the program itself ended (whatever it left running)."""

    def __init__(self, proc):
        self.proc = proc

    def begin(self):
        pass

    def members(self):
        return None

    def sample(self):
        return sample(self.members())

    def wait(self):
        return wait(self.proc)

    def kill(self):
        _kill(self.proc, sandboxed=False)

    def close(self):
        pass


class BwrapWatch(GroupWatch):
    """A job in bwrap: its processes are its pid namespace's, which bwrap names on its info
    pipe once the sandbox exists (begin() waits for that); they all die with bwrap."""

    def __init__(self, proc, info_fd: int, gate_fd: int | None = None):
        super().__init__(proc)
        self.info_fd, self.gate_fd = info_fd, gate_fd
        self.namespace = self.init = self.pinned = None

    def begin(self):
        self.kind, self.namespace, self.init = _namespace(self.info_fd)
        if self.kind == "mnt":
            # Killed by its mount namespace, after the run too: held open so that its number
            # cannot go to another sandbox in the meantime (a freed namespace's inode number
            # is soon given again: seen, another run's compile killed). The sandbox waits on
            # the gate until it is held, so its first process is still there to open it by.
            self.pinned = _pin(self.init, self.namespace)
            if self.pinned is None:
                self.namespace = None
            self.init = None            # no init of its own here: every member counts
        if self.gate_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.gate_fd, b"go")
            os.close(self.gate_fd)
            self.gate_fd = None

    def close(self):
        if self.gate_fd is not None:        # never begun: bwrap failed before the sandbox
            os.close(self.gate_fd)
            self.gate_fd = None
        if self.pinned is not None:
            os.close(self.pinned)
            self.pinned = None

    def members(self):
        return _members(self.kind, self.namespace, self.init) if self.namespace else None

    def kill(self):
        _kill(self.proc, sandboxed=self.kind == "pid")
        if self.kind == "mnt" and self.namespace:
            # No pid namespace: what the sandbox started does not die with bwrap (a wineserver
            # daemonizes). Its mount namespace is its own, and cannot be left: kill by it.
            sandbox_user.kill_until_gone(lambda: _members("mnt", self.namespace, None))


def sample(members):
    """(how many processes a job has, the most CPU seconds one of them used), or None when
    they are not known."""
    if members is None:
        return None
    return len(members), max(map(cpu_seconds, members), default=0.0)


def wait(proc):
    """Blocks until the job's first process ended: (its status, its CPU seconds).
    wait4, not Popen.wait: the CPU time it reports tells a CPU limit from an exit(152)
    (unsandboxed; bwrap does not wait for the program, so sandboxed runs sample it).
    Windows has no wait4, and no CPU limit to tell apart."""
    if not hasattr(os, "wait4"):
        return proc.wait(), 0.0
    _, status, rusage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), rusage.ru_utime + rusage.ru_stime


def killed_for_cpu(status, cpu_used, cpu_limit, sandboxed) -> bool:
    """RLIMIT_CPU sends SIGXCPU at the soft limit, SIGKILL one second later. Through bwrap a
    signal shows as 128 + its number, like an exit(152): the CPU time used tells them apart.
    Half the limit is the margin: sandboxed, that time is sampled every 50 ms, and the
    kernel's own count runs ahead of the one wait4 reports (0.88 s at a 1 s limit)."""
    if not hasattr(signal, "SIGXCPU"):
        return False            # Windows: no RLIMIT_CPU
    signals = (signal.SIGXCPU, signal.SIGKILL)
    statuses = {128 + s for s in signals} if sandboxed else {-s for s in signals}
    return status in statuses and cpu_used >= cpu_limit / 2


def _namespace(info_fd: int) -> tuple:
    """bwrap's --info-fd JSON, written once the sandbox exists: ("pid", its pid namespace, the
    host pid of its init, bwrap's own process that reaps the others); without a pid namespace
    ("mnt", its mount namespace, the pid of the program it started)."""
    data = b""
    try:
        while chunk := os.read(info_fd, 4096):
            data += chunk
    finally:
        os.close(info_fd)
    try:
        info = json.loads(data)
        if "pid-namespace" in info:
            return "pid", info["pid-namespace"], info["child-pid"]
        return "mnt", info["mnt-namespace"], info["child-pid"]
    except (ValueError, KeyError):
        return None, None, None     # bwrap failed before the sandbox existed: its message is on stderr


def _pin(pid: int, namespace: int) -> int | None:
    """An open descriptor of pid's mount namespace when it is still `namespace` (it keeps
    that namespace, and its number, alive), else None."""
    try:
        fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    except OSError:
        return None
    if os.fstat(fd).st_ino != namespace:
        os.close(fd)
        return None
    return fd


def _members(kind: str, namespace: int, init: int | None) -> list:
    """The processes of one pid (or mount) namespace, the sandbox's, bwrap's own init not
    counted. Neither can be left: a process that double-forks or calls setsid is still here."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.stat(f"/proc/{entry.name}/ns/{kind}").st_ino == namespace \
                        and int(entry.name) != init:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system time of a live process, from /proc/PID/stat (fields 14 and 15)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _kill(proc, sandboxed=False):
    """The program and everything it started. Sandboxed: bwrap's process group; the sandbox
    dies with bwrap (--die-with-parent kills the sandbox's init, and with it every process
    of its pid namespace), so once bwrap is reaped there is nothing left to kill. Otherwise
    the program's own process group, also after the program itself ended."""
    if sandboxed and proc.returncode is not None:
        return
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
