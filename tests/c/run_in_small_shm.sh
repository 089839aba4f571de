#!/bin/sh
# run_in_small_shm.sh PROGRAM [ARGS...]
#
# Runs PROGRAM in a private mount namespace where /dev/shm is a fresh 1 MiB
# tmpfs, so that it can fill /dev/shm without touching the machine's own.
# Needs root (or CAP_SYS_ADMIN) for unshare -m and mount. Where that is not
# available the test is skipped: exit status 77 (ctest SKIP_RETURN_CODE), unless
# NPSHM_REQUIRE_NOSPACE_TEST=1 is set (CI), which makes it a failure instead.
skip() {
    echo "SKIPPED: $*" >&2
    if [ "${NPSHM_REQUIRE_NOSPACE_TEST:-0}" = 1 ]; then
        echo "NPSHM_REQUIRE_NOSPACE_TEST=1: a skip is a failure here" >&2
        exit 1
    fi
    exit 77
}

[ "$#" -ge 1 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root to mount a private 1 MiB tmpfs on /dev/shm (unshare -m)"
command -v unshare >/dev/null 2>&1 || skip "unshare(1) is not installed (Debian package util-linux)"
unshare -m true 2>/dev/null || skip "unshare -m is not permitted here (a container without CAP_SYS_ADMIN?)"

# The mount happens only inside the new namespace (unshare makes its mounts
# private). Status 78 from the inner shell means the mount itself was refused.
unshare -m sh -c '
    mount -t tmpfs -o size=1m,mode=1777 tmpfs /dev/shm || exit 78
    exec "$0" "$@"
' "$@"
status=$?
[ "$status" = 78 ] && skip "cannot mount a tmpfs on /dev/shm in a private mount namespace"
exit "$status"
