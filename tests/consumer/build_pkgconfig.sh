#!/bin/sh
# build_pkgconfig.sh CC PREFIX SOURCE OUTPUT
#
# Builds SOURCE the way a Makefile would, with `pkg-config --cflags --libs npshm`
# against the npshm installed under PREFIX, then runs the program. Exit status
# 77 (skipped) if pkg-config is not installed (Debian package: pkgconf, or
# pkg-config on older releases).
set -eu
[ "$#" = 4 ] || { echo "usage: $0 CC PREFIX SOURCE OUTPUT" >&2; exit 2; }
cc=$1 prefix=$2 src=$3 out=$4

if command -v pkg-config >/dev/null 2>&1; then
    pkgconfig=pkg-config
elif command -v pkgconf >/dev/null 2>&1; then
    pkgconfig=pkgconf
else
    echo "SKIPPED: pkg-config is not installed (Debian: apt-get install pkgconf)" >&2
    exit 77
fi

# Only the scratch prefix: never an npshm installed elsewhere on the machine.
pcdir=$(dirname "$(find "$prefix" -name npshm.pc -path '*/pkgconfig/*' | head -n 1)")
[ -f "$pcdir/npshm.pc" ] || { echo "no npshm.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_LIBDIR="$pcdir"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR || true

echo "npshm.pc: $pcdir/npshm.pc, version $($pkgconfig --modversion npshm)"
flags=$($pkgconfig --cflags --libs npshm)
echo "$cc -std=c11 -Wall -Wextra -Werror -o $out $src $flags"
# shellcheck disable=SC2086 # the flags are meant to be split
"$cc" -std=c11 -Wall -Wextra -Werror -o "$out" "$src" $flags

libdir=$($pkgconfig --variable=libdir npshm)
echo "running $out with LD_LIBRARY_PATH=$libdir"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$out"
