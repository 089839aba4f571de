"""Smoke test of an installed npshm, run by test_wheel.py inside a fresh virtual environment
whose PATH has neither Go nor a C compiler."""

import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np

import npshm


def child(name: str) -> int:
    a = npshm.attach(name)
    a[1] = 2
    return int(a.sum())


def _fork_warnings(name: str) -> int:
    """Fork a child that attaches name (the C twin's path); the number of fork warnings."""
    with warnings.catch_warnings(record=True) as caught:
        pid = os.fork()
        if pid == 0:
            ok = npshm.attach(name).tolist() == [1.0, 2.0, 1.0]
            os._exit(0 if ok else 1)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    return sum("multi-threaded" in str(w.message) for w in caught if w.category is DeprecationWarning)


def fork_warning(name: str) -> None:
    """docs/PYTHON.md, "fork() and Python 3.12+": Python 3.12+ warns at a fork, since the Go runtime
    has threads; its filter (the code block test_wheel.py hands over in NPSHM_FORK_FILTER) silences
    exactly that; Python 3.10 and 3.11 do not warn."""
    filt = os.environ["NPSHM_FORK_FILTER"]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert _fork_warnings(name) == (1 if sys.version_info >= (3, 12) else 0)
        exec(filt, {})
        assert _fork_warnings(name) == 0
        with warnings.catch_warnings(record=True) as other:  # it hides nothing else
            warnings.warn("This process is multi-threaded, but this is another warning", DeprecationWarning)
        assert len(other) == 1
    # multiprocessing's fork start method shows nothing under the default filters
    r = subprocess.run([sys.executable, "-c", "import multiprocessing as mp, npshm\n"
                        "with mp.get_context('fork').Pool(1) as p: assert p.apply(abs, (-1,)) == 1"],
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, ""), r


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
        fork_warning(name)
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
