"""submission: a student's folder read as data -> the source of each lab, or why it is not read.

A submission is untrusted like the programs built from it: its files are read once, as
bytes, and nothing in it is followed. A lab's file that is a symbolic link (to the hidden
cases, a classmate's file, the grader's home), a folder, a named pipe, a device or larger
than SOURCE_LIMIT is not read at all: the lab does not compile, with the reason in one line.
The file is opened with O_NOFOLLOW and checked again once open, so a link swapped in between
the look and the read is refused too. A `labs/` folder that is a link is not entered.

    find_sources(folder, labs, known)   {lab: Source or None}, {lab: why it is missing}, notes
    read_source(path)                   one file -> Source (with .refused set when not read)
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

SOURCE_LIMIT = 256 << 10        # bytes: a lab's source is under 30 KiB

# What a name in a submission can be besides a file, as a student reads it.
NOT_A_FILE = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
              (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a device"),
              (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


@dataclass(frozen=True)
class Source:
    name: str                   # NAME.c
    data: bytes                 # what was read; empty when refused
    refused: str = ""           # why it was not read, for the student ("" when it was)


def _kind(mode: int) -> str:
    return next((what for test, what in NOT_A_FILE if test(mode)), "not a regular file")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def read_source(path: Path, limit: int = SOURCE_LIMIT) -> Source:
    """The bytes of path, read once without following a link, or the reason they are not."""
    path = Path(path)
    name = path.name

    def refused(why: str) -> Source:
        return Source(name, b"", why)

    def not_a_file(mode: int) -> Source:
        return refused(f"{name} is {_kind(mode)}, not a file: hand in the file {name} itself")

    def too_large(size: int) -> Source:
        return refused(f"{name} is {_size(size)}: a lab's source is under 30 KiB, and a file over "
                       f"{_size(limit)} is not read")

    try:
        seen = os.lstat(path)
    except OSError as e:
        return refused(f"{name} cannot be read: {e.strerror}")
    if not stat.S_ISREG(seen.st_mode):
        return not_a_file(seen.st_mode)
    if seen.st_size > limit:
        return too_large(seen.st_size)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:            # ELOOP: it became a link after the look
        return refused(f"{name} cannot be read: {e.strerror}")
    with os.fdopen(fd, "rb") as f:
        opened = os.fstat(f.fileno())
        if not stat.S_ISREG(opened.st_mode):
            return not_a_file(opened.st_mode)
        data = f.read(limit + 1)
    if len(data) > limit:
        return too_large(len(data))
    return Source(name, data)


def _is_folder(path: Path) -> bool:
    """A real folder: not a link to one."""
    return path.is_dir() and not path.is_symlink()


def find_sources(folder: Path, labs, known=frozenset()) -> tuple:
    """({lab: Source or None}, {lab: why it is missing}, notes): in folder, or in folder/labs
    when the labs are there (a clone of the starter). known: the names of every lab, so that
    one left out of this grading (LAB=) is not called a stray file."""
    folder = Path(folder)
    where = folder
    labs_dir = folder / "labs"
    notes = []
    if not any(os.path.lexists(folder / f"{lab.name}.c") for lab in labs):
        if _is_folder(labs_dir):
            where = labs_dir
        elif labs_dir.is_symlink():
            notes.append("labs/ is a symbolic link: not followed; hand in the folder itself")
    names = {f"{name}.c" for name in known} | {f"{lab.name}.c" for lab in labs}
    present = sorted(entry.name for entry in os.scandir(where)) if _is_folder(where) else []
    sources, missing = {}, {}
    for lab in labs:
        path = where / f"{lab.name}.c"
        sources[lab.name] = read_source(path) if os.path.lexists(path) else None
        if sources[lab.name] is None:
            near = [n for n in present if n.lower() == f"{lab.name}.c".lower()]
            if near:
                missing[lab.name] = f" (there is {near[0]}: the name must be exactly {lab.name}.c)"
    if where != folder:
        notes.append(f"the labs were taken from {where.name}/")
    if "lab.h" in present:
        notes.append("lab.h: not used; every lab is compiled with the reference lab.h")
    ignored = [n for n in present if n not in names and n != "lab.h" and not n.startswith(".")]
    if ignored:
        shown = ", ".join(ignored[:12]) + (f" and {len(ignored) - 12} more" if len(ignored) > 12 else "")
        notes.append(f"ignored (not a lab of this course): {shown}")
    return sources, missing, notes
