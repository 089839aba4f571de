"""npshm arrays in Dask's distributed scheduler (issue 11): by reference between worker processes
of one host, by value between hosts, and the many-host recipe of npshm.dask.

One cluster serves the module: a LocalCluster of two worker processes on 127.0.0.1 (host A, with
this process), and, where this runs as root, a second host B of two worker processes on 127.0.0.2
in a private mount namespace with a /dev/shm of its own, standing in for another machine."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import npshm

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.array")
import npshm.dask as nd  # noqa: E402
from distributed.protocol import serialize_bytelist  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import _travel_workers as W  # noqa: E402
from conftest import unique_name  # noqa: E402

GiB = 1 << 30
SAME_HOST = {"sender": {"address": "tcp://127.0.0.1:1"}, "recipient": {"address": "tcp://127.0.0.1:2"}}
OTHER_HOST = {"sender": {"address": "tcp://127.0.0.1:1"}, "recipient": {"address": "tcp://127.0.0.2:2"}}


def _host_b_possible() -> str:
    """Why host B cannot be made here, or ''."""
    if os.geteuid() != 0:
        return "needs root for a network and mount namespace of its own (unshare -n -m)"
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "needs unshare(1) and ip(8) (util-linux, iproute2)"
    if subprocess.run(["unshare", "-n", "-m", "true"]).returncode != 0:
        return "unshare -n -m is not permitted here"
    return ""


# Host B: its own network namespace, joined to this one by a veth pair with link-local addresses
# that exist only between the two namespaces, and its own /dev/shm. A separate network matters:
# over loopback, host B's connections would come from 127.0.0.1 and look local to host A.
# The subnet is this run's own (from the pid): a veth pair that a killed run left behind keeps its
# addresses, and a route to the same /30 through it would swallow host B's traffic.
_A, _B = os.getpid() % 250 + 1, os.getpid() // 250 % 64 * 4
HOST_A_IP, HOST_B_IP = f"169.254.{_A}.{_B + 1}", f"169.254.{_A}.{_B + 2}"
_HOST_B_SCRIPT = r"""
while [ ! -s "$1" ] || ! ip link show vb >/dev/null 2>&1; do sleep 0.05; done
ip link set lo up && ip addr add {b}/30 dev vb && ip link set vb up || exit 80
mount -t tmpfs -o size=512m,mode=1777 tmpfs /dev/shm || exit 78
exec "$0" -m distributed.cli.dask_worker "$(cat "$1")" --host {b} --nworkers 2 --nthreads 1 \
    --no-dashboard --name hostb
""".format(b=HOST_B_IP)


def _remove_stale_pairs() -> None:
    """Delete the veth pairs (npshm<pid>) of runs whose process is gone: a run killed with its
    host B left its end here (deleting one end deletes the pair)."""
    r = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        m = re.match(r"\d+: npshm(\d+)@", line)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            subprocess.run(["ip", "link", "delete", f"npshm{m.group(1)}"], capture_output=True)


def _start_host_b(tmp: str):
    """Start host B's namespaces (waiting for the scheduler's address in a file) and the veth
    pair to it; return the process and the file to write the address to."""
    addr_file = os.path.join(tmp, "scheduler-address")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        ["unshare", "-n", "-m", "sh", "-c", _HOST_B_SCRIPT, sys.executable, addr_file],
        start_new_session=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    va = f"npshm{os.getpid() % 1000000}"
    _remove_stale_pairs()
    for cmd in (
        ["ip", "link", "add", va, "type", "veth", "peer", "name", "vb", "netns", str(proc.pid)],
        ["ip", "addr", "add", f"{HOST_A_IP}/30", "dev", va],
        ["ip", "link", "set", va, "up"],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise OSError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return proc, addr_file  # the veth pair goes with host B's namespace


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client, LocalCluster

    why = _host_b_possible()
    proc = None
    if not why:
        try:
            proc, addr_file = _start_host_b(str(tmp_path_factory.mktemp("hostb")))
        except OSError as e:
            why = f"cannot make host B: {e}"
    lc = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host=HOST_A_IP if proc else "127.0.0.1",
        dashboard_address=None,
    )
    client = Client(lc)
    host_a = sorted(client.scheduler_info()["workers"])
    host_b: list[str] = []
    if proc is not None:
        with open(addr_file + ".tmp", "w") as f:
            f.write(lc.scheduler_address)
        os.rename(addr_file + ".tmp", addr_file)
        try:
            client.wait_for_workers(4, timeout=120)
            host_b = sorted(set(client.scheduler_info()["workers"]) - set(host_a))
        except Exception as e:  # noqa: BLE001 - reported as the reason to skip
            why = f"host B's workers did not join: {e}"
    try:
        yield client, host_a, host_b, why
    finally:
        client.close()
        lc.close()  # first: host A's address goes with host B's namespace
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _frames_bytes(x, context) -> int:
    return sum(memoryview(f).nbytes for f in serialize_bytelist(x, context=context))


def test_a_1gib_array_through_scatter_tasks_and_gather_by_reference(cluster, names):
    client, host_a, _, _ = cluster
    name = names("dask-big")
    a = npshm.create_shared_array(name, (GiB,), np.uint8)
    assert _frames_bytes(a, SAME_HOST) < 1024  # what goes through the comms
    fut = client.scatter(a, workers=host_a[:1], hash=False)
    # Each worker of host A writes through the array it received; the writes reach this process.
    done = [client.submit(W.write_at, fut, i, workers=[w], pure=False) for i, w in enumerate(host_a)]
    for _, shared, n in client.gather(done):
        assert shared and n == name
    for i in range(len(host_a)):
        s = slice(i * W.SLICE, (i + 1) * W.SLICE)
        assert a[s].min() == a[s].max() == i + 1
    # A result that is a view of the array comes back as a view of the same memory.
    v = client.submit(W.head, fut, 16, workers=host_a[:1]).result()
    assert npshm.is_shared_array(v) and npshm.name_of(v) == name
    v[0] = 99
    assert a[0] == 99
    del fut, done, v, a


def test_a_result_moves_between_workers_of_a_host_by_reference(cluster, names):
    client, host_a, _, _ = cluster
    name = names("dask-w2w")
    a = npshm.create_shared_array(name, (1 << 20,), np.int64, full=3)
    fut = client.scatter(a, workers=host_a[:1], hash=False)
    v = client.submit(W.head, fut, 1000, workers=host_a[:1])
    # Computed on the first worker, used on the second: a transfer between worker processes.
    shared, n, shape, writeable, total = client.submit(W.describe, v, workers=host_a[1:2]).result()
    assert shared and n == name and shape == (1000,) and writeable and total == 3000


def test_between_hosts_and_without_a_name_it_goes_by_value(cluster, names):
    client, host_a, _, _ = cluster
    name = names("dask-value")
    a = npshm.create_shared_array(name, (1 << 17,), np.int64, full=5)
    assert _frames_bytes(a, OTHER_HOST) >= a.nbytes
    assert _frames_bytes(a, None) >= a.nbytes  # no context (spilling): by value
    with npshm.set_pickling("value"):
        assert _frames_bytes(a, SAME_HOST) >= a.nbytes
    # An array whose name is gone cannot travel by reference; Dask gets the bytes instead.
    npshm.delete_shared_array(name)
    fut = client.scatter(a[:100], workers=host_a[:1], hash=False)
    shared, _, _, _, total = client.submit(W.describe, fut, workers=host_a[:1]).result()
    assert not shared and total == 500


def test_many_hosts_load_once_per_host_and_chunks_attach_by_name(cluster, tmp_path):
    client, host_a, host_b, why = cluster
    if why:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(why)
        pytest.skip(why)
    name = unique_name("dataset")
    data = np.arange(4_000_000, dtype=np.int64).reshape(2000, 2000)
    path = tmp_path / "dataset.npy"
    np.save(path, data)
    try:
        status = nd.load_on_every_host(client, path, name)
        by_host: dict[str, list[bool]] = {}
        for info in status.values():
            assert info["shape"] == (2000, 2000)
            by_host.setdefault(info["host"], []).append(info["loaded"])
        assert len(by_host) == 2, by_host  # host A and host B have separate /dev/shm
        assert all(sum(loaded) == 1 for loaded in by_host.values()), by_host  # one loader per host
        x = nd.from_shared(name, (2000, 2000), np.int64, chunks=(500, 2000))
        assert x.sum().compute() == data.sum()  # chunks run on both hosts, results come back small
        # A view of host A's array, used on host B, crosses hosts by value and is right there.
        view = client.submit(W.attach_head, name, 500, workers=host_a[:1])
        assert client.submit(npshm.is_shared_array, view, workers=host_a[1:2]).result()
        shared, _, shape, _, total = client.submit(W.describe, view, workers=host_b[:1]).result()
        assert not shared and shape == (500, 2000) and total == data[:500].sum()
    finally:
        client.run(npshm.delete_shared_array, name, False)
        npshm.delete_shared_array(name, False)


def test_from_shared_on_one_host(cluster, names):
    client, host_a, _, _ = cluster
    name = names("dask-from-shared")
    a = npshm.create_shared_array(name, (300, 40), np.float32, full=np.ones((300, 40), np.float32))
    x = nd.from_shared(name, chunks=(100, 40))
    assert x.shape == (300, 40) and x.dtype == np.float32
    assert float(client.compute(x.sum(), workers=host_a).result()) == 12000.0
    # The graph holds the name, not the data.
    import pickle

    assert len(pickle.dumps(dict(x.__dask_graph__()))) < 4096
    del a


def test_host_id_names_the_shared_memory():
    boot = open("/proc/sys/kernel/random/boot_id").read().strip()
    assert nd.host_id() == f"{boot}:{os.stat('/dev/shm').st_dev}"
