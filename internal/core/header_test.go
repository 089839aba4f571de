package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os/exec"
	"strings"
	"testing"
)

var le = binary.LittleEndian

// specHeader is a header as docs/FORMAT.md describes it, field by field, for encoding by hand.
type specHeader struct {
	magic      string
	version    uint16
	flags      uint16
	headerLen  uint32
	dataOffset uint64
	dataNbytes uint64
	itemsize   uint64
	ndim       uint32
	descrLen   uint32
	pid        uint32
	reserved   uint32
	createdNs  int64
	shape      []int64
	descr      string
}

// validSpec returns the header a writer makes for this array.
func validSpec(shape []int64, descr string, itemsize uint64, fortran bool) specHeader {
	n := itemsize
	for _, d := range shape {
		n *= uint64(d)
	}
	hl := uint32(64 + 8*len(shape) + len(descr))
	s := specHeader{
		magic: Magic, version: 1, headerLen: hl, dataOffset: (uint64(hl) + 4 + 4095) / 4096 * 4096,
		dataNbytes: n, itemsize: itemsize, ndim: uint32(len(shape)), descrLen: uint32(len(descr)),
		pid: 4242, createdNs: 1700000000123456789, shape: shape, descr: descr,
	}
	if fortran {
		s.flags = 1
	}
	return s
}

// encode lays the header out by the table of docs/FORMAT.md, with hash/crc32 for the checksum
// (independently of Header.Encode). With seal false the checksum field is left zero.
func (s specHeader) encode(seal bool) []byte {
	b := make([]byte, 64+8*len(s.shape)+len(s.descr)+4)
	copy(b[0:8], s.magic)
	le.PutUint16(b[8:], s.version)
	le.PutUint16(b[10:], s.flags)
	le.PutUint32(b[12:], s.headerLen)
	le.PutUint64(b[16:], s.dataOffset)
	le.PutUint64(b[24:], s.dataNbytes)
	le.PutUint64(b[32:], s.itemsize)
	le.PutUint32(b[40:], s.ndim)
	le.PutUint32(b[44:], s.descrLen)
	le.PutUint32(b[48:], s.pid)
	le.PutUint32(b[52:], s.reserved)
	le.PutUint64(b[56:], uint64(s.createdNs))
	for i, d := range s.shape {
		le.PutUint64(b[64+8*i:], uint64(d))
	}
	end := 64 + 8*len(s.shape)
	copy(b[end:], s.descr)
	end += len(s.descr)
	if seal {
		le.PutUint32(b[end:], crc32.ChecksumIEEE(b[:end]))
	}
	return b
}

func (s specHeader) segSize() uint64 { return s.dataOffset + s.dataNbytes }

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

type layoutCase struct {
	shape    []int64
	descr    string
	itemsize uint64
	fortran  bool
}

func layoutCases() []layoutCase {
	cases := []layoutCase{
		{nil, "<f8", 8, false},
		{[]int64{0}, "<f8", 8, false},
		{[]int64{0, 3}, "<f8", 8, false},
		{[]int64{3, 0}, "|u1", 1, true},
		{[]int64{5}, "|u1", 1, false},
		{[]int64{17, 5, 3}, "<i8", 8, false},
		{[]int64{4, 6}, "<f4", 4, true},
		{[]int64{2}, "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]", 32, false},
		{[]int64{3}, "[]", 0, false},
		{[]int64{1 << 20, 1 << 20}, "|b1", 1, false},
		{[]int64{1 << 28, 1 << 28}, "|S1", 1, false}, // 2^56 bytes: the largest array
		{[]int64{3}, "[('" + strings.Repeat("n", MaxDescr-13) + "', '|b1')]", 1, false},
	}
	for ndim := 0; ndim <= MaxNdim; ndim++ {
		shape := ones(ndim)
		if ndim > 0 {
			shape[ndim-1] = int64(ndim)
		}
		cases = append(cases, layoutCase{shape, "<c16", 16, ndim%2 == 1})
	}
	return cases
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, c := range layoutCases() {
		name := fmt.Sprintf("%v/%.20s/F%v", c.shape, c.descr, c.fortran)
		h := Header{Ndim: len(c.shape), Itemsize: c.itemsize, Descr: []byte(c.descr), CreatorPID: 4242,
			CreatedNs: 1700000000123456789}
		copy(h.Shape[:], c.shape)
		if c.fortran {
			h.Flags = FlagFortran
		}
		if st := h.Layout(); !st.Ok() {
			t.Errorf("%s: Layout: %s", name, st.Msg)
			continue
		}
		spec := validSpec(c.shape, c.descr, c.itemsize, c.fortran)
		if h.HeaderLen != spec.headerLen || h.DataOffset != spec.dataOffset || h.DataNbytes != spec.dataNbytes {
			t.Errorf("%s: Layout gave header_len %d, data_offset %d, data_nbytes %d; want %d, %d, %d", name,
				h.HeaderLen, h.DataOffset, h.DataNbytes, spec.headerLen, spec.dataOffset, spec.dataNbytes)
		}
		if h.DataOffset%4096 != 0 || h.DataOffset < uint64(h.HeaderLen)+4 || h.SegmentSize() != h.DataOffset+h.DataNbytes {
			t.Errorf("%s: bad layout %+v", name, h)
		}
		buf := make([]byte, h.HeaderLen+4)
		if n := h.Encode(buf); n != len(buf) {
			t.Errorf("%s: Encode wrote %d bytes, want %d", name, n, len(buf))
		}
		if want := spec.encode(true); !bytes.Equal(buf, want) {
			t.Errorf("%s: Encode differs from docs/FORMAT.md:\n got %x\nwant %x", name, buf[:min(len(buf), 200)], want[:min(len(want), 200)])
		}
		var d Header
		if st := d.Decode(buf, h.SegmentSize(), make([]byte, 0, MaxDescr)); !st.Ok() {
			t.Errorf("%s: Decode: %s", name, st.Msg)
			continue
		}
		if d.Flags != h.Flags || d.HeaderLen != h.HeaderLen || d.DataOffset != h.DataOffset ||
			d.DataNbytes != h.DataNbytes || d.Itemsize != h.Itemsize || d.Ndim != h.Ndim ||
			d.CreatorPID != h.CreatorPID || d.CreatedNs != h.CreatedNs || d.Shape != h.Shape ||
			!bytes.Equal(d.Descr, h.Descr) || d.Fortran() != c.fortran {
			t.Errorf("%s: Decode gave %+v, want %+v", name, d, h)
		}
		again := make([]byte, len(buf))
		d.Encode(again)
		if !bytes.Equal(again, buf) {
			t.Errorf("%s: re-encoding the decoded header changed it", name)
		}
	}
}

func TestLayoutRefused(t *testing.T) {
	for _, c := range []struct {
		name     string
		ndim     int
		shape    []int64
		descr    string
		itemsize uint64
	}{
		{"ndim -1", -1, nil, "<f8", 8},
		{"ndim 65", 65, nil, "<f8", 8},
		{"empty descriptor", 1, []int64{1}, "", 8},
		{"descriptor too long", 1, []int64{1}, strings.Repeat("x", MaxDescr+1), 8},
		{"negative dimension", 2, []int64{3, -1}, "<f8", 8},
		{"negative dimension before a zero", 2, []int64{-1, 0}, "<f8", 8},
		{"min int64 dimension", 1, []int64{-1 << 63}, "<f8", 8},
		{"overflow", 2, []int64{1 << 40, 1 << 40}, "<f8", 8},
		{"overflow of uint64", 3, []int64{1 << 62, 1 << 62, 4}, "|u1", 1},
		{"just over 2^56 bytes", 2, []int64{1 << 28, 1<<28 + 1}, "|u1", 1},
		{"huge itemsize", 1, []int64{2}, "|V1", 1 << 62},
		{"numpy: (2**62, 0) of int64", 2, []int64{1 << 62, 0}, "<i8", 8},
		{"numpy: (0, 2**63-1) of int64", 2, []int64{0, 1<<63 - 1}, "<i8", 8},
		{"numpy: (0, 2**62, 2) of int8", 3, []int64{0, 1 << 62, 2}, "|i1", 1},
	} {
		h := Header{Ndim: c.ndim, Itemsize: c.itemsize, Descr: []byte(c.descr)}
		copy(h.Shape[:], c.shape)
		if st := h.Layout(); st.Code != ErrInvalid {
			t.Errorf("%s: Layout = %v, want NPSHM_ERR_INVALID", c.name, st.Code)
		}
	}
}

// shapeCases are shapes at the edges of numpy's rule: itemsize times the nonzero dimensions fits in
// a signed 64-bit integer, whatever the other dimensions (PyArray_NewFromDescr).
var shapeCases = []struct {
	shape    []int64
	itemsize uint64
	ok       bool
	nbytes   uint64
}{
	{[]int64{1 << 62, 0}, 8, false, 0},
	{[]int64{0, 1<<63 - 1}, 8, false, 0},
	{[]int64{0, 1<<60 - 1}, 8, true, 0},
	{[]int64{0, 1 << 60}, 8, false, 0},
	{[]int64{1 << 62, 0}, 1, true, 0},
	{[]int64{0, 1 << 62, 2}, 1, false, 0},
	{[]int64{0, 1 << 62, 1}, 1, true, 0},
	{[]int64{0, 1<<32 - 1, 1 << 30}, 2, true, 0},
	{[]int64{0, 1<<32 - 1, 1 << 31}, 2, false, 0},
	{[]int64{1<<63 - 1, 0, 1<<63 - 1}, 1, false, 0},
	{[]int64{0, 0, 1<<63 - 1}, 1, true, 0},
	{[]int64{0, 1<<31 - 1, 1 << 31}, 2147483647, false, 0},
	{[]int64{0, 1 << 31}, 2147483647, true, 0},
	{[]int64{3, 4}, 8, true, 96},
	{[]int64{1 << 28, 1 << 28}, 1, true, 1 << 56},
	{[]int64{1 << 28, 1<<28 + 1}, 1, false, 0}, // numpy takes it; npshm's own bound is 2**56 bytes
	{nil, 8, true, 8},
}

func TestShapeBytes(t *testing.T) {
	for _, c := range shapeCases {
		n, st := shapeBytes(c.shape, c.itemsize)
		if st.Ok() != c.ok || n != c.nbytes {
			t.Errorf("shapeBytes(%v, %d) = %d %v %q, want %d ok=%v", c.shape, c.itemsize, n, st.Code, st.Msg, c.nbytes, c.ok)
		}
		if !c.ok {
			msg := string(st.AppendMessage(make([]byte, 0, 1024), "op", nil))
			want := "(" + strings.Trim(strings.ReplaceAll(fmt.Sprint(c.shape), " ", ", "), "[]") + ")"
			if st.Code != ErrInvalid || !strings.HasSuffix(msg, " shape "+want) {
				t.Errorf("shapeBytes(%v, %d): %v %q, want INVALID naming the shape %s", c.shape, c.itemsize, st.Code, msg, want)
			}
		}
	}
}

// TestShapeBytesMatchesNumpy asks numpy which of shapeCases it accepts (needs a Python with numpy,
// as TestNormalizeDtypeMatchesNumpy).
func TestShapeBytesMatchesNumpy(t *testing.T) {
	python := pythonWithNumpy(t)
	var lines []string
	for _, c := range shapeCases {
		lines = append(lines, fmt.Sprintf("%d %s", c.itemsize, strings.Trim(fmt.Sprint(c.shape), "[]")))
	}
	// With an empty buffer numpy checks the size (ValueError: too big) and then finds the buffer
	// too small (TypeError), allocating nothing.
	const script = `
import sys
import numpy as np
for line in sys.stdin.read().splitlines():
    size, *dims = line.split(" ")
    try:
        np.ndarray(tuple(int(d) for d in dims if d), dtype="V%s" % size, buffer=b"")
        print("ok")
    except TypeError:
        print("ok")
    except ValueError:
        print("refused")
`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("numpy script: %v", err)
	}
	got := strings.Fields(string(out))
	if len(got) != len(shapeCases) {
		t.Fatalf("numpy script printed %q", out)
	}
	for i, c := range shapeCases {
		// npshm's own bound (2**56 bytes) is stricter than numpy's on arrays that are not empty.
		if numpyOK := got[i] == "ok"; numpyOK != c.ok && !(numpyOK && c.nbytes == 0 && !c.ok && !hasZero(c.shape)) {
			t.Errorf("%v of itemsize %d: numpy %s, npshm ok=%v", c.shape, c.itemsize, got[i], c.ok)
		}
	}
}

func hasZero(shape []int64) bool {
	for _, d := range shape {
		if d == 0 {
			return true
		}
	}
	return false
}

// Every refusal of docs/FORMAT.md ("A reader refuses a segment when ...") is ErrFormat.
func TestDecodeRefused(t *testing.T) {
	base := func() specHeader { return validSpec([]int64{4, 5, 6}, "<f8", 8, false) }
	type mutation struct {
		why    string // what the refusal message must mention
		name   string
		mutate func(s *specHeader)
		// seal recomputes the checksum after the mutation, so that the field itself is refused
		seal bool
		// edit changes the encoded bytes (after sealing); size changes the segment size
		edit func(b []byte) []byte
		size func(s specHeader) uint64
	}
	muts := []mutation{
		{why: "too short", name: "67 bytes", edit: func(b []byte) []byte { return b[:67] }, size: func(specHeader) uint64 { return 67 }},
		{why: "too short", name: "empty", edit: func(b []byte) []byte { return b[:0] }, size: func(specHeader) uint64 { return 0 }},
		{why: "too short", name: "segment of 67 bytes", size: func(specHeader) uint64 { return 67 }},
		{why: "bad magic", name: "magic", mutate: func(s *specHeader) { s.magic = "NPSHMARX" }, seal: true},
		{why: "bad magic", name: "magic lower case", mutate: func(s *specHeader) { s.magic = "npshmarr" }, seal: true},
		{why: "bad magic", name: "numpy magic", mutate: func(s *specHeader) { s.magic = "\x93NUMPY\x01\x00" }, seal: true},
		{why: "version", name: "version 0", mutate: func(s *specHeader) { s.version = 0 }, seal: true},
		{why: "version", name: "version 2", mutate: func(s *specHeader) { s.version = 2 }, seal: true},
		{why: "version", name: "version 0x100", mutate: func(s *specHeader) { s.version = 0x100 }, seal: true},
		{why: "flags", name: "flags 0xffff", mutate: func(s *specHeader) { s.flags = 0xffff }, seal: true},
		{why: "ndim", name: "ndim 65", mutate: func(s *specHeader) { s.ndim = 65 }, seal: true},
		{why: "ndim", name: "ndim 2^32-1", mutate: func(s *specHeader) { s.ndim = 1<<32 - 1 }, seal: true},
		{why: "descriptor length", name: "descr_len 0", mutate: func(s *specHeader) { s.descrLen = 0; s.headerLen -= 3 }, seal: true},
		{why: "descriptor length", name: "descr_len 65537", mutate: func(s *specHeader) { s.descrLen = 65537; s.headerLen = 64 + 24 + 65537 }, seal: true},
		{why: "descriptor length", name: "descr_len 2^32-1", mutate: func(s *specHeader) { s.descrLen = 1<<32 - 1 }, seal: true},
		{why: "header length", name: "header_len +1", mutate: func(s *specHeader) { s.headerLen++ }, seal: true},
		{why: "header length", name: "header_len -1", mutate: func(s *specHeader) { s.headerLen-- }, seal: true},
		{why: "header length", name: "header_len 0", mutate: func(s *specHeader) { s.headerLen = 0 }, seal: true},
		{why: "header length", name: "header_len 2^32-1", mutate: func(s *specHeader) { s.headerLen = 1<<32 - 1 }, seal: true},
		{why: "descriptor length", name: "header_len wraps in 32 bits", mutate: func(s *specHeader) {
			s.ndim, s.descrLen, s.headerLen = 64, 1<<32-64-8*64+40, 40
		}, seal: true},
		{why: "checksum", name: "checksum", edit: func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{why: "checksum", name: "checksum of a changed shape", edit: func(b []byte) []byte { b[64] ^= 1; return b }},
		{why: "checksum", name: "checksum of a changed pid", edit: func(b []byte) []byte { b[48] ^= 0x80; return b }},
		{why: "checksum", name: "checksum of a changed descriptor", edit: func(b []byte) []byte { b[64+24+2] = '4'; return b }},
		{why: "checksum", name: "checksum zero", mutate: func(s *specHeader) {}},
		{why: "shorter than its header", name: "buffer shorter than the header", edit: func(b []byte) []byte { return b[:len(b)-1] }},
		{why: "shorter than its header", name: "segment shorter than the header", size: func(s specHeader) uint64 { return uint64(s.headerLen) + 3 }},
		{why: "shape", name: "negative dimension", mutate: func(s *specHeader) { s.shape = []int64{4, -5, 6}; s.dataNbytes = 0 }, seal: true},
		{why: "shape", name: "negative zero-product dimension", mutate: func(s *specHeader) { s.shape = []int64{0, -1, 6}; s.dataNbytes = 0 }, seal: true},
		{why: "invalid dtype", name: "unparsable descriptor", mutate: func(s *specHeader) { s.descr = "<x8" }, seal: true},
		{why: "non-canonical", name: "non-canonical descriptor", mutate: func(s *specHeader) { s.descr = "=f8" }, seal: true},
		{why: "non-canonical", name: "numpy name as descriptor", mutate: func(s *specHeader) { s.descr = "float64"; s.descrLen = 7; s.headerLen += 4 }, seal: true},
		{why: "invalid dtype", name: "object descriptor", mutate: func(s *specHeader) { s.descr = "|O8" }, seal: true},
		{why: "invalid dtype", name: "descriptor with a NUL", mutate: func(s *specHeader) { s.descr = "<f\x00" }, seal: true},
		{why: "itemsize", name: "descriptor implies another itemsize", mutate: func(s *specHeader) { s.descr = "<f4" }, seal: true},
		{why: "itemsize", name: "itemsize 0", mutate: func(s *specHeader) { s.itemsize = 0; s.dataNbytes = 0 }, seal: true},
		{why: "shape", name: "nbytes overflows", mutate: func(s *specHeader) { s.shape = []int64{1 << 62, 1 << 62, 4} }, seal: true},
		{why: "shape", name: "nbytes wraps to the stored size", mutate: func(s *specHeader) {
			s.shape = []int64{1 << 61, 1, 1} // 8 * 2^61 = 2^64: wraps to 0 in 64 bits
			s.dataNbytes = 0
		}, seal: true},
		{why: "shape", name: "nbytes over 2^56", mutate: func(s *specHeader) { s.shape = []int64{1 << 20, 1 << 20, 1 << 14}; s.dataNbytes = 1 << 57 }, seal: true},
		{why: "data size", name: "data_nbytes +1", mutate: func(s *specHeader) { s.dataNbytes++ }, seal: true},
		{why: "data size", name: "data_nbytes -1", mutate: func(s *specHeader) { s.dataNbytes-- }, seal: true},
		{why: "data size", name: "data_nbytes 0", mutate: func(s *specHeader) { s.dataNbytes = 0 }, seal: true},
		{why: "data offset", name: "data_offset not a multiple of 64", mutate: func(s *specHeader) { s.dataOffset += 32 }, seal: true},
		{why: "data offset", name: "data_offset +1", mutate: func(s *specHeader) { s.dataOffset++ }, seal: true},
		{why: "data offset", name: "data_offset 0", mutate: func(s *specHeader) { s.dataOffset = 0 }, seal: true},
		{why: "data offset", name: "data_offset 64, inside the header", mutate: func(s *specHeader) { s.dataOffset = 64 }, seal: true},
		{why: "data offset", name: "data_offset on the checksum", mutate: func(s *specHeader) { s.dataOffset = 64 * ((uint64(s.headerLen) + 3) / 64) }, seal: true},
		{why: "data offset", name: "data_offset huge", mutate: func(s *specHeader) { s.dataOffset = 1<<64 - 64 }, seal: true},
		{why: "data offset", name: "data_offset + data_nbytes wraps", mutate: func(s *specHeader) { s.dataOffset = 1<<64 - 4096 }, seal: true},
		{why: "shorter than the array", name: "segment one byte short", size: func(s specHeader) uint64 { return s.segSize() - 1 }},
		{why: "shorter than the array", name: "segment without its data", size: func(s specHeader) uint64 { return s.dataOffset }},
		{why: "shorter than the array", name: "segment of the header only", size: func(s specHeader) uint64 { return uint64(s.headerLen) + 4 }},
	}
	for i := 2; i < 16; i++ { // bit 0 is Fortran order, bit 1 an unreserved array
		muts = append(muts, mutation{why: "flags", name: fmt.Sprintf("flag bit %d", i), mutate: func(s *specHeader) { s.flags |= 1 << i }, seal: true})
	}
	for i := 0; i < 8; i++ {
		muts = append(muts, mutation{why: "bad magic", name: fmt.Sprintf("magic byte %d", i), edit: func(b []byte) []byte {
			b[i] ^= 0x20
			le.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
			return b
		}})
	}
	for _, m := range muts {
		s := base()
		if m.mutate != nil {
			m.mutate(&s)
		}
		buf := s.encode(m.seal)
		if m.mutate == nil {
			buf = s.encode(true)
		}
		if m.edit != nil {
			buf = m.edit(buf)
		}
		size := s.segSize()
		if m.size != nil {
			size = m.size(s)
		}
		var h Header
		st := h.Decode(buf, size, make([]byte, 0, MaxDescr))
		if st.Code != ErrFormat {
			t.Errorf("%s: Decode = %v (%s), want NPSHM_ERR_FORMAT", m.name, st.Code, st.Msg)
		} else if !strings.Contains(st.Msg, m.why) {
			t.Errorf("%s: refused for another reason: %q, want one about %q", m.name, st.Msg, m.why)
		}
	}
}

// What a reader must accept although writers do not produce it.
func TestDecodeAccepts(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(s *specHeader)
		size   func(s specHeader) uint64
	}{
		{name: "data_offset at the first multiple of 64", mutate: func(s *specHeader) {
			s.dataOffset = (uint64(s.headerLen) + 4 + 63) / 64 * 64
		}},
		{name: "data_offset beyond a page", mutate: func(s *specHeader) { s.dataOffset = 3*4096 + 64 }},
		{name: "segment longer than its array", size: func(s specHeader) uint64 { return s.segSize() + 12345 }},
		{name: "Fortran flag", mutate: func(s *specHeader) { s.flags = 1 }},
		{name: "negative creation time", mutate: func(s *specHeader) { s.createdNs = -1 }},
		{name: "pid 0", mutate: func(s *specHeader) { s.pid = 0 }},
		// The reserved field is written as 0, but docs/FORMAT.md does not make readers refuse
		// other values, so that a later version may use it.
		{name: "reserved not zero", mutate: func(s *specHeader) { s.reserved = 0xdeadbeef }},
	} {
		s := validSpec([]int64{4, 5, 6}, "<f8", 8, false)
		if c.mutate != nil {
			c.mutate(&s)
		}
		size := s.segSize()
		if c.size != nil {
			size = c.size(s)
		}
		var h Header
		if st := h.Decode(s.encode(true), size, make([]byte, 0, MaxDescr)); !st.Ok() {
			t.Errorf("%s: Decode = %v (%s), want OK", c.name, st.Code, st.Msg)
		} else if h.DataOffset != s.dataOffset || h.Flags != s.flags || h.CreatedNs != s.createdNs {
			t.Errorf("%s: decoded %+v", c.name, h)
		}
	}
}

// Decode reads only the header, so a buffer holding just the header and checksum is enough.
func TestDecodeNeedsOnlyTheHeader(t *testing.T) {
	s := validSpec([]int64{7}, "|S7", 7, false)
	buf := s.encode(true)
	var h Header
	if st := h.Decode(buf, s.segSize(), make([]byte, 0, MaxDescr)); !st.Ok() {
		t.Fatalf("Decode: %s", st.Msg)
	}
	if &h.Descr[0] != &buf[64+8] {
		t.Error("Decode copied the descriptor instead of pointing into the buffer")
	}
}

func TestHeaderNeed(t *testing.T) {
	s := validSpec([]int64{2, 3}, "<f8", 8, false)
	buf := s.encode(true)
	for _, c := range []struct {
		name string
		in   []byte
		want int
	}{
		{"valid", buf, int(s.headerLen) + 4},
		{"first 64 bytes", buf[:64], int(s.headerLen) + 4},
		{"63 bytes", buf[:63], 0},
		{"bad magic", append([]byte("NPSHMARX"), buf[8:]...), 0},
		{"header_len below 64", func() []byte { b := bytes.Clone(buf); le.PutUint32(b[12:], 63); return b }(), 0},
		{"header_len 64", func() []byte { b := bytes.Clone(buf); le.PutUint32(b[12:], 64); return b }(), 68},
		{"largest header_len", func() []byte { b := bytes.Clone(buf); le.PutUint32(b[12:], MaxHeaderLen-4); return b }(), MaxHeaderLen},
		{"header_len too large", func() []byte { b := bytes.Clone(buf); le.PutUint32(b[12:], MaxHeaderLen-3); return b }(), 0},
	} {
		if got := HeaderNeed(c.in); got != c.want {
			t.Errorf("%s: HeaderNeed = %d, want %d", c.name, got, c.want)
		}
	}
}
