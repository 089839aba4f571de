#!/usr/bin/env bash
# test.sh WHEEL TESTS [PYTEST_ARGS...]: install the aarch64 wheel WHEEL into a venv of Debian's
# arm64 CPython and run the Python tests in the folder TESTS, all under qemu-user, on an x86_64
# machine. `./build.sh test-aarch64` runs it; packaging/README.md says what runs and what is left
# out, and why.
#
# Environment:
#   NPSHM_EMU_DIR          where setup.sh keeps the userland and qemu (required; build/aarch64)
#   NPSHM_EMU_REPORT       write a report of the run (machine, versions, counts, times) there
#   NPSHM_EMU_TIMEOUT      seconds before the whole run is killed, qemu's children too (3600)
#   NPSHM_TEST_TIME_SCALE  the tests' deadlines, multiplied (default here: 5)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WHEEL=$(realpath "$1")
TESTS=$(realpath "$2")
shift 2
DIR=${NPSHM_EMU_DIR:?NPSHM_EMU_DIR names the directory for the emulated userland}
DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
export NPSHM_TEST_TIME_SCALE=${NPSHM_TEST_TIME_SCALE:-5}
t_start=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

"$HERE/setup.sh" "$DIR"
t_setup=$((SECONDS - t_start))
S=$DIR/sysroot
QEMU=$DIR/qemu/usr/bin/qemu-aarch64
PYV=python3.11
emulated() { python3 "$HERE/binfmt_ns.py" "$QEMU" "$S" "$@"; }

# What is left out, each with the reason (packaging/README.md, "The aarch64 wheel under qemu").
DESELECT=(
    # qemu-user now and then hangs a child forked from a multithreaded process, inside a lock of
    # its own (golang/go#70329): this test forks 24 such children while 8 threads work.
    test_hardening.py::test_fork_while_eight_threads_use_npshm
    # qemu-user answers madvise(MADV_POPULATE_READ) with success and does nothing (a sparse
    # segment stays sparse: checked by hand), so the sparse backing cannot be seen here.
    test_hardening_neighbour.py::test_sparse_segment_on_a_full_dev_shm_is_enospc_not_sigbus
    # reads through qemu-user's mappings get no PMD huge pages (ShmemPmdMapped stays 0); the
    # layout part of the test (2 MiB-aligned data) passes.
    test_dir.py::test_huge_page_tmpfs_in_a_private_mount_namespace
)

printf '\n== a venv of the emulated %s, with the wheel installed by its own pip\n' "$PYV"
t0=$SECONDS
V=$DIR/venv
rm -rf "$V"
emulated "$S/usr/bin/$PYV" -m venv "$V"
site=$V/lib/$PYV/site-packages
cp -a "$DIR/site/." "$site/"
rm -rf "$site/bin" "$site/.want"  # setup.sh's pip wrote console scripts for this machine's Python
emulated "$V/bin/python" -m pip install -q --no-deps --no-index --disable-pip-version-check "$WHEEL"
t_venv=$((SECONDS - t0))
versions=$(emulated "$V/bin/python" -c '
import platform, sys, numpy, pytest, npshm
print(f"Python {platform.python_version()} ({platform.machine()}), numpy {numpy.__version__}, "
      f"pytest {pytest.__version__}, npshm {npshm.__version__}")')
echo "$versions"

printf '\n== pytest %s, under qemu-user (deadlines x%s)\n' "$TESTS" "$NPSHM_TEST_TIME_SCALE"
t0=$SECONDS
log=$DIR/pytest.log
args=()
for t in "${DESELECT[@]}"; do args+=(--deselect "$t"); done
# timeout kills its whole process group when time is up: qemu's hung children too. faulthandler
# prints the stacks of a test that hangs.
rc=0
(cd "$TESTS" && NPSHM_WHEEL=$WHEEL timeout -k 30 "${NPSHM_EMU_TIMEOUT:-3600}" \
    python3 "$HERE/binfmt_ns.py" "$QEMU" "$S" "$V/bin/python" -m pytest -q -p no:cacheprovider -rs \
    --durations=15 -o faulthandler_timeout=900 "${args[@]}" "$@") 2>&1 | tee "$log" || rc=$?
t_pytest=$((SECONDS - t0))
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^(=+ )?[0-9].* in [0-9.]+s' "$log" | tail -1 | sed 's/^=* *//; s/ *=*$//')
echo "pytest: $t_pytest s wall; $summary"

if [ -n "${NPSHM_EMU_REPORT:-}" ]; then
    {
        echo "# The aarch64 wheel under qemu-user: the Python tests"
        echo
        echo "Written by \`./build.sh test-aarch64\` (packaging/aarch64/test.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
        echo "packaging/README.md explains the set-up and what is left out."
        echo
        echo "| | |"
        echo "| --- | --- |"
        echo "| machine | $(uname -srm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end |"
        echo "| emulator | $("$QEMU" --version | head -1), user mode, binfmt_misc of a private user namespace |"
        echo "| guest | Debian 12 arm64 $versions |"
        echo "| wheel | $(basename "$WHEEL") ($(stat -c %s "$WHEEL") bytes) |"
        echo "| deadlines | NPSHM_TEST_TIME_SCALE=$NPSHM_TEST_TIME_SCALE |"
        echo "| left out | ${DESELECT[*]} (the reasons: packaging/README.md) |"
        echo "| result | $summary |"
        echo "| wall time | $((SECONDS - t_start)) s: setup $t_setup s (cached under build/aarch64 after the first run), venv and install $t_venv s, pytest $t_pytest s |"
        echo
        echo "Skipped, and the slowest tests:"
        echo
        echo '```'
        sed -n '/slowest .* durations/,$p' "$log" | grep -v '^$' | grep -E 's (call|setup|teardown) |SKIPPED' || true
        echo '```'
    } >"$NPSHM_EMU_REPORT"
    echo "report: $NPSHM_EMU_REPORT"
fi
exit "$rc"
