"""Build of the npshm Python package: libnpshm.so (Go, c-shared), the npshm._native extension,
and the npshm command line tool.

`pip install .` and `pip wheel .` run this. libnpshm.so is built with

    go build -buildmode=c-shared -o <dir>/libnpshm.so ./export

and installed inside the package, next to the extension, which finds it through the rpath
$ORIGIN. The extension uses the stable ABI of Python 3.10 (the wheel is tagged cp310-abi3).
The command line tool is built with `CGO_ENABLED=0 go build ./cmd/npshm` (a static binary) into
npshm/_bin/npshm; the `npshm` console script and `python -m npshm` run it (npshm/_cli.py).

Environment:
    NPSHM_LIBNPSHM  path of an already built libnpshm.so to package instead of running go build
    NPSHM_CLI       path of an already built npshm command line tool to package
    GO              the go command (default: `go` on PATH, then /usr/local/go/bin/go)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
LIMITED_API = "0x030A0000"


def _version() -> str:
    """The version, from the one place it is written: NPSHM_VERSION in include/npshm.h."""
    match = re.search(r'#define NPSHM_VERSION "([^"]+)"', (ROOT / "include" / "npshm.h").read_text())
    if not match:
        sys.exit("npshm: NPSHM_VERSION not found in include/npshm.h")
    return match.group(1)


def _go() -> str:
    go = os.environ.get("GO") or shutil.which("go")
    if not go and Path("/usr/local/go/bin/go").exists():
        go = "/usr/local/go/bin/go"
    if not go:
        sys.exit(
            "npshm: building from source needs Go (https://go.dev/dl/) to build libnpshm.so; "
            "or set NPSHM_LIBNPSHM to a built libnpshm.so"
        )
    return go


def _build_cli(dest: Path) -> None:
    """Build (or copy $NPSHM_CLI to) the command line tool at dest."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    prebuilt = os.environ.get("NPSHM_CLI")
    if prebuilt:
        shutil.copyfile(prebuilt, dest)
    else:
        # -s -w: no symbol table or DWARF, a third of the size, in every wheel.
        cmd = [_go(), "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(dest), "./cmd/npshm"]
        print("npshm: CGO_ENABLED=0", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "CGO_ENABLED": "0"})
    os.chmod(dest, 0o755)


class BuildNpshm(build_ext):
    """Build libnpshm.so with go, then the extension against it, and ship both together with the
    command line tool."""

    def build_extension(self, ext: Extension) -> None:
        libdir = Path(self.build_temp).resolve() / "libnpshm"
        libdir.mkdir(parents=True, exist_ok=True)
        lib = libdir / "libnpshm.so"
        prebuilt = os.environ.get("NPSHM_LIBNPSHM")
        if prebuilt:
            shutil.copyfile(prebuilt, lib)
        else:
            # As CMakeLists.txt builds it: only the public npshm_* symbols exported.
            version_script = ROOT / "export" / "libnpshm.map"
            cmd = [_go(), "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
                   f"-ldflags=-extldflags=-Wl,--version-script={version_script}",
                   "-o", str(lib), "./export"]
            print("npshm:", " ".join(cmd), flush=True)
            subprocess.run(cmd, cwd=ROOT, check=True)
        ext.library_dirs = [str(libdir)]
        # The extension needs no libpython (abi3); drop the interpreter's own rpath, which some
        # Python builds (pyenv) put into LDSHARED, so that $ORIGIN is the only search path.
        self.compiler.linker_so = [a for a in self.compiler.linker_so
                                   if not a.startswith(("-Wl,-rpath", "-Wl,-R"))]
        super().build_extension(ext)
        package_dir = Path(self.get_ext_fullpath(ext.name)).parent
        dest = package_dir / "libnpshm.so"
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)
        _build_cli(package_dir / "_bin" / "npshm")


setup(
    version=_version(),
    ext_modules=[
        Extension(
            "npshm._native",
            sources=["python/npshm/_native.c"],
            include_dirs=["include"],
            libraries=["npshm"],
            define_macros=[("Py_LIMITED_API", LIMITED_API)],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"],
            extra_link_args=["-Wl,-rpath,$ORIGIN", "-Wl,--as-needed"],
            py_limited_api=True,
        )
    ],
    cmdclass={"build_ext": BuildNpshm},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
