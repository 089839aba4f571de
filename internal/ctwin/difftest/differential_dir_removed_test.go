//go:build linux && cgo

package difftest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
	"github.com/npshm/npshm/internal/core"
)

// A chosen directory removed later and made again under the same path (by uid 65534 as root, else
// by this user) is never used by either path: both hold the directory they checked by a
// descriptor, and every operation fails with NOT_FOUND and the same message naming the directory.
func TestRemovedDirMatches(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		core.SetDir("")
		CSetDir("")
	}()
	parent, err := os.MkdirTemp("", "npshm-difftest-") // not t.TempDir(): uid 65534 must reach it
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(parent)
	if err := os.Chmod(parent, 0o777|os.ModeSticky); err != nil { // like /tmp
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "arrays")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if st := core.SetDir(dir); !st.Ok() {
		t.Fatal(st.Msg)
	}
	if code, msg := CSetDir(dir); code != core.OK {
		t.Fatal(msg)
	}
	name := fmt.Sprintf("dirtest-removed-%d", os.Getpid())
	h, code := CCreate(name, []int64{3}, "f8", 0)
	if code != core.OK {
		t.Fatalf("C create in %s: %v %s", dir, code, LastError())
	}
	Release(h)
	if code := CDelete(name); code != core.OK {
		t.Fatalf("C delete in %s: %v %s", dir, code, LastError())
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	remake := exec.Command("mkdir", "-m", "777", dir)
	if os.Geteuid() == 0 {
		remake.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if out, err := remake.CombinedOutput(); err != nil {
		t.Fatalf("mkdir %s again: %v %s", dir, err, out)
	}
	defer os.RemoveAll(dir)

	s, fs := new(core.Scratch), new(core.FileScratch)
	vec, _ := filepath.Abs(filepath.Join(filesDir, "npio_3d.npio"))
	want := "the directory of shared arrays (NPSHM_DIR) " + dir + " was removed"
	check := func(op string, st core.Status, code core.Code) {
		t.Helper()
		goMsg := string(st.AppendMessage(make([]byte, 0, 1024), op, []byte(name)))
		cMsg := LastError()
		if st.Code != core.ErrNotFound || code != core.ErrNotFound || goMsg != cMsg || !strings.Contains(cMsg, want) {
			t.Errorf("%s after the directory was removed and made again:\nGo %v %s\nC  %v %s\nwant NOT_FOUND with %q",
				op, st.Code, goMsg, code, cMsg, want)
		}
	}
	_, _, st := core.Create(s, []byte(name), []int64{3}, []byte("f8"), core.CreateOptions{})
	_, code = CCreate(name, []int64{3}, "f8", 0)
	check("npshm_create", st, code)
	_, _, st = core.Create(s, []byte(name), []int64{3}, []byte("f8"), core.CreateOptions{Replace: true})
	_, code = CCreate(name, []int64{3}, "f8", capi.FlagReplace)
	check("npshm_create", st, code)
	_, _, st = core.Attach(s, []byte(name), false)
	_, code = CAttach(name, 0)
	check("npshm_attach", st, code)
	st = core.Delete(s, []byte(name))
	code = CDelete(name)
	check("npshm_delete", st, code)
	path := append([]byte(vec), 0)
	_, _, _, st = core.Load(s, fs, path, []byte(name), &core.LoadOptions{})
	_, _, _, rc := CReadFile(vec, name, 0)
	check("npshm_read_file", st, core.Code(rc))

	var l core.Lister
	st = l.Open()
	ctx := NewListCtx(name, 0)
	defer FreeListCtx(ctx)
	code = core.Code(CList(ListFn(), ctx))
	if goMsg, cMsg := string(st.AppendMessage(make([]byte, 0, 1024), "npshm_list", nil)), LastError(); st.Code != core.ErrNotFound ||
		code != core.ErrNotFound || goMsg != cMsg || !strings.Contains(cMsg, want) {
		t.Errorf("list: Go %v %s, C %v %s", st.Code, goMsg, code, cMsg)
	}
	_, st = core.CleanTemporaries(s, nil)
	var removed int32
	code = core.Code(CCleanRaw(unsafe.Pointer(nil), &removed))
	if goMsg, cMsg := string(st.AppendMessage(make([]byte, 0, 1024), "npshm_clean_temporaries", nil)), LastError(); st.Code != core.ErrNotFound ||
		code != core.ErrNotFound || goMsg != cMsg || !strings.Contains(cMsg, want) {
		t.Errorf("clean_temporaries: Go %v %s, C %v %s", st.Code, goMsg, code, cMsg)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the directory made again got entries: %v", entries)
	}
}

// The twin's npshm_set_dir reuses the descriptor of a directory it already holds, as the core does
// (TestSetDirReusesHeldDescriptors): 300 calls over 3 directories open no descriptor for good.
func TestCSetDirReusesHeldDescriptors(t *testing.T) {
	defer CSetDir("")
	a, b := t.TempDir(), t.TempDir()
	CSetDir(a)
	CSetDir(b)
	fds := func() int {
		e, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(e)
	}
	before := fds()
	for range 100 {
		for _, d := range []string{a, b, ""} {
			if code, msg := CSetDir(d); code != core.OK {
				t.Fatalf("C set_dir(%q): %s", d, msg)
			}
		}
	}
	if after := fds(); after > before {
		t.Errorf("300 C set_dir calls over 3 directories opened %d descriptors more", after-before)
	}
}
