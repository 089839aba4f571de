//go:build linux

package core

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The shared test vectors (tests/vectors/README.md): segments written to docs/FORMAT.md that the
// Go, C and Python tests all read. This test defines them; with -update it writes them:
//
//	go test ./internal/core -run TestVectors -update

var update = flag.Bool("update", false, "rewrite tests/vectors from the definitions in vectors_test.go, and internal/ctwin/spec.[ch] from spec.go")

const (
	vectorDir = "../../tests/vectors"
	vectorPID = 4242
	vectorNs  = 1700000000123456789
)

type vectorDef struct {
	file    string
	shape   []int64 // nil: a 0-d array
	dtype   string  // any spelling; the vector holds the canonical descriptor
	fortran bool
	// Invalid vectors: the status a reader must report, and how the segment (a valid one of
	// shape and dtype) is spoiled.
	code    Code
	corrupt func(t testing.TB, seg []byte) []byte
}

var vectorDefs = []vectorDef{
	{file: "f8_0d.seg", dtype: "float64"},
	{file: "f8_zero_size.seg", shape: []int64{0, 3}, dtype: "float64"},
	{file: "u1_1d.seg", shape: []int64{100}, dtype: "uint8"},
	{file: "b1.seg", shape: []int64{7}, dtype: "bool"},
	{file: "i2_big_endian.seg", shape: []int64{4, 5}, dtype: ">i2"},
	{file: "f2.seg", shape: []int64{6}, dtype: "float16"},
	{file: "c16.seg", shape: []int64{3}, dtype: "complex128"},
	{file: "M8_ns.seg", shape: []int64{5}, dtype: "datetime64[ns]"},
	{file: "m8_s.seg", shape: []int64{5}, dtype: "timedelta64[s]"},
	{file: "S7.seg", shape: []int64{4}, dtype: "S7"},
	{file: "U3.seg", shape: []int64{2, 2}, dtype: "U3"},
	{file: "struct.seg", shape: []int64{3}, dtype: "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4'), ('z', [('a', '|u1'), ('b', '>f8')], (2, 2))]"},
	{file: "ones_64d.seg", shape: ones(64), dtype: "<f8"},
	{file: "f4_fortran.seg", shape: []int64{3, 4}, dtype: "float32", fortran: true},
	{file: "i8_3d.seg", shape: []int64{17, 5, 3}, dtype: "int64"},
	// A header longer than a page (readers read it in two steps), with a descriptor that still fits
	// the 4096-byte buffer of tests/c/test_vectors.c.
	{file: "V16_long_header.seg", shape: []int64{2}, dtype: "[('" + strings.Repeat("n", 4027) + "', '|V16')]"},

	{file: "bad_magic.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte { copy(seg, "NPSHMARX"); return reseal(t, seg) }},
	{file: "bad_checksum.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte {
			end := binary.LittleEndian.Uint32(seg[12:])
			seg[end] ^= 0x01
			return seg
		}},
	{file: "truncated_data.seg", shape: []int64{100}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte { return seg[:len(seg)-400] }},
	{file: "version_2.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte {
			binary.LittleEndian.PutUint16(seg[8:], 2)
			return reseal(t, seg)
		}},
	{file: "unknown_flag.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte {
			binary.LittleEndian.PutUint16(seg[10:], 4) // bit 2: bits 0 and 1 are Fortran and unreserved
			return reseal(t, seg)
		}},
	{file: "non_canonical_descr.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte { return replaceDescr(t, seg, "=f8", 8) }},
	{file: "itemsize_mismatch.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte { return replaceDescr(t, seg, "<f4", 8) }},
	{file: "object_descr.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte { return replaceDescr(t, seg, "|O", 8) }},
	{file: "nbytes_mismatch.seg", shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(t testing.TB, seg []byte) []byte {
			binary.LittleEndian.PutUint64(seg[24:], 40)
			return reseal(t, seg)
		}},
}

// reseal recomputes the checksum of a header.
func reseal(t testing.TB, seg []byte) []byte {
	end := binary.LittleEndian.Uint32(seg[12:])
	binary.LittleEndian.PutUint32(seg[end:], crc32.ChecksumIEEE(seg[:end]))
	return seg
}

// replaceDescr re-encodes the segment's header with another descriptor and itemsize, consistently
// otherwise (lengths and checksum), as a careless writer would.
func replaceDescr(t testing.TB, seg []byte, descr string, itemsize uint64) []byte {
	var h Header
	if st := h.Decode(seg, uint64(len(seg)), make([]byte, 0, MaxDescr)); !st.Ok() {
		t.Fatal(st.Msg)
	}
	data := seg[h.DataOffset:]
	h.Descr, h.Itemsize = []byte(descr), itemsize
	h.HeaderLen = uint32(fixedHeaderLen + 8*h.Ndim + len(descr))
	out := make([]byte, h.DataOffset+uint64(len(data)))
	h.Encode(out)
	copy(out[h.DataOffset:], data)
	return out
}

// vectorData is byte k of every vector's data.
func vectorData(k uint64) byte { return byte((7*k + 3) % 251) }

// buildVector returns the segment of a vector and its MANIFEST line.
func buildVector(t testing.TB, v vectorDef) ([]byte, string) {
	t.Helper()
	descr, itemsize, st := NormalizeDtype([]byte(v.dtype), make([]byte, 0, MaxDescr))
	if !st.Ok() {
		t.Fatalf("%s: %s", v.file, st.Msg)
	}
	h := Header{Ndim: len(v.shape), Itemsize: uint64(itemsize), Descr: descr, CreatorPID: vectorPID, CreatedNs: vectorNs}
	copy(h.Shape[:], v.shape)
	if v.fortran {
		h.Flags = FlagFortran
	}
	if st := h.Layout(); !st.Ok() {
		t.Fatalf("%s: %s", v.file, st.Msg)
	}
	seg := make([]byte, h.SegmentSize())
	h.Encode(seg)
	for k := range h.DataNbytes {
		seg[h.DataOffset+k] = vectorData(k)
	}
	if v.corrupt != nil {
		return v.corrupt(t, seg), fmt.Sprintf("%s ERR %s", v.file, strings.TrimPrefix(v.code.String(), "NPSHM_ERR_"))
	}
	fortran := 0
	if v.fortran {
		fortran = 1
	}
	return seg, fmt.Sprintf("%s OK %d %s %d %d %d %s", v.file, len(v.shape), shapeField(v.shape), itemsize, h.DataNbytes, fortran, descr)
}

func TestVectors(t *testing.T) {
	vectorSet[vectorDef]{dir: vectorDir, about: "The shared test vectors: see README.md.", test: "TestVectors",
		source: "vectors_test.go", columns: "OK NDIM SHAPE ITEMSIZE NBYTES FORTRAN DESCR",
		defs: vectorDefs, encode: buildVector, check: checkVector}.run(t)
}

// checkVector checks the vector of one MANIFEST line (fields f, file path holding seg) as any reader
// must: with Decode, and attached as a file.
func checkVector(t *testing.T, f []string, path string, seg []byte) {
	t.Helper()
	line := strings.Join(f, " ")
	var h Header
	st := h.Decode(seg, uint64(len(seg)), make([]byte, 0, MaxDescr))
	s := new(Scratch)
	m, _, ast := Attach(s, []byte("file://"+path), true)
	if ast.Ok() {
		defer Unmap(m)
	}
	if f[1] == "ERR" {
		if len(f) != 3 || "NPSHM_ERR_"+f[2] != st.Code.String() || ast.Code != st.Code {
			t.Errorf("%s: Decode %v (%s), Attach %v; MANIFEST says %s", f[0], st.Code, st.Msg, ast.Code, line)
		}
		return
	}
	if len(f) != 8 || f[1] != "OK" {
		t.Errorf("bad MANIFEST line %q", line)
		return
	}
	if !st.Ok() || !ast.Ok() {
		t.Errorf("%s: Decode %v (%s), Attach %v (%s)", f[0], st.Code, st.Msg, ast.Code, ast.Msg)
		return
	}
	fortran := "0"
	if h.Fortran() {
		fortran = "1"
	}
	have := []string{f[0], "OK", strconv.Itoa(h.Ndim), shapeField(h.Shape[:h.Ndim]), strconv.FormatUint(h.Itemsize, 10),
		strconv.FormatUint(h.DataNbytes, 10), fortran, string(h.Descr)}
	if !slices.Equal(have, f) {
		t.Errorf("%s: reads as %q, MANIFEST says %q", f[0], have, f)
	}
	if h.CreatorPID != vectorPID || h.CreatedNs != vectorNs || uint64(len(seg)) != h.SegmentSize() ||
		h.DataOffset%4096 != 0 {
		t.Errorf("%s: header %s, segment of %d bytes", f[0], hdrString(&h), len(seg))
	}
	for k, b := range seg[h.DataOffset:] {
		if b != vectorData(uint64(k)) {
			t.Errorf("%s: data byte %d is %d, want %d", f[0], k, b, vectorData(uint64(k)))
			break
		}
	}
	if !bytes.Equal(m.Bytes(), seg) {
		t.Errorf("%s: attached segment differs from the file", f[0])
	}
}
