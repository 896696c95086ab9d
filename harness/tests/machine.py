"""What a run may have left on the machine: processes still running, files outside its folder.

Checked by absolute path, never by a bare name: other checkouts run the same programs at
the same time, and their processes are not ours to count (or to kill).
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def _running(pid: str) -> bool:
    """Alive and not a zombie (a zombie has ended; only its parent has not collected it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes(needle: str) -> list:
    """Running processes whose command line or environment contains needle."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                text = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                text += f.read()
        except OSError:
            continue
        if needle.encode() in text and _running(pid):
            found.append(int(pid))
    return found


def leftovers(*needles: str, grace: float = 1.0) -> dict:
    """needle -> pids still running after a grace period (a killed sandbox takes a moment
    to be torn down). Empty when the machine is as it was."""
    deadline = time.monotonic() + grace
    while True:
        found = {n: pids for n in needles if (pids := processes(n))}
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def windows_path(path: Path) -> str:
    """The path as a Wine program names it: Z: is the Unix root."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")
