"""The main job of npshm, across two Python processes.

The first process creates a named array in shared memory and fills it. It then starts a second,
separate Python process, which attaches to the array by name, reads what the first wrote and writes
its own answer into the same memory. Back in the first process the answer is simply there: nothing
was copied or sent.

Run it with ``./build.sh demo`` (or ``.venv/bin/python examples/demo.py`` once built).
"""

import os
import subprocess
import sys

import numpy as np

import npshm

CONSUMER = """
import sys
import numpy as np
import npshm

name = sys.argv[1]
a = npshm.attach_shared_array(name, validate_shape=(1000,), validate_dtype=np.float64)
print(f"  [consumer pid {__import__('os').getpid()}] attached {name!r}: sum = {a.sum():.1f}, first = {a[:4]}")
a[:] *= -1
print("  [consumer] negated every element in place")
"""


def main() -> int:
    name = f"npshm-demo-py-{os.getpid()}"
    a = npshm.create_shared_array(name, (1000,), np.float64)
    try:
        a[:] = np.arange(1000)
        print(f"[producer pid {os.getpid()}] created {name!r}: 1000 float64, sum = {a.sum():.1f}")
        print("[producer] starting a second Python process that attaches by name ...")
        subprocess.run([sys.executable, "-c", CONSUMER, name], check=True)
        print(f"[producer] sees the consumer's writes without copying: sum = {a.sum():.1f}, first = {a[:4]}")
        if a.sum() != -499500.0:
            print("[producer] FAILED: the consumer's writes are not visible", file=sys.stderr)
            return 1
        # list() gives names as bytes, as SharedArray's does.
        listed = [d for d in npshm.list() if d.name == name.encode()]
        print(f"[producer] npshm.list() shows it: {listed[0]}")
        print("[producer] and so does the command line tool, python -m npshm list (or npshm list):")
        subprocess.run([sys.executable, "-m", "npshm", "list"], check=True)
    finally:
        npshm.delete_shared_array(name)
    gone = not any(d.name == name.encode() for d in npshm.list())
    print(f"[producer] deleted {name!r}; it no longer exists: {gone}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
