"""build: compile one lab (the reference or a student's) -> an executable or the compiler's message.

The compiler and flags come from the Makefile through the environment (CC, CFLAGS for the
Windows labs; HOSTCC, HOSTCFLAGS for the native ones), so `make check` and the harness
build the same thing; an executable newer than its sources is reused.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:             # Windows: no parallel checks to keep apart
    fcntl = None

DEFAULT_CC = "x86_64-w64-mingw32-gcc"
DEFAULT_CFLAGS = "-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror"
DEFAULT_HOSTCC = "gcc"


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


def exe_name(lab: str, native: bool) -> str:
    return lab if native else f"{lab}.exe"


def compile_lab(source: Path, out_dir: Path, native: bool = False, flags=None) -> Built:
    """Compiles source (labs/NAME.c, with lab.h beside it) into out_dir, unless the
    executable there is already newer than both (and, when this function built it, was
    built from the same source with the same compiler and flags: kept in NAME.exe.cmd
    beside it; another --labs-dir, or a submission, builds again). flags replace the default
    flags. The compiler writes to a temporary name, renamed when it succeeded: an
    interrupted build never leaves an executable that looks complete."""
    source = Path(source)
    exe = Path(out_dir) / exe_name(source.stem, native)
    cc, default_flags = toolchain(native)
    command = (*cc, *(default_flags if flags is None else flags), "-o", str(exe), str(source))
    if not source.exists():
        return Built(False, exe, command, f"{source} does not exist")
    try:
        exe.parent.mkdir(parents=True, exist_ok=True)
        lock = open(exe.with_name(f".{exe.name}.lock"), "w")
    except OSError as e:
        return Built(False, exe, command, f"cannot build into {exe.parent}: {e.strerror}")
    with lock:
        if fcntl:
            # Parallel checks (pytest -n, two terminals) build each program once: the
            # second waits, then finds it built.
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _compile(source, exe, cc, command)


def _compile(source: Path, exe: Path, cc, command) -> Built:
    stamp = exe.with_name(exe.name + ".cmd")
    inputs = [source, source.with_name("lab.h")]
    newest = max(p.stat().st_mtime for p in inputs if p.exists())
    compiler = shlex.join([*command[:-3], str(source.resolve())])    # not the output's path
    if exe.exists() and exe.stat().st_mtime >= newest and \
            (not stamp.exists() or stamp.read_text() == compiler):
        return Built(True, exe, command, "")
    temporary = exe.with_name(f".{exe.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        result = subprocess.run([*command[:-3], "-o", str(temporary), str(source)],
                                capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        return Built(False, exe, command, f"the compiler {cc[0]} is not installed: run `make deps`")
    except OSError as e:
        return Built(False, exe, command, f"cannot build into {exe.parent}: {e.strerror}")
    message = (result.stdout + result.stderr).strip().replace(str(temporary), str(exe))
    try:
        if result.returncode != 0:
            temporary.unlink(missing_ok=True)
            return Built(False, exe, command, message or f"{cc[0]} exited with {result.returncode}")
        os.replace(temporary, exe)
        stamp.write_text(compiler)
    except OSError as e:
        return Built(False, exe, command, f"cannot build into {exe.parent}: {e.strerror}")
    return Built(True, exe, command, message)


HARNESS = Path(__file__).resolve().parent
ALONE_FLAGS = ["-Wall", "-Wextra", "-Werror"]          # the README's one-line command
PROGRAMS = HARNESS / "tests" / "programs"               # the self-tests' broken programs


def compile_alone(source: Path, build_dir: Path, native: bool = False) -> Built:
    """labs/NAME.c built by itself, with the plain command, into BUILD/alone/."""
    return compile_lab(source, Path(build_dir) / "alone", native=native, flags=ALONE_FLAGS)


def compile_program(source: Path, build_dir: Path) -> Built:
    """A self-test program (harness/tests/programs/NAME.c, with lab.h) into BUILD/selftest/."""
    return compile_lab(source, Path(build_dir) / "selftest",
                       flags=[*DEFAULT_CFLAGS.split(), "-I", str(HARNESS.parent / "labs")])


class BuildFolderError(Exception):
    """The build folder cannot be written: the message says which folder and why."""


def check_build_folder(folder: Path, probe_bytes: int = 1 << 20):
    """Raises BuildFolderError unless folder can be created and written (a probe of
    probe_bytes is written and removed): a read-only or full build folder is said once,
    at the start, not as a traceback in the middle of a run."""
    folder = Path(folder)
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"\0" * probe_bytes)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise BuildFolderError(f"cannot write to the build folder {folder}: {e.strerror}. "
                               f"Make it writable or free some space, or build elsewhere: "
                               f"make check BUILD=/some/folder") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def prebuild(build_dir: Path, workers: int):
    """What make check's tests compile besides the labs: every lab alone and every self-test
    program, `workers` at a time. Whatever does not compile is left to its test to report."""
    from concurrent.futures import ThreadPoolExecutor
    from .cases import CaseError, load_all
    try:
        native = {lab.name for lab in load_all(HARNESS.parent / "expected") if lab.native}
    except CaseError:
        native = set()              # make check says what is wrong with the case files
    jobs = [(compile_alone, source, build_dir, source.stem in native)
            for source in sorted((HARNESS.parent / "labs").glob("*.c"))]
    jobs += [(compile_program, source, build_dir) for source in sorted(PROGRAMS.glob("*.c"))]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda job: job[0](*job[1:]), jobs))


if __name__ == "__main__":
    # make check: build, beside the labs and the Wine prefix, what its tests will compile.
    import sys
    prebuild(Path(os.environ.get("BUILD") or "build"), int(sys.argv[1]) if len(sys.argv) > 1 else 2)
