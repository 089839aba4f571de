"""Writes the array-file test vectors of tests/vectors/files with the real cdxcore.npio.to_file and
numpy.save, and their MANIFEST. Run it with a Python that has cdxcore and numpy:

    python tests/vectors/files/generate.py

The files are committed; regenerating them with the same cdxcore and numpy changes nothing.
"""

import io
import os
import zlib

import numpy as np
from cdxcore import npio

HERE = os.path.dirname(os.path.abspath(__file__))


def data(shape, dtype, order="C"):
    """Deterministic values of every dtype."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    k = np.arange(n, dtype=np.int64)
    if dt.kind == "b":
        a = (k % 3 == 1)
    elif dt.kind in "iu":
        a = ((k * 7919 + 3) % 251 - (100 if dt.kind == "i" else 0)).astype(dt)
    elif dt.kind == "f":
        a = (k * 0.75 - 3.5).astype(dt)
    elif dt.kind == "c":
        a = (k * 0.5 + 1j * (k - 2)).astype(dt)
    elif dt.kind in "Mm":
        a = (k * 86400 + 17).astype(dt)
    elif dt.kind == "S":
        a = np.array([b"ab%d" % i for i in range(n)], dtype=dt)
    elif dt.kind == "U":
        a = np.array(["\u00e9%d" % i for i in range(n)], dtype=dt)
    else:
        a = np.frombuffer(bytes((7 * i + 3) % 251 for i in range(n * dt.itemsize)), dtype=dt)
    return np.array(a.reshape(shape), dtype=dt, order=order)


lines = []


def ok(fname, fmt, a, header_len):
    raw = open(os.path.join(HERE, fname), "rb").read()
    body = raw[header_len : header_len + a.nbytes]
    if fmt == "npio":
        assert body == a.tobytes(order="C")
    assert len(body) == a.nbytes
    fortran = int(a.flags.f_contiguous and not a.flags.c_contiguous) if fmt == "npy" else 0
    shape = ",".join(str(d) for d in a.shape) or "-"
    descr = np.lib.format.dtype_to_descr(a.dtype)
    descr = descr if isinstance(descr, str) else repr(descr)
    lines.append(f"{fname} OK {fmt} {a.ndim} {shape} {a.itemsize} {a.nbytes} {fortran} "
                 f"{zlib.crc32(body):08x} {descr}")


def npio_file(fname, a):
    npio.to_file(os.path.join(HERE, fname), a)
    ok(fname, "npio", a, 8 + 8 * a.ndim)


def npy_file(fname, a, version=None):
    path = os.path.join(HERE, fname)
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    raw = open(path, "rb").read()
    hlen = (10 + int.from_bytes(raw[8:10], "little")) if raw[6] == 1 else (12 + int.from_bytes(raw[8:12], "little"))
    ok(fname, "npy", a, hlen)


def bad(fname, blob, kind):
    with open(os.path.join(HERE, fname), "wb") as f:
        f.write(blob)
    lines.append(f"{fname} ERR FORMAT {kind}")


for dt in ["bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"]:
    npio_file(f"npio_{dt}.npio", data((3, 4), dt))
npio_file("npio_0d.npio", data((), "float64"))
npio_file("npio_zero_size.npio", data((2, 0, 3), "int32"))
npio_file("npio_3d.npio", data((17, 5, 3), "float64"))
npio_file("npio_from_fortran.npio", data((3, 5), "float32", order="F"))  # written in C order

npy_file("npy_f8_2d.npy", data((3, 4), "<f8"))
npy_file("npy_f4_fortran.npy", data((3, 5), "<f4", order="F"))
npy_file("npy_i2_big_endian.npy", data((4, 5), ">i2"))
npy_file("npy_u1.npy", data((100,), "u1"))
npy_file("npy_bool.npy", data((7,), "?"))
npy_file("npy_M8_ns.npy", data((5,), "datetime64[ns]"))
npy_file("npy_m8_s.npy", data((5,), "timedelta64[s]"))
npy_file("npy_S7.npy", data((4,), "S7"))
npy_file("npy_U3.npy", data((2, 2), "<U3"))
npy_file("npy_c16.npy", data((3,), "<c16"))
npy_file("npy_0d.npy", data((), "<f8"))
npy_file("npy_zero_size.npy", data((0, 3), "<i8"))
npy_file("npy_struct.npy", data((3,), np.dtype([("x", "<f4"), ("y", "<i8", (3,)), ("z", [("a", "u1"), ("b", ">f8")], (2, 2))])))
npy_file("npy_struct_padded.npy", data((2,), np.dtype({"names": ["a", "b"], "formats": ["u1", "<i4"], "offsets": [0, 8], "itemsize": 16})))
npy_file("npy_v2.npy", data((6, 2), "<i4"), version=(2, 0))
npy_file("npy_v3.npy", data((6, 2), "<i4"), version=(3, 0))

good_npio = open(os.path.join(HERE, "npio_float64.npio"), "rb").read()
good_npy = open(os.path.join(HERE, "npy_f8_2d.npy"), "rb").read()
bad("bad_empty.npio", b"", "EOF")
bad("bad_npio_short_header.npio", good_npio[:12], "EOF")
bad("bad_npio_short_data.npio", good_npio[:-1], "EOF")
bad("bad_npio_code.npio", good_npio[:4] + bytes([99]) + good_npio[5:], "VALUE")
bad("bad_npio_length.npio", (32).to_bytes(4, "big") + good_npio[4:], "VALUE")
bad("bad_npio_length_odd.npio", (13).to_bytes(4, "big") + good_npio[4:], "VALUE")
bad("bad_npy_short_header.npy", good_npy[:40], "EOF")
bad("bad_npy_short_data.npy", good_npy[:-8], "EOF")
bad("bad_npy_version.npy", good_npy[:6] + bytes([9, 0]) + good_npy[8:], "VALUE")
bad("bad_npy_dict.npy", good_npy.replace(b"'shape'", b"'shope'"), "VALUE")
bad("bad_npy_descr.npy", good_npy.replace(b"'<f8'", b"'<q9'"), "VALUE")
# One parser for every reader (issue 8, item 10): claims a reader must refuse without allocating.
bad("bad_npio_huge.npio", (16).to_bytes(4, "big") + bytes([10]) + (1).to_bytes(3, "big") + (1 << 37).to_bytes(8, "big") + good_npio[16:], "EOF")
def npy_dict(text):
    text = text.encode("latin1") + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + good_npy[-96:]
bad("bad_npy_shape_float.npy", npy_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,), }"), "VALUE")
bad("bad_npy_fortran_yes.npy", npy_dict("{'descr': '<f8', 'fortran_order': 'yes', 'shape': (12,), }"), "VALUE")
bad("bad_npy_dup_key.npy", npy_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (12,), 'shape': (12,)}"), "VALUE")
bad("bad_npy_numpy_size.npy", npy_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 0), }"), "VALUE")
bad("bad_npy_huge_header.npy", b"\x93NUMPY\x02\x00" + (200 << 20).to_bytes(4, "little") + b"{'descr': '<f8', ", "EOF")
obj = io.BytesIO()
np.save(obj, np.array([1, "x", None], dtype=object), allow_pickle=True)
bad("bad_npy_object.npy", obj.getvalue(), "VALUE")

with open(os.path.join(HERE, "MANIFEST"), "w") as f:
    f.write("# Array-file test vectors: see README.md. Written by generate.py with\n")
    f.write(f"# cdxcore {__import__('cdxcore').__version__} and numpy {np.__version__}; do not edit by hand.\n")
    f.write("# FILE OK FORMAT NDIM SHAPE ITEMSIZE NBYTES FORTRAN CRC32 DESCR\n")
    f.write("# FILE ERR FORMAT EOF|VALUE\n")
    for line in lines:
        f.write(line + "\n")
