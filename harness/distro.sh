#!/bin/sh
# make check-distro DISTRO=trixie: `make check` on another Debian release, in a root of its own.
#
# The root is made once with debootstrap from the Debian archive this machine uses (its apt
# sources; MIRROR= to choose another), cached in $BUILD/distro/DISTRO/root, and given what
# `make deps` installs there (harness/deps.sh, run inside it: the script itself is checked).
# Each run enters the root in a new mount and pid namespace and pivot_root()s into it (not
# chroot: Linux refuses a new user namespace to a chrooted process, and bwrap needs one), with
# the checkout bound read-only at /vmlabs and $BUILD/distro/DISTRO/build as its build/. There
# it runs `make check` (LAB=, SANDBOX=, JOBS= passed on), sandboxed when bwrap starts in that
# root, else with SANDBOX=0, said so.
#
# Needs root (debootstrap, mounts) and 2.5 GB for trixie; the first run takes a few minutes
# of downloads, later ones only make check (1.5 minutes). Not run in CI: a fresh clone
# would make the root every time. `DISTRO_REFRESH=1` remakes the root; after DISTRO, a
# command to run in the root instead of make check (e.g. bash).
set -eu

distro=${1:-trixie}
[ $# -gt 0 ] && shift       # the rest, if any: the command
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$here/$build ;; esac
cache=$build/distro/$distro
root=$cache/root
say() { echo "check-distro: $*"; }
fail() { echo "check-distro: $*" >&2; exit 2; }

[ "$(uname -s)" = Linux ] || fail "needs Linux (debootstrap, mount namespaces)"
[ "$(id -u)" -eq 0 ] || fail "needs root, for debootstrap and the mounts: sudo make check-distro DISTRO=$distro"
for tool in unshare pivot_root; do
    command -v $tool >/dev/null 2>&1 || fail "$tool is missing (util-linux)"
done

# The Debian archive of this machine's apt sources (deb822 or one-line), else Debian's own.
mirror() {
    [ -n "${MIRROR:-}" ] && { echo "$MIRROR"; return; }
    found=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | awk '
        /^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }
        /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
    echo "${found:-http://deb.debian.org/debian}"
}

# enter ROOT COMMAND...: COMMAND as root in ROOT, in its own mount and pid namespaces, with
# ROOT as the namespace's root (pivot_root), a fresh /proc, the host's /dev and /sys, and
# (when $checkout is set) the checkout read-only at /vmlabs and its build folder writable.
enter() {
    target=$1; shift
    unshare --mount --pid --fork --propagation private sh -eu -c '
        root=$1; checkout=$2; work=$3; shift 3
        mount --bind "$root" "$root"
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount --rbind /sys "$root/sys"
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        if [ -n "$checkout" ]; then
            mkdir -p "$root/vmlabs"
            mount --bind "$checkout" "$root/vmlabs"
            mount -o remount,bind,ro "$root/vmlabs"
            mount --bind "$work" "$root/vmlabs/build"
        fi
        mkdir -p "$root/.host"
        cd "$root"
        pivot_root . .host
        cd /
        umount -l /.host
        exec "$@"' enter "$target" "${checkout:-}" "${work:-}" "$@"
}

checkout=""
stamp=$root/.vmlabs-deps
deps_sum=$(sha256sum "$here/harness/deps.sh" | cut -d' ' -f1)
if [ "${DISTRO_REFRESH:-0}" = 1 ]; then
    rm -rf "$root" "$root.tmp"
fi
if [ ! -d "$root" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
        say "installing debootstrap (apt-get)"
        apt-get install -y -q --no-install-recommends debootstrap >/dev/null ||
            fail "cannot install debootstrap: apt-get install debootstrap"
    }
    [ -e "/usr/share/debootstrap/scripts/$distro" ] ||
        fail "this debootstrap does not know $distro (ls /usr/share/debootstrap/scripts)"
    url=$(mirror)
    say "making a $distro root with debootstrap from $url (once, about a minute) -> $root"
    rm -rf "$root.tmp"
    mkdir -p "$cache"
    debootstrap --variant=minbase "$distro" "$root.tmp" "$url" \
        >"$cache/debootstrap.log" 2>&1 || fail "debootstrap failed: see $cache/debootstrap.log"
    mv "$root.tmp" "$root"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$deps_sum" ]; then
    say "installing what make deps installs, in the $distro root (harness/deps.sh; a few minutes once)"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    cp "$here/harness/deps.sh" "$root/tmp.deps.sh"
    enter "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends make >/dev/null &&
               sh /tmp.deps.sh' || fail "make deps failed in the $distro root"
    rm -f "$root/tmp.deps.sh"
    echo "$deps_sum" >"$stamp"
fi

work=$cache/build
mkdir -p "$work"
checkout=$here
versions=$(enter "$root" sh -c 'echo "$(wine --version 2>/dev/null), $(x86_64-w64-mingw32-gcc -dumpfullversion), \
Python $(/usr/bin/python3 -c "import platform; print(platform.python_version())")"')
say "$distro: $(. "$root/etc/os-release" && echo "$PRETTY_NAME"); $versions"

# Does the sandbox start in the root? The harness's own check (python3 -m harness.run: the
# Wine prefix made, then bwrap started once), with the root's Wine and bwrap.
sandbox=${SANDBOX:-}
if [ "$sandbox" != 0 ]; then
    if out=$(enter "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root PYTHONDONTWRITEBYTECODE=1 \
            sh -c 'cd /vmlabs && /usr/bin/python3 -m harness.run' 2>&1); then
        say "the sandbox starts in the $distro root: make check runs sandboxed there"
    else
        why=$(printf '%s\n' "$out" | grep -m1 -v -e '^Creating the Wine prefix' -e '^$' |
            sed -e 's/^cannot run the labs: //' -e 's/^the sandbox does not start here: //')
        say "the sandbox does not start in the $distro root ($why): running with SANDBOX=0"
        sandbox=0
    fi
fi

[ $# -gt 0 ] || set -- make --no-print-directory check
started=$(date +%s)
status=0
enter "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
    ${LAB:+LAB=$LAB} ${JOBS:+JOBS=$JOBS} ${TIMEOUT:+TIMEOUT=$TIMEOUT} ${sandbox:+SANDBOX=$sandbox} \
    sh -c 'cd /vmlabs && exec "$@"' sh "$@" || status=$?
say "$distro: $* ended with status $status after $(( $(date +%s) - started )) s (build: $work)"
exit $status
