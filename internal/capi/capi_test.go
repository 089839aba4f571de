//go:build linux && cgo

package capi

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
	"github.com/npshm/npshm/internal/ctwin/difftest"
	"golang.org/x/sys/unix"
)

var counter atomic.Int64

// cname returns a fresh /dev/shm name as a NUL-terminated C string, removed when the test ends.
func cname(t testing.TB) []byte {
	t.Helper()
	n := fmt.Sprintf("npshm-gotest-capi-%d-%d", os.Getpid(), counter.Add(1))
	t.Cleanup(func() { os.Remove("/dev/shm/" + n) })
	return cstr(n)
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

func TestZeroAllocs(t *testing.T) {
	name := cname(t)
	other := cname(t)
	missing := cname(t)
	dtype := cstr("[('x', 'f4'), ('y', '<i8', (3,))]")
	simple := cstr("float64")
	shape := []int64{3, 4}
	var out unsafe.Pointer
	check := func(rc, want int32) {
		if rc != want {
			t.Fatalf("rc %d, want %d", rc, want)
		}
	}
	// Warm up this thread's scratch memory (a C malloc, once per thread).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	check(Create(ptr(other), 2, unsafe.Pointer(&shape[0]), ptr(simple), 0, &out), 0)
	difftest.Release(out)

	for _, c := range []struct {
		what string
		f    func()
	}{
		{"Create+Delete", func() {
			check(Create(ptr(name), 2, unsafe.Pointer(&shape[0]), ptr(dtype), FlagFortran|FlagHasMode|0o640<<core.ModeShift, &out), 0)
			difftest.Release(out)
			check(Delete(ptr(name)), 0)
		}},
		{"Create with Replace", func() {
			check(Create(ptr(other), 2, unsafe.Pointer(&shape[0]), ptr(simple), FlagReplace, &out), 0)
			difftest.Release(out)
		}},
		{"Attach", func() {
			check(Attach(ptr(other), FlagReadOnly, false, -1, nil, nil, &out), 0)
			difftest.Release(out)
		}},
		{"Attach with expectations", func() {
			check(Attach(ptr(other), 0, true, 2, unsafe.Pointer(&shape[0]), ptr(simple), &out), 0)
			difftest.Release(out)
			check(Attach(ptr(other), 0, true, 2, unsafe.Pointer(&shape[0]), ptr(dtype), &out), int32(core.ErrMismatch))
		}},
		{"failures", func() {
			check(Create(ptr(other), 2, unsafe.Pointer(&shape[0]), ptr(simple), 0, &out), int32(core.ErrExists))
			check(Create(nil, 0, nil, ptr(simple), 0, &out), int32(core.ErrInvalid))
			check(Attach(ptr(missing), 0, false, -1, nil, nil, &out), int32(core.ErrNotFound))
			check(Delete(ptr(missing)), int32(core.ErrNotFound))
			check(List(nil, nil), int32(core.ErrInvalid))
		}},
	} {
		if n := testing.AllocsPerRun(50, c.f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.what, n)
		}
	}

	// The file functions on memory of the caller's.
	dir := t.TempDir()
	npy, raw := cstr(dir+"/a.npy"), make([]byte, 96)
	hdr := make([]byte, core.MaxFileHeader)
	actx := difftest.NewAllocCtx(0)
	defer difftest.FreeAllocCtx(actx)
	afn := difftest.AllocFn()
	var n, end uint64
	for _, c := range []struct {
		what string
		f    func()
	}{
		{"WriteFileData", func() {
			check(WriteFileData(ptr(npy), unsafe.Pointer(&raw[0]), 2, unsafe.Pointer(&shape[0]), ptr(simple), 0), 0)
		}},
		{"ReadFileData", func() { check(ReadFileData(ptr(npy), 0, afn, actx, &end), 0) }},
		{"EncodeFileHeader", func() {
			check(EncodeFileHeader(unsafe.Pointer(&hdr[0]), uint64(len(hdr)), 2, unsafe.Pointer(&shape[0]), ptr(dtype), FlagNpy, &n), 0)
		}},
	} {
		if a := testing.AllocsPerRun(20, c.f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.what, a)
		}
	}

	ctx := difftest.NewListCtx(string(other[:len(other)-1]), 0)
	defer difftest.FreeListCtx(ctx)
	fn := difftest.ListFn()
	if n := testing.AllocsPerRun(20, func() { check(List(fn, ctx), 0) }); n != 0 {
		t.Errorf("List: %v allocations per run, want 0", n)
	}
	if r := difftest.ListCtxResult(ctx); r.Found != 21 {
		t.Errorf("List found our array %d times in 21 listings", r.Found)
	}
}

func TestCreateAttachThroughCAPI(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name := cname(t)
	shape := []int64{2, 3}
	var h unsafe.Pointer
	flags := uint32(FlagFortran | FlagHasMode | 0o604<<core.ModeShift)
	if rc := Create(ptr(name), 2, unsafe.Pointer(&shape[0]), ptr(cstr("int16")), flags, &h); rc != 0 {
		t.Fatalf("Create: %d %s", rc, difftest.LastError())
	}
	defer difftest.Release(h)
	info := difftest.Handle(h)
	bare := string(name[:len(name)-1])
	if info.Dtype != "<i2" || info.Itemsize != 2 || info.Nbytes != 12 || fmt.Sprint(info.Shape) != "[2 3]" ||
		!info.Fortran || info.ReadOnly || info.Name != bare || uintptr(info.Data)%4096 != 0 {
		t.Errorf("created handle %+v", info)
	}
	if fi, err := os.Stat("/dev/shm/" + bare); err != nil || fi.Mode() != 0o604 {
		t.Errorf("mode %v (%v), want 0604", fi.Mode(), err)
	}
	unsafe.Slice((*int16)(info.Data), 6)[5] = -7

	var a unsafe.Pointer
	if rc := Attach(ptr(cstr("shm:///"+bare)), FlagReadOnly, true, 2, unsafe.Pointer(&shape[0]), ptr(cstr("<i2")), &a); rc != 0 {
		t.Fatalf("Attach: %d %s", rc, difftest.LastError())
	}
	defer difftest.Release(a)
	ai := difftest.Handle(a)
	if !ai.ReadOnly || ai.Name != bare || unsafe.Slice((*int16)(ai.Data), 6)[5] != -7 {
		t.Errorf("attached handle %+v", ai)
	}
	for _, c := range []struct {
		ndim  int32
		shape []int64
		dtype []byte
		rc    int32
	}{
		{-1, nil, nil, 0},
		{-1, nil, cstr("h"), 0},
		{2, []int64{2, 3}, nil, 0},
		{1, []int64{6}, nil, int32(core.ErrMismatch)},
		{2, []int64{3, 2}, nil, int32(core.ErrMismatch)},
		{-1, nil, cstr("<u2"), int32(core.ErrMismatch)},
		{-1, nil, cstr(">i2"), int32(core.ErrMismatch)},
		{-1, nil, cstr("object"), int32(core.ErrInvalid)},
		{-2, nil, nil, int32(core.ErrInvalid)},
		{65, nil, nil, int32(core.ErrInvalid)},
		{1, nil, nil, int32(core.ErrInvalid)},
	} {
		var sp, dp unsafe.Pointer
		if len(c.shape) > 0 {
			sp = unsafe.Pointer(&c.shape[0])
		}
		if c.dtype != nil {
			dp = ptr(c.dtype)
		}
		var x unsafe.Pointer
		rc := Attach(ptr(name), 0, true, c.ndim, sp, dp, &x)
		if rc != c.rc {
			t.Errorf("attach_expect(%d, %v, %q) = %d (%s), want %d", c.ndim, c.shape, c.dtype, rc, difftest.LastError(), c.rc)
		}
		if rc == 0 {
			difftest.Release(x)
		} else if x != nil {
			t.Errorf("attach_expect(%d, %v, %q) failed but set out", c.ndim, c.shape, c.dtype)
		}
	}
	if rc := Delete(ptr(name)); rc != 0 {
		t.Errorf("Delete: %d", rc)
	}
	// The mappings outlive the name.
	if unsafe.Slice((*int16)(ai.Data), 6)[5] != -7 {
		t.Error("mapping changed after delete")
	}
}

func TestArgumentErrors(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name := cname(t)
	bare := string(name[:len(name)-1])
	f8 := cstr("f8")
	shape := []int64{3}
	long := make([]byte, core.MaxNameArg+10) // no NUL within the limit
	for i := range long {
		long[i] = 'n'
	}
	longDtype := make([]byte, core.MaxDtypeArg+10)
	for i := range longDtype {
		longDtype[i] = ' '
	}
	var out unsafe.Pointer
	for _, c := range []struct {
		what string
		call func() int32
		msg  string
	}{
		{"NULL name", func() int32 { return Create(nil, 1, unsafe.Pointer(&shape[0]), ptr(f8), 0, &out) }, `npshm_create: name is NULL`},
		{"unterminated name", func() int32 { return Create(ptr(long), 1, unsafe.Pointer(&shape[0]), ptr(f8), 0, &out) }, `npshm_create: name is NULL or too long`},
		{"NULL out", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), 0, nil) }, `npshm_create("` + bare + `"): out is NULL`},
		{"ndim -1", func() int32 { return Create(ptr(name), -1, nil, ptr(f8), 0, &out) }, `between 0 and 64, not -1`},
		{"ndim 65", func() int32 { return Create(ptr(name), 65, unsafe.Pointer(&shape[0]), ptr(f8), 0, &out) }, `between 0 and 64, not 65`},
		{"NULL shape", func() int32 { return Create(ptr(name), 1, nil, ptr(f8), 0, &out) }, `shape is NULL`},
		{"READONLY on create", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), FlagReadOnly, &out) }, `unknown flags`},
		{"unknown flag", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), 0x4000, &out) }, `unknown flags`},
		{"two formats", func() int32 {
			return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), FlagFormatSharedArray|FlagFormatCdxcore, &out)
		}, `two formats`},
		{"format cannot carry", func() int32 {
			return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(cstr("uint8")), FlagFormatCdxcore, &out)
		}, `cdxcore segments cannot carry this dtype`},
		{"no reserve in a peer's format", func() int32 {
			return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), FlagNoReserve|FlagFormatSharedArray, &out)
		}, `NPSHM_NO_RESERVE needs npshm's own format`},
		{"mode bits beyond 07777", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), 1<<28|FlagHasMode, &out) }, `permission bits only (0 to 0777), not 010000`},
		{"setuid mode", func() int32 {
			return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), 0o4755<<16|FlagHasMode, &out)
		}, `permission bits only (0 to 0777), not 04755`},
		{"mode without HAS_MODE", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(f8), 0o644<<16, &out) }, `mode bits without NPSHM_HAS_MODE`},
		{"NULL dtype", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), nil, 0, &out) }, `dtype is NULL`},
		{"unterminated dtype", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(longDtype), 0, &out) }, `dtype is NULL or too long`},
		{"negative dimension", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&[]int64{-4}[0]), ptr(f8), 0, &out) }, `dimensions must not be negative, got -4`},
		{"object dtype", func() int32 { return Create(ptr(name), 1, unsafe.Pointer(&shape[0]), ptr(cstr("O")), 0, &out) }, `object dtypes`},
		{"bad name", func() int32 { return Create(ptr(cstr("a/b")), 1, unsafe.Pointer(&shape[0]), ptr(f8), 0, &out) }, `npshm_create("a/b"): name contains '/'`},
		{"attach NULL name", func() int32 { return Attach(nil, 0, false, -1, nil, nil, &out) }, `npshm_attach: name is NULL`},
		{"attach NULL out", func() int32 { return Attach(ptr(name), 0, false, -1, nil, nil, nil) }, `out is NULL`},
		{"attach REPLACE", func() int32 { return Attach(ptr(name), FlagReplace, false, -1, nil, nil, &out) }, `unknown flags`},
		{"attach missing", func() int32 { return Attach(ptr(name), 0, false, -1, nil, nil, &out) }, `npshm_attach("` + bare + `"): no array of that name: no such file or directory`},
		{"attach_expect NULL shape", func() int32 { return Attach(ptr(name), 0, true, 2, nil, nil, &out) }, `npshm_attach_expect("` + bare + `"): expected shape is NULL`},
		{"attach_expect long dtype", func() int32 { return Attach(ptr(name), 0, true, -1, nil, ptr(longDtype), &out) }, `expected dtype is too long`},
		{"delete NULL", func() int32 { return Delete(nil) }, `npshm_delete: name is NULL`},
		{"delete missing", func() int32 { return Delete(ptr(name)) }, `npshm_delete("` + bare + `"): no array of that name`},
		{"list NULL", func() int32 { return List(nil, nil) }, `npshm_list: fn is NULL`},
	} {
		rc := c.call()
		msg := difftest.LastError()
		if rc >= 0 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: rc %d, message %q; want an error mentioning %q", c.what, rc, msg, c.msg)
		}
	}
	if out != nil {
		t.Error("a failed call set out")
	}
	if _, err := os.Stat("/dev/shm/" + bare); !os.IsNotExist(err) {
		t.Error("failed creates left the array behind")
	}
}

// The constants agree with include/npshm.h.
func TestConstantsMatchHeader(t *testing.T) {
	text, err := os.ReadFile("../../include/npshm.h")
	if err != nil {
		t.Fatal(err)
	}
	defines := map[string]string{}
	re := regexp.MustCompile(`(?m)^#define\s+(NPSHM_\w+)(\([^)]*\))?\s+(.*?)\s*(/\*.*)?$`)
	for _, m := range re.FindAllStringSubmatch(strings.ReplaceAll(string(text), "\\\n", ""), -1) {
		defines[m[1]+m[2]] = m[3]
	}
	num := func(name string) int64 {
		t.Helper()
		v, ok := defines[name]
		if !ok {
			t.Fatalf("%s is not defined in npshm.h", name)
		}
		v = strings.TrimSuffix(strings.Trim(v, "()"), "u")
		n, err := strconv.ParseInt(v, 0, 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", name, defines[name], err)
		}
		return n
	}
	codes := []core.Code{core.OK, core.ErrExists, core.ErrNotFound, core.ErrInvalid, core.ErrNoSpace, core.ErrFormat,
		core.ErrMismatch, core.ErrPermission, core.ErrIO}
	for _, c := range codes {
		if got := num(c.String()); got != int64(c) {
			t.Errorf("%s is %d in npshm.h, %d in internal/core", c, got, c)
		}
	}
	nErr := 0
	for name := range defines {
		if strings.HasPrefix(name, "NPSHM_ERR_") {
			nErr++
		}
	}
	if nErr != len(codes)-1 {
		t.Errorf("npshm.h has %d NPSHM_ERR_* codes, internal/core %d", nErr, len(codes)-1)
	}
	for _, c := range []struct {
		name string
		val  int64
	}{
		{"NPSHM_READONLY", FlagReadOnly},
		{"NPSHM_REPLACE", FlagReplace},
		{"NPSHM_FORTRAN", FlagFortran},
		{"NPSHM_NO_RESERVE", FlagNoReserve},
		{"NPSHM_FORMAT_NPSHM", core.SegNpshm},
		{"NPSHM_FORMAT_SHAREDARRAY", FlagFormatSharedArray},
		{"NPSHM_FORMAT_CDXCORE", FlagFormatCdxcore},
		{"NPSHM_HAS_MODE", FlagHasMode},
		{"NPSHM_EXCLUSIVE", FlagExclusive},
		{"NPSHM_NPY", FlagNpy},
		{"NPSHM_NPIO", FlagNpio},
		{"NPSHM_MAX_FILE_HEADER", core.MaxFileHeader},
		{"NPSHM_ACCEPT_FOREIGN", FlagAcceptForeign},
		{"NPSHM_MAX_NDIM", core.MaxNdim},
		{"NPSHM_MS_ASYNC", unix.MS_ASYNC},
		{"NPSHM_MS_INVALIDATE", unix.MS_INVALIDATE},
		{"NPSHM_MS_SYNC", unix.MS_SYNC},
	} {
		if got := num(c.name); got != c.val {
			t.Errorf("%s is %#x in npshm.h, %#x in Go", c.name, got, c.val)
		}
	}
	mode := defines["NPSHM_MODE(perm)"]
	m := core.ModeMask >> core.ModeShift
	want := fmt.Sprintf("(NPSHM_HAS_MODE | (((unsigned)(perm) > %#xu ? %#xu : (unsigned)(perm)) << %d))", m, m, core.ModeShift)
	if mode != want {
		t.Errorf("NPSHM_MODE(perm) is %q in npshm.h; Go decodes %q", mode, want)
	}
	// The version, if the Go package states one.
	version := fmt.Sprintf("%q", fmt.Sprintf("%d.%d.%d", num("NPSHM_VERSION_MAJOR"), num("NPSHM_VERSION_MINOR"),
		num("NPSHM_VERSION_PATCH")))
	goVersion := ""
	files, _ := filepath.Glob("../../*.go")
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if id.Name == "Version" && i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
								goVersion = lit.Value
							}
						}
					}
				}
			}
		}
	}
	if goVersion == "" {
		t.Log("the root package has no Version constant; not compared")
	} else if goVersion != version {
		t.Errorf("NPSHM_VERSION is %s in npshm.h, Version %s in Go", version, goVersion)
	}
}
