"""The speed bars of issue 13 in the report: bench/bench_speed.py's bars, plus the no-reserve scale
bar, measured in the report's run and shown as one table with the bar and PASS or FAIL.

bench_speed.py prints each bar as a line; this reads those lines back into numbers (bar_lines),
so that the bars are measured by one piece of code whether it runs alone or in the report.

Bars where the issue gives no number, chosen here:
  read     read_shared_array of an existing array may cost at most 0.1 ms more than attaching
           it (the loader thread it used to start cost 0.3 ms).
  reserve  create(reserve=False) of 4 GiB at most 2x the time of the same create of 4 KiB: the
           opt-out's cost does not grow with the size (the reservation took 1.09 s for 4 GiB).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from typing import Any, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
READ_EXTRA_MS = 0.1  # read_shared_array of an existing array: at most this over attach
RESERVE_GROWTH = 2.0  # create(reserve=False): 4 GiB at most this times 4 KiB

_RATIO = re.compile(r"^(?P<what>.*?)\s+(?P<num>[\d.]+) (?P<unit>\w+) /\s+(?P<den>[\d.]+) \w+ =\s+"
                    r"(?P<ratio>[\d.]+)x  \(bar (?P<bar>.*)\)$")
_LIMIT = re.compile(r"^(?P<what>.*?)\s+(?P<num>-?[\d.]+) (?P<unit>ms|us)  \(bar <= (?P<lim>[\d.]+) (?P=unit)"
                    r"(?P<rest>.*)\)$")


def _verdict(ok: Optional[bool]) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def bar_lines(lines: list[str]) -> list[dict[str, Any]]:
    """bench_speed.py's lines as rows: what, num, den, unit, ratio, bar, pass (None: no bar)."""
    rows: list[dict[str, Any]] = []
    for line in lines:
        m = _RATIO.match(line)
        if m:
            num, den, r, bar = float(m["num"]), float(m["den"]), float(m["ratio"]), m["bar"]
            ok: Optional[bool] = None
            lim = re.match(r"<= ([\d.]+)x$", bar)
            if lim:
                ok = num / den <= float(lim[1]) + 1e-9
            elif bar == "no loader thread":
                extra = (num - den) / (1e3 if m["unit"] == "us" else 1.0)
                bar = f"read - attach <= {READ_EXTRA_MS} ms (here {extra:.3f} ms)"
                ok = extra <= READ_EXTRA_MS
            rows.append({"what": m["what"], "num": num, "den": den, "unit": m["unit"], "ratio": r, "bar": bar,
                         "pass": ok})
            continue
        m = _LIMIT.match(line)
        if m:
            num, lim_ = float(m["num"]), float(m["lim"])
            rows.append({"what": m["what"], "num": num, "den": None, "unit": m["unit"], "ratio": None,
                         "bar": f"<= {m['lim']} {m['unit']}{m['rest']}", "pass": num <= lim_})
            continue
        rows.append({"what": line, "num": None, "den": None, "unit": "", "ratio": None, "bar": "not measured",
                     "pass": None})
    return rows


def _reserve_bar(quick: bool) -> list[dict[str, Any]]:
    """create + delete of a zeroed array: reserve=False at 4 GiB (64 MiB quick) and 4 KiB, the default
    (reserved) create at the big size, and SharedArray's (lazy) create at the big size."""
    import npshm

    try:
        import SharedArray as sa  # type: ignore[import-not-found]
    except ImportError:
        sa = None
    big = (64 << 20) if quick else (4 << 30)
    rounds = 3 if quick else 9
    name = f"npshm-report-speed-{os.getpid()}"
    ts: dict[str, list[float]] = {"small": [], "big": [], "reserved": [], "sa": []}

    def timed(key: str, make: Any, drop: Any) -> None:
        t0 = time.perf_counter()
        a = make()
        ts[key].append(time.perf_counter() - t0)
        del a
        drop()

    for _ in range(rounds):
        timed("small", lambda: npshm.create_shared_array(name, (4096,), np.uint8, reserve=False),
              lambda: npshm.delete_shared_array(name))
        timed("big", lambda: npshm.create_shared_array(name, (big,), np.uint8, reserve=False),
              lambda: npshm.delete_shared_array(name))
        if sa is not None:
            timed("sa", lambda: sa.create("shm://" + name, big, np.uint8), lambda: sa.delete(name))
    for _ in range(1 if quick else 3):  # each writes the whole size: fewer rounds
        timed("reserved", lambda: npshm.create_shared_array(name, (big,), np.uint8),
              lambda: npshm.delete_shared_array(name))
    ms = {k: statistics.median(v) * 1e3 for k, v in ts.items() if v}
    gib = f"{big >> 30} GiB" if big >= 1 << 30 else f"{big >> 20} MiB"
    rows = [{"what": f"create(reserve=False) {gib} / the same of 4 KiB", "num": ms["big"], "den": ms["small"],
             "unit": "ms", "ratio": ms["big"] / ms["small"], "bar": f"<= {RESERVE_GROWTH:.2f}x",
             "pass": ms["big"] <= RESERVE_GROWTH * ms["small"]},
            {"what": f"create {gib}, reserved (default) / reserve=False", "num": ms["reserved"], "den": ms["big"],
             "unit": "ms", "ratio": ms["reserved"] / ms["big"], "bar": "-", "pass": None}]
    if "sa" in ms:
        rows.append({"what": f"create(reserve=False) {gib} / SharedArray create (lazy)", "num": ms["big"],
                     "den": ms["sa"], "unit": "ms", "ratio": ms["big"] / ms["sa"], "bar": "-", "pass": None})
    return rows


def sec_speed(quick: bool) -> dict[str, Any]:
    """Every bar, one after the other, in this run."""
    sys.path.insert(0, HERE)
    import bench_speed

    if quick:
        bench_speed.SIZE_MIB = 16
    rows: list[dict[str, Any]] = []
    for key, fn in bench_speed.BARS.items():
        for r in bar_lines(fn(quick)):
            rows.append(dict(r, bar_of=key))
    rows += [dict(r, bar_of="reserve") for r in _reserve_bar(quick)]
    return {"rows": rows, "size MiB": bench_speed.SIZE_MIB}


def _num(v: Optional[float], unit: str) -> str:
    return "" if v is None else f"{v:.3f} {unit}"


def speed_table(sp: dict[str, Any]) -> list[str]:
    """The bars as a markdown table."""
    if not sp.get("rows"):
        return ["(not measured in this run)"]
    out = ["| measurement | npshm | against | ratio | bar | verdict |", "|---|---:|---:|---:|---|---|"]
    for r in sp["rows"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        out.append(f"| {r['what']} | {_num(r['num'], r['unit'])} | {_num(r['den'], r['unit'])} | {ratio} | "
                   f"{r['bar']} | {_verdict(r['pass'])} |")
    return out


def speed_summary(sp: dict[str, Any]) -> str:
    """How many bars passed, and which failed."""
    judged = [r for r in sp.get("rows", []) if r["pass"] is not None]
    failed = [r["what"] for r in judged if not r["pass"]]
    s = f"{len(judged) - len(failed)} of {len(judged)} bars hold in this run."
    if failed:
        s += " Missed: " + "; ".join(failed) + "."
    return s
