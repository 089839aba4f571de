//go:build linux && cgo

package difftest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/npshm/npshm/internal/capi"
	"github.com/npshm/npshm/internal/core"
)

// heldFds are the descriptors of this process that name dir: the core's and the twin's.
func heldFds(t *testing.T, dir string) []int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	var fds []int
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == dir {
			n, _ := strconv.Atoi(e.Name())
			fds = append(fds, n)
		}
	}
	return fds
}

// A program that closes the held directory's descriptors and opens another directory into their
// numbers (closerange, then dup2) makes neither path work in that directory: both fail with IO
// (EBADF) and the same message naming the directory, and set_dir holds it again
// (internal/core's TestLostDirDescriptorIsNotUsed).
func TestLostDirDescriptorMatches(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		core.SetDir("")
		CSetDir("")
	}()
	dir := t.TempDir()
	other, err := os.MkdirTemp("/dev/shm", "npshm-difftest-lost-") // another device than /tmp
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(other)
	name := fmt.Sprintf("dirtest-lost-%d", os.Getpid())
	if code, msg := CSetDir(other); code != core.OK {
		t.Fatal(msg)
	}
	h, code := CCreate(name, []int64{3}, "f8", 0)
	if code != core.OK {
		t.Fatalf("C create in %s: %v %s", other, code, LastError())
	}
	Release(h)
	if err := os.WriteFile(filepath.Join(other, "victim"), []byte("not an array"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := core.SetDir(dir); !st.Ok() {
		t.Fatal(st.Msg)
	}
	if code, msg := CSetDir(dir); code != core.OK {
		t.Fatal(msg)
	}
	fds := heldFds(t, dir)
	if len(fds) != 2 {
		t.Fatalf("descriptors of %s: %v, want the core's and the twin's", dir, fds)
	}
	o, err := unix.Open(other, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		unix.Dup3(o, fd, unix.O_CLOEXEC)
	}
	unix.Close(o)
	before, _ := os.ReadDir(other)

	s, fs := new(core.Scratch), new(core.FileScratch)
	vec, _ := filepath.Abs(filepath.Join(filesDir, "npio_3d.npio"))
	want := "the directory of shared arrays (NPSHM_DIR) " + dir + " lost the descriptor"
	same := func(op string, st core.Status, code core.Code, display string) {
		t.Helper()
		goMsg := string(st.AppendMessage(make([]byte, 0, 1024), op, []byte(display)))
		if display == "" {
			goMsg = string(st.AppendMessage(make([]byte, 0, 1024), op, nil))
		}
		cMsg := LastError()
		if st.Code != core.ErrIO || code != core.ErrIO || goMsg != cMsg || !strings.Contains(cMsg, want) {
			t.Errorf("%s after the directory's descriptors were replaced:\nGo %v %s\nC  %v %s\nwant IO with %q",
				op, st.Code, goMsg, code, cMsg, want)
		}
	}
	fresh := "new-" + name
	_, _, st := core.Create(s, []byte(fresh), []int64{3}, []byte("f8"), core.CreateOptions{})
	_, code = CCreate(fresh, []int64{3}, "f8", 0)
	same("npshm_create", st, code, fresh)
	_, _, st = core.Create(s, []byte(name), []int64{3}, []byte("f8"), core.CreateOptions{Replace: true})
	_, code = CCreate(name, []int64{3}, "f8", capi.FlagReplace)
	same("npshm_create", st, code, name)
	_, _, st = core.Attach(s, []byte(name), false)
	_, code = CAttach(name, 0)
	same("npshm_attach", st, code, name)
	st = core.Delete(s, []byte("victim"))
	code = CDelete("victim")
	same("npshm_delete", st, code, "victim")
	path := append([]byte(vec), 0)
	_, _, _, st = core.Load(s, fs, path, []byte(fresh), &core.LoadOptions{})
	_, _, _, rc := CReadFile(vec, fresh, 0)
	same("npshm_read_file", st, core.Code(rc), fresh)
	var l core.Lister
	st = l.Open()
	ctx := NewListCtx(name, 0)
	defer FreeListCtx(ctx)
	code = core.Code(CList(ListFn(), ctx))
	same("npshm_list", st, code, "")
	_, st = core.CleanTemporaries(s, nil)
	var removed int32
	code = core.Code(CCleanRaw(unsafe.Pointer(nil), &removed))
	same("npshm_clean_temporaries", st, code, "")
	if after, _ := os.ReadDir(other); len(after) != len(before) {
		t.Errorf("the other directory %s had %d entries, now %d: %v", other, len(before), len(after), after)
	}

	// set_dir holds the directory again, and leaves the numbers, no longer its own, open.
	if code, msg := CSetDir(dir); code != core.OK {
		t.Fatal(msg)
	}
	h, code = CCreate(name, []int64{3}, "f8", 0)
	if code != core.OK {
		t.Fatalf("C create after set_dir again: %v %s", code, LastError())
	}
	Release(h)
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		t.Errorf("the array is not in %s: %v", dir, err)
	}
	for _, fd := range fds {
		var stat unix.Stat_t
		if err := unix.Fstat(fd, &stat); err != nil {
			t.Errorf("set_dir closed descriptor %d, which was not its own any more: %v", fd, err)
		}
		unix.Close(fd)
	}
}
