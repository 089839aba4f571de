//go:build linux && cgo

package difftest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
	"github.com/npshm/npshm/internal/core"
)

// The twin's array files in the caller's memory (internal/ctwin/filedata.c) against the core's
// entry points (internal/capi/files.go): npshm_read_file_data, npshm_write_file(_data) and
// npshm_encode_file_header give the same results, the same files byte for byte, and the same
// status, errno and message for every refusal.

// outcome is a call's status and, if it failed, this thread's errno and message.
type outcome struct {
	rc    int32
	errno int
	msg   string
}

func outcomeOf(rc int32) outcome {
	if rc == 0 {
		return outcome{}
	}
	return outcome{rc, LastErrno(), LastError()}
}

// cstrings makes C copies of strings, freed when the test ends; "\x00NULL" stands for NULL.
func cstrings(t *testing.T, ss ...string) []unsafe.Pointer {
	t.Helper()
	out := make([]unsafe.Pointer, len(ss))
	for i, s := range ss {
		if s == "\x00NULL" {
			continue
		}
		out[i] = CMem([]byte(s))
		t.Cleanup(func() { Free(out[i]) })
	}
	return out
}

// cshape makes a C copy of a shape (NULL for nil), freed when the test ends.
func cshape(t *testing.T, shape []int64) unsafe.Pointer {
	if shape == nil {
		return nil
	}
	b := make([]byte, 8*len(shape))
	for i, d := range shape {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(d))
	}
	p := CMem(b)
	t.Cleanup(func() { Free(p) })
	return p
}

func TestCReadFileDataMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dir := t.TempDir()
	files := fileVectors(t)
	for i := range files {
		files[i] = filepath.Join(filesDir, files[i])
	}
	files = append(files, filepath.Join(dir, "missing"), dir, "")
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for _, off := range []uint64{0, 4, uint64(len(raw)), 1 << 40} {
			for _, refuse := range []int{0, 9} {
				path := cstrings(t, f)[0]
				gctx, cctx := NewAllocCtx(refuse), NewAllocCtx(refuse)
				var gend, cend uint64 = 1, 1
				g := outcomeOf(capi.ReadFileData(path, off, AllocFn(), gctx, &gend))
				c := outcomeOf(CReadFileData(path, off, AllocFn(), cctx, &cend))
				ga, ca := AllocResult(gctx), AllocResult(cctx)
				FreeAllocCtx(gctx)
				FreeAllocCtx(cctx)
				if g != c || gend != cend || !reflect.DeepEqual(ga, ca) {
					t.Fatalf("%s at %d (alloc rc %d):\nGo %+v end %d %+v\nC  %+v end %d %+v", f, off, refuse, g, gend,
						ga, c, cend, ca)
				}
			}
		}
	}
}

func TestCFileFormatMatchesGo(t *testing.T) {
	for _, path := range []string{"\x00NULL", "", "a.npy", "a.npio", "x.NPY", ".npy", "npy", "d/a.npy.gz",
		strings.Repeat("p", core.MaxPath-4) + ".npy", strings.Repeat("p", core.MaxPath-3) + ".npy"} {
		p := cstrings(t, path)[0]
		if g, c := capi.FileFormat(p), CFileFormat(p); g != c || g != capi.FlagNpy && g != capi.FlagNpio {
			t.Errorf("npshm_file_format(%.20q): Go %#x, C %#x", path, g, c)
		}
	}
}

// dataArgs is a call of npshm_write_file_data or npshm_encode_file_header.
type dataCall struct {
	what  string
	path  string
	ndim  int32
	shape []int64
	dtype string
	flags uint32
	data  []byte // nil: NULL
}

func writeCalls(dir string) []dataCall {
	f8x6 := make([]byte, 48)
	return []dataCall{
		{"by suffix .npy", dir + "/a.npy", 2, []int64{2, 3}, "float64", 0, f8x6},
		{"by suffix npio", dir + "/a.npio", 2, []int64{2, 3}, "<f8", 0, f8x6},
		{"NPSHM_NPY", dir + "/b.npio", 2, []int64{2, 3}, "<f8", capi.FlagNpy, f8x6},
		{"NPSHM_NPIO", dir + "/b.npy", 2, []int64{2, 3}, "<f8", capi.FlagNpio, f8x6},
		{"Fortran .npy", dir + "/f.npy", 2, []int64{2, 3}, "<f8", capi.FlagFortran, f8x6},
		{"Fortran npio", dir + "/f.npio", 2, []int64{2, 3}, "<f8", capi.FlagFortran, f8x6},
		{"Fortran npio of one column", dir + "/g.npio", 2, []int64{6, 1}, "<f8", capi.FlagFortran, f8x6},
		{"0-d", dir + "/z.npy", 0, nil, "int64", 0, f8x6[:8]},
		{"zero-size NULL data", dir + "/e.npy", 2, []int64{0, 3}, "<f8", 0, nil},
		{"structured", dir + "/s.npy", 1, []int64{2}, "[('x', '<f4'), ('y', '|u1', (4,))]", 0, f8x6[:16]},
		{"npio of uint8", dir + "/u.npio", 1, []int64{3}, "uint8", 0, f8x6[:3]},
		{"NULL path", "\x00NULL", 1, []int64{3}, "uint8", 0, f8x6},
		{"empty path", "", 1, []int64{3}, "uint8", 0, f8x6},
		{"long path", strings.Repeat("p", core.MaxPath+1), 1, []int64{3}, "uint8", 0, f8x6},
		{"path names a directory", dir + "/", 1, []int64{3}, "<f8", capi.FlagNpy, f8x6},
		{"no such directory", dir + "/missing/x.npy", 1, []int64{3}, "uint8", 0, f8x6},
		{"ndim -1", dir + "/x.npy", -1, nil, "uint8", 0, f8x6},
		{"ndim 65", dir + "/x.npy", 65, make([]int64, 65), "uint8", 0, f8x6},
		{"NULL shape", dir + "/x.npy", 2, nil, "uint8", 0, f8x6},
		{"unknown flag", dir + "/x.npy", 1, []int64{3}, "uint8", capi.FlagReadOnly, f8x6},
		{"both formats", dir + "/x.npy", 1, []int64{3}, "uint8", capi.FlagNpy | capi.FlagNpio, f8x6},
		{"NULL dtype", dir + "/x.npy", 1, []int64{3}, "\x00NULL", 0, f8x6},
		{"1 MB dtype", dir + "/x.npy", 1, []int64{3}, strings.Repeat(" ", 1<<20), 0, f8x6},
		{"bad dtype", dir + "/x.npy", 1, []int64{3}, "flaot64", 0, f8x6},
		{"object dtype", dir + "/x.npy", 1, []int64{3}, "object", 0, f8x6},
		{"negative dimension", dir + "/x.npy", 2, []int64{3, -1}, "uint8", 0, f8x6},
		{"numpy's size rule", dir + "/x.npy", 2, []int64{1 << 62, 0}, "int64", 0, f8x6},
		{"NULL data", dir + "/x.npy", 1, []int64{3}, "uint8", 0, nil},
	}
}

func TestCWriteFileDataMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	gdir, cdir := t.TempDir(), t.TempDir()
	gcalls, ccalls := writeCalls(gdir), writeCalls(cdir)
	for i, gc := range gcalls {
		cc := ccalls[i]
		args := func(c dataCall) (path, data unsafe.Pointer, shape, dtype unsafe.Pointer) {
			p := cstrings(t, c.path, c.dtype)
			if c.data != nil {
				data = CMem(c.data)
				t.Cleanup(func() { Free(data) })
			}
			return p[0], data, cshape(t, c.shape), p[1]
		}
		gp, gd, gs, gt := args(gc)
		cp, cd, cs, ct := args(cc)
		g := outcomeOf(capi.WriteFileData(gp, gd, gc.ndim, gs, gt, gc.flags))
		c := outcomeOf(CWriteFileData(cp, cd, cc.ndim, cs, ct, cc.flags))
		g.msg = strings.ReplaceAll(g.msg, gdir, "DIR")
		c.msg = strings.ReplaceAll(c.msg, cdir, "DIR")
		if g != c {
			t.Errorf("%s:\nGo %+v\nC  %+v", gc.what, g, c)
			continue
		}
		if g.rc == 0 {
			gb, err1 := os.ReadFile(gc.path)
			cb, err2 := os.ReadFile(cc.path)
			if err1 != nil || err2 != nil || !bytes.Equal(gb, cb) {
				t.Errorf("%s: the files differ (%v, %v)", gc.what, err1, err2)
			}
		}
	}
	for _, d := range []string{gdir, cdir} {
		if m, _ := filepath.Glob(filepath.Join(d, ".npshm-*")); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}
}

// npshm_write_file of a handle, whose geometry comes from the array.
func TestCWriteFileMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name := uniqueName(t)
	h, code := CCreate(name, []int64{2, 3}, "uint8", 0x4)
	if code != core.OK {
		t.Fatal(code)
	}
	defer Release(h)
	gdir, cdir := t.TempDir(), t.TempDir()
	for _, c := range []struct {
		path  string
		array unsafe.Pointer
	}{
		{"a.npy", h}, {"a.npio", h}, {"\x00NULL", h}, {"", h}, {"a.npy", nil}, {strings.Repeat("p", core.MaxPath+1), h},
		{"missing/a.npy", h},
	} {
		join := func(d string) string {
			if c.path == "" || c.path == "\x00NULL" || len(c.path) > core.MaxPath {
				return c.path
			}
			return d + "/" + c.path
		}
		g := outcomeOf(capi.WriteFile(cstrings(t, join(gdir))[0], c.array))
		cc := outcomeOf(CWriteFile(cstrings(t, join(cdir))[0], c.array))
		g.msg = strings.ReplaceAll(g.msg, gdir, "DIR")
		cc.msg = strings.ReplaceAll(cc.msg, cdir, "DIR")
		if g != cc {
			t.Errorf("write_file(%.20q, %v):\nGo %+v\nC  %+v", c.path, c.array != nil, g, cc)
		}
		if g.rc == 0 {
			gb, _ := os.ReadFile(join(gdir))
			cb, _ := os.ReadFile(join(cdir))
			if !bytes.Equal(gb, cb) {
				t.Errorf("write_file(%q): the files differ", c.path)
			}
		}
	}
}

func TestCEncodeFileHeaderMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	calls := writeCalls("/nowhere")
	for _, flags := range []uint32{capi.FlagNpy, capi.FlagNpio} {
		for _, c := range calls {
			if c.flags&(capi.FlagNpy|capi.FlagNpio) == 0 {
				c.flags |= flags
			}
			p := cstrings(t, c.dtype)
			for _, capacity := range []uint64{core.MaxFileHeader, 30, 0} {
				gbuf, cbuf := make([]byte, capacity+1), make([]byte, capacity+1)
				gp, cp := CMem(gbuf[:capacity]), CMem(cbuf[:capacity])
				if capacity == 0 {
					Free(gp)
					Free(cp)
					gp, cp = nil, nil
				}
				var gn, cn uint64 = 1, 1
				g := outcomeOf(capi.EncodeFileHeader(gp, capacity, c.ndim, cshape(t, c.shape), p[0], c.flags, &gn))
				cc := outcomeOf(CEncodeFileHeader(cp, capacity, c.ndim, cshape(t, c.shape), p[0], c.flags, &cn))
				same := g == cc && gn == cn
				if same && g.rc == 0 {
					same = bytes.Equal(unsafe.Slice((*byte)(gp), gn), unsafe.Slice((*byte)(cp), cn))
				}
				if gp != nil {
					Free(gp)
					Free(cp)
				}
				if !same {
					t.Errorf("%s, flags %#x, capacity %d:\nGo %+v len %d\nC  %+v len %d", c.what, c.flags, capacity, g, gn, cc, cn)
				}
			}
		}
	}
	// A NULL len, and a NULL buffer with a capacity.
	for _, c := range []struct {
		buf    unsafe.Pointer
		length *uint64
	}{{nil, nil}, {nil, new(uint64)}} {
		p := cstrings(t, "f8")
		g := outcomeOf(capi.EncodeFileHeader(c.buf, 8, 0, nil, p[0], capi.FlagNpy, c.length))
		cc := outcomeOf(CEncodeFileHeader(c.buf, 8, 0, nil, p[0], capi.FlagNpy, c.length))
		if g != cc || g.rc != int32(core.ErrInvalid) {
			t.Errorf("len %v: Go %+v, C %+v", c.length != nil, g, cc)
		}
	}
}
