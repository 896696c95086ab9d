"""job: one sandbox and one wineserver for all the runs of one program, one run at a time.

A job is one lab of one student when grading (grade.grade_lab), one lab in make check. Its
sandbox is the one a run has (sandbox.Sandbox: the same mounts, limits and namespaces, and
no capabilities), started once, with spawner.py as its pid 1 and a wineserver beside it.
Each run of the job is then a process started by the spawner, in the same pid namespace as
the server (the server reads and signals its clients by the pids they report: remote's
VirtualAllocEx into its child fails when they differ). Between two runs the spawner kills
every process but the server and regwatch (regwatch.c), and empties the scratch folders
(its folder, /tmp, %TEMP%); a run that changed the registry (regwatch says so), or stopped,
ended or replaced the server, leaves a fresh server (and regwatch) to the next run.

What this saves, per run: bwrap's namespaces and mounts, and a fresh server's start (it loads
the prefix's registry: some 20 ms of CPU a run). `make bench` measures both ways.

What a run can still leave to the next run of the same job, and why that is allowed: what
else the server keeps for its life (global atoms, for one). Only the same student's same
lab runs later in that job: never another student's, never another lab. Each job starts
from the read-only prefix.

Where the job cannot be used (no pid namespace, as inside another sandbox; the user level;
SANDBOX=0; a native program; no /usr/bin/python3 in the sandbox) each run has a sandbox of
its own, as before. A job that breaks (its spawner ends) is closed, and the run is made
again in a sandbox of its own.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

from . import watch as watch_mod, wine as wine_mod
from .watch import cpu_seconds

HERE = Path(__file__).resolve().parent
SPAWNER = HERE / "spawner.py"
PYTHON = "/usr/bin/python3"     # the system's: the sandbox sees /usr, not the grader's own Python
START_TIMEOUT = 30


class JobBroken(RuntimeError):
    """The job's sandbox cannot run any more: the run is made in a sandbox of its own."""


def unreadable_server(wineserver: str, folder: Path) -> Path | None:
    """A copy of the wineserver binary that can be run but not read: the kernel makes a
    process run from such a file undumpable, so no run of the job can ptrace the server or
    open its /proc/PID/mem. None when the binary is not found (Debian's `wineserver` is a
    script that execs wineserver64)."""
    found = shutil.which(wineserver)
    if not found:
        return None
    real = Path(os.path.realpath(found))
    for candidate in (real, real.parent / "wineserver64", real.parent / "wineserver32"):
        try:
            with open(candidate, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    break
        except OSError:
            continue
    else:
        return None
    copy = Path(folder) / "wineserver"
    made = copy.stat() if copy.exists() else None
    if made is None or made.st_size != candidate.stat().st_size \
            or made.st_mtime < candidate.stat().st_mtime:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = copy.with_suffix(f".{os.getpid()}")
        shutil.copyfile(candidate, temporary)
        os.chmod(temporary, 0o111)
        os.replace(temporary, copy)
    return copy


def regwatch(folder: Path) -> Path:
    """regwatch.exe (regwatch.c), built once into folder."""
    from .build import compile_lab
    built = compile_lab(HERE / "regwatch.c", folder, flags=["-O1", "-Wall"])
    if not built.ok:
        raise JobBroken(f"regwatch.c does not compile: {built.message}")
    return built.exe


class JobSandbox:
    """The sandbox of one job: started with the first run, closed by close()."""

    def __init__(self, runner, exe: Path, reserved: int):
        self.runner, self.exe, self.reserved = runner, Path(exe).resolve(), reserved
        self.proc = self.sock = None
        self.namespace = self.spawner = self.server = self.watcher = None
        self.own, self.inner = set(), None
        self.runs = 0
        self.fresh = []         # why the server was started again, one entry each time

    def start(self):
        runner, sandbox = self.runner, self.runner.sandbox
        tools = Path(runner.prefix).resolve().parent / "sandbox"
        server = unreadable_server(sandbox.wineserver, tools)
        if server is None:
            raise JobBroken("no wineserver binary found")
        watcher = regwatch(tools)
        env = sandbox.environment(wine_mod.environment(runner.prefix, sandboxed=True))
        config = {"folders": ["/sandbox", "/tmp", *map(str, sandbox.temp_folders())],
                  "server": [str(server), "-f", "-p"], "watcher": [*sandbox.wine, str(watcher)]}
        arguments = sandbox.arguments(self.exe, env, readonly=(SPAWNER, server, watcher), pid1=True)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        info_read, info_write = os.pipe()
        memory, address = runner.limits.memory, runner.limits.memory + self.reserved

        def set_limits():
            # The runs' memory limits, per process; the CPU limit is set per run, by the
            # spawner (the server's CPU time adds up over the runs).
            import resource
            resource.setrlimit(resource.RLIMIT_DATA, (memory,) * 2)
            resource.setrlimit(resource.RLIMIT_AS, (address,) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        command = [*arguments, "--info-fd", str(info_write), "--", PYTHON, "-I", "-S",
                   str(SPAWNER), str(theirs.fileno()), json.dumps(config)]
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         pass_fds=(info_write, theirs.fileno()),
                                         preexec_fn=set_limits, start_new_session=True)
        finally:
            os.close(info_write)
            theirs.close()
        self.sock = ours
        kind, self.namespace, self.spawner = watch_mod._namespace(info_read)
        ready = self.receive(START_TIMEOUT)
        if kind != "pid" or "ready" not in ready:
            self.close()
            raise JobBroken(f"the job's sandbox did not start: {ready.get('broken', ready)}")
        self.keep(ready["ready"], ready["watcher"])

    def keep(self, server: int, watcher: int):
        """The host pids of the job's own processes (server and watcher: their pids in the
        job), which no run counts or kills. Looked up only when they are new: a scan of
        /proc costs a millisecond, some 5% of a run."""
        if (server, watcher) == self.inner:
            return
        self.inner = server, watcher
        self.server, self.watcher = self.host_pid(server), self.host_pid(watcher)
        self.own = {self.server, self.watcher}

    def receive(self, timeout: float | None = None) -> dict:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (OSError, socket.timeout) as e:
            return {"broken": f"no answer from the job's sandbox: {e}"}
        if not data:
            said = ""
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=5)
                    said = self.proc.stderr.read(4000).decode(errors="replace").strip()
                except subprocess.TimeoutExpired:
                    pass
            return {"broken": f"the job's sandbox ended{': ' + said if said else ''}"}
        return json.loads(data)

    def members(self) -> list:
        """Every process of the job's sandbox but the spawner."""
        return watch_mod._members("pid", self.namespace, self.spawner)

    def host_pid(self, inner: int) -> int | None:
        """The pid seen here of the job's process that is `inner` in its namespace."""
        for pid in watch_mod._members("pid", self.namespace, None):
            try:
                with open(f"/proc/{pid}/status") as f:
                    line = next(l for l in f if l.startswith("NSpid:"))
            except (OSError, StopIteration):
                continue
            if int(line.split()[-1]) == inner:
                return pid
        return None

    def launch(self, argv: list, cpu: int):
        """Starts one run: (a Popen-like run, its JobWatch)."""
        if self.proc is None:
            self.start()
        pipes = [os.pipe() for _ in range(3)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        try:
            socket.send_fds(self.sock, [json.dumps({"run": argv, "cpu": cpu}).encode()], theirs)
        except OSError as e:
            for r, w in pipes:
                os.close(r)
                os.close(w)
            self.close()
            raise JobBroken(f"the job's sandbox ended: {e}") from None
        for fd in theirs:
            os.close(fd)
        self.runs += 1
        run = Run(os.fdopen(pipes[0][1], "wb"), os.fdopen(pipes[1][0], "rb"),
                  os.fdopen(pipes[2][0], "rb"))
        return run, JobWatch(self, run)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc.stderr.close()
            self.proc = None


class Run:
    """What run.Runner._watch needs of a Popen: the pipes, and the status once ended."""

    def __init__(self, stdin, stdout, stderr):
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.returncode = None


class JobWatch:
    """One run of a job: its processes are the job's pid namespace's but the spawner, the
    server and regwatch. The count adds one for the server, as in a sandbox of its own."""

    def __init__(self, job: JobSandbox, run: Run):
        self.job, self.run = job, run
        self.broken = ""

    def begin(self):
        pass

    def members(self) -> list:
        return self.job.members()

    def theirs(self) -> list:
        """The run's own processes: the job's but its server and regwatch."""
        return [p for p in self.members() if p not in self.job.own]

    def sample(self):
        run = self.theirs()
        return len(run) + 1, max(map(cpu_seconds, run), default=0.0)

    def wait(self):
        """Blocks until the run's first process ended: (its status, its CPU seconds)."""
        message = self.job.receive()
        if "exit" not in message:
            self.broken = message.get("broken", str(message))
            return None, 0.0
        return message["exit"], message["cpu"]

    def kill(self):
        for pid in self.theirs():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self):
        """The run is over: wait until the spawner has killed the rest and emptied the
        scratch; a job that does not get there is closed."""
        for pipe in (self.run.stdout, self.run.stderr, self.run.stdin):
            try:
                pipe.close()
            except OSError:
                pass
        if self.broken:
            self.job.close()
            return
        message = self.job.receive(30)
        if "idle" not in message:
            self.broken = message.get("broken", str(message))
            self.job.close()
            return
        if message["fresh"]:
            self.job.fresh.append(message["fresh"])
            self.job.inner = None       # new processes, whatever their pids in the job
        self.job.keep(message["idle"], message["watcher"])


class JobRunner:
    """A Runner whose Wine runs share one job (JobSandbox), for as long as it is open:
    `with runner.job() as job: job.run(...)`. Runs of another program close the job first
    and start one of their own; runs that cannot use a job go to the Runner as they are."""

    def __init__(self, runner):
        self.runner = runner
        self.current: JobSandbox | None = None
        self.broken = ""            # why a job broke: then each run in a sandbox of its own
        self.lock = threading.Lock()
        self.runs = 0               # made through the job (a broken one's included)

    def usable(self, native: bool) -> bool:
        sandbox = self.runner.sandbox
        return (not native and not self.broken and bool(self.runner.wine) and sandbox is not None
                and sandbox.kind == "bwrap" and sandbox.pid_namespace and os.path.exists(PYTHON))

    def sandbox_for(self, exe: Path, reserved: int) -> JobSandbox:
        """The job of exe (reserved: the address space Wine needs beside the memory limit),
        started at its first run; another program's job is closed first."""
        exe = Path(exe).resolve()
        if self.current is not None and self.current.exe != exe:
            self.close()
        if self.current is None:
            self.current = JobSandbox(self.runner, exe, reserved)
        return self.current

    def run(self, exe: Path, args=(), stdin: str = "", timeout: float = 10, native=False):
        """A run in the job; one started while another runs (another thread) has a sandbox
        of its own."""
        if not self.usable(native) or not self.lock.acquire(blocking=False):
            return self.runner.run(exe, args, stdin, timeout, native)
        try:
            self.runs += 1
            return self.runner.run(exe, args, stdin, timeout, native, job=self)
        finally:
            self.lock.release()

    def __getattr__(self, name):
        return getattr(self.runner, name)       # platform, describe_sandbox, limits, ...

    def close(self):
        if self.current is not None:
            self.current.close()
            self.current = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Jobs:
    """A JobRunner per name (a lab's), the `most` used last kept open: make check's runs,
    whose cases of one lab come mostly one after the other but not always."""

    def __init__(self, runner, most: int = 4):
        self.runner, self.most, self.open = runner, most, {}

    def get(self, name: str) -> JobRunner:
        job = self.open.pop(name, None) or self.runner.job()
        self.open[name] = job                   # the last used is the last in the dict
        while len(self.open) > self.most:
            self.open.pop(next(iter(self.open))).close()
        return job

    def close(self):
        for job in self.open.values():
            job.close()
        self.open.clear()
