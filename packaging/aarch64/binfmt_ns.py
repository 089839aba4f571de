#!/usr/bin/env python3
"""binfmt_ns.py QEMU SYSROOT CMD...: run CMD where the kernel runs aarch64 programs through QEMU,
without changing anything for the rest of the machine.

binfmt_misc is global, except that since Linux 6.7 each user namespace can mount an instance of
its own. So: a new user namespace mapping every uid and gid to itself (run as root, the process
stays root, files keep their owners and setuid to other users works), a new mount namespace,
binfmt_misc mounted there and aarch64 ELF files registered to QEMU (flags F: QEMU is opened now,
from this namespace; P: argv[0] is passed on as the program gave it), QEMU_LD_PREFIX naming the
sysroot whose loader and libraries dynamically linked aarch64 programs use; then exec CMD. Every
aarch64 program started below runs as on the target: the interpreter, its multiprocessing
children, venvs' interpreters and the wheel's static npshm tool.
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
BINFMT = "/proc/sys/fs/binfmt_misc"
# name:type:offset:magic:mask:interpreter:flags, as Debian's qemu-user registers aarch64 (ELF64,
# little-endian, e_machine 183).
AARCH64 = (r":qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
           r":\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:{qemu}:FP")


def _fail(what: str) -> None:
    sys.exit(f"binfmt_ns.py: {what}: {os.strerror(ctypes.get_errno())}")


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    qemu, sysroot, cmd = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    if os.geteuid() != 0:
        sys.exit("binfmt_ns.py: needs root (to map every uid of the machine into the namespace)")
    libc = ctypes.CDLL(None, use_errno=True)
    # The id maps of a new user namespace are written from outside it: a helper, forked first,
    # writes them once this process has unshared.
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(ready_w)
        os.close(done_r)
        pid = os.read(ready_r, 32).decode()
        try:
            for name in ("uid_map", "gid_map"):
                with open(f"/proc/{pid}/{name}", "w") as f:
                    f.write("0 0 4294967295")
            os.write(done_w, b"k")
        finally:
            os._exit(0)
    os.close(ready_r)
    os.close(done_w)
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        _fail("unshare(CLONE_NEWUSER | CLONE_NEWNS)")
    os.write(ready_w, str(os.getpid()).encode())
    ok = os.read(done_r, 1) == b"k"
    os.waitpid(helper, 0)
    if not ok:
        sys.exit("binfmt_ns.py: the namespace's uid and gid maps could not be written")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        _fail("mount --make-rprivate /")
    if libc.mount(b"binfmt_misc", BINFMT.encode(), b"binfmt_misc", 0, None) != 0:
        _fail(f"mount binfmt_misc on {BINFMT} (a namespace's own needs Linux 6.7+; "
              f"this is {os.uname().release})")
    with open(f"{BINFMT}/register", "w") as f:
        f.write(AARCH64.format(qemu=qemu))
    os.environ["QEMU_LD_PREFIX"] = sysroot
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
