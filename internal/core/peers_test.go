//go:build linux

package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The peers' segments (peers.go): vectors in tests/vectors/peers, read by the Go, C (difftest) and
// Python tests (which also hand them to the real SharedArray and cdxcore), and round trips.

const peerVectorDir = "../../tests/vectors/peers"

type peerVectorDef struct {
	file   string
	format uint32
	shape  []int64
	dtype  string
	// Invalid vectors: the status a reader must report, and how the segment is spoiled.
	code    Code
	corrupt func(seg []byte) []byte
}

// saMeta is the offset of a SharedArray segment's metadata block.
func saMeta(seg []byte) []byte { return seg[len(seg)-saMetaLen:] }

var peerVectorDefs = []peerVectorDef{
	{file: "sa_f8_2d.seg", format: SegSharedArray, shape: []int64{3, 4}, dtype: "<f8"},
	{file: "sa_i8_0d.seg", format: SegSharedArray, dtype: "int64"},
	{file: "sa_U3.seg", format: SegSharedArray, shape: []int64{2}, dtype: "U3"},
	{file: "sa_S5.seg", format: SegSharedArray, shape: []int64{3}, dtype: "S5"},
	{file: "sa_u1_empty.seg", format: SegSharedArray, shape: []int64{0, 7}, dtype: "uint8"},
	{file: "sa_M8.seg", format: SegSharedArray, shape: []int64{4}, dtype: "<M8"},
	{file: "cdx_f4_2d.seg", format: SegCdxcore, shape: []int64{2, 3}, dtype: "float32"},
	{file: "cdx_b1_0d.seg", format: SegCdxcore, dtype: "bool"},
	{file: "cdx_c16.seg", format: SegCdxcore, shape: []int64{5}, dtype: "complex128"},
	{file: "cdx_i8_empty.seg", format: SegCdxcore, shape: []int64{3, 0}, dtype: "int64"},
	// SharedArray where the file system rounded the size up to a page: the block is still at the end.
	{file: "sa_page_rounded.seg", format: SegSharedArray, shape: []int64{5}, dtype: "<i4",
		corrupt: func(seg []byte) []byte {
			out := make([]byte, 4096)
			copy(out, seg[:20])
			copy(out[4096-saMetaLen:], saMeta(seg))
			return out
		}},
	// SharedArray built on numpy 1 (NPY_MAXDIMS 32): a shorter block.
	{file: "sa_numpy1.seg", format: SegSharedArray, shape: []int64{2, 3}, dtype: "<u2",
		corrupt: func(seg []byte) []byte {
			n := len(seg) - saMetaLen
			return append(seg[:n:n], saMeta(seg)[:saMetaLenNp1]...)
		}},

	{file: "sa_truncated.seg", format: SegSharedArray, shape: []int64{100}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { return seg[400:] }},
	{file: "sa_size_field.seg", format: SegSharedArray, shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { binary.LittleEndian.PutUint64(saMeta(seg)[16:], 40); return seg }},
	{file: "sa_object.seg", format: SegSharedArray, shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { binary.LittleEndian.PutUint32(saMeta(seg)[24:], 17); return seg }},
	{file: "sa_itemsize.seg", format: SegSharedArray, shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { binary.LittleEndian.PutUint32(saMeta(seg)[28:], 4); return seg }},
	{file: "sa_ndim.seg", format: SegSharedArray, shape: []int64{4}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { binary.LittleEndian.PutUint32(saMeta(seg)[32:], 65); return seg }},
	{file: "sa_negative_dim.seg", format: SegSharedArray, shape: []int64{4, 1}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte {
			binary.LittleEndian.PutUint64(saMeta(seg)[saFixed+8:], ^uint64(0))
			return seg
		}},
	{file: "cdx_truncated.seg", format: SegCdxcore, shape: []int64{10}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { return seg[:len(seg)-8] }},
	{file: "cdx_oversized.seg", format: SegCdxcore, shape: []int64{10}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { return append(seg, make([]byte, 64)...) }},
	{file: "cdx_unknown_code.seg", format: SegCdxcore, shape: []int64{10}, dtype: "<f8", code: ErrFormat,
		corrupt: func(seg []byte) []byte { seg[4] = 15; return seg }},
}

// buildPeerVector returns the segment of a peer vector and its MANIFEST line.
func buildPeerVector(t testing.TB, v peerVectorDef) ([]byte, string) {
	t.Helper()
	descr, itemsize, st := NormalizeDtype([]byte(v.dtype), make([]byte, 0, MaxDescr))
	if !st.Ok() {
		t.Fatalf("%s: %s", v.file, st.Msg)
	}
	h := Header{Ndim: len(v.shape), Itemsize: uint64(itemsize), Descr: descr}
	copy(h.Shape[:], v.shape)
	if st := h.Layout(); !st.Ok() {
		t.Fatalf("%s: %s", v.file, st.Msg)
	}
	buf := make([]byte, MaxHeaderLen)
	n, st := describePeer(&h, v.format, buf)
	if !st.Ok() {
		t.Fatalf("%s: %s", v.file, st.Msg)
	}
	seg := make([]byte, h.SegmentSize())
	copy(seg[h.HeaderAt:], buf[:n])
	for k := range h.DataNbytes {
		seg[h.DataOffset+k] = vectorData(k)
	}
	if v.corrupt != nil {
		seg = v.corrupt(seg)
	}
	if v.code != OK {
		return seg, fmt.Sprintf("%s ERR %s", v.file, strings.TrimPrefix(v.code.String(), "NPSHM_ERR_"))
	}
	return seg, fmt.Sprintf("%s %s %d %s %d %d %d %s", v.file, FormatName(v.format), len(v.shape),
		shapeField(v.shape), itemsize, h.DataNbytes, h.DataOffset, descr)
}

func TestPeerVectors(t *testing.T) {
	vectorSet[peerVectorDef]{dir: peerVectorDir,
		about: `The peers' segments (docs/FORMAT.md, "The peers' segments"): see ../README.md.`,
		test:  "TestPeerVectors", source: "peers_test.go", columns: "FORMAT NDIM SHAPE ITEMSIZE NBYTES DATA_OFFSET DESCR",
		defs: peerVectorDefs, encode: buildPeerVector, check: checkPeerVector}.run(t)
}

// checkPeerVector attaches the vector of one MANIFEST line (fields f, file path holding seg) as a
// file, read-only and read-write, and checks what it reads.
func checkPeerVector(t *testing.T, f []string, path string, seg []byte) {
	t.Helper()
	line := strings.Join(f, " ")
	// A read-write attach of a copy (the committed file stays untouched).
	cp := filepath.Join(t.TempDir(), f[0])
	if err := os.WriteFile(cp, seg, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, cp} {
		s := new(Scratch)
		m, _, st := Attach(s, []byte("file://"+p), p == path)
		if f[1] == "ERR" {
			if st.Ok() {
				Unmap(m)
			}
			if "NPSHM_ERR_"+f[2] != st.Code.String() {
				t.Errorf("%s: Attach %v (%s); MANIFEST says %s", f[0], st.Code, st.Msg, line)
			}
			continue
		}
		if !st.Ok() {
			t.Errorf("%s: Attach %v (%s)", f[0], st.Code, st.Msg)
			continue
		}
		h := &s.Hdr
		have := []string{f[0], FormatName(h.Format), strconv.Itoa(h.Ndim), shapeField(h.Shape[:h.Ndim]),
			strconv.FormatUint(h.Itemsize, 10), strconv.FormatUint(h.DataNbytes, 10),
			strconv.FormatUint(h.DataOffset, 10), string(h.Descr)}
		if !slices.Equal(have, f) {
			t.Errorf("%s: reads as %q, MANIFEST says %q", f[0], have, f)
		}
		if m.Len != uint64(len(seg)) || h.Fortran() || h.CreatorPID != 0 {
			t.Errorf("%s: mapped %d bytes of %d, header %s", f[0], m.Len, len(seg), hdrString(h))
		}
		data := m.Bytes()[h.DataOffset : h.DataOffset+h.DataNbytes]
		for k, b := range data {
			if b != vectorData(uint64(k)) {
				t.Errorf("%s: data byte %d is %d", f[0], k, b)
				break
			}
		}
		Unmap(m)
	}
}

// TestPeerCreateRoundTrip creates arrays in each peer's format and attaches them back; the bytes
// are the vectors' (the definitions share describePeer).
func TestPeerCreateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []uint32{SegSharedArray, SegCdxcore} {
		for _, c := range []struct {
			shape []int64
			dtype string
		}{{[]int64{3, 4}, "<f8"}, {nil, "<i4"}, {[]int64{0}, "<c8"}, {[]int64{2, 2}, "<u2"}} {
			name := []byte("file://" + filepath.Join(dir, fmt.Sprintf("%s-%d-%s", FormatName(format), len(c.shape), c.dtype[1:])))
			s := new(Scratch)
			m, _, st := Create(s, name, c.shape, []byte(c.dtype), CreateOptions{Format: format})
			if !st.Ok() {
				t.Fatalf("%s %v %s: %s", FormatName(format), c.shape, c.dtype, st.Msg)
			}
			data := m.Bytes()[s.Hdr.DataOffset : s.Hdr.DataOffset+s.Hdr.DataNbytes]
			for k := range data {
				data[k] = vectorData(uint64(k))
			}
			Unmap(m)
			a := new(Scratch)
			m, _, st = Attach(a, name, true)
			if !st.Ok() {
				t.Fatalf("attach %s: %s", name, st.Msg)
			}
			h := &a.Hdr
			if h.Format != format || h.Ndim != len(c.shape) || string(h.Descr) != c.dtype ||
				!slices.Equal(h.Shape[:h.Ndim], c.shape) || m.Len != s.Hdr.SegmentSize() {
				t.Errorf("%s: attached %s, created %s", name, hdrString(h), hdrString(&s.Hdr))
			}
			got := m.Bytes()[h.DataOffset : h.DataOffset+h.DataNbytes]
			if !bytes.Equal(got, data) {
				t.Errorf("%s: data differs", name)
			}
			Unmap(m)
		}
	}
}

// TestPeerCreateRefusals: what a peer's format cannot carry is refused before anything is created.
func TestPeerCreateRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		format  uint32
		shape   []int64
		dtype   string
		fortran bool
		want    string
	}{
		{SegSharedArray, []int64{3}, ">f8", false, "SharedArray segments cannot carry this dtype"},
		{SegSharedArray, []int64{3}, "datetime64[ns]", false, "no datetime unit"},
		{SegSharedArray, []int64{3}, "[('x', '<f4')]", false, "no structured fields"},
		{SegSharedArray, []int64{3, 4}, "<f8", true, "C order only"},
		{SegCdxcore, []int64{3}, "uint8", false, "no uint8"},
		{SegCdxcore, []int64{3}, "S4", false, "cdxcore segments cannot carry this dtype"},
		{SegCdxcore, []int64{3, 4}, "<f8", true, "C order only"},
		{0x300, []int64{3}, "<f8", false, "unknown segment format"},
	} {
		name := filepath.Join(dir, "refused")
		s := new(Scratch)
		_, _, st := Create(s, []byte("file://"+name), c.shape, []byte(c.dtype), CreateOptions{Format: c.format, Fortran: c.fortran})
		if st.Code != ErrInvalid || !strings.Contains(st.Msg, c.want) {
			t.Errorf("%s %v %s: %v %q, want INVALID %q", FormatName(c.format), c.shape, c.dtype, st.Code, st.Msg, c.want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("a refused create left %v", ents)
		}
	}
	// Fortran order with at most one dimension above 1 is C order too: accepted, stored as C.
	s := new(Scratch)
	m, _, st := Create(s, []byte("file://"+filepath.Join(dir, "f1")), []int64{1, 5}, []byte("<f8"), CreateOptions{Format: SegCdxcore, Fortran: true})
	if !st.Ok() || s.Hdr.Fortran() {
		t.Errorf("(1, 5) in Fortran order as cdxcore: %v %s", st.Code, st.Msg)
	}
	Unmap(m)
}

// TestPeerSizeMismatchNamesSizes: the refusal of a segment whose size disagrees with its header
// names both sizes.
func TestPeerSizeMismatchNamesSizes(t *testing.T) {
	for file, want := range map[string]string{
		"cdx_truncated.seg": "corrupt cdxcore segment: its header describes 144 bytes, the segment holds 136",
		"cdx_oversized.seg": "corrupt cdxcore segment: its header describes 144 bytes, the segment holds 208",
		"sa_truncated.seg":  "corrupt SharedArray segment: its header describes 1348 bytes, the segment holds 948",
	} {
		s := new(Scratch)
		_, _, st := Attach(s, []byte("file://"+filepath.Join(peerVectorDir, file)), true)
		if got := string(st.AppendMessage(make([]byte, 0, 512), "attach", nil)); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}

// TestPeerExpected: an attach that expects a shape and dtype compares them with the peer's.
func TestPeerExpected(t *testing.T) {
	name := []byte("file://" + filepath.Join(peerVectorDir, "cdx_f4_2d.seg"))
	for _, c := range []struct {
		dtype string
		shape []int64
		code  Code
	}{{"float32", []int64{2, 3}, OK}, {"float64", []int64{2, 3}, ErrMismatch}, {"<f4", []int64{3, 2}, ErrMismatch}} {
		s := new(Scratch)
		m, _, st := Attach(s, name, true)
		if !st.Ok() {
			t.Fatal(st.Msg)
		}
		st = CheckExpected(&s.Hdr, true, c.shape, []byte(c.dtype), s.Descr[:0:MaxDescr])
		if st.Code != c.code {
			t.Errorf("expect %v %s: %v (%s), want %v", c.shape, c.dtype, st.Code, st.Msg, c.code)
		}
		Unmap(m)
	}
}
