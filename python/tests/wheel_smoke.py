"""Smoke test of an installed npshm, run by test_wheel.py inside a fresh virtual environment
whose PATH has neither Go nor a C compiler."""

import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import npshm


def child(name: str) -> int:
    a = npshm.attach(name)
    a[1] = 2
    return int(a.sum())


def main() -> None:
    for tool in ("go", "cc", "gcc", "clang"):
        assert shutil.which(tool) is None, f"{tool} is on PATH"
    assert os.path.dirname(npshm.__file__).startswith(sys.prefix), npshm.__file__
    name = f"npshm-wheel-smoke-{os.getpid()}"
    a = npshm.create_shared_array(name, (3,), np.float64, full=1.0)
    try:
        b = npshm.attach_shared_array(name, validate_shape=(3,), validate_dtype=np.float64)
        assert npshm.is_shared_array(b[1:])
        with mp.get_context("spawn").Pool(1) as pool:
            assert pool.apply(child, (name,)) == 4
        assert a.tolist() == [1.0, 2.0, 1.0]
        assert name.encode() in {d.name for d in npshm.list()}
        # The command line tool: the console script on PATH, and python -m npshm.
        r = subprocess.run(["npshm", "--version"], capture_output=True, text=True)
        assert (r.returncode, r.stdout) == (0, f"npshm {npshm.__version__}\n"), r
        r = subprocess.run([sys.executable, "-m", "npshm", "list"], capture_output=True, text=True)
        assert r.returncode == 0 and f"\n{name} " in r.stdout, r
        # The file codec through the extension's buffers (the stable ABI's on every Python).
        with tempfile.TemporaryDirectory() as d:
            for f in ("a.npy", "a.npio"):
                npshm.to_file(os.path.join(d, f), np.asfortranarray(np.arange(6.0).reshape(2, 3)))
                assert npshm.from_file(os.path.join(d, f)).tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    finally:
        npshm.delete(name)
    print(f"ok npshm {npshm.__version__} libnpshm {npshm.lib_version} numpy {np.__version__} "
          f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
