#!/usr/bin/env bash
# setup.sh DIR: an aarch64 userland to test the aarch64 wheel under qemu-user, in DIR (build.sh
# gives build/aarch64). Nothing is installed on the machine and none of its apt configuration is
# read or written: a private apt configuration in DIR/apt fetches Debian 12 ("bookworm") packages,
# which are unpacked, not installed.
#   DIR/sysroot  Debian's arm64 CPython 3.11 and the libraries it needs (dpkg-deb -x)
#   DIR/qemu     qemu-user 10 from bookworm-backports: static-pie binaries that run where they lie.
#                Not bookworm's own 7.2, which aborts any thread started in a child forked from a
#                multithreaded process (every process that imported npshm: the Go runtime's
#                threads), a qemu bug fixed since
#   DIR/site     numpy, pytest and the test suite's peers as PyPI's aarch64 wheels (pip --target,
#                run by this machine's Python; nothing runs emulated here)
# Each step is done once (a stamp file); remove DIR to start again. Needs apt-get, dpkg-deb and
# Debian's archive keyring (Debian, or a derivative with debian-archive-keyring installed), an
# x86_64 machine, and the network (deb.debian.org, PyPI).
#
# Environment: NPSHM_EMU_PYPI packages for DIR/site (default: numpy, pytest and the peers whose
# tests run: joblib, dask[array], distributed), and NPSHM_EMU_EXTRA more (cdxcore, about 2 GB with
# its dependencies; see packaging/README.md).
set -euo pipefail
DIR=$(mkdir -p "$1" && cd "$1" && pwd)
MIRROR=${NPSHM_DEBIAN_MIRROR:-http://deb.debian.org}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PYTHON=python3.11
t0=$SECONDS

say() { printf '\n== %s\n' "$*"; }
for tool in apt-get apt-cache dpkg-deb python3; do
    command -v "$tool" >/dev/null || { echo "setup.sh: $tool is needed" >&2; exit 1; }
done
[ -r "$KEYRING" ] || { echo "setup.sh: $KEYRING is needed (apt install debian-archive-keyring)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "setup.sh: written for an x86_64 machine, this is $(uname -m)" >&2; exit 1; }

# ---- the private apt: bookworm (+ updates, security) for arm64, backports for amd64 (qemu) ----
A=$DIR/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
{
    for suite in "debian bookworm" "debian bookworm-updates" "debian-security bookworm-security"; do
        set -- $suite
        echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR/$1 $2 main"
    done
    echo "deb [arch=amd64 signed-by=$KEYRING] $MIRROR/debian bookworm-backports main"
} >"$A/sources.list"
APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o Dir::State::status=/dev/null
     -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
     -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
download() {  # download PACKAGE...: into $A/debs (apt-get download writes where it runs)
    (cd "$A/debs" && apt-get "${APT[@]}" -qq download "$@")
}
if [ ! -e "$A/updated" ]; then
    say "apt lists (private, in $A)"
    apt-get "${APT[@]}" -qq update
    touch "$A/updated"
fi

# ---- the arm64 CPython ----
if [ ! -e "$DIR/sysroot/.done" ]; then
    say "Debian arm64 $PYTHON and what it depends on, unpacked into $DIR/sysroot"
    # Everything the interpreter, its venv module and numpy (libstdc++) depend on, recursively;
    # the :arm64 ones, and the architecture-independent ones venv and the stdlib use.
    mapfile -t pkgs < <(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances \
        "$PYTHON:arm64" "$PYTHON-venv:arm64" libstdc++6:arm64 | grep -E '^[a-z0-9.+-]+:arm64$' | sort -u)
    rm -f "$A"/debs/*.deb
    download "${pkgs[@]}" media-types python3-pip-whl python3-setuptools-whl
    rm -rf "$DIR/sysroot" && mkdir -p "$DIR/sysroot"
    for deb in "$A"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/sysroot"; done
    echo "${#pkgs[@]} arm64 packages: $(du -sh "$A/debs" | cut -f1) of .debs"
    touch "$DIR/sysroot/.done"
fi

# ---- qemu-user 10 ----
if [ ! -x "$DIR/qemu/usr/bin/qemu-aarch64" ]; then
    say "qemu-user from bookworm-backports, unpacked into $DIR/qemu"
    rm -f "$A"/debs/qemu-user_*.deb
    download qemu-user/bookworm-backports
    # of the package's emulators (360 MB), only the one for aarch64
    rm -rf "$DIR/qemu" "$DIR/qemu.deb" && dpkg-deb -x "$A"/debs/qemu-user_*.deb "$DIR/qemu.deb"
    mkdir -p "$DIR/qemu/usr/bin" && mv "$DIR/qemu.deb/usr/bin/qemu-aarch64" "$DIR/qemu/usr/bin/"
    rm -rf "$DIR/qemu.deb" "$A"/debs/qemu-user_*.deb
fi
"$DIR/qemu/usr/bin/qemu-aarch64" --version | head -1

# ---- numpy, pytest and peers for aarch64, from PyPI ----
want="${NPSHM_EMU_PYPI:-numpy pytest joblib dask[array] distributed} ${NPSHM_EMU_EXTRA:-}"
if [ "$(cat "$DIR/site/.want" 2>/dev/null)" != "$want" ]; then
    say "PyPI's aarch64 wheels of $want into $DIR/site"
    rm -rf "$DIR/site"
    pyver=$(echo "$PYTHON" | tr -dc 0-9)
    # pip widens no --platform to older manylinux tags: list them. abi3 and none: numpy's
    # dependencies and pure-Python packages.
    # shellcheck disable=SC2086
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$DIR/site" \
        --only-binary=:all: --implementation cp --python-version "${pyver:0:1}.${pyver:1}" \
        --abi "cp$pyver" --abi abi3 --abi none \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 \
        --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
        $want
    echo "$want" >"$DIR/site/.want"
fi
echo "setup: $((SECONDS - t0)) s"
