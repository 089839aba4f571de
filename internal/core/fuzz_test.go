//go:build linux

package core

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Fuzz targets. `go test` runs their seeds: the f.Add calls below, and in testdata/fuzz/<FuzzName>/
// only the inputs that fuzzing found (a failure, fixed since, kept as a regression test). To fuzz:
//
//	go test -run XXX -fuzz FuzzDecodeHeader -fuzztime 10s ./internal/core
//	go test -run XXX -fuzz FuzzNormalizeDtype -fuzztime 10s ./internal/core

// FuzzDecodeHeader: Decode never panics, and what it accepts is a consistent header that encodes
// back to the same bytes. With seal set, the checksum is first made to match (where header_len
// allows), so that the fuzzer reaches the checks behind it.
func FuzzDecodeHeader(f *testing.F) {
	for _, seed := range headerSeeds(f) {
		f.Add(seed.buf, seed.size, false)
		f.Add(seed.buf, seed.size, true)
	}
	scratch := make([]byte, 0, MaxDescr)
	f.Fuzz(func(t *testing.T, buf []byte, segSize uint64, seal bool) {
		if seal && len(buf) >= 16 {
			if end := uint64(binary.LittleEndian.Uint32(buf[12:])); end+4 <= uint64(len(buf)) {
				buf = bytes.Clone(buf)
				binary.LittleEndian.PutUint32(buf[end:], crc32IEEE(buf[:end]))
			}
		}
		_ = HeaderNeed(buf)
		var h Header
		st := h.Decode(buf, segSize, scratch)
		if !st.Ok() {
			if st.Code != ErrFormat || st.Msg == "" {
				t.Fatalf("Decode refused with %v %q, want NPSHM_ERR_FORMAT and a message", st.Code, st.Msg)
			}
			return
		}
		checkDecoded(t, &h, buf, segSize)
	})
}

// checkDecoded checks a header that Decode accepted from buf.
func checkDecoded(t *testing.T, h *Header, buf []byte, segSize uint64) {
	t.Helper()
	if h.Ndim < 0 || h.Ndim > MaxNdim || h.HeaderLen != uint32(64+8*h.Ndim+len(h.Descr)) {
		t.Fatalf("inconsistent header %s", hdrString(h))
	}
	if h.DataOffset%64 != 0 || h.DataOffset < uint64(h.HeaderLen)+4 || h.SegmentSize() > segSize ||
		h.SegmentSize() < h.DataOffset {
		t.Fatalf("accepted a bad layout: %s in a segment of %d", hdrString(h), segSize)
	}
	n := h.Itemsize
	for _, d := range h.Shape[:h.Ndim] {
		if d < 0 {
			t.Fatalf("accepted a negative dimension: %s", hdrString(h))
		}
		n *= uint64(d) // cannot overflow: Decode checked the product
	}
	if n != h.DataNbytes || n > maxNbytes {
		t.Fatalf("data_nbytes %d for %d x %v", h.DataNbytes, h.Itemsize, h.Shape[:h.Ndim])
	}
	canon, size, st := NormalizeDtype(h.Descr, make([]byte, 0, MaxDescr))
	if !st.Ok() || !bytes.Equal(canon, h.Descr) || uint64(size) != h.Itemsize {
		t.Fatalf("accepted descriptor %.80q: normalises to %.80q, %d (%v)", h.Descr, canon, size, st.Code)
	}
	// Encoding the decoded header reproduces the bytes, except the reserved field, which Decode
	// does not check (docs/FORMAT.md lists no refusal for it) and Encode writes as zero.
	want := bytes.Clone(buf[:h.HeaderLen+4])
	got := make([]byte, len(want))
	if n := h.Encode(got); n != len(got) {
		t.Fatalf("Encode wrote %d bytes, want %d", n, len(got))
	}
	if binary.LittleEndian.Uint32(want[52:]) != 0 {
		clear(want[52:56])
		binary.LittleEndian.PutUint32(want[h.HeaderLen:], crc32IEEE(want[:h.HeaderLen]))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("re-encoding changed the header:\n got %x\nwant %x", got[:min(len(got), 128)], want[:min(len(want), 128)])
	}
	var again Header
	if st := again.Decode(got, segSize, make([]byte, 0, MaxDescr)); !st.Ok() {
		t.Fatalf("re-encoded header refused: %s", st.Msg)
	}
}

// FuzzNormalizeDtype: NormalizeDtype never panics, refuses only with ErrInvalid, and its output
// is a fixed point with the same item size.
func FuzzNormalizeDtype(f *testing.F) {
	for _, in := range dtypeSeeds() {
		f.Add([]byte(in))
	}
	out := make([]byte, 0, MaxDescr)
	again := make([]byte, 0, MaxDescr)
	small := make([]byte, 0, 16)
	f.Fuzz(func(t *testing.T, in []byte) {
		canon, size, st := NormalizeDtype(in, out)
		// A small output buffer is never overrun, and what fits in it is the same. (It may refuse a
		// descriptor that would fit once a padding field or an empty shape is taken back.)
		sc, ssize, sst := NormalizeDtype(in, small)
		if len(sc) > cap(small) || (sst.Ok() && (!st.Ok() || !bytes.Equal(sc, canon) || ssize != size)) {
			t.Fatalf("16-byte buffer: %q %d %v; full buffer: %q %d %v", sc, ssize, sst.Code, canon, size, st.Code)
		}
		if !st.Ok() {
			if st.Code != ErrInvalid || st.Msg == "" {
				t.Fatalf("refused with %v %q, want NPSHM_ERR_INVALID and a message", st.Code, st.Msg)
			}
			return
		}
		if len(canon) == 0 || len(canon) > MaxDescr || size < 0 || size > maxItemsize {
			t.Fatalf("%.80q: output of %d bytes, itemsize %d", in, len(canon), size)
		}
		canon = bytes.Clone(canon)
		twice, size2, st := NormalizeDtype(canon, again)
		if !st.Ok() || !bytes.Equal(twice, canon) || size2 != size {
			t.Fatalf("not a fixed point: %.80q -> %.80q (%d) -> %.80q (%d, %v)", in, canon, size, twice, size2, st.Code)
		}
		if got, st := DescrItemsize(canon, again); !st.Ok() || got != size {
			t.Fatalf("DescrItemsize(%.80q) = %d, %v; want %d", canon, got, st.Code, size)
		}
	})
}

type headerSeed struct {
	buf  []byte
	size uint64
}

// headerSeeds are valid segments of several shapes and dtypes, and spoiled and truncated ones.
func headerSeeds(t testing.TB) []headerSeed {
	var seeds []headerSeed
	for _, v := range vectorDefs {
		seg, _ := buildVector(t, v)
		end := min(len(seg), HeaderNeed(seg)+16)
		if end < 68 {
			end = min(len(seg), 256)
		}
		seeds = append(seeds, headerSeed{seg[:end], uint64(len(seg))})
		if v.corrupt == nil {
			seeds = append(seeds,
				headerSeed{seg[:end/2], uint64(len(seg))},   // truncated
				headerSeed{seg[:end], uint64(len(seg) - 1)}, // in a segment too short
				headerSeed{seg[:64], uint64(len(seg))},      // the fixed header only
			)
		}
	}
	for _, c := range []struct {
		shape []int64
		dtype string
	}{
		{[]int64{2, 3}, "[(('title', 'x'), '<f4'), ('', '|V4'), ('y', [('a', '|b1', (2,))])]"},
		{[]int64{1 << 20, 1 << 20}, "|u1"},
		{[]int64{0}, "[]"},
		{ones(10), "<M8[10s]"},
	} {
		sp := validSpec(c.shape, c.dtype, 0, false)
		_, size, st := NormalizeDtype([]byte(c.dtype), make([]byte, 0, MaxDescr))
		if !st.Ok() {
			t.Fatal(st.Msg)
		}
		sp = validSpec(c.shape, c.dtype, uint64(size), false)
		seeds = append(seeds, headerSeed{sp.encode(true), sp.segSize()})
	}
	seeds = append(seeds, headerSeed{nil, 0}, headerSeed{[]byte(Magic), 8})
	return seeds
}

// dtypeSeeds are the spellings of the dtype tests and some structured ones.
func dtypeSeeds() []string {
	var ins []string
	for _, c := range dtypeAccepted {
		ins = append(ins, c.in)
	}
	for _, c := range dtypeRefused {
		ins = append(ins, c.in)
	}
	return append(ins, nested(16), nested(17),
		"[('a', [('b', [('c', '<i4', (2, 3))], 2)], (1,)), (('t', 'u'), '|S3'), ('', '|V2'), ('', 'V2', 3)]",
		`[("q'", [('\x01', 'U2')]), ('\\', 'm8[1000as]')]`)
}
