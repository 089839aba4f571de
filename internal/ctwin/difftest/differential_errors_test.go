//go:build linux && cgo

package difftest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
	"github.com/npshm/npshm/internal/core"
)

// Errors, entry point by entry point: for the same bad input the twin (what a forked child runs)
// and the core's C ABI (internal/capi) give the same status, errno and message, as DESIGN.md
// promises. The file entry points of filedata.c have their tables in differential_codec_test.go.

// errorCase is one bad call, made once on each side.
type errorCase struct {
	what   string
	goCall func() int32
	cCall  func() int32
}

func checkSameErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, c := range cases {
		g := outcomeOf(c.goCall())
		cc := outcomeOf(c.cCall())
		if g != cc {
			t.Errorf("%s:\nGo %+v\nC  %+v", c.what, g, cc)
		} else if g.rc == 0 {
			t.Errorf("%s: both succeeded; the case tests nothing", c.what)
		}
	}
}

func TestCErrorsMatchGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := new(core.Scratch)
	existing := uniqueName(t)
	if _, _, st := core.Create(s, []byte(existing), []int64{3}, []byte("f8"), core.CreateOptions{}); !st.Ok() {
		t.Fatal(st.Msg)
	}
	garbage := uniqueName(t)
	os.WriteFile("/dev/shm/"+garbage, []byte(strings.Repeat("not an npshm array ", 10)), 0o600)
	missing := uniqueName(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o600)
	const null = "\x00NULL"
	huge := strings.Repeat("n", 1<<20)
	hugeDtype := strings.Repeat("[('a', ", 1<<16) + "'f8'" + strings.Repeat(")]", 1<<16)

	var cases []errorCase
	var out unsafe.Pointer
	shape1 := []int64{3}

	// npshm_create and npshm_create_init
	for _, c := range []struct {
		what  string
		name  string
		ndim  int32
		shape []int64
		dtype string
		flags uint32
		noOut bool
	}{
		{"NULL name", null, 1, shape1, "f8", 0, false},
		{"1 MB name", huge, 1, shape1, "f8", 0, false},
		{"empty name", "", 1, shape1, "f8", 0, false},
		{"name with /", "a/b", 1, shape1, "f8", 0, false},
		{"name ..", "..", 1, shape1, "f8", 0, false},
		{"256-byte name", strings.Repeat("n", 256), 1, shape1, "f8", 0, false},
		{"reserved name", ".npshm-tmp-1-1", 1, shape1, "f8", 0, false},
		{"file:// without a path", "file://", 1, shape1, "f8", 0, false},
		{"file:// directory", "file:///tmp/", 1, shape1, "f8", 0, false},
		{"file:// too long", "file://" + strings.Repeat("p", core.MaxPath+1), 1, shape1, "f8", 0, false},
		{"missing file:// directory", "file://" + dir + "/missing/x", 1, shape1, "f8", 0, false},
		{"NULL out", missing, 1, shape1, "f8", 0, true},
		{"ndim -1", missing, -1, nil, "f8", 0, false},
		{"ndim 65", missing, 65, make([]int64, 65), "f8", 0, false},
		{"NULL shape", missing, 2, nil, "f8", 0, false},
		{"READONLY", missing, 1, shape1, "f8", capi.FlagReadOnly, false},
		{"unknown flag", missing, 1, shape1, "f8", 0x4000, false},
		{"mode beyond 07777", missing, 1, shape1, "f8", 1<<28 | capi.FlagHasMode, false},
		{"NULL dtype", missing, 1, shape1, null, 0, false},
		{"1 MB dtype", missing, 1, shape1, huge, 0, false},
		{"1 MB structured dtype", missing, 1, shape1, hugeDtype, 0, false},
		{"unknown dtype", missing, 1, shape1, "flaot64", 0, false},
		{"unknown field dtype", missing, 1, shape1, "[('a', '<f8'), ('b', 'flaot64')]", 0, false},
		{"byte order only", missing, 1, shape1, ">", 0, false},
		{"unknown datetime unit", missing, 1, shape1, "datetime64[nsec]", 0, false},
		{"unknown flags and READONLY", missing, 1, shape1, "f8", 0x4001, false},
		{"no reserve in a peer's format", missing, 1, shape1, "f8", core.FlagNoReserve | core.FlagFormatCdxcore, false},
		{"object dtype", missing, 1, shape1, "[('a', 'O')]", 0, false},
		{"negative dimension", missing, 2, []int64{3, -1}, "f8", 0, false},
		{"numpy's size rule", missing, 2, []int64{1 << 62, 0}, "int64", 0, false},
		{"more than 2**56 bytes", missing, 2, []int64{1 << 28, 1<<28 + 1}, "u1", 0, false},
		{"name taken", existing, 1, shape1, "f8", 0, false},
		{"two formats", missing, 1, shape1, "f8", capi.FlagFormatSharedArray | capi.FlagFormatCdxcore, false},
		{"SharedArray: big-endian", missing, 1, shape1, ">f8", capi.FlagFormatSharedArray, false},
		{"SharedArray: datetime unit", missing, 1, shape1, "M8[ns]", capi.FlagFormatSharedArray, false},
		{"SharedArray: structured", missing, 1, shape1, "[('x', '<f4')]", capi.FlagFormatSharedArray, false},
		{"SharedArray: Fortran", missing, 2, []int64{2, 3}, "f8", capi.FlagFormatSharedArray | capi.FlagFortran, false},
		{"SharedArray: name taken", existing, 1, shape1, "f8", capi.FlagFormatSharedArray, false},
		{"cdxcore: uint8", missing, 1, shape1, "u1", capi.FlagFormatCdxcore, false},
		{"cdxcore: strings", missing, 1, shape1, "S3", capi.FlagFormatCdxcore, false},
		{"cdxcore: Fortran", missing, 2, []int64{2, 3}, "f8", capi.FlagFormatCdxcore | capi.FlagFortran, false},
		{"cdxcore: numpy's size rule", missing, 2, []int64{1 << 62, 0}, "int64", capi.FlagFormatCdxcore, false},
	} {
		for _, init := range []unsafe.Pointer{nil, InitFn()} {
			p := cstrings(t, c.name, c.dtype)
			sh := cshape(t, c.shape)
			o := &out
			if c.noOut {
				o = nil
			}
			what := "create: " + c.what
			goCall := func() int32 { return capi.Create(p[0], c.ndim, sh, p[1], c.flags, o) }
			if init != nil {
				what = "create_init: " + c.what
				goCall = func() int32 { return capi.CreateInit(p[0], c.ndim, sh, p[1], c.flags, init, nil, o) }
			}
			cases = append(cases, errorCase{what, goCall,
				func() int32 { return CCreateRaw(p[0], c.ndim, sh, p[1], c.flags, init, nil, o) }})
		}
	}

	// npshm_attach and npshm_attach_expect
	for _, c := range []struct {
		what   string
		name   string
		flags  uint32
		expect bool
		ndim   int32
		shape  []int64
		dtype  string
		noOut  bool
	}{
		{"NULL name", null, 0, false, -1, nil, null, false},
		{"1 MB name", huge, 0, false, -1, nil, null, false},
		{"name with /", "a/b", 0, false, -1, nil, null, false},
		{"missing", missing, 0, false, -1, nil, null, false},
		{"not an array", garbage, 0, false, -1, nil, null, false},
		{"a directory", "file://" + dir, 0, false, -1, nil, null, false},
		{"a device", "file:///dev/null", capi.FlagReadOnly, false, -1, nil, null, false},
		{"/dev", "/dev", 0, false, -1, nil, null, false},
		{"NULL out", existing, 0, false, -1, nil, null, true},
		{"REPLACE", existing, capi.FlagReplace, false, -1, nil, null, false},
		{"expect ndim -2", existing, 0, true, -2, nil, null, false},
		{"expect ndim 65", existing, 0, true, 65, make([]int64, 65), null, false},
		{"expect NULL shape", existing, 0, true, 1, nil, null, false},
		{"expect 1 MB dtype", existing, 0, true, -1, nil, huge, false},
		{"expect bad dtype", existing, 0, true, -1, nil, "flaot64", false},
		{"other ndim", existing, 0, true, 2, []int64{3, 1}, null, false},
		{"other shape", existing, 0, true, 1, []int64{4}, null, false},
		{"other dtype", existing, 0, true, -1, nil, "f4", false},
		{"missing, expecting", missing, 0, true, 1, shape1, "f8", false},
	} {
		p := cstrings(t, c.name, c.dtype)
		sh := cshape(t, c.shape)
		o := &out
		if c.noOut {
			o = nil
		}
		cases = append(cases, errorCase{"attach: " + c.what,
			func() int32 { return capi.Attach(p[0], c.flags, c.expect, c.ndim, sh, p[1], o) },
			func() int32 { return CAttachRaw(p[0], c.flags, c.expect, c.ndim, sh, p[1], o) }})
	}

	// npshm_delete, npshm_list, npshm_clean_temporaries
	for _, name := range []string{null, huge, "", "a/b", "..", missing, "file://" + dir + "/missing/x"} {
		p := cstrings(t, name)
		cases = append(cases, errorCase{"delete: " + name[:min(len(name), 40)],
			func() int32 { return capi.Delete(p[0]) }, func() int32 { return CDeleteRaw(p[0]) }})
	}
	cases = append(cases, errorCase{"list: NULL fn", func() int32 { return capi.List(nil, nil) },
		func() int32 { return CList(nil, nil) }})
	for _, d := range []string{"", huge, dir + "/missing", plain} {
		p := cstrings(t, d)
		var removed int32
		cases = append(cases, errorCase{"clean_temporaries: " + d[:min(len(d), 40)],
			func() int32 { return capi.CleanTemporaries(p[0], &removed) },
			func() int32 { return CCleanRaw(p[0], &removed) }})
	}

	// npshm_read_file
	for _, c := range []struct {
		what       string
		path, name string
		flags      uint32
		noOut      bool
	}{
		{"NULL path", null, missing, 0, false},
		{"1 MB path", huge, missing, 0, false},
		{"NULL name", plain, null, 0, false},
		{"1 MB name", plain, huge, 0, false},
		{"bad name", plain, "a/b", 0, false},
		{"NULL out", plain, missing, 0, true},
		{"REPLACE", plain, missing, capi.FlagReplace, false},
		{"unknown flags", plain, missing, 0x4000, false},
		{"missing file", dir + "/missing", missing, 0, false},
		{"a directory", dir, missing, 0, false},
		{"a corrupt file", plain, missing, 0, false},
		{"a truncated file", filepath.Join(filesDir, "bad_npy_short_data.npy"), missing, 0, false},
		{"exclusive, name taken", filepath.Join(filesDir, "npio_int32.npio"), existing, capi.FlagExclusive, false},
		{"name taken by another geometry", filepath.Join(filesDir, "npio_int32.npio"), existing, 0, false},
	} {
		p := cstrings(t, c.path, c.name)
		o := &out
		if c.noOut {
			o = nil
		}
		cases = append(cases, errorCase{"read_file: " + c.what,
			func() int32 { return capi.ReadFile(p[0], p[1], c.flags, nil, o) },
			func() int32 { return CReadFileRaw(p[0], p[1], c.flags, o) }})
	}
	checkSameErrors(t, cases)
	if _, err := os.Stat("/dev/shm/" + missing); err == nil {
		t.Error("a refused call created an array")
	}
}

// A handle released twice: the same refusal on both paths, which release through cshim alike.
func TestDoubleReleaseIsAnError(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name := uniqueName(t)
	cname := cstrings(t, name, "u1")
	var g, c unsafe.Pointer
	if rc := capi.Create(cname[0], 0, nil, cname[1], capi.FlagReplace, &g); rc != 0 {
		t.Fatal(LastError())
	}
	if rc := CCreateRaw(cname[0], 0, nil, cname[1], capi.FlagReplace, nil, nil, &c); rc != 0 {
		t.Fatal(LastError())
	}
	for _, h := range []unsafe.Pointer{g, c} {
		if code := Release(h); code != core.OK {
			t.Fatalf("first release: %v", code)
		}
		if code := Release(h); code != core.ErrInvalid || LastError() != "npshm_release: array already released" {
			t.Errorf("second release: %v %q", code, LastError())
		}
	}
}

// FuzzCErrorsMatchGo: for any name and dtype, the twin's npshm_create refuses as the core's does,
// with the same message. The shape has a negative dimension, the last check, so that nothing is
// ever created.
func FuzzCErrorsMatchGo(f *testing.F) {
	for _, n := range []string{"x", "", "/x", "shm://x", "a/b", "..", ".npshm-tmp-1-2", "file://", "file:///tmp/",
		"file:///nonexistent/x", strings.Repeat("n", 256), "shm:///"} {
		f.Add([]byte(n), []byte("f8"))
	}
	for _, d := range append(tableDtypes(f)[:40], extraDtypes()...) {
		if len(d) < 4096 {
			f.Add([]byte("fuzz"), []byte(d))
		}
	}
	shape := CMem(make([]byte, 8))
	*(*int64)(shape) = -1
	f.Fuzz(func(t *testing.T, name, dtype []byte) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		n, d := CMem(name), CMem(dtype)
		defer Free(n)
		defer Free(d)
		var out unsafe.Pointer
		g := outcomeOf(capi.Create(n, 1, shape, d, 0, &out))
		c := outcomeOf(CCreateRaw(n, 1, shape, d, 0, nil, nil, &out))
		if g != c || g.rc == 0 {
			t.Fatalf("create(%.60q, [-1], %.60q):\nGo %+v\nC  %+v", name, dtype, g, c)
		}
	})
}
