"""spawner: pid 1 of a job's sandbox (job.py); starts each run of the job, one at a time.

It runs inside bwrap (--as-pid-1), with the standard library only. Its arguments: the fd of
one SOCK_SEQPACKET socket to the harness, and a JSON object: "folders" to empty between runs,
the "server" command (a wineserver in the foreground), the "watcher" command (regwatch.exe
under Wine: regwatch.c). It talks to the harness in JSON messages:

    harness -> {"run": ARGV, "cpu": SECONDS} with the run's stdin, stdout and stderr (SCM_RIGHTS)
    spawner -> {"ready": SERVER_PID, "watcher": PID}  once, when its wineserver listens
               {"exit": STATUS, "cpu": SECONDS}     it ended (STATUS: 128 + N for signal N)
               {"idle": SERVER_PID, "watcher": PID, "fresh": WHY}
                                                    every other process of the run is gone,
                                                    the scratch folders are empty; WHY says
                                                    why the server was started again (the
                                                    registry was changed, ...), or ""
               {"broken": MESSAGE}                  it cannot go on (then it exits)

Why it cannot be reached by what it runs, though they share its pid namespace: it is pid 1
there, and the kernel drops every signal sent to a namespace's init from inside it that the
init has no handler for (it has none, not even Python's SIGINT); it is not dumpable, and the
sandbox has no capabilities (bwrap --cap-drop ALL), so no run can ptrace it or open its
/proc/1/mem or /proc/1/fd; its socket is closed in every run (closerange before exec).
The wineserver it starts is not dumpable either: it is exec'd from a copy of the server that
can be run but not read (the kernel makes such a process undumpable).
"""
import glob
import json
import os
import select
import signal
import socket
import stat
import sys
import time

PR_SET_DUMPABLE = 4


def send(sock, **message):
    sock.send(json.dumps(message).encode())


def undumpable():
    import ctypes
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0)")


def start(command, stdin=None, stdout=None) -> int:
    """command started as our child, in a session of its own, on /dev/null but for the
    descriptors given."""
    null = os.open(os.devnull, os.O_RDWR)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for fd, given in ((0, stdin), (1, stdout), (2, None)):
                os.dup2(null if given is None else given, fd)
            os.closerange(3, 1 << 16)
            os.execv(command[0], command)
        finally:
            os._exit(127)
    os.close(null)
    return pid


def sockets() -> list:
    """The server's socket: /tmp/.wine-UID/server-DEV-INODE/socket as Wine makes it, or
    /tmp/wine-XXXXXX/server-DEV-INODE/socket as Debian's Wine 8 does."""
    return [*glob.glob("/tmp/.wine-*/server-*/socket"), *glob.glob("/tmp/wine-*/server-*/socket")]


class Server:
    """The job's wineserver (in the foreground, so it is our child; -p: it stays without
    clients), and its regwatch, which says whether a run changed the registry."""

    def __init__(self, command, watcher):
        self.command, self.watcher = command, watcher
        self.pid = self.socket = self.watch_pid = self.ask = self.answer = None

    def start(self):
        self.pid = start(self.command)
        deadline = time.monotonic() + 30
        while not (found := sockets()):
            ended, status = os.waitpid(self.pid, os.WNOHANG)
            if ended or time.monotonic() > deadline:
                raise RuntimeError(f"the wineserver did not start ({self.command[0]}: "
                                   f"{'status %d' % os.waitstatus_to_exitcode(status) if ended else 'no socket in 30 s'})")
            time.sleep(0.001)
        self.socket = os.stat(found[0]).st_ino
        ask_read, self.ask = os.pipe()
        self.answer, answer_write = os.pipe()
        self.watch_pid = start(self.watcher, ask_read, answer_write)
        os.close(ask_read)
        os.close(answer_write)
        if self.read(6, 30) != b"ready\n":
            raise RuntimeError("regwatch did not start")

    def read(self, size: int, timeout: float) -> bytes:
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < size:
            ready, _, _ = select.select([self.answer], [], [], max(0, deadline - time.monotonic()))
            if not ready or not (chunk := os.read(self.answer, size - len(got))):
                break
            got += chunk
        return got

    def trouble(self) -> str:
        """Why it cannot serve the next run as it is ("" when it can)."""
        why = self.server_state()   # said at once, not after regwatch's 5 s of silence
        if why:
            return why
        try:
            os.write(self.ask, b"?")
            answer = self.read(1, 5)
        except OSError:
            answer = b""
        if answer == b"0":
            return ""
        if answer == b"1":
            return "the registry was changed"
        # regwatch answers through the server: one stopped since is why it is late
        return self.server_state() or "regwatch did not answer"

    def server_state(self) -> str:
        """What is wrong with the server, its socket or regwatch, or ""."""
        found = sockets()
        if len(found) != 1 or os.stat(found[0]).st_ino != self.socket:
            return "the wineserver's socket was changed"
        for pid, name in ((self.pid, "the wineserver"), (self.watch_pid, "regwatch")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                return f"{name} ended"
            if state in "TtZX":
                return f"{name} was stopped"
        return ""

    def stop(self):
        for pid in (self.pid, self.watch_pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, TypeError):
                pass
        for fd in (self.ask, self.answer):
            if fd is not None:
                os.close(fd)
        self.ask = self.answer = None


def others(*keep) -> list:
    """The pids of this namespace's processes but ours and keep's."""
    return [int(name) for name in os.listdir("/proc")
            if name.isdigit() and int(name) not in (1, *keep)]


def reap():
    """Every ended child (orphans become ours), without waiting."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def kill_others(*keep):
    deadline = time.monotonic() + 10
    while left := others(*keep):
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {left} could not be killed")
        time.sleep(0.001)


def skeleton(folders) -> set:
    """Every path in folders now, before the first run: what bwrap made there to bind
    files on (the program, this spawner, the server: their mount points and the folders
    that lead to them) and the server's socket folder. Kept between runs."""
    found = set()
    for folder in folders:
        for top, dirs, files in os.walk(folder):
            found.update(os.path.join(top, name) for name in (*dirs, *files))
    return found


def empty(folder, kept=frozenset()):
    """Everything in folder removed, but the paths in kept (its folders emptied too). A
    folder the run made unreadable or unwritable is still ours to open again: it gets
    back its owner's rights first."""
    mode = stat.S_IMODE(os.lstat(folder).st_mode)
    if mode & stat.S_IRWXU != stat.S_IRWXU:
        os.chmod(folder, mode | stat.S_IRWXU)
    for entry in list(os.scandir(folder)):
        if entry.path in kept:
            if entry.is_dir(follow_symlinks=False):
                empty(entry.path, kept)
        elif entry.is_dir(follow_symlinks=False):
            empty(entry.path, kept)
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)


def run(request, fds, sock):
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.closerange(3, 1 << 16)
            import resource
            cpu = int(request["cpu"])
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            os.execv(request["run"][0], request["run"])
        except OSError as e:
            os.write(2, f"cannot start {request['run'][0]}: {e.strerror}\n".encode())
        os._exit(127)
    for fd in fds:
        os.close(fd)
    while True:             # orphans are ours too; the server, if the run killed it
        ended, status, usage = os.wait4(-1, 0)
        if ended == pid:
            break
    code = os.waitstatus_to_exitcode(status)
    send(sock, exit=code if code >= 0 else 128 - code, cpu=usage.ru_utime + usage.ru_stime)


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)    # pid 1 with no handler: signals dropped
    undumpable()
    control, config = sys.argv[1], json.loads(sys.argv[2])
    folders = config["folders"]
    sock = socket.socket(fileno=int(control))
    server = Server(config["server"], config["watcher"])
    try:
        base = skeleton(folders)        # bwrap's mount points, before the server's files
        server.start()
        kept = skeleton(folders)
        send(sock, ready=server.pid, watcher=server.watch_pid)
        while True:
            data, fds, _, _ = socket.recv_fds(sock, 65536, 3)
            if not data:
                return 0                # the harness closed the job
            run(json.loads(data), fds, sock)
            kill_others(server.pid, server.watch_pid)
            for folder in folders:
                empty(folder, kept)
            why = server.trouble()
            if why:
                server.stop()
                kill_others()
                reap()
                for folder in folders:
                    empty(folder, base)
                server.start()
                kept = skeleton(folders)
            send(sock, idle=server.pid, watcher=server.watch_pid, fresh=why)
    except (OSError, RuntimeError) as e:
        send(sock, broken=f"{type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
