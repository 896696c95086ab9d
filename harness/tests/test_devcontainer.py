"""The dev container (.devcontainer/): devcontainer.json holds only keys the Dev Container
specification defines (containers.dev, schemas/devContainer.base.schema.json), the image is
installed by the script `make deps` and CI run (one list of packages), its Wine prefix is the
one the checkout links to, and the starter ships the same files.

No image is built here (no Docker daemon): the Dockerfile's install step is run as it is,
on a PATH where nothing is installed and apt-get only writes down what it was asked for.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .. import starter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FOLDER = ROOT / ".devcontainer"

# The specification's properties, for a container built from a Dockerfile.
COMMON = {"$schema", "name", "features", "overrideFeatureInstallOrder", "secrets", "forwardPorts",
          "portsAttributes", "otherPortsAttributes", "updateRemoteUserUID", "containerEnv",
          "containerUser", "mounts", "init", "privileged", "capAdd", "securityOpt", "remoteEnv",
          "remoteUser", "initializeCommand", "onCreateCommand", "updateContentCommand",
          "postCreateCommand", "postStartCommand", "postAttachCommand", "waitFor", "userEnvProbe",
          "hostRequirements", "customizations"}
NON_COMPOSE = {"appPort", "runArgs", "shutdownAction", "overrideCommand", "workspaceFolder",
               "workspaceMount"}
BUILD = {"dockerfile", "context", "target", "args", "cacheFrom"}
HOST = {"cpus", "memory", "storage", "gpu"}
COMMANDS = ("initializeCommand", "onCreateCommand", "updateContentCommand", "postCreateCommand",
            "postStartCommand", "postAttachCommand")


def config() -> dict:
    return json.loads((FOLDER / "devcontainer.json").read_text())


def dockerfile() -> list:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (FOLDER / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_devcontainer_json_has_only_the_specs_keys():
    data = config()
    assert set(data) <= COMMON | NON_COMPOSE | {"build"}, set(data) - COMMON - NON_COMPOSE
    assert set(data["build"]) <= BUILD and isinstance(data["build"]["dockerfile"], str)
    assert (FOLDER / data["build"]["dockerfile"]).is_file()
    assert (FOLDER / data["build"]["context"] / "harness" / "deps.sh").is_file()
    assert all(isinstance(a, str) for a in data["runArgs"])
    for key in COMMANDS:
        assert isinstance(data.get(key, ""), (str, list, dict)), key
    assert set(data["hostRequirements"]) <= HOST
    assert re.fullmatch(r"\d+([tgmk]b)?", data["hostRequirements"]["memory"])
    assert set(data["customizations"]) == {"vscode"}


def test_run_args_let_bwrap_make_its_namespaces_on_x86_64():
    run_args = " ".join(config()["runArgs"])
    for needed in ("--security-opt seccomp=unconfined", "--security-opt apparmor=unconfined",
                   "--platform=linux/amd64"):
        assert needed in run_args
    assert dockerfile()[0] == "FROM --platform=linux/amd64 debian:bookworm"


def test_the_image_is_installed_by_make_deps_script_alone():
    """The only install step runs harness/deps.sh, which `make deps` runs (and CI: .ci/run is
    make check, which runs deps first): no second list of packages."""
    steps = dockerfile()
    assert not [s for s in steps if re.search(r"\b(apt-get|apt|dpkg|pip3?|npm) ", s)
                and "deps.sh" not in s]
    assert "COPY harness/deps.sh /opt/vmlabs/harness/deps.sh" in steps
    # make deps in the checkout and in the starter: the rule both Makefiles include
    assert re.search(r"^deps:\n\t\$\(Q\)sh harness/deps\.sh$", (ROOT / "mk" / "labs.mk").read_text(), re.M)
    for makefile in (ROOT / "Makefile", ROOT / "harness" / "student" / "Makefile"):
        assert re.search(r"^include mk/labs\.mk$", makefile.read_text(), re.M), makefile
    assert "make check" in (ROOT / ".ci" / "run").read_text()


def test_the_install_step_runs_and_asks_for_the_whole_toolchain(tmp_path):
    """The Dockerfile's RUN line, as written, on a PATH with nothing installed: apt-get is
    asked for MinGW-w64, Wine, bubblewrap, gcc, and the image's make and git."""
    step = next(s for s in dockerfile() if s.startswith("RUN") and "deps.sh" in s)
    command = step[len("RUN "):].split(" && ")[0].replace("/opt/vmlabs/", f"{ROOT}/")
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "uname", "id", "cat"):
        (bare / tool).symlink_to(subprocess.run(["sh", "-c", f"command -v {tool}"], text=True,
                                                capture_output=True).stdout.strip())
    asked = tmp_path / "asked"
    (bare / "apt-get").write_text(f"#!/bin/sh\necho \"$@\" >> {asked}\n")
    (bare / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for fake in ("apt-get", "sudo"):
        (bare / fake).chmod(0o755)
    result = subprocess.run(["sh", "-c", command], env={"PATH": str(bare)}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = asked.read_text().split("install", 1)[1].split()
    for package in ("gcc-mingw-w64-x86-64", "wine64", "wine", "bubblewrap", "gcc", "make", "git"):
        assert package in installed, (package, installed)


def test_the_wine_prefix_is_made_at_build_and_linked_at_create(tmp_path):
    prepare = next(s for s in dockerfile() if "harness.run --prepare" in s)
    build = re.search(r"BUILD=(\S+)", prepare).group(1)
    assert f"ln -s {build}/wineprefix build/wineprefix" in config()["postCreateCommand"]
    assert "COPY harness/ /opt/vmlabs/harness/" in dockerfile()
    out = tmp_path / "starter"          # the starter's harness alone can make the prefix
    starter.write(out)
    for name in ("Dockerfile", "devcontainer.json"):
        assert (out / ".devcontainer" / name).read_bytes() == (FOLDER / name).read_bytes()
    assert (out / ".dockerignore").read_text() == (ROOT / ".dockerignore").read_text()
    result = subprocess.run([sys.executable, "-m", "harness.run", "--help"], cwd=out,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--prepare" in result.stdout, result.stderr


def test_the_build_context_leaves_build_out():
    assert "build/" in (ROOT / ".dockerignore").read_text().split()
