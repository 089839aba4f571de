//go:build linux && cgo

package difftest

// The C twin (internal/ctwin), which forked children run, must agree with the Go core rule for rule:
// same status codes, same canonical descriptors and item sizes, same header verdicts, and segments
// that each side attaches when the other created them.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// tableDtypes returns every dtype spelling of the core's dtype tests (the in: fields of
// internal/core/dtype_test.go), so that both implementations see the same table.
func tableDtypes(t testing.TB) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../core/dtype_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "in" {
			if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				ins = append(ins, s)
			}
		}
		return true
	})
	if len(ins) < 100 {
		t.Fatalf("found only %d dtype spellings in internal/core/dtype_test.go", len(ins))
	}
	return ins
}

// extraDtypes are inputs that exercise the C parser's edges beyond the table.
func extraDtypes() []string {
	long := func(n int) string { return "[('" + strings.Repeat("n", n) + "', '?')]" }
	return []string{
		strings.Repeat("[('a', ", 16) + "'<f4'" + strings.Repeat(")]", 16),
		strings.Repeat("[('a', ", 17) + "'<f4'" + strings.Repeat(")]", 17),
		long(core.MaxDescr - 13), long(core.MaxDescr - 12), long(core.MaxDescr - 14),
		"[('" + strings.Repeat("a", core.MaxDescr-1) + "', '?', ())]",
		"[('" + strings.Repeat("a", core.MaxDescr-20) + "', '?'), ('b', '?', ())]",
		"[" + strings.Repeat("('a','?'),", core.MaxDescr/10) + "]",
		"[" + strings.Repeat("('', '|V1'),", 5000) + "]",
		"[('x', 'S999999999999', (2,))]", "[('x', 'U274877906944')]", "U274877906945",
	}
}

func checkSameDtype(t *testing.T, in []byte) {
	t.Helper()
	goOut, goSize, st := core.NormalizeDtype(in, make([]byte, 0, core.MaxDescr))
	cOut, cSize, cCode, cMsg := CNormalizeDtype(in)
	if st.Code != cCode {
		t.Errorf("NormalizeDtype(%.80q): Go %v (%s), C %v (%s)", in, st.Code, st.Msg, cCode, cMsg)
		return
	}
	if st.Ok() && (!bytes.Equal(goOut, cOut) || goSize != cSize) {
		t.Errorf("NormalizeDtype(%.80q): Go %.80q %d, C %.80q %d", in, goOut, goSize, cOut, cSize)
	}
	if !st.Ok() && st.Msg != cMsg {
		t.Errorf("NormalizeDtype(%.80q): messages differ: Go %q, C %q", in, st.Msg, cMsg)
	}
}

func TestCNormalizeDtypeMatchesGo(t *testing.T) {
	for _, in := range append(tableDtypes(t), extraDtypes()...) {
		checkSameDtype(t, []byte(in))
	}
}

// The C parser gets a length, so that it sees exactly the bytes Go sees (a NUL inside included).
func TestCNormalizeDtypeEmbeddedNul(t *testing.T) {
	for _, in := range []string{"f8\x00", "\x00", "[('a\x00b', '<f4')]", "<f\x008"} {
		checkSameDtype(t, []byte(in))
	}
}

func FuzzCMatchesGo(f *testing.F) {
	for _, in := range append(tableDtypes(f), extraDtypes()...) {
		if len(in) < 4096 {
			f.Add([]byte(in), false)
		}
	}
	for _, seg := range vectorSegments(f) {
		f.Add(seg[:min(len(seg), 4096)], true)
	}
	f.Fuzz(func(t *testing.T, in []byte, header bool) {
		if !header {
			checkSameDtype(t, in)
			return
		}
		for _, size := range []uint64{uint64(len(in)), 1 << 20, 0} {
			checkSameHeader(t, in, size)
		}
		// And with the checksum made to match, to reach the checks behind it.
		if len(in) >= 16 {
			if end := uint64(binary.LittleEndian.Uint32(in[12:])); end+4 <= uint64(len(in)) {
				in = bytes.Clone(in)
				binary.LittleEndian.PutUint32(in[end:], crcIEEE(in[:end]))
				checkSameHeader(t, in, uint64(len(in)))
				checkSameHeader(t, in, 1<<40)
			}
		}
	})
}

// ---- headers ----

func checkSameHeader(t *testing.T, buf []byte, segSize uint64) {
	t.Helper()
	var h core.Header
	st := h.Decode(buf, segSize, make([]byte, 0, core.MaxDescr))
	cCode, cMsg := CCheckHeader(buf, segSize)
	if st.Code != cCode || st.Msg != cMsg {
		t.Errorf("Decode(%d bytes, segment %d): Go %v %q, C %v %q", len(buf), segSize, st.Code, st.Msg, cCode, cMsg)
	}
}

// vectorSegments returns the shared test vectors (tests/vectors/*.seg).
func vectorSegments(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../../../tests/vectors/*.seg")
	if err != nil {
		t.Fatal(err)
	}
	segs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		segs[filepath.Base(f)] = b
	}
	return segs
}

func TestCCheckHeaderVectors(t *testing.T) {
	segs := vectorSegments(t)
	if len(segs) == 0 {
		t.Skip("no vectors in tests/vectors")
	}
	manifest := readManifest(t)
	for name, seg := range segs {
		want, ok := manifest[name]
		if !ok {
			t.Errorf("%s is not in MANIFEST", name)
			continue
		}
		code, msg := CCheckHeader(seg, uint64(len(seg)))
		if code != want {
			t.Errorf("%s: C says %v (%s), MANIFEST %v", name, code, msg, want)
		}
		checkSameHeader(t, seg, uint64(len(seg)))
		// Every truncation and every shorter segment size gets the same verdict from both.
		for _, n := range []int{0, 1, 8, 63, 64, 67, 68, 100, len(seg) / 2, len(seg) - 1} {
			if n >= 0 && n <= len(seg) {
				checkSameHeader(t, seg[:n], uint64(len(seg)))
				checkSameHeader(t, seg, uint64(n))
			}
		}
	}
}

// readManifest returns the status each vector must produce.
func readManifest(t testing.TB) map[string]core.Code {
	t.Helper()
	f, err := os.Open("../../../tests/vectors/MANIFEST")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	codes := map[string]core.Code{}
	for c := core.ErrIO; c < core.OK; c++ {
		codes[strings.TrimPrefix(c.String(), "NPSHM_ERR_")] = c
	}
	m := map[string]core.Code{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		switch {
		case len(fields) == 3 && fields[1] == "OK":
			m[fields[0]] = core.OK
		case len(fields) == 3 && fields[1] == "ERR":
			c, ok := codes[fields[2]]
			if !ok {
				t.Fatalf("MANIFEST: unknown code in %q", line)
			}
			m[fields[0]] = c
		default:
			t.Fatalf("MANIFEST: bad line %q", line)
		}
	}
	return m
}

// Every corruption of one field of a valid header gets the same verdict from both decoders.
func TestCCheckHeaderCorruptions(t *testing.T) {
	var h core.Header
	h.Ndim = 3
	h.Shape[0], h.Shape[1], h.Shape[2] = 4, 5, 6
	h.Itemsize = 8
	h.Descr = []byte("<f8")
	if st := h.Layout(); !st.Ok() {
		t.Fatal(st.Msg)
	}
	buf := make([]byte, h.HeaderLen+4)
	h.Encode(buf)
	size := h.SegmentSize()
	reseal := func(b []byte) {
		end := binary.LittleEndian.Uint32(b[12:])
		if int(end)+4 <= len(b) {
			binary.LittleEndian.PutUint32(b[end:], crcIEEE(b[:end]))
		}
	}
	for off := 0; off < len(buf); off++ {
		for _, v := range []byte{0, 1, 0x3f, 0x40, 0x80, 0xff} {
			b := bytes.Clone(buf)
			b[off] = v
			checkSameHeader(t, b, size)
			reseal(b)
			checkSameHeader(t, b, size)
		}
	}
}

func crcIEEE(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = 0xedb88320 ^ c>>1
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

// ---- create, attach, delete, list ----

var nameCounter atomic.Int64

func uniqueName(t *testing.T) string {
	t.Helper()
	n := fmt.Sprintf("npshm-gotest-difftest-%d-%d", os.Getpid(), nameCounter.Add(1))
	t.Cleanup(func() { os.Remove("/dev/shm/" + n) })
	return n
}

// headerBytes returns the mapped header of a handle, with creator_pid, created_ns and the checksum
// zeroed, so that headers written by different processes at different times compare equal.
func headerBytes(h unsafe.Pointer) []byte {
	info := Handle(h)
	seg := unsafe.Slice((*byte)(info.Base), info.MapLen)
	hl := binary.LittleEndian.Uint32(seg[12:])
	b := bytes.Clone(seg[:hl+4])
	clear(b[48:52])
	clear(b[56:64])
	clear(b[hl:])
	return b
}

func TestCPathInteroperatesWithGo(t *testing.T) {
	cases := []struct {
		shape []int64
		dtype string
		flags uint32
	}{
		{nil, "float64", 0},
		{[]int64{0, 3}, "<f8", 0},
		{[]int64{5}, "uint8", 0},
		{[]int64{2, 3}, "[('x','f4'),('y','<i8',(3,)),('','V4')]", 0x4},
		{[]int64{7}, "M8[1s]", 0x8000 | 0o640<<16},
		{[]int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, "?", 0},
		{[]int64{1000, 1000}, ">i2", 0},
	}
	s := new(core.Scratch)
	for _, c := range cases {
		t.Run(c.dtype, func(t *testing.T) {
			// C creates, Go attaches.
			name := uniqueName(t)
			h, code := CCreate(name, c.shape, c.dtype, c.flags)
			if code != core.OK {
				t.Fatalf("C create: %v", code)
			}
			defer Release(h)
			m, _, st := core.Attach(s, []byte(name), false)
			if !st.Ok() {
				t.Fatalf("Go attach of a C array: %v %s", st.Code, st.Msg)
			}
			goHdr := bytes.Clone(m.Bytes()[:s.Hdr.HeaderLen+4])
			clear(goHdr[48:52])
			clear(goHdr[56:64])
			clear(goHdr[s.Hdr.HeaderLen:])
			cHdr := headerBytes(h)
			if !bytes.Equal(goHdr, cHdr) {
				t.Errorf("headers differ:\nGo %x\nC  %x", goHdr, cHdr)
			}
			info := Handle(h)
			if info.Data != unsafe.Add(info.Base, s.Hdr.DataOffset) || info.Nbytes != s.Hdr.DataNbytes ||
				info.Dtype != string(s.Hdr.Descr) || info.Fortran != s.Hdr.Fortran() {
				t.Errorf("C handle %+v disagrees with the header %+v", info, s.Hdr)
			}
			// Both paths name the same generation: the file and the header's creator and time.
			if info.Dev != m.Dev || info.Ino != m.Ino || info.CreatedNs != s.Hdr.CreatedNs ||
				info.CreatorPID != int64(s.Hdr.CreatorPID) || info.CreatorPID != int64(os.Getpid()) {
				t.Errorf("C handle names dev %d ino %d created %d pid %d; Go core dev %d ino %d created %d pid %d",
					info.Dev, info.Ino, info.CreatedNs, info.CreatorPID, m.Dev, m.Ino, s.Hdr.CreatedNs, s.Hdr.CreatorPID)
			}
			// Writes through one mapping show in the other.
			if info.Nbytes > 0 {
				unsafe.Slice((*byte)(info.Data), info.Nbytes)[info.Nbytes-1] = 0x5a
				if got := m.Bytes()[s.Hdr.DataOffset+s.Hdr.DataNbytes-1]; got != 0x5a {
					t.Errorf("Go mapping sees %#x, want 0x5a", got)
				}
			}
			if st := core.Unmap(m); !st.Ok() {
				t.Error(st.Msg)
			}
			if c.flags&0x8000 != 0 {
				fi, err := os.Stat("/dev/shm/" + name)
				if err != nil || fi.Mode().Perm() != os.FileMode(c.flags>>16&0o777) {
					t.Errorf("C create with mode %o: %v %v", c.flags>>16, fi.Mode(), err)
				}
			}
			// Go deletes what C created; C then finds nothing.
			if st := core.Delete(s, []byte(name)); !st.Ok() {
				t.Fatalf("Go delete: %s", st.Msg)
			}
			if _, code := CAttach(name, 0); code != core.ErrNotFound {
				t.Errorf("C attach after delete: %v, want NOT_FOUND", code)
			}

			// Go creates, C attaches, C deletes.
			name2 := uniqueName(t)
			m2, _, st := core.Create(s, []byte(name2), c.shape, []byte(c.dtype), core.CreateOptions{
				Fortran: c.flags&0x4 != 0, HasMode: c.flags&0x8000 != 0, Mode: c.flags >> 16 & 0o7777})
			if !st.Ok() {
				t.Fatalf("Go create: %s", st.Msg)
			}
			goHdr2 := bytes.Clone(m2.Bytes()[:s.Hdr.HeaderLen+4])
			core.Unmap(m2)
			h2, code := CAttach(name2, 1)
			if code != core.OK {
				t.Fatalf("C attach of a Go array: %v", code)
			}
			defer Release(h2)
			clear(goHdr2[48:52])
			clear(goHdr2[56:64])
			clear(goHdr2[len(goHdr2)-4:])
			if cHdr2 := headerBytes(h2); !bytes.Equal(goHdr2, cHdr2) || !bytes.Equal(goHdr2, cHdr) {
				t.Errorf("Go-created header differs from the C-created one:\nGo %x\nC  %x", goHdr2, cHdr)
			}
			if !Handle(h2).ReadOnly {
				t.Error("C attach with NPSHM_READONLY: handle not read-only")
			}
			if i2 := Handle(h2); i2.Dev != m2.Dev || i2.Ino != m2.Ino || i2.CreatedNs != s.Hdr.CreatedNs ||
				i2.CreatorPID != int64(s.Hdr.CreatorPID) {
				t.Errorf("C attach names dev %d ino %d created %d pid %d; Go create made dev %d ino %d created %d pid %d",
					i2.Dev, i2.Ino, i2.CreatedNs, i2.CreatorPID, m2.Dev, m2.Ino, s.Hdr.CreatedNs, s.Hdr.CreatorPID)
			}
			if code := CDelete(name2); code != core.OK {
				t.Errorf("C delete: %v", code)
			}
			if _, _, st := core.Attach(s, []byte(name2), true); st.Code != core.ErrNotFound {
				t.Errorf("Go attach after C delete: %v, want NOT_FOUND", st.Code)
			}
		})
	}
}

func TestCListMatchesGo(t *testing.T) {
	s := new(core.Scratch)
	name := uniqueName(t)
	if _, _, st := core.Create(s, []byte(name), []int64{2, 3}, []byte("<i4"), core.CreateOptions{
		Fortran: true, HasMode: true, Mode: 0o604}); !st.Ok() {
		t.Fatal(st.Msg)
	}
	ctx := NewListCtx(name, 0)
	defer FreeListCtx(ctx)
	if rc := CList(ListFn(), ctx); rc != 0 {
		t.Fatalf("C list: %d", rc)
	}
	got := ListCtxResult(ctx)
	want := ListEntryInfo{Total: got.Total, Found: 1, Shape: []int64{2, 3}, Itemsize: 4, Nbytes: 24, Mode: 0o604,
		UID: uint32(os.Getuid()), CreatorPID: int64(os.Getpid()), Ctime: s.Hdr.CreatedNs, Fortran: true, Dtype: "<i4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("C list saw %+v\nwant %+v", got, want)
	}
	// A nonzero return from the callback stops the listing and is returned.
	stop := NewListCtx(name, 1)
	defer FreeListCtx(stop)
	if rc := CList(ListFn(), stop); rc != 1 || ListCtxResult(stop).Total != 1 {
		t.Errorf("C list with a stopping callback: rc %d after %d calls", rc, ListCtxResult(stop).Total)
	}
}
