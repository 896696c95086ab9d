"""build: compile one lab (the reference or a student's) -> an executable or the compiler's message.

The compiler and flags come from the Makefile through the environment (CC, CFLAGS for the
Windows labs; HOSTCC, HOSTCFLAGS for the native ones), so `make check` and the harness
build the same thing; an executable newer than its sources is reused.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CC = "x86_64-w64-mingw32-gcc"
DEFAULT_CFLAGS = "-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror"
DEFAULT_HOSTCC = "gcc"
DEFAULT_CC32 = "i686-w64-mingw32-gcc"
# The 32-bit builds of make ARCH=i686: a folder under build/ each, and their extra flags.
FLAVOURS_32 = {"i686": [], "i686-laa": ["-Wl,--large-address-aware"]}
COMPILE_TIMEOUT = 60        # seconds: a compiler still busy after this is stopped
MESSAGE_LIMIT = 20000       # characters of compiler output kept


@dataclass(frozen=True)
class Built:
    ok: bool
    exe: Path
    command: tuple
    message: str            # the compiler's output (warnings, errors), "" when silent


def toolchain(native: bool) -> tuple:
    """(compiler command, flags) for a Windows lab or a native one."""
    if native:
        cc = os.environ.get("HOSTCC") or DEFAULT_HOSTCC
        flags = os.environ.get("HOSTCFLAGS") or DEFAULT_CFLAGS
    else:
        cc = os.environ.get("CC") or DEFAULT_CC
        flags = os.environ.get("CFLAGS") or DEFAULT_CFLAGS
    return shlex.split(cc), shlex.split(flags)


def compile_32(source: Path, build: Path, flavour: str) -> Built:
    """The 32-bit build of a lab (make ARCH=i686): build/i686/ or, large-address-aware,
    build/i686-laa/."""
    cc = shlex.split(os.environ.get("CC32") or DEFAULT_CC32)
    flags = shlex.split(os.environ.get("CFLAGS") or DEFAULT_CFLAGS) + FLAVOURS_32[flavour]
    return compile_lab(source, Path(build) / flavour, flags=flags, cc=cc)


def exe_name(lab: str, native: bool) -> str:
    return lab if native else f"{lab}.exe"


def compile_lab(source: Path, out_dir: Path, native: bool = False, flags=None, cc=None) -> Built:
    """Compiles source (labs/NAME.c, with lab.h beside it) into out_dir, unless the
    executable there is already newer than both. flags replace the default flags;
    cc (a command list) replaces the compiler."""
    source = Path(source)
    exe = Path(out_dir) / exe_name(source.stem, native)
    default_cc, default_flags = toolchain(native)
    cc = list(cc or default_cc)
    command = (*cc, *(default_flags if flags is None else flags), "-o", str(exe), str(source))
    if not source.exists():
        return Built(False, exe, command, f"{source} does not exist")
    inputs = [source, source.with_name("lab.h")]
    newest = max(p.stat().st_mtime for p in inputs if p.exists())
    if exe.exists() and exe.stat().st_mtime >= newest:
        return Built(True, exe, command, "")
    exe.parent.mkdir(parents=True, exist_ok=True)
    ok, message = _compile(command)
    if not ok:
        exe.unlink(missing_ok=True)
    return Built(ok, exe, command, message)


def _compile(command, cwd=None) -> tuple:
    """(it worked, the compiler's message)."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=COMPILE_TIMEOUT, cwd=cwd, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return False, f"the compiler {command[0]} is not installed: run `make deps`"
    except subprocess.TimeoutExpired:
        return False, f"{command[0]} was still compiling after {COMPILE_TIMEOUT} s: stopped"
    message = (result.stdout + result.stderr).strip()
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + f"\n... ({len(message) - MESSAGE_LIMIT} more characters)"
    if result.returncode != 0:
        return False, message or f"{command[0]} exited with {result.returncode}"
    return True, message


def compile_submission(source: Path, lab_h: Path, cache: Path, native: bool = False,
                       flags=None) -> Built:
    """Compiles a student's NAME.c next to a copy of the reference lab.h (whatever lab.h
    the student's folder holds is not used), in a folder of the cache named after the
    sources and the command: the same file is compiled once, for every student who
    handed it in. The command and the compiler's messages name only NAME.c."""
    source = Path(source)
    cc, default_flags = toolchain(native)
    exe_file = exe_name(source.stem, native)
    command = (*cc, *(default_flags if flags is None else flags), "-o", exe_file, source.name)
    if not source.is_file():
        return Built(False, Path(exe_file), command, f"{source} does not exist")
    digest = hashlib.sha256()
    for part in (source.read_bytes(), Path(lab_h).read_bytes(), "\0".join(command).encode()):
        digest.update(len(part).to_bytes(8, "little") + part)
    folder = Path(cache) / digest.hexdigest()[:24]
    exe = folder / exe_file
    if exe.exists():
        return Built(True, exe, command, (folder / "message.txt").read_text(errors="replace"))
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f"{folder.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        shutil.copyfile(source, staging / source.name)
        shutil.copyfile(lab_h, staging / "lab.h")
        ok, message = _compile(command, cwd=staging)
        if not ok:
            return Built(False, exe, command, message)
        (staging / "message.txt").write_text(message)
        try:
            staging.rename(folder)      # atomic: a parallel compile of the same file may win
        except OSError:
            pass
        return Built(True, exe, command, message)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
