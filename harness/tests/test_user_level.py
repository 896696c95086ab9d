"""The user level: grading where no namespace can be made (Docker's default profile, so
Gradescope), for a grader that is root. Each compile and run executes as a uid of its own
(harness/sandbox_user.py).

The container is reproduced with bwrap: the machine's root bound as it is, a pid namespace
of its own, and Docker's default capabilities (no CAP_SYS_ADMIN), where the harness's own
bwrap cannot start. There the Gradescope bundle is set up and run on broken and hostile
submissions, and must give each the score the bwrap level gives it on this machine, with
nothing of the hidden cases in what it writes; with the grader's files readable by others it
must refuse to grade. The level's own promises (every process of a run killed, its files
gone, processes counted) are tested directly, as root, with SANDBOX=user.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from .. import grade_all, gradescope, sandbox_user, settings
from ..explain import describe
from ..run import Runner
from ..settings import Limits
from .machine import windows_path
from .test_grade import PEEKER, WITH_REFERENCE, submission

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOCKER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL")
HIDDEN_MARK = "An instructor's hidden cases"
BROKEN = ("forgot_commit", "hard_coded", "infinite_loop", "flood", "compile_error", "extra_files",
          "missing_file")
TIMEOUT = "6"       # seconds per case: one case of infinite_loop waits for it; more is a busy machine

pytestmark = [pytest.mark.skipif(bool(sandbox_user.is_possible()) or shutil.which("bwrap") is None,
                                 reason=f"the user level needs root, setpriv and (for the container) "
                                        f"bwrap: {sandbox_user.is_possible() or 'no bwrap'}"),
              pytest.mark.needs_sandbox]    # the container is made with bwrap, and compared with its level


def pool_leftovers(*uids) -> list:
    """Processes of these uids (of the level's), and what they own in the shared temporary
    folders, each looked at while its slot is held here: other graders on this machine use
    the pool at the same time, and may take a uid the moment a run gives it back."""
    with contextlib.ExitStack() as held:
        for uid in uids:
            lock = held.enter_context(open(sandbox_user.LOCKS / f"uid-{uid - sandbox_user.FIRST_UID}.lock", "w"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _leftovers(uids)


def _leftovers(uids) -> list:
    found = [f"process {pid}" for uid in uids for pid in sandbox_user.processes_of(uid)]
    for folder in sandbox_user.SHARED_TEMP:
        for entry in os.scandir(folder):
            if entry.stat(follow_symlinks=False).st_uid in uids:
                found.append(entry.path)
    return found


@pytest.fixture
def user_runner():
    """A runner at the user level, its runs' folders under /tmp (which any user can reach,
    wherever the checkout is)."""
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="vmlabs-users-"))
    limits = Limits(processes=8)
    runner = Runner(None, None, sandbox_user.UserSandbox(limits, base), limits, user_level=True)
    runner.sandbox.probe()
    yield runner
    shutil.rmtree(base, ignore_errors=True)


def test_a_run_is_killed_whole_and_leaves_nothing(user_runner, tmp_path):
    """A run that leaves children behind (one in a session of its own) and files in /tmp:
    after it, no process of its uid and none of its files."""
    script = ("sleep 60 & setsid sleep 60 & echo left > /tmp/vmlabs-left-$$; "
              "echo $(id -u) > uid; echo started")
    outcome = user_runner.run_tool(["sh", "-c", script], tmp_path, timeout=5)
    assert outcome.stdout == "started\n", outcome.stderr
    uid = int((tmp_path / "uid").read_text())          # copied back: what a compile makes
    assert sandbox_user.FIRST_UID <= uid < sandbox_user.FIRST_UID + sandbox_user.SLOTS
    assert not pool_leftovers(uid)
    assert not list((user_runner.sandbox.base).glob("run-*"))


def test_processes_are_counted_and_time_is_limited(user_runner, tmp_path):
    forks = user_runner.run_tool(["sh", "-c", "id -u > uid; while :; do sleep 5 & done"], tmp_path,
                                 timeout=5)
    assert forks.label == "process_limit", describe(forks)
    sleeps = user_runner.run_tool(["sleep", "30"], tmp_path, timeout=1)
    assert sleeps.label == "timeout"
    assert not pool_leftovers(int((tmp_path / "uid").read_text()))


def test_a_run_cannot_write_the_graders_files(user_runner, tmp_path):
    target = Path(tempfile.mkdtemp(dir="/tmp", prefix="vmlabs-grader-"))
    try:
        os.chmod(target, 0o755)
        outcome = user_runner.run_tool(["sh", "-c", f"ls {target} && echo x > {target}/f"],
                                       tmp_path, timeout=5)
        assert "Permission denied" in outcome.stderr and not (target / "f").exists()
    finally:
        shutil.rmtree(target)


def test_what_a_run_could_read_is_found(user_runner, tmp_path):
    shared = Path(tempfile.mkdtemp(dir="/tmp", prefix="vmlabs-shared-"))
    try:
        os.chmod(shared, 0o755)
        (shared / "case.toml").write_text("secret")
        os.chmod(shared / "case.toml", 0o644)
        private = shared / "private"
        private.mkdir(mode=0o700)
        (private / "case.toml").write_text("secret")
        readable = user_runner.sandbox.check_private([shared, shared / "case.toml", private,
                                                      private / "case.toml"])
        assert readable == [str(shared), str(shared / "case.toml")]
    finally:
        shutil.rmtree(shared)


def reachable_by_others(path: Path) -> bool:
    """Every folder on the way to path can be passed by any user (o+x)."""
    path = Path(path).resolve()
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [*reversed(path.parents), path])


def autograder(top: Path, build_dir: Path) -> Path:
    """The bundle unpacked as Gradescope does, into top/autograder, with the build folder
    borrowing this session's Wine prefix and compile cache when any user can reach them
    (setup.sh creates a prefix of its own otherwise)."""
    zip_path = top / "autograder.zip"
    gradescope.write(zip_path, HERE / "hidden")
    root = top / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():
            os.chmod(root / "source" / info.filename, info.external_attr >> 16)
    (root / "build").mkdir()
    prefix = (build_dir / "wineprefix").resolve()
    if reachable_by_others(prefix):
        (root / "build" / "wineprefix").symlink_to(prefix)
    return root


def submissions(top: Path) -> dict:
    """name -> folder: broken ones, the peeker, hostile compiles, the reference."""
    subs = top / "subs"
    for name in BROKEN:
        submission(name, subs)
        for lab in WITH_REFERENCE.get(name, ()):
            shutil.copy(ROOT / "labs" / f"{lab}.c", subs / name)
    (subs / "reference").mkdir()
    for lab in ("reserve_commit", "boundary"):
        shutil.copy(ROOT / "labs" / f"{lab}.c", subs / "reference")
    hidden = top / "autograder" / "source" / "hidden" / "reserve_commit.toml"
    targets = [hidden, top / "autograder" / "source" / "expected" / "reserve_commit.toml"]
    quoted = ", ".join('"' + windows_path(p).replace("\\", "\\\\") + '"' for p in targets)
    (subs / "peeker").mkdir()
    (subs / "peeker" / "reserve_commit.c").write_text(PEEKER % quoted)
    (subs / "include_hidden").mkdir()
    (subs / "include_hidden" / "reserve_commit.c").write_text(
        f'#include "{hidden}"\nint main(void) {{ return 0; }}\n')
    (subs / "link_hidden").mkdir()
    (subs / "link_hidden" / "reserve_commit.c").symlink_to(hidden)
    return {p.name: p for p in sorted(subs.iterdir())}


RIG_SCRIPT = r"""
set -u
root="$1"; shift
cd "$root/source"
AUTOGRADER_ROOT="$root" ./setup.sh > "$root/setup.log" 2>&1 || { cat "$root/setup.log"; exit 3; }
mkdir -p "$root/../got"
for sub in "$@"; do
    name=$(basename "$sub")
    rm -rf "$root/submission" && cp -a "$sub" "$root/submission"
    AUTOGRADER_ROOT="$root" ./run_autograder > "$root/../got/$name.log" 2>&1
    cp "$root/results/results.json" "$root/../got/$name.json"
    cp -r "$root/build/grade/cases" "$root/../got/$name-cases" 2>/dev/null
done
# With the grader's files readable by any user, grading must refuse.
chmod 0755 "$root/source"
sed -i 's/^chmod 0700 "$root\/source"$/true/' ./run_autograder
AUTOGRADER_ROOT="$root" ./run_autograder > "$root/../got/open.log" 2>&1
cp "$root/results/results.json" "$root/../got/open.json"
"""


def in_container(command: list, top: Path) -> subprocess.CompletedProcess:
    """command as root in a container like Docker's: the machine's files, a pid namespace
    of its own, Docker's default capabilities only (so no namespace can be made in it)."""
    caps = [arg for cap in DOCKER_CAPS for arg in ("--cap-add", cap)]
    env = settings.environ(drop=("SANDBOX", "BUILD", "MAKEFLAGS"))
    env.update(TIMEOUT=TIMEOUT, JOBS="2")
    return subprocess.run(["bwrap", "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc",
                           "--die-with-parent", "--cap-drop", "ALL", *caps, "--", *command],
                          capture_output=True, text=True, timeout=900, env=env, cwd=top)


@pytest.fixture(scope="module")
def container_results(build_dir, runner):
    top = Path(tempfile.mkdtemp(dir="/tmp", prefix="vmlabs-container-"))
    os.chmod(top, 0o711)
    try:
        root = autograder(top, build_dir)
        subs = submissions(top)
        inner = in_container(["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"], top)
        assert inner.returncode != 0, "bwrap starts in the container: it would not test this level"
        result = in_container(["bash", "-c", RIG_SCRIPT, "rig", str(root), *map(str, subs.values())], top)
        assert result.returncode == 0, result.stdout + result.stderr
        got = {name: json.loads((top / "got" / f"{name}.json").read_text()) for name in [*subs, "open"]}
        logs = {name: (top / "got" / f"{name}.log").read_text() for name in [*subs, "open"]}
        written = {name: "\n".join(p.read_text(errors="replace")
                                   for p in (top / "got" / f"{name}-cases").rglob("*") if p.is_file())
                   for name in subs}
        yield subs, got, logs, written, inner.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_in_a_container_the_bundle_grades_as_the_bwrap_level_does(container_results, runner,
                                                                   build_dir, tmp_path):
    subs, got, logs, _, _ = container_results
    for name, data in got.items():
        if name != "open":
            assert "user sandbox" in data["extra_data"]["sandbox"], (name, logs[name][-3000:])
    class_dir = tmp_path / "class"
    for name, folder in subs.items():
        shutil.copytree(folder, class_dir / name, symlinks=True)
    out = tmp_path / "host"
    status = grade_all.main(["--all", str(class_dir), "--out", str(out), "--hidden", str(HERE / "hidden"),
                         "--timeout", TIMEOUT, "--build", str(build_dir)], runner=runner)
    assert status == 0
    for name in subs:
        host = json.loads((out / name / "results.json").read_text())
        assert "bwrap sandbox" in host["extra_data"]["sandbox"]
        scores = lambda data: {t["name"]: t["score"] for t in data["tests"]}    # noqa: E731
        assert scores(got[name]) == scores(host), (name, host["output"][-2000:], logs[name][-3000:])
    assert got["reference"]["score"] > 0 and got["forgot_commit"]["score"] < got["reference"]["score"]


def test_in_a_container_the_hidden_cases_stay_hidden(container_results):
    subs, got, logs, written, inner_error = container_results
    assert inner_error, "the container's own bwrap said nothing"
    assert written["peeker"].count(": refused") >= 2 and "OPENED" not in written["peeker"], \
        written["peeker"][:3000]
    for name in subs:
        assert HIDDEN_MARK not in json.dumps(got[name]) and HIDDEN_MARK not in written[name], name
    assert got["include_hidden"]["score"] == 0 and got["link_hidden"]["score"] == 0
    assert "No such file or directory" in json.dumps(got["include_hidden"]) or \
        "Permission denied" in json.dumps(got["include_hidden"])
    assert "is a symbolic link" in json.dumps(got["link_hidden"])
    assert "sandbox: bwrap cannot start here" in logs["peeker"], logs["peeker"][-2000:]


def test_in_a_container_open_grader_files_stop_grading(container_results):
    _, got, logs, _, _ = container_results
    assert got["open"]["max_score"] == 0, logs["open"][-2000:]
    assert "a run's user can read" in got["open"]["output"], got["open"]["output"]
    assert "grader exit status: 2" in logs["open"]
