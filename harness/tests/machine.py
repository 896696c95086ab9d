"""What a run may have left on the machine: processes still running, files outside its folder.

A test runs its own copy of a program, at a path no other run has (its tmp_path), and looks
for that path, never a bare name: other tests (pytest -n) and other checkouts run the same
programs at the same time, and their processes are not ours to count, or to kill.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..sandbox import SCRATCH
from ..sandbox_user import alive as _running     # not a zombie: it has not ended


def processes(exe: Path) -> list:
    """Running processes of exe: those whose command line names it, and those in its
    sandbox, such as the sandbox's own wineserver: another mount namespace, one with the
    sandbox's scratch folder, where exe exists (other processes that see this machine's
    /tmp, in a bwrap --bind / / for instance, have no scratch folder)."""
    exe = str(Path(exe).resolve())
    own = os.stat("/proc/self/ns/mnt").st_ino
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                named = exe.encode() in f.read()
            inside = os.stat(f"/proc/{pid}/ns/mnt").st_ino != own and \
                os.path.isdir(f"/proc/{pid}/root{SCRATCH}") and \
                os.path.exists(f"/proc/{pid}/root{exe}")
        except OSError:
            continue
        if (named or inside) and _running(pid):
            found.append(int(pid))
    return found


def leftovers(exe: Path, grace: float = 1.0) -> list:
    """The processes of exe still running after a grace period (a killed sandbox takes a
    moment to be torn down). Empty when the machine is as it was."""
    deadline = time.monotonic() + grace
    while (found := processes(exe)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def describe(pids) -> str:
    """pid: command line, for a message."""
    lines = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            lines.append(f"{pid}: {command[:120]}")
        except OSError:
            lines.append(f"{pid}: (gone)")
    return "; ".join(lines)


def windows_path(path: Path) -> str:
    """The path as a Wine program names it: Z: is the Unix root."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")
