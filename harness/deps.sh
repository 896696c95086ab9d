#!/bin/sh
# make deps: install what vmlabs needs (MinGW-w64, Wine, bubblewrap, pytest), or say exactly
# what to install.
# Quiet when everything is there already (make run and make check call it every time).
set -u
missing=""
case "$(uname -s)" in
MINGW*|MSYS*|CYGWIN*)
    # Native Windows (MSYS2): no Wine; the toolchain and pytest come from pacman.
    command -v "${CC:-gcc}" >/dev/null 2>&1 || missing="$missing gcc"
    python -c "import pytest" >/dev/null 2>&1 || missing="$missing pytest"
    if [ -n "$missing" ]; then
        echo "vmlabs needs:$missing. In an MSYS2 UCRT64 shell run:" >&2
        echo "  pacman -S --needed make mingw-w64-ucrt-x86_64-gcc mingw-w64-ucrt-x86_64-python mingw-w64-ucrt-x86_64-python-pytest" >&2
        exit 2
    fi
    exit 0 ;;
esac
# The dev container's image (.devcontainer/Dockerfile) is built by this script alone: there
# it also installs make and git, which a machine that ran `make deps` has.
if [ -n "${VMLABS_IMAGE:-}" ]; then
    command -v make >/dev/null 2>&1 || missing="$missing make"
    command -v git >/dev/null 2>&1 || missing="$missing git ca-certificates"
fi
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing="$missing gcc-mingw-w64-x86-64"
command -v wine >/dev/null 2>&1 || missing="$missing wine64 wine"
# Every run of a program is sandboxed with bwrap, unless SANDBOX=0 says otherwise.
if [ "${SANDBOX:-1}" != 0 ]; then
    command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
fi
command -v "${HOSTCC:-gcc}" >/dev/null 2>&1 || missing="$missing gcc"
# msgfmt compiles the harness's Italian (harness/locale/it/LC_MESSAGES/vmlabs.po) for gettext.
command -v msgfmt >/dev/null 2>&1 || missing="$missing gettext"
# posix_vm is a Linux program: gcc needs the C library's headers (not pulled in by gcc
# without its recommended packages, e.g. in a debootstrap root).
printf '#include <errno.h>\n' | "${HOSTCC:-gcc}" -E - >/dev/null 2>&1 || missing="$missing libc6-dev"
if [ "${ARCH:-x86_64}" = i686 ]; then
    command -v i686-w64-mingw32-gcc >/dev/null 2>&1 || missing="$missing gcc-mingw-w64-i686"
fi
/usr/bin/python3 -c "import pytest" >/dev/null 2>&1 || missing="$missing python3-pytest"
# Python 3.10 (Ubuntu 22.04) has no tomllib: the harness reads the cases with tomli there.
/usr/bin/python3 -c "import tomllib" >/dev/null 2>&1 || /usr/bin/python3 -c "import tomli" >/dev/null 2>&1 \
    || missing="$missing python3-tomli"
[ -z "$missing" ] && exit 0
# Wanted, not needed: with pytest-xdist make check runs on every core (1.6x faster on two).
# Installed along with what is missing, never a reason to stop.
wanted=""
/usr/bin/python3 -c "import xdist" >/dev/null 2>&1 || wanted=" python3-pytest-xdist"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "vmlabs needs:$missing" >&2
    echo "This is not Debian or Ubuntu: install MinGW-w64 (x86_64), Wine (64-bit), bubblewrap" >&2
    echo "and pytest with your package manager, e.g. on Fedora:" >&2
    echo "  sudo dnf install mingw64-gcc wine bubblewrap python3-pytest" >&2
    exit 2
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "vmlabs needs:$missing; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
        exit 2
    fi
    sudo="sudo"
fi
echo "Installing:$missing$wanted (apt-get, about a minute) ..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null && \
    $sudo apt-get install -y -q --no-install-recommends $missing $wanted >/dev/null || {
    echo "apt-get could not install:$missing" >&2
    echo "try by hand:  $sudo apt-get update && $sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 2
}
echo "Installed:$missing$wanted"
