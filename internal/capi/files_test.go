//go:build linux && cgo

package capi

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
	"github.com/npshm/npshm/internal/ctwin/difftest"
)

// npshm_read_file(_ex) and npshm_write_file allocate nothing on the Go heap, on success and on
// failure, loading, attaching and writing.
func TestFilesZeroAllocs(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dir := t.TempDir()
	src := cstr(filepath.Join("..", "..", "tests", "vectors", "files", "npy_struct.npy"))
	missing := cstr(filepath.Join(dir, "missing.npy"))
	out := cstr(filepath.Join(dir, "out.npy"))
	name := cname(t)
	dtype := cstr("float64")
	shape := []int64{3}
	var h unsafe.Pointer
	check := func(rc, want int32) {
		t.Helper()
		if rc != want {
			t.Fatalf("rc %d, want %d: %s", rc, want, difftest.LastError())
		}
	}
	check(ReadFile(ptr(src), ptr(name), 0, nil, &h), 0) // warm up
	difftest.Release(h)
	check(Delete(ptr(name)), 0)
	opts := &ReadOptions{Size: readOptionsV1, ExpectShape: 1, Ndim: 1, Shape: unsafe.Pointer(&shape[0])}
	for _, c := range []struct {
		what string
		f    func()
	}{
		{"load+delete", func() {
			check(ReadFile(ptr(src), ptr(name), FlagExclusive, opts, &h), 0)
			difftest.Release(h)
			check(Delete(ptr(name)), 0)
		}},
		{"load+attach+write", func() {
			check(ReadFile(ptr(src), ptr(name), 0, nil, &h), 0)
			check(WriteFile(ptr(out), h), 0)
			difftest.Release(h)
			check(ReadFile(ptr(src), ptr(name), FlagReadOnly, opts, &h), 0)
			difftest.Release(h)
			check(Delete(ptr(name)), 0)
		}},
		{"failures", func() {
			check(ReadFile(ptr(missing), ptr(name), 0, nil, &h), int32(core.ErrNotFound))
			o := ReadOptions{Size: readOptionsV1, Dtype: unsafe.Pointer(&dtype[0])}
			check(ReadFile(ptr(src), ptr(name), 0, &o, &h), int32(core.ErrMismatch))
			check(ReadFile(nil, ptr(name), 0, nil, &h), int32(core.ErrInvalid))
			check(WriteFile(ptr(out), nil), int32(core.ErrInvalid))
		}},
	} {
		if n := testing.AllocsPerRun(20, c.f); n != 0 {
			t.Errorf("%s: %v allocations per run", c.what, n)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.npy")); err != nil {
		t.Error(err)
	}
}

// The layout of struct npshm_read_options that ReadOptions mirrors (export/dispatch.c asserts it).
func TestReadOptionsLayout(t *testing.T) {
	var o ReadOptions
	if unsafe.Offsetof(o.ExpectShape) != 8 || unsafe.Offsetof(o.Ndim) != 12 || unsafe.Offsetof(o.Shape) != 16 ||
		unsafe.Offsetof(o.Dtype) != 24 || unsafe.Offsetof(o.Offset) != 32 || unsafe.Offsetof(o.Cancel) != 40 ||
		unsafe.Offsetof(o.TimeoutMs) != 48 || unsafe.Offsetof(o.Attached) != 56 || unsafe.Offsetof(o.End) != 64 ||
		unsafe.Sizeof(o) != 72 {
		t.Fatal("ReadOptions does not match npshm_read_options")
	}
}
