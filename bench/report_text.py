"""The words and pictures of bench/report.py: the Markdown report and the matplotlib charts, from
the measurements (a dict, also kept as JSON next to the report, so that
`python bench/report.py --from-json FILE` rewrites the text without measuring again).

Comparisons in the text are computed from the numbers; only the reasons are fixed prose.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any, Optional

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
ORDER = ["npshm", "npshm reserve=False", "SharedArray", "shared_memory", "cdxcore", "raw syscalls"]
COLUMN = {"npshm": "npshm", "npshm reserve=False": "npshm `reserve=False`", "SharedArray": "SharedArray",
          "shared_memory": "shared_memory + ndarray", "cdxcore": "cdxcore.npshm",
          "raw syscalls": "raw floor"}
REF = "SharedArray"


def fmt_t(s: Optional[float]) -> str:
    if s is None:
        return "–"
    if s < 0:
        return "-" + fmt_t(-s)
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs" if s < 1e-4 else f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


def fmt_b(b: Optional[float]) -> str:
    if b is None:
        return "–"
    for unit, div in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(b) >= div:
            return f"{b / div:.2f} {unit}"
    return f"{b:.0f} B"


def fmt_size(n: int) -> str:
    for unit, div in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= div:
            return f"{n // div} {unit}"
    return f"{n} B"


def ratio(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}x"


def _cell(v: Optional[float], ref: Optional[float], fmt=fmt_t) -> str:
    if v is None:
        return "–"
    if ref is None or ref == 0:
        return fmt(v)
    return f"{fmt(v)} ({v / ref:.2f}x)"


def table(rows: list[tuple[str, dict[str, Optional[float]]]], cols: list[str], ref: Optional[str],
          fmt=fmt_t, first: str = "") -> list[str]:
    """Markdown table: one row per (label, {col: value}); each cell the value and, if ref is
    given, its ratio to the ref column of the same row."""
    out = ["| " + first + " | " + " | ".join(COLUMN.get(c, c) for c in cols) + " |",
           "| --- |" + " ---: |" * len(cols)]
    for label, vals in rows:
        r = vals.get(ref) if ref else None
        out.append("| " + label + " | " + " | ".join(
            (f"**{fmt(vals.get(c))}**" if c == ref and vals.get(c) is not None else _cell(vals.get(c), r, fmt))
            for c in cols) + " |")
    return out


def _libs(res: dict[str, Any], section: str) -> list[str]:
    have = set(res.get(section, {}))
    return [c for c in ORDER if c in have] + sorted(have - set(ORDER))


def _get(res: dict[str, Any], section: str, label: str, op: str) -> Optional[float]:
    return res.get(section, {}).get(label, {}).get(op)


# ---- the headline --------------------------------------------------------------------------------


def headline_rows(res: dict[str, Any]) -> list[tuple[str, dict[str, Optional[float]]]]:
    """(operation, {library: seconds}) for the README's table."""
    big = fmt_size(_big(res))
    rows: list[tuple[str, dict[str, Optional[float]]]] = []

    def sec(section: str, op: str, label: str) -> None:
        rows.append((label, {lib: _get(res, section, lib, op) for lib in ORDER}))

    sec("small", "attach+release", "attach + release, 8 KB array")
    sec("small", "create+delete", "create + delete, 8 KB array")
    sec("big", "create", f"create {big} (zeroed)")
    sec("big", "create + first write", f"create {big} + first full write")
    rows.append((f"create {big} filled with 1.0 (`full=1.0`; without it: create, then write)",
                 {lib: _get(res, "big", lib, "create(full=)") or _get(res, "big", lib, "create + first write")
                  for lib in ORDER}))
    sec("big", "first read", f"first read of {big} (fresh attach)")
    sec("big", "delete", f"delete {big}")
    hand = {lib: _get(res, "handoff", lib, "hand-off") for lib in ORDER}
    rows.append((f"hand-off of {fmt_size(_handoff(res))} to 8 pool workers", hand))
    top = str(max((int(k) for lib in res.get("count", {}).values() for k in lib.get("list", {})), default=0))
    rows.append((f"`list()` with {int(top):,} arrays",
                 {lib: res.get("count", {}).get(lib, {}).get("list", {}).get(top) for lib in ORDER}))
    rows.append(("import after numpy, with a first call",
                 {lib: _get(res, "imports", lib, "import + first call") for lib in ORDER}))
    return rows


def _big(res: dict[str, Any]) -> int:
    return (8 * MiB) if res.get("quick") else GiB


def _handoff(res: dict[str, Any]) -> int:
    return (8 * MiB) if res.get("quick") else 256 * MiB


def headline(res: dict[str, Any]) -> list[str]:
    """Median times of every library, then npshm's time divided by each other's (below 1: npshm
    is faster)."""
    rows = headline_rows(res)
    cols = [c for c in ORDER if any(v.get(c) is not None for _, v in rows)]
    peers = [c for c in cols if c not in ("npshm", "npshm reserve=False")]
    out = ["| median time | " + " | ".join(COLUMN[c] for c in cols) + " | "
           + " | ".join(f"npshm ÷ {COLUMN[c]}" for c in peers) + " |",
           "| --- |" + " ---: |" * (len(cols) + len(peers))]
    for label, vals in rows:
        ours = vals.get("npshm")
        out.append("| " + label + " | " + " | ".join(fmt_t(vals.get(c)) for c in cols) + " | "
                   + " | ".join(ratio(ours, vals.get(c)) for c in peers) + " |")
    return out


def seed_table(seed: dict[str, Any]) -> list[str]:
    floor = seed.get("start only (the floor)", {}).get("time")
    out = ["| approach | wall time, 4 workers | over starting 4 interpreters | memory added |",
           "| --- | ---: | ---: | ---: |"]
    for k, v in seed.items():
        over = "–" if floor is None or k.startswith("start only") else fmt_t(v["time"] - floor)
        out.append(f"| {k} | {fmt_t(v['time'])} | {over} | {fmt_b(v['memory'])} |")
    return out


# ---- where npshm wins and loses --------------------------------------------------------------------

WHY = {
    # what npshm does that the others do not (docs/FORMAT.md), which is where its time goes
    "create+delete": "npshm builds the segment unnamed (O_TMPFILE), reserves every byte "
                     "(fallocate), writes its header and publishes it under the name atomically "
                     "(linkat); SharedArray does shm_open + ftruncate + mmap",
    "create": "npshm reserves every byte at create (fallocate), so that a full /dev/shm is an "
              "ENOSPC now and never a SIGBUS at a later write; SharedArray, shared_memory and "
              "cdxcore only ftruncate, and pay at the first write instead",
    "create + first write": "the reservation (fallocate) and the first write are two passes over "
                            "the pages; the others' first write allocates each page once, in its "
                            "page fault",
    "create(full=)": "the reservation, then the fill: two passes over the pages",
    "first read": "every library's fresh mapping of /dev/shm maps the same 4 KiB pages (no huge= "
                  "mount option here; shmem_enabled `never`) with the same kernel work, and "
                  "npshm's attach adds one pread of its header; a difference at this size is the "
                  "machine's, not the library's, and huge pages are what closes the gap "
                  "to a cached file (see Huge pages)",
    "attach+release": "npshm's attach opens with O_NOFOLLOW, fstats, reads and validates the "
                      "header (pread) before it maps; the others map without reading",
    "hand-off": "each worker attaches by name and checks that the name still holds the array "
                "that was sent (else StaleReferenceError); the others trust the name",
    "list": "npshm.list() reads and checks each array's header (a pread of 4 KiB, where the "
            "header is some 200 bytes) from Go, which calls back into the extension per array, "
            "then builds each ArrayDesc in Python (about 1.3 us per array) and says whether its "
            "creator still runs (one /proc/PID/stat per distinct creator); SharedArray reads "
            "its small trailer and builds its tuples in C",
    "delete": "npshm's delete is one unlink, as the others' (and the raw floor's): the kernel frees "
              "the same pages, so a difference here is the machine's, not the library's",
    "import + first call": "npshm loads its Python modules and libnpshm.so, which carries the Go "
                           "runtime, whose start the first call waits for; SharedArray is one "
                           "small C extension",
}


LOSS = 1.10  # slower by more than this factor is a loss; closer counts as even on a shared machine


def losses(res: dict[str, Any]) -> list[str]:
    """Sentences for every operation in which npshm takes longer than another shared-memory
    library (the raw floor is not a competitor), with the reason."""
    out = []
    for label, vals in headline_rows(res):
        ours = vals.get("npshm")
        if ours is None:
            continue
        rivals = {k: v for k, v in vals.items()
                  if k not in ("npshm", "npshm reserve=False", "raw syscalls") and v is not None}
        worse = {k: v for k, v in rivals.items() if v * LOSS < ours}
        if not worse:
            continue
        op = None
        for key, o in (("attach + release", "attach+release"), ("create + delete", "create+delete"),
                       ("first full write", "create + first write"), ("full=", "create(full=)"),
                       ("first read", "first read"), ("(zeroed)", "create"), ("delete ", "delete"),
                       ("hand-off", "hand-off"), ("list()", "list"), ("import", "import + first call")):
            if key in label:
                op = o
                break
        best = min(worse, key=worse.__getitem__)
        why = WHY.get(op or "", "")
        out.append(f"- **{label}**: npshm {fmt_t(ours)}, {COLUMN.get(best, best)} {fmt_t(worse[best])} "
                   f"({ours / worse[best]:.2f}x)" + (f". Why: {why}." if why else "."))
    return out


# ---- the Markdown ---------------------------------------------------------------------------------


def markdown(res: dict[str, Any], stem: str, charts: dict[str, str]) -> str:
    m = res["machine"]
    quick = res.get("quick")
    big = fmt_size(_big(res))
    L: list[str] = [f"# npshm benchmark report, {stem}", ""]
    if quick:
        L += ["**A quick (smoke) run: NPSHM_BENCH_QUICK=1 shrinks every size; its numbers mean "
              "nothing.**", ""]
    L += ["Written by `./build.sh bench` (`bench/report.py`; the measurements are in "
          f"`{stem}.json`). Every ratio compares numbers of this one run, libraries taking turns "
          "round by round. Times are medians.", "", "## The machine", ""]
    for k, v in m.items():
        L.append(f"- {k}: `{v}`")
    lb, la = res.get("load before", [0])[0], res.get("load after", [0])[0]
    L += [f"- load average (1 min) before / after: {lb:.2f} / {la:.2f}" +
          (" — **the machine was busy with other work during this run** (2 cores shared), which "
           "slows every library alike but adds noise" if max(lb, la) > 1.0 else ""),
          f"- measuring took {res.get('seconds', 0):.0f} s", ""]

    L += ["## Headline", "", *headline(res), "",
          "Raw floor: the same system calls from Python (`os.open`, `os.fstat`, `mmap.mmap`, "
          "`os.close`; for create `O_EXCL` + `ftruncate`, no reservation), or `os.listdir` for "
          "`list()`. The C library's floor (npshm_attach against open/fstat/mmap/munmap/close in "
          "C) is measured by the speed benchmarks of issue 13.", ""]
    if "seed" in charts:
        L += [f"![the seed's job]({charts['seed']})", ""]

    import report_speed

    sp = res.get("speed", {})
    L += ["## Speed bars (issue 13)", "",
          "Each bar of issue 13's \"Speed\" section, measured in this run by `bench/bench_speed.py` "
          "(and the no-reserve bar by `bench/report_speed.py`, which says how the bars the issue "
          "gives no number for are judged). Ratios are of medians of rounds that take turns. "
          + report_speed.speed_summary(sp), "", *report_speed.speed_table(sp), ""]

    L += ["## The seed's job: 4 workers need the same dataset file", "",
          f"Four fresh Python processes start at once; each needs the same {fmt_size(_seed(res))} "
          f"float64 dataset from a file on disk ({m.get('dataset directory', '?')}), in the page "
          "cache, and reads one value in every page. Wall time from the start to the last exit; "
          "memory added is the workers' private (anonymous) memory plus the shared array, if one "
          "is made. npshm and cdxcore read the npio file (`cdxcore.npio.to_file`'s format) into "
          "one shared array that the other workers attach to; np.load reads the .npy.", "",
          *seed_table(res.get("seed", {})), ""]

    huge = res.get("huge", {})
    L += ["## Huge pages", ""]
    if "skipped" in huge:
        L += [f"Not measured: {huge['skipped']}.", ""]
    else:
        L += ["The same operations on a tmpfs mounted `huge=within_size` over /dev/shm in a private "
              "mount namespace (`unshare -m`, then `mount -t tmpfs -o huge=within_size`): every "
              "library uses it, as none but npshm can be pointed at another directory. "
              f"Mount: `{huge.get('mount')}`. *huge pages* is how much of the array the kernel "
              "backed with 2 MiB pages after the first write (ShmemHugePages); the other rows "
              "are times, /dev/shm → huge-page tmpfs.", "",
              f"| {big} | " + " | ".join(COLUMN.get(c, c) + " /dev/shm → huge" for c in ORDER
                                        if c in huge.get("big", {})) + " |",
              "| --- |" + " ---: |" * len([c for c in ORDER if c in huge.get("big", {})])]
        for op in ("huge pages", "create", "first write", "create + first write", "create(full=)",
                   "first read", "delete"):
            cells = []
            for c in ORDER:
                if c not in huge.get("big", {}):
                    continue
                a, b = _get(res, "big", c, op), huge["big"][c].get(op)
                if op == "huge pages":
                    cells.append(f"{fmt_b(a)} → {fmt_b(b)}")
                else:
                    cells.append("–" if a is None or b is None else f"{fmt_t(a)} → {fmt_t(b)} ({b / a:.2f}x)")
            L.append(f"| {op} | " + " | ".join(cells) + " |")
        L += ["", "The seed's job on the huge-page tmpfs:", "",
              "| approach | wall time, /dev/shm → huge | memory added |", "| --- | ---: | ---: |"]
        for k, v in huge.get("seed", {}).items():
            a = res.get("seed", {}).get(k, {}).get("time")
            L.append(f"| {k} | {fmt_t(a)} → {fmt_t(v['time'])} | {fmt_b(v['memory'])} |")
        L.append("")
        L += npshm_dir_section(res, huge.get("NPSHM_DIR", {"skipped": "not measured"}))

    L += ["## When each approach wins", "", *verdicts(res), ""]
    L += ["## Where npshm loses, and why", ""]
    lost = losses(res)
    L += [f"Every headline row in which npshm took more than {LOSS:.2f} times the time of another "
          "library (closer counts as even: the machine is shared):", ""]
    L += (lost or ["- none."]) + [""]

    L += ["## Details", "", "### Small arrays (1000 float64)", "",
          *table([(op, {c: _get(res, "small", c, op) for c in ORDER}) for op in
                  ("attach+release", "create+delete")], _libs(res, "small"), REF, first="per operation"), "",
          f"### {big} arrays", "",
          "Create (zeroed), the first full write `a[:] = 1.0` through the creator's mapping, "
          "`create(full=1.0)` where the library offers it, the first read of every page through a "
          "fresh attach, and delete. The np.load row reads a cached .npy of the same size.", "",
          *table([(op, {c: _get(res, "big", c, op) for c in _libs(res, "big")}) for op in
                  ("create", "first write", "create + first write", "create(full=)", "first read", "delete")],
                 _libs(res, "big"), REF, first=big), "",
          f"### {big} file into a new shared array", "",
          "The file is on disk and in the page cache; each load makes a new array. npshm fills "
          "the array from both ends at once (sendfile from the front, pread from the back), so "
          "its lead over cdxcore, which copies on one thread, needs a second free core: on one "
          "core (`taskset -c 0`) it was 1.12x cdxcore, on two busy ones 1.45x, on two quiet "
          "ones 2.05x (earlier runs of bench/bench_files.py). Each page is still allocated (4 KiB "
          "at a time on /dev/shm) and copied once; a huge-page tmpfs (NPSHM_DIR on a tmpfs mounted "
          "`huge=within_size`) allocates 2 MiB at a time: there the same 1 GiB load took 113-134 "
          "ms against 460-550 ms on /dev/shm (measured once by hand, machine loaded; after a "
          "slow first load that gathers the huge pages).", "",
          "| subject | median | GB/s |", "| --- | ---: | ---: |"]
    for k, v in res.get("files", {}).items():
        L.append(f"| {k} | {fmt_t(v['load'])} | {_big(res) / v['load'] / 1e9:.2f} |")
    L += ["", f"### Hand-off of a {fmt_size(_handoff(res))} array to 8 pool workers", "",
          "One `pool.map` of 8 tasks on a running `multiprocessing.Pool(8)`; each worker reads one "
          "value per page of its eighth. npshm arrays travel by reference (about 200 bytes), the "
          "others by name (the worker attaches); without shared memory, each worker's block of a "
          "plain ndarray is pickled into its task (a copy through the pool's pipe).", "", "| subject | median | ratio to SharedArray |", "| --- | ---: | ---: |"]
    ho = res.get("handoff", {})
    for k, v in ho.items():
        L.append(f"| {COLUMN.get(k, k)} | {fmt_t(v['hand-off'])} | "
                 f"{ratio(v['hand-off'], ho.get(REF, {}).get('hand-off'))} |")
    L += ["", "### Import time and memory", "",
          "Median of fresh interpreters. *import*: `import X` after `import numpy`, timed inside; "
          "*with a first call*: until npshm's first call returns (it waits for the Go runtime); "
          "*process wall*: `python -c \"import numpy, X\"` minus `python -c \"import numpy\"`.", "",
          "| library | import | import + first call | process wall over numpy | memory over numpy |",
          "| --- | ---: | ---: | ---: | ---: |"]
    for k, v in res.get("imports", {}).items():
        if k == "numpy alone":
            continue
        L.append(f"| {COLUMN.get(k, k)} | {fmt_t(v['import'])} | {fmt_t(v['import + first call'])} | "
                 f"{fmt_t(v['process wall over numpy'])} | {fmt_b(v['memory over numpy'])} |")
    na = res.get("imports", {}).get("numpy alone")
    if na:
        L += ["", f"`python -c \"import numpy\"` alone: {fmt_t(na['process wall'])}, "
                  f"{fmt_b(na['rss'])} resident."]
    L += ["", "### How costs grow with the array's size", "",
          "Create (zeroed), attach + release, the first full write, delete; the median of "
          "repeats (fewer for larger arrays: one at 1 GiB and over).", ""]
    if "size" in charts:
        L += [f"![by size]({charts['size']})", ""]
    L += size_table(res)
    L += ["", "### How costs grow with the number of arrays", "",
          "Create N arrays of 8 float64 (time per array), `list()` once, delete them all (time "
          "per array). shared_memory and cdxcore offer no listing; the raw floor lists with "
          "`os.listdir` (names only, no file read). Other programs' files in /dev/shm are listed "
          "too.", ""]
    if "count" in charts:
        L += [f"![by count]({charts['count']})", ""]
    L += count_table(res)
    L.append("")
    return "\n".join(L)


def npshm_dir_section(res: dict[str, Any], nd: dict[str, Any]) -> list[str]:
    """npshm alone on a huge-page tmpfs that NPSHM_DIR names, /dev/shm left as it is."""
    L = ["### npshm with NPSHM_DIR on a huge-page tmpfs", ""]
    if "skipped" in nd:
        return L + [f"Not measured: {nd['skipped']}.", ""]
    L += ["The way npshm offers huge pages without touching /dev/shm: a tmpfs mounted "
          f"`huge=within_size` (`{nd.get('mount')}`) named by `NPSHM_DIR`, in a private mount "
          "namespace; npshm alone, against its own numbers on /dev/shm.", "",
          "| npshm | /dev/shm | NPSHM_DIR (huge pages) | ratio |", "| --- | ---: | ---: | ---: |"]
    for op in ("create", "first write", "create + first write", "create(full=)", "first read", "delete"):
        a, b = _get(res, "big", "npshm", op), nd.get("big", {}).get("npshm", {}).get(op)
        L.append(f"| {op}, {fmt_size(_big(res))} | {fmt_t(a)} | {fmt_t(b)} | {ratio(b, a)} |")
    a = res.get("seed", {}).get("npshm", {}).get("time")
    b = nd.get("seed", {}).get("npshm", {}).get("time")
    L += [f"| the seed's job, 4 workers | {fmt_t(a)} | {fmt_t(b)} | {ratio(b, a)} |", ""]
    return L


def _seed(res: dict[str, Any]) -> int:
    return (8 * MiB) if res.get("quick") else GiB


def size_table(res: dict[str, Any]) -> list[str]:
    sz = res.get("size", {})
    libs = _libs(res, "size")
    sizes = sorted({int(s) for lib in sz.values() for op in lib.values() for s in op})
    out = []
    for op in ("create", "attach", "fill", "delete"):
        out += [f"**{op}**", "", "| size | " + " | ".join(COLUMN.get(c, c) for c in libs) + " |",
                "| ---: |" + " ---: |" * len(libs)]
        for s in sizes:
            ref = sz.get(REF, {}).get(op, {}).get(str(s))
            out.append(f"| {fmt_size(s)} | " + " | ".join(
                _cell(sz.get(c, {}).get(op, {}).get(str(s)), None if c == REF else ref) for c in libs) + " |")
        out.append("")
    return out


def count_table(res: dict[str, Any]) -> list[str]:
    ct = res.get("count", {})
    libs = _libs(res, "count")
    counts = sorted({int(s) for lib in ct.values() for op in lib.values() for s in op})
    out = []
    for op in ("create (per array)", "list", "delete (per array)"):
        out += [f"**{op}**", "", "| arrays | " + " | ".join(COLUMN.get(c, c) for c in libs) + " |",
                "| ---: |" + " ---: |" * len(libs)]
        for n in counts:
            ref = ct.get(REF, {}).get(op, {}).get(str(n))
            out.append(f"| {n:,} | " + " | ".join(
                _cell(ct.get(c, {}).get(op, {}).get(str(n)), None if c == REF else ref) for c in libs) + " |")
        out.append("")
    return out


def _no_reserve_note(res: dict[str, Any]) -> str:
    a = _get(res, "big", "npshm reserve=False", "create")
    b = _get(res, "big", "SharedArray", "create")
    if a is None:
        return ""
    return (f" For arrays used sparsely, `reserve=False` opts out of the reservation and brings "
            f"SharedArray's risk back: its {fmt_size(_big(res))} create took {fmt_t(a)}"
            + (f" (SharedArray {fmt_t(b)})" if b is not None else "") + ".")


def _first_read_note(res: dict[str, Any]) -> str:
    a = _get(res, "big", "np.load(mmap_mode='r')", "first read")
    b = _get(res, "big", "npshm", "first read")
    if a is None or b is None:
        return ""
    return (f" Even reading an array already in memory, a fresh mapping of the cached file was "
            f"{'faster' if a < b else 'not faster'}: {fmt_t(a)} against {fmt_t(b)} for npshm's "
            f"array on /dev/shm ({fmt_size(_big(res))}, one value per page), made of 4 KiB pages "
            f"here (see Huge pages).")


def verdicts(res: dict[str, Any]) -> list[str]:
    """When each approach wins, with this run's numbers in the sentences."""
    seed = res.get("seed", {})
    big = fmt_size(_big(res))
    t = {k: v.get("time") for k, v in seed.items()}
    mem = {k: v.get("memory") for k, v in seed.items()}
    mm, ns = "np.load(mmap_mode='r')", "npshm"
    out = []
    if mm in t and ns in t:
        out.append(
            f"- **Read-only data in a file on a local disk that stays in the page cache: "
            f"`np.load(mmap_mode=\"r\")` wins.** In the seed's job it took {fmt_t(t[mm])} and "
            f"{fmt_b(mem[mm])} of extra memory, against npshm's {fmt_t(t[ns])} and "
            f"{fmt_b(mem[ns])}: the page cache already holds the data, so mapping it costs no copy "
            f"and no memory, while npshm copies the file once into shared memory (a second copy "
            f"beside the page cache)." + _first_read_note(res))
    if "np.load" in t and ns in t:
        out.append(
            f"- **A private `np.load` per worker** took {fmt_t(t['np.load'])} and "
            f"{fmt_b(mem['np.load'])}: the copy is made once per worker, so memory grows with the "
            f"number of workers (npshm's copy is made once per machine), and a worker's writes stay "
            f"its own.")
    if "cdxcore" in t and ns in t:
        out.append(
            f"- **cdxcore.npshm** took {fmt_t(t['cdxcore'])} against npshm's {fmt_t(t[ns])} for "
            f"the same job (one shared copy each), and its `read_shared_array` races its own "
            f"creation when workers start together (the workers here retry).")
    out.append(
        "- **npshm wins where the data is shared and not only read from a local cached file**: "
        "workers that write into one array and see each other's writes (mmap of a file with "
        "mode 'r+' writes back to the file and its disk); a snapshot that stays the same when "
        "the file is replaced or deleted; data from slow or remote storage (network file systems, "
        "object stores, a database, a computation), loaded once per machine instead of once per "
        "worker; many arrays found by name (`list()`, attach by name from any language: C, Go, "
        "Python, the shell), and arrays handed to pool workers by reference "
        f"(see the hand-off table).")
    out.append(
        "- **SharedArray** creates a zeroed array fastest because it does not reserve memory: "
        "pages are allocated at the first write, and a full /dev/shm then kills the writer with "
        "SIGBUS. npshm pays for the reservation at create time (see the size table: the cost grows "
        f"with the size; at {big} it is the create row of the headline)." + _no_reserve_note(res))
    hh = res.get("huge", {})
    if "big" in hh and ns in hh["big"]:
        a, b = _get(res, "big", ns, "first read"), hh["big"][ns].get("first read")
        if a and b:
            out.append(
                f"- **Huge pages close the first-read gap**: on a tmpfs mounted `huge=within_size`, "
                f"npshm's first read of {big} took {fmt_t(b)} instead of {fmt_t(a)} ({b / a:.2f}x), "
                "because one fault maps 2 MiB instead of 4 KiB. /dev/shm on this machine is mounted "
                "without `huge=`; a system administrator can remount it, or (issue 13) npshm can be "
                "pointed at another directory.")
    return out


# ---- README ---------------------------------------------------------------------------------------

README_BEGIN = "<!-- bench/report.py: headline begins -->"
README_END = "<!-- bench/report.py: headline ends -->"


def readme_section(res: dict[str, Any], stem: str, charts: dict[str, str], results_dir: str) -> str:
    """What README shows between its markers: the headline table and the seed's-job chart."""
    m = res["machine"]
    lb, la = res.get("load before", [0])[0], res.get("load after", [0])[0]
    busy = " on a busy machine (load average up to %.1f)" % max(lb, la) if max(lb, la) > 1.0 else ""
    intro = (f"Measured by `./build.sh bench` on {stem}{busy}: {m['cpu']}, {m['cores']} cores, "
             f"{m['kernel']}, /dev/shm on tmpfs with {m['page size'].split()[0]}-byte pages; "
             f"Python {m['Python'].split()[0]}, numpy {m['numpy']}, SharedArray {m['SharedArray']}, "
             f"cdxcore {m['cdxcore']}. The whole report, with what each approach is good at and "
             f"where npshm loses and why: [{results_dir}/{stem}.md]({results_dir}/{stem}.md).")
    L = [README_BEGIN, *textwrap.wrap(intro, 100, break_on_hyphens=False, break_long_words=False),
         "", *headline(res), ""]
    if "seed" in charts:
        L += [f"![4 workers need the same dataset file]({results_dir}/{charts['seed']})", ""]
    L.append(README_END)
    return "\n".join(L)


def update_readme(path: str, section: str) -> bool:
    """Replace README's text between the markers; False if it has none."""
    with open(path) as f:
        text = f.read()
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a < 0 or b < a:
        return False
    with open(path, "w") as f:
        f.write(text[:a] + section + text[b + len(README_END):])
    return True


# ---- charts -----------------------------------------------------------------------------------------


def charts(res: dict[str, Any], stem: str) -> dict[str, str]:
    """PNG charts next to the report; {kind: file name}. None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    out: dict[str, str] = {}
    colors = {"npshm": "C0", "SharedArray": "C1", "shared_memory": "C2", "cdxcore": "C3",
              "raw syscalls": "0.5"}

    def sweep(section: str, ops: list[str], xlabel: str, xfmt, kind: str) -> None:
        data = res.get(section, {})
        if not data:
            return
        fig, axes = plt.subplots(1, len(ops), figsize=(4.2 * len(ops), 3.8))
        for ax, op in zip(axes, ops):
            for lib in _libs(res, section):
                pts = sorted((int(k), v) for k, v in data[lib].get(op, {}).items())
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3,
                            label=COLUMN.get(lib, lib), color=colors.get(lib),
                            lw=2.2 if lib == "npshm" else 1.2)
            ax.set_xscale("log", base=2 if section == "size" else 10)
            ax.set_yscale("log")
            ax.set_title(op)
            ax.set_xlabel(xlabel)
            ax.grid(True, which="both", alpha=0.3)
            ticks = sorted({int(k) for lib in data.values() for k in lib.get(op, {})})
            if section == "size":
                ticks = ticks[::2]
            ax.set_xticks(ticks)
            ax.set_xticklabels([xfmt(t) for t in ticks], rotation=45 if section == "size" else 0,
                               fontsize=7)
        axes[0].set_ylabel("seconds (median)")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        name = f"{os.path.basename(stem)}-{kind}.png"
        fig.savefig(stem + f"-{kind}.png", dpi=90)
        plt.close(fig)
        out[kind] = name

    sweep("size", ["create", "attach", "fill", "delete"], "array size", fmt_size, "size")
    sweep("count", ["create (per array)", "list", "delete (per array)"], "number of arrays",
          lambda n: f"{n:,}", "count")

    seed = res.get("seed", {})
    if seed:
        labels = list(seed)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
        ys = range(len(labels))
        c = [colors.get(k.split()[0], "C4") if not k.startswith("np.load") else "C5" for k in labels]
        a1.barh(ys, [seed[k]["time"] for k in labels], color=c)
        a1.set_yticks(ys)
        a1.set_yticklabels(labels, fontsize=8)
        a1.invert_yaxis()
        a1.set_xlabel("wall time, s (4 workers)")
        hs = res.get("huge", {}).get("seed", {})
        if hs.get("npshm"):
            a1.plot([hs["npshm"]["time"]], [labels.index("npshm")], "k*", ms=10,
                    label="npshm on huge-page tmpfs")
            a1.legend(fontsize=7, loc="lower right")
        a2.barh(ys, [seed[k]["memory"] / GiB for k in labels], color=c)
        a2.set_yticks(ys)
        a2.set_yticklabels([])
        a2.invert_yaxis()
        a2.set_xlabel("memory added, GiB")
        fig.suptitle(f"4 workers need the same {fmt_size(_seed(res))} dataset file", fontsize=10)
        fig.tight_layout()
        fig.savefig(stem + "-seed.png", dpi=90)
        plt.close(fig)
        out["seed"] = f"{os.path.basename(stem)}-seed.png"
    return out
