//go:build linux && cgo

package difftest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
	"github.com/npshm/npshm/internal/core"
)

// The peers' segments (internal/ctwin/peers.c against internal/core/peers.go): both sides read
// every peer vector alike, write the same bytes, and list the same formats.

const peerVectors = "../../../tests/vectors/peers"

func peerVectorFiles(t *testing.T) []string {
	f, err := os.Open(filepath.Join(peerVectors, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && line[0] != '#' {
			files = append(files, strings.Fields(line)[0])
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d peer vectors", len(files))
	}
	return files
}

// TestCAttachPeerVectorsMatchesGo: the twin and the core read each peer vector alike: the same
// handle, or the same status and message.
func TestCAttachPeerVectorsMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, file := range peerVectorFiles(t) {
		abs, _ := filepath.Abs(filepath.Join(peerVectors, file))
		p := cstrings(t, "file://"+abs)
		var goH, cH unsafe.Pointer
		g := outcomeOf(capi.Attach(p[0], capi.FlagReadOnly, false, -1, nil, nil, &goH))
		c := outcomeOf(CAttachRaw(p[0], capi.FlagReadOnly, false, -1, nil, nil, &cH))
		if g != c {
			t.Errorf("%s:\nGo %+v\nC  %+v", file, g, c)
			continue
		}
		if g.rc != 0 {
			continue
		}
		gi, ci := Handle(goH), Handle(cH)
		if ci.Format == 0 || gi.Format != ci.Format || gi.MapLen != ci.MapLen ||
			uintptr(gi.Data)-uintptr(gi.Base) != uintptr(ci.Data)-uintptr(ci.Base) || gi.Nbytes != ci.Nbytes ||
			gi.Itemsize != ci.Itemsize || fmt.Sprint(gi.Shape) != fmt.Sprint(ci.Shape) || gi.Dtype != ci.Dtype ||
			gi.Fortran || ci.Fortran || gi.CreatorPID != 0 || ci.CreatorPID != 0 {
			t.Errorf("%s:\nGo %+v\nC  %+v", file, gi, ci)
		}
		if !bytes.Equal(unsafe.Slice((*byte)(gi.Base), gi.MapLen), unsafe.Slice((*byte)(ci.Base), ci.MapLen)) {
			t.Errorf("%s: the mappings differ", file)
		}
		Release(goH)
		Release(cH)
	}
}

// TestCCreatePeerMatchesGo: both sides create the same segment, byte for byte, in each peer's
// format, and each attaches and lists what the other created.
func TestCCreatePeerMatchesGo(t *testing.T) {
	for _, format := range []uint32{capi.FlagFormatSharedArray, capi.FlagFormatCdxcore} {
		for _, c := range []struct {
			shape []int64
			dtype string
			flags uint32
		}{
			{[]int64{3, 4}, "float64", 0},
			{nil, "int32", 0},
			{[]int64{0, 2}, "complex64", 0},
			{[]int64{1, 6}, "<u2", capi.FlagFortran},
			{[]int64{5}, "bool", capi.FlagHasMode | 0o640<<16},
		} {
			goName, cName := uniqueName(t), uniqueName(t)
			s := new(core.Scratch)
			m, _, st := core.Create(s, []byte(goName), c.shape, []byte(c.dtype), core.CreateOptions{
				Format: format, Fortran: c.flags&capi.FlagFortran != 0, HasMode: c.flags&capi.FlagHasMode != 0,
				Mode: c.flags >> 16})
			if !st.Ok() {
				t.Fatalf("Go create %s %v %s: %s", core.FormatName(format), c.shape, c.dtype, st.Msg)
			}
			core.Unmap(m)
			h, code := CCreate(cName, c.shape, c.dtype, c.flags|format)
			if code != core.OK {
				t.Fatalf("C create %s %v %s: %v", core.FormatName(format), c.shape, c.dtype, code)
			}
			Release(h)
			goSeg, _ := os.ReadFile("/dev/shm/" + goName)
			cSeg, _ := os.ReadFile("/dev/shm/" + cName)
			if len(goSeg) == 0 || !bytes.Equal(goSeg, cSeg) {
				t.Errorf("%s %v %s: segments differ:\nGo %x\nC  %x", core.FormatName(format), c.shape, c.dtype, goSeg, cSeg)
			}
			// Each side attaches the other's.
			h, code = CAttach(goName, 0)
			if code != core.OK || Handle(h).Format != format {
				t.Errorf("C attach of Go's %s: %v", core.FormatName(format), code)
			} else {
				Release(h)
			}
			if m, _, st := core.Attach(s, []byte(cName), true); !st.Ok() || s.Hdr.Format != format {
				t.Errorf("Go attach of C's %s: %s", core.FormatName(format), st.Msg)
			} else {
				core.Unmap(m)
			}
			// The C list reports the format.
			ctx := NewListCtx(cName, 0)
			if rc := CList(ListFn(), ctx); rc != 0 || ListCtxResult(ctx).Format != format {
				t.Errorf("C list of a %s segment: %d %+v", core.FormatName(format), rc, ListCtxResult(ctx))
			}
			FreeListCtx(ctx)
		}
	}
}

// FuzzCPeerAttachMatchesGo: any segment, above all one that looks almost like a peer's, gets the
// same outcome from the twin and the core (never a crash): the same handle or the same refusal.
func FuzzCPeerAttachMatchesGo(f *testing.F) {
	ents, _ := os.ReadDir(peerVectors)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			seg, _ := os.ReadFile(filepath.Join(peerVectors, e.Name()))
			f.Add(seg)
		}
	}
	for _, seg := range saDataLikeNpshm(f) {
		f.Add(seg)
	}
	path := filepath.Join(f.TempDir(), "seg")
	name := CMem([]byte("file://" + path))
	f.Cleanup(func() { Free(name) })
	f.Fuzz(func(t *testing.T, seg []byte) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := os.WriteFile(path, seg, 0o600); err != nil {
			t.Fatal(err)
		}
		var goH, cH unsafe.Pointer
		g := outcomeOf(capi.Attach(name, capi.FlagReadOnly, false, -1, nil, nil, &goH))
		c := outcomeOf(CAttachRaw(name, capi.FlagReadOnly, false, -1, nil, nil, &cH))
		if g != c {
			t.Fatalf("Go %+v\nC  %+v", g, c)
		}
		if g.rc == 0 {
			gi, ci := Handle(goH), Handle(cH)
			if gi.Format != ci.Format || gi.MapLen != ci.MapLen || gi.Nbytes != ci.Nbytes || gi.Dtype != ci.Dtype ||
				fmt.Sprint(gi.Shape) != fmt.Sprint(ci.Shape) ||
				uintptr(gi.Data)-uintptr(gi.Base) != uintptr(ci.Data)-uintptr(ci.Base) {
				t.Fatalf("Go %+v\nC  %+v", gi, ci)
			}
			Release(goH)
			Release(cH)
		}
	})
}

// saDataLikeNpshm gives SharedArray segments (256 uint8, data at offset 0) whose data starts like
// npshm's header: the magic alone, the magic with a version and a plausible header length, and a
// whole valid npshm header of another segment (FORMAT.md, "Telling the formats apart": none is
// believed, so each stays SharedArray's).
func saDataLikeNpshm(t testing.TB) map[string][]byte {
	dir := t.TempDir()
	seg := func(name string, format uint32, shape []int64) []byte {
		p := filepath.Join(dir, name)
		m, _, st := core.Create(new(core.Scratch), []byte("file://"+p), shape, []byte("uint8"),
			core.CreateOptions{Format: format})
		if !st.Ok() {
			t.Fatalf("create %s: %s", name, st.Msg)
		}
		core.Unmap(m)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	npshmSeg := seg("npshm", 0, []int64{16})
	out := map[string][]byte{}
	for what, head := range map[string][]byte{
		"magic":          []byte(core.Magic),
		"plausible":      append([]byte(core.Magic), 1, 0, 0, 0, 59, 0, 0, 0),
		"another header": npshmSeg[:128],
	} {
		b := seg("sa "+what, core.FlagFormatSharedArray, []int64{256})
		copy(b, head)
		out[what] = b
	}
	return out
}

// TestCAttachSharedArrayDataLikeNpshmMatchesGo: the core and the twin (a forked child) read a
// SharedArray segment whose data starts like npshm's header alike, as SharedArray's.
func TestCAttachSharedArrayDataLikeNpshmMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	path := filepath.Join(t.TempDir(), "seg")
	p := cstrings(t, "file://"+path)
	for what, seg := range saDataLikeNpshm(t) {
		if err := os.WriteFile(path, seg, 0o600); err != nil {
			t.Fatal(err)
		}
		var goH, cH unsafe.Pointer
		g := outcomeOf(capi.Attach(p[0], capi.FlagReadOnly, false, -1, nil, nil, &goH))
		c := outcomeOf(CAttachRaw(p[0], capi.FlagReadOnly, false, -1, nil, nil, &cH))
		if g.rc != 0 || c.rc != 0 {
			t.Errorf("%s: Go %+v, C %+v; want both to attach", what, g, c)
			continue
		}
		gi, ci := Handle(goH), Handle(cH)
		if gi.Format != capi.FlagFormatSharedArray || ci.Format != gi.Format || gi.Nbytes != 256 ||
			ci.Nbytes != 256 || gi.Data != gi.Base || ci.Data != ci.Base {
			t.Errorf("%s:\nGo %+v\nC  %+v", what, gi, ci)
		}
		Release(goH)
		Release(cH)
	}
}
