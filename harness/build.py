"""build: compile one lab (the reference or a student's) -> an executable or the compiler's message.

The compiler and flags come from the Makefile through the environment (CC, CFLAGS for the
Windows labs; HOSTCC, HOSTCFLAGS for the native ones), so `make check` and the harness
build the same thing. Every build is atomic (the compiler writes a temporary name, renamed
when it succeeded) and locked (parallel checks, grade-all's workers, two terminals: the
same program is compiled once, the others wait and find it built):

  compile_lab         a lab from its folder (labs/NAME.c, lab.h beside it) into a build
                      folder; reused while it is newer than its sources and its stamp
                      (NAME.exe.cmd) names the same compiler, flags and source
  compile_32          the same, 32-bit (make ARCH=i686)
  compile_submission  a student's NAME.c with the reference lab.h, into the cache
                      (build/cache/), by content: one compile per distinct file

Grading compiles the same lab.h (and the windows.h it includes) for every lab of every
student: that is most of a compile (0.8 to 1 s of each lab's, measured). So lab.h is
compiled once into a precompiled header (GCC's lab.h.gch) put beside the copy of lab.h
that a submission is compiled with: GCC then reads it instead of the text, when the
submission includes "lab.h" first, and the program it builds is the same, byte for byte
(measured). When it cannot be used (another first include, other flags, another compiler)
GCC ignores it and reads lab.h: slower, never different.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from . import settings
from .explain import describe, meaning
from .submission import Source, read_source

try:
    import fcntl
except ImportError:             # Windows: no parallel checks to keep apart
    fcntl = None

DEFAULT_CC = "x86_64-w64-mingw32-gcc"
DEFAULT_CFLAGS = "-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror"
DEFAULT_HOSTCC = "gcc"
DEFAULT_CC32 = "i686-w64-mingw32-gcc"
# The 32-bit builds of make ARCH=i686: a folder under build/ each, and their extra flags.
FLAVOURS_32 = {"i686": [], "i686-laa": ["-Wl,--large-address-aware"]}
COMPILE_TIMEOUT = 30        # seconds: a compiler still busy after this is stopped (a lab: < 1 s)
MESSAGE_LIMIT = 20000       # characters of compiler output kept
PROGRAM_LIMIT = 16 << 20    # bytes: a submission's program (or any file its compile writes)


@dataclass(frozen=True)
class Built:
    ok: bool
    exe: Path
    command: tuple
    message: str            # the compiler's output (warnings, errors), "" when silent
    problem: str = ""       # when not ok: "did_not_compile" | "program_too_large"


def toolchain(native: bool) -> tuple:
    """(compiler command, flags) for a Windows lab or a native one."""
    config = settings.current()
    if native:
        cc = config.hostcc or DEFAULT_HOSTCC
        flags = config.hostcflags or DEFAULT_CFLAGS
    else:
        cc = config.cc or DEFAULT_CC
        flags = config.cflags or DEFAULT_CFLAGS
    return shlex.split(cc), shlex.split(flags)


def compile_32(source: Path, build: Path, flavour: str) -> Built:
    """The 32-bit build of a lab (make ARCH=i686): build/i686/ or, large-address-aware,
    build/i686-laa/."""
    config = settings.current()
    cc = shlex.split(config.cc32 or DEFAULT_CC32)
    flags = shlex.split(config.cflags or DEFAULT_CFLAGS) + FLAVOURS_32[flavour]
    return compile_lab(source, Path(build) / flavour, flags=flags, cc=cc)


def exe_name(lab: str, native: bool) -> str:
    return lab if native else f"{lab}.exe"


def _temporary(path: Path) -> Path:
    """A name beside path that no other process or thread uses."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")


@contextlib.contextmanager
def _locked(lock_path: Path):
    """Held by one process (and thread) at a time: the others wait. Raises OSError when the
    lock file cannot be created."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        if fcntl:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def compile_lab(source: Path, out_dir: Path, native: bool = False, flags=None, cc=None) -> Built:
    """Compiles source (labs/NAME.c, with lab.h beside it) into out_dir, unless the
    executable there is already newer than both (and, when this function built it, was
    built from the same source with the same compiler and flags: kept in NAME.exe.cmd
    beside it; another --labs-dir builds again). flags replace the default flags; cc (a
    command list) replaces the compiler."""
    source = Path(source)
    exe = Path(out_dir) / exe_name(source.stem, native)
    default_cc, default_flags = toolchain(native)
    cc = list(cc or default_cc)
    command = (*cc, *(default_flags if flags is None else flags), "-o", str(exe), str(source))
    if not source.exists():
        return Built(False, exe, command, f"{source} does not exist")
    try:
        with _locked(exe.with_name(f".{exe.name}.lock")):
            return _build(source, exe, command)
    except OSError as e:
        return Built(False, exe, command, f"cannot build into {exe.parent}: {e.strerror}")


def _build(source: Path, exe: Path, command) -> Built:
    stamp = exe.with_name(exe.name + ".cmd")
    inputs = [source, source.with_name("lab.h")]
    inputs += [Path(d) / "lab.h" for flag, d in zip(command, command[1:]) if flag == "-I"]
    newest = max(p.stat().st_mtime for p in inputs if p.exists())
    compiler = shlex.join([*command[:-3], str(source.resolve())])    # not the output's path
    if exe.exists() and exe.stat().st_mtime >= newest and \
            (not stamp.exists() or stamp.read_text() == compiler):
        return Built(True, exe, command, "")
    temporary = _temporary(exe)
    ok, message = _compile([*command[:-3], "-o", str(temporary), str(source)])
    message = message.replace(str(temporary), str(exe))
    if not ok:
        temporary.unlink(missing_ok=True)
        return Built(False, exe, command, message)
    os.replace(temporary, exe)
    stamp.write_text(compiler)
    return Built(True, exe, command, message)


def _compile(command, cwd=None) -> tuple:
    """(it worked, the compiler's message)."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=COMPILE_TIMEOUT, cwd=cwd, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return False, f"the compiler {command[0]} is not installed: run `make deps`"
    except subprocess.TimeoutExpired:
        return False, f"{command[0]} was still compiling after {COMPILE_TIMEOUT} s: stopped"
    message = _cut_message((result.stdout + result.stderr).strip())
    if result.returncode != 0:
        return False, message or f"{command[0]} exited with {result.returncode}"
    return True, message


def _cut_message(message: str) -> str:
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + f"\n... ({len(message) - MESSAGE_LIMIT} more characters)"
    return message


def _key(*parts: bytes) -> str:
    """A folder name for these inputs: another input, another name."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()[:24]


def precompiled_header(lab_h: Path, cache: Path, cc, flags) -> Path | None:
    """lab_h compiled once by cc with flags into cache/pch-KEY/lab.h.gch (locked, atomic),
    or None when it does not compile: then submissions are compiled from the text."""
    compiler = shutil.which(cc[0]) if cc else None
    if compiler is None:
        return None
    made = os.stat(compiler)                    # another compiler, another header
    folder = Path(cache) / ("pch-" + _key(Path(lab_h).read_bytes(), "\0".join([*cc, *flags]).encode(),
                                          f"{compiler} {made.st_size} {made.st_mtime_ns}".encode()))
    header = folder / "lab.h.gch"
    try:
        with _locked(folder.with_name(f".{folder.name}.lock")):
            if header.exists():
                return header
            staging = _temporary(folder)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            try:
                shutil.copyfile(lab_h, staging / "lab.h")
                ok, _ = _compile([*cc, *flags, "-c", "-x", "c-header", "-o", "lab.h.gch", "lab.h"],
                                 cwd=staging)  # -c: linker flags (-Wl,...) are not for it
                if not ok:
                    return None
                staging.rename(folder)
                return header
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        return None


def compile_submission(source, lab_h: Path, cache: Path, native: bool = False,
                       flags=None, runner=None) -> Built:
    """Compiles a student's NAME.c (a submission.Source, or a path read as one) next to a
    copy of the reference lab.h (whatever lab.h the student's folder holds is not used), in
    a folder of the cache named after the sources and the command: the same file is compiled
    once, for every student who handed it in (at the same time too: the others wait for it).
    The command and the compiler's messages name only NAME.c and lab.h.

    runner (a run.Runner): the compiler runs through runner.run_tool, in the sandbox, where
    it sees the system, the precompiled header and a fresh folder holding the two sources,
    and nothing else; with its limits, COMPILE_TIMEOUT and no file over PROGRAM_LIMIT.
    Grading always gives one. Without (the reference labs, in benchmarks), it runs directly."""
    if not isinstance(source, Source):
        source = read_source(Path(source))
    cc, default_flags = toolchain(native)
    exe_file = exe_name(Path(source.name).stem, native)
    command = (*cc, *(default_flags if flags is None else flags), "-o", exe_file, source.name)
    if source.refused:
        return Built(False, Path(exe_file), command, source.refused, "did_not_compile")
    folder = Path(cache) / _key(source.data, Path(lab_h).read_bytes(), "\0".join(command).encode())
    exe = folder / exe_file
    try:
        with _locked(folder.with_name(f".{folder.name}.lock")):
            if exe.exists():
                return Built(True, exe, command, (folder / "message.txt").read_text(errors="replace"))
            staging = _temporary(folder)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            try:
                (staging / source.name).write_bytes(source.data)
                shutil.copyfile(lab_h, staging / "lab.h")
                header = None if native else precompiled_header(lab_h, cache, cc, command[len(cc):-3])
                if header is not None:
                    with contextlib.suppress(OSError):  # Windows may refuse links: no matter
                        (staging / "lab.h.gch").symlink_to(header)
                if runner is None:
                    ok, message = _compile(command, cwd=staging)
                    problem = "" if ok else "did_not_compile"
                else:
                    ok, message, problem = _compile_sandboxed(runner, command, staging, header)
                (staging / "lab.h.gch").unlink(missing_ok=True)
                if ok and (staging / exe_file).stat().st_size > PROGRAM_LIMIT:
                    ok, problem = False, "program_too_large"
                    message = _too_large(command[0], message)
                if not ok:
                    return Built(False, exe, command, message, problem)
                (staging / "message.txt").write_text(message)
                staging.rename(folder)      # atomic: a reader sees all of it or nothing
                return Built(True, exe, command, message)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as e:
        return Built(False, exe, command, f"cannot build into {cache}: {e.strerror}", "did_not_compile")


def _too_large(compiler: str, message: str) -> str:
    # Not gcc's "internal compiler error ... submit a full bug report": only the line that says
    # which of its programs was stopped.
    stopped = [line for line in message.splitlines() if "File size limit exceeded" in line]
    said = f"\n{compiler}: {stopped[0].split(': ', 1)[-1]}" if stopped else ""
    return (f"the program would be larger than {PROGRAM_LIMIT >> 20} MiB, and no lab is more than "
            f"1 MiB: the compiler was stopped (an .incbin of a large file, or a huge initialised "
            f"array?){said}")


def _compile_sandboxed(runner, command, folder: Path, header: Path | None) -> tuple:
    """(it worked, the compiler's message, the problem: "" | "did_not_compile" |
    "program_too_large"), the compiler run by runner in its sandbox, in folder."""
    seen = [header] if header else []
    compiler = shutil.which(command[0])
    if compiler and not os.path.realpath(compiler).startswith("/usr/"):
        seen.append(Path(os.path.realpath(compiler)).parent.parent)    # e.g. /opt/mingw
    outcome = runner.run_tool(command, folder, COMPILE_TIMEOUT, readonly=seen, file_size=PROGRAM_LIMIT)
    message = _cut_message((outcome.stdout + outcome.stderr).strip())
    if outcome.kind == "exit" and outcome.code == 0:
        return True, message, ""
    if "File size limit exceeded" in message:   # SIGXFSZ: the assembler or linker passed it
        return False, _too_large(command[0], message), "program_too_large"
    if outcome.kind == "exit" and "out of memory" in message:
        return False, (f"the compiler ran out of memory (the limit is {runner.limits.memory >> 20} "
                       f"MiB; a lab needs some 120, measured): an #include of something endless, such as "
                       f"/dev/zero?\n{message}"), "did_not_compile"
    if outcome.kind == "exit":
        return False, message or f"{command[0]} exited with {outcome.code}", "did_not_compile"
    if outcome.kind == "timeout":
        why = (f"{command[0]} was still compiling after {COMPILE_TIMEOUT:g} s: stopped (a lab "
               f"compiles in about a second: an #include of a device such as /dev/zero, or of "
               f"something huge?)")
    else:
        why = f"{command[0]} was stopped: {describe(outcome)} - {meaning(outcome)}"
    return False, why + (f"\n{message}" if message else ""), "did_not_compile"


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
    prebuild(settings.current().build, int(sys.argv[1]) if len(sys.argv) > 1 else 2)
