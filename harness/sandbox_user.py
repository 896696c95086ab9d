"""sandbox_user: the sandbox where no namespace can be made (Docker's default profile, so
Gradescope; CI containers), for a grader that is root: every compile and run of a submission
executes as a user of its own.

Each run takes a uid of its own from a pool of numbers no account uses (FIRST_UID + slot; a
slot is held with a lock file in LOCKS, so parallel workers and two graders on one machine
never share one), becomes it with `setpriv --reuid --regid --clear-groups --no-new-privs`, and works in
a fresh folder only it can write (its cwd, $HOME and, for the compiler, $TMPDIR). What it can read is what any
user of the machine can: so everything the grader keeps (the cases, hidden or public, the
harness, the submissions, the cache, what grading writes) must be readable by root only:
check_private() proves it before the first run, by trying to read each as that user.

The Wine prefix is read-only to it: the run's own prefix folder (Wine wants one owned by its
user) holds links to the shared prefix's files, which root owns, and a registry the run's
wineserver may save there, thrown away with the folder. At the end of the run every process
of its uid is killed (the uid owns nothing else, so a process that escaped its group or
session is found too), its folder is removed, and so is whatever it left in the machine's
shared temporary folders. Processes are counted by uid (RLIMIT_NPROC, exact here for the same
reason); the other limits are the bwrap level's rlimits.

What this level cannot do, and bwrap does: hide the network, give the run its own /tmp (it is
emptied of the run's files after it instead), or hide world-readable files of the machine.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

from . import settings

try:
    import fcntl
except ImportError:             # Windows: there is no user level there
    fcntl = None

FIRST_UID = 1_900_000_000       # uids FIRST_UID .. FIRST_UID + SLOTS - 1: no account has them
SLOTS = 64
SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm")
USER_NAME = "vmlabs-student"    # $USER and $LOGNAME of a run (Wine names its profile after it)


class UserSandboxUnavailable(RuntimeError):
    """The user level cannot be used: the message says why and what to do."""


def is_possible() -> str:
    """"" when this process can run programs as other users, else why not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the grader is not root, so it cannot run submissions as another user"
    if not shutil.which("setpriv"):
        return "setpriv (util-linux) is not installed"
    return ""


def _owned_by(uid: int, path: str) -> bool:
    try:
        return os.lstat(path).st_uid == uid
    except OSError:
        return False


def alive(pid: str) -> bool:
    """Not a zombie: a killed process whose parent (init, here) has not reaped it yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_of(uid: int) -> list:
    """The pids of every live process whose owner is uid."""
    return [int(e.name) for e in os.scandir("/proc")
            if e.name.isdigit() and _owned_by(uid, e.path) and alive(e.name)]


def kill_until_gone(find, rounds: int = 50):
    """SIGKILL to every pid find() returns, until it returns none (a forking loop gets new
    pids between two looks)."""
    for _ in range(rounds):
        pids = find()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)


def kill_all(uid: int):
    """Every process of uid."""
    kill_until_gone(lambda: processes_of(uid))


def _setpriv(uid: int) -> list:
    """The command prefix that runs what follows as uid, with no group and no way to gain
    privileges (no setuid program works under it)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]


def become_subreaper():
    """The processes a run leaves orphaned (Wine's server daemonizes) become the grader's
    children instead of init's, so that reap() can collect them: in a container whose init
    reaps nothing, every run would leave zombies."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap(uid: int):
    """Collects the zombies of uid that are the grader's children (and no other child)."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and _owned_by(uid, entry.path) and not alive(entry.name):
            try:
                os.waitpid(int(entry.name), os.WNOHANG)
            except ChildProcessError:
                pass


def remove_owned(uid: int, folders=SHARED_TEMP):
    """What uid left in the machine's shared temporary folders (Wine's server folder among it)."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if _owned_by(uid, entry.path):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        pass


LOCKS = Path("/tmp/.vmlabs-uids")    # one place per machine: two graders never share a uid


def _locks() -> Path:
    """The folder of the pool's lock files: root's own, or it is not trusted."""
    LOCKS.mkdir(mode=0o700, exist_ok=True)
    seen = os.lstat(LOCKS)
    if not stat.S_ISDIR(seen.st_mode) or seen.st_uid != 0 or seen.st_mode & 0o022:
        raise UserSandboxUnavailable(f"{LOCKS} is not a folder that only root can write: "
                                     f"remove it, and grade again")
    return LOCKS


class _Slot:
    """One uid of the pool, held (a lock file) until released."""

    def __init__(self):
        locks = _locks()
        while True:
            for n in range(SLOTS):
                handle = open(locks / f"uid-{n}.lock", "w")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.close()
                    continue
                self.handle, self.uid = handle, FIRST_UID + n
                return
            time.sleep(0.05)            # every slot busy: wait for one

    def release(self):
        self.handle.close()


class UserRun:
    """One job started as a user of its own: watched, killed and cleaned up by uid."""

    def __init__(self, proc, slot: _Slot, folder: Path, work: Path, results: Path | None,
                 file_size: int | None):
        self.proc, self.slot, self.folder, self.work = proc, slot, folder, work
        self.results, self.file_size = results, file_size

    def begin(self):
        pass

    def members(self) -> list:
        return processes_of(self.slot.uid)

    def sample(self):
        from .watch import sample      # watch.py imports this module
        return sample(self.members())

    def wait(self):
        from .watch import wait
        return wait(self.proc)

    def kill(self):
        kill_all(self.slot.uid)

    def close(self):
        """Everything of the run gone; what a compile made copied back first."""
        self.kill()
        try:
            if self.results is not None:
                for entry in os.scandir(self.work):
                    if entry.is_file(follow_symlinks=False) and \
                            not (self.results / entry.name).exists() and \
                            (self.file_size is None or entry.stat().st_size <= self.file_size):
                        shutil.copyfile(entry.path, self.results / entry.name)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            remove_owned(self.slot.uid)
            reap(self.slot.uid)
            self.slot.release()


def _place(source: Path, target: Path):
    """source at target, readable (and, a program, runnable) by the run and not its to change:
    a hard link (root owns the file) when one can be made, else a copy. Its mode is set for
    any user: the original is in a folder of the grader's only (the cache), so that opens
    nothing else."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    os.chmod(target, 0o755 if os.access(source, os.X_OK) else 0o644)


class UserSandbox:
    """The user level: see the module's text. base: a folder of the grader's (under BUILD)
    where the runs' folders are made: root-owned, traversable, not listable (0711)."""

    kind = "user"

    def __init__(self, limits, base: Path, prefix: Path | None = None, wine=None, wineserver=None):
        self.limits = limits
        self.base = Path(base).resolve()
        self.prefix = Path(prefix).resolve() if prefix else None
        self.wine = list(wine) if wine else None
        self.wineserver = wineserver or "wineserver"

    def describe(self) -> str:
        return "user sandbox (no namespaces here: each run as a uid of its own, via setpriv)"

    def environment(self, wine_env: dict) -> dict:
        """A run's environment; the paths of its own folder are set when it starts."""
        env = {"PATH": "/usr/bin:/bin", "USER": USER_NAME, "LOGNAME": USER_NAME}
        env.update({k: v for k, v in settings.current().kept.items() if k in ("LANG", "LC_ALL", "LC_CTYPE", "TZ")})
        env.update(wine_env)
        return env

    def _folder(self, uid: int) -> tuple:
        """(the run's folder, its working folder): made, owned by uid, 0700."""
        folder = self.base / f"run-{uuid.uuid4().hex}"
        work = folder / "work"
        for path in (folder, work, folder / "tmp"):
            path.mkdir(mode=0o700)
            os.chown(path, uid, uid)
        return folder, work

    def _own_prefix(self, folder: Path, uid: int) -> Path:
        """A prefix folder of the run's own, every entry a link to the shared prefix's."""
        prefix = folder / "prefix"
        prefix.mkdir(mode=0o700)
        for entry in os.scandir(self.prefix):
            if entry.name != "wineserver":      # where a server's socket is: the run's own
                (prefix / entry.name).symlink_to(entry.path)
                os.chown(prefix / entry.name, uid, uid, follow_symlinks=False)
        os.chown(prefix, uid, uid)
        return prefix

    def launch(self, job, options: dict):
        """Popen of job as a uid of its own, and the UserRun that watches and cleans it up."""
        self.base.mkdir(mode=0o711, parents=True, exist_ok=True)
        slot = _Slot()
        try:
            kill_all(slot.uid)              # a grader killed before it cleaned up
            remove_owned(slot.uid)
            folder, work = self._folder(slot.uid)
            command = list(job.command)
            if job.exe is not None:
                placed = folder / Path(job.exe).name
                _place(Path(job.exe), placed)
                command = [str(placed) if part == str(job.exe) else part for part in command]
            if job.folder is not None:
                for entry in os.scandir(job.folder):
                    if entry.is_file():         # a link to the precompiled header: its target
                        _place(Path(os.path.realpath(entry.path)), work / entry.name)
            env = dict(job.env, HOME=str(work))
            if "WINEPREFIX" in env and self.prefix is not None:
                env["WINEPREFIX"] = str(self._own_prefix(folder, slot.uid))
            else:               # not for Wine: Wine 10.0 aborts at start when TMPDIR is set
                env["TMPDIR"] = str(folder / "tmp")
            limits = options.get("preexec_fn")
            # The harness counts the uid's processes (every 50 ms) and kills the run past the
            # limit, as at the bwrap level; RLIMIT_NPROC, above it, only stops a fork bomb
            # between two counts. The uid owns nothing else: it counts this run alone.
            processes = max(256, 4 * self.limits.processes)

            def set_limits():
                if limits:
                    limits()
                import resource
                resource.setrlimit(resource.RLIMIT_NPROC, (processes,) * 2)
                if job.file_size is None:       # the bwrap level's SCRATCH, per file here
                    resource.setrlimit(resource.RLIMIT_FSIZE, (self.limits.scratch,) * 2)

            options = dict(options, preexec_fn=set_limits, cwd=work, env=env)
            proc = subprocess.Popen([*_setpriv(slot.uid), *command], **options)
        except BaseException:
            slot.release()
            raise
        return proc, UserRun(proc, slot, folder, work, job.folder, job.file_size)

    def _as_user(self, script: str, *args, timeout=30) -> subprocess.CompletedProcess:
        slot = _Slot()
        try:
            return subprocess.run([*_setpriv(slot.uid), "sh", "-c", script, "sh", *map(str, args)],
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, cwd="/")
        finally:
            kill_all(slot.uid)
            slot.release()

    def probe(self):
        """Raises UserSandboxUnavailable unless a run can start here: setpriv works, and the
        run's user can reach its folders and read the Wine prefix."""
        why = is_possible()
        if why:
            raise UserSandboxUnavailable(why)
        become_subreaper()
        self.base.mkdir(mode=0o711, parents=True, exist_ok=True)
        os.chmod(self.base, 0o711)
        needed = [self.base] + ([self.prefix / "system.reg"] if self.prefix else [])
        result = self._as_user('for p; do [ -r "$p" ] || [ -x "$p" ] || echo "$p"; done', *needed)
        if result.returncode != 0:
            raise UserSandboxUnavailable(f"setpriv cannot run programs as another user here: "
                                         f"{result.stderr.strip() or result.returncode}")
        blocked = result.stdout.split()
        if blocked:
            raise UserSandboxUnavailable(
                f"a run's user cannot reach {blocked[0]}: every folder above it must be "
                f"traversable by others (chmod o+x), and the Wine prefix readable (chmod -R o+rX)")

    def check_private(self, paths) -> list:
        """The paths (and the files in them) that a run's user could read: none, or grading
        would show them to the submission."""
        paths = [Path(p) for p in paths if p is not None and os.path.lexists(p)]
        if not paths:
            return []
        script = ('for p; do if [ -d "$p" ]; then ls "$p" >/dev/null 2>&1 && echo "$p"; '
                  'else [ -r "$p" ] && echo "$p"; fi; done')
        return self._as_user(script, *paths).stdout.split("\n")[:-1]


def private_folder(path: Path):
    """path made (when missing) and readable by root only: no run's user reads or lists it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        os.chmod(path, 0o700)
