//go:build linux

package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A chosen directory removed later (a clean-up script, /tmp's age-out) may be made again under
// the same path, by another user if its parent is sticky and world-writable like /tmp. The
// process holds the directory it checked by a descriptor and works relative to it: every
// operation then fails with ErrNotFound naming the directory, and nothing is made in the new one.
// As root the new directory is made by uid 65534, the attacker of RELIABILITY.md; otherwise by
// this user, which the process must not take for the old directory either.
func TestRemovedDirIsNotMadeAgainUnderUs(t *testing.T) {
	defer SetDir("")
	parent, err := os.MkdirTemp("", "npshm-dirtest-") // not t.TempDir(): uid 65534 must reach it
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
	if st := SetDir(dir); !st.Ok() {
		t.Fatalf("SetDir(%s): %s", dir, message(st))
	}
	s, fs := new(Scratch), new(FileScratch)
	name := []byte(testName(t))
	m, _, st := Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{})
	if !st.Ok() {
		t.Fatalf("create in %s: %s", dir, message(st))
	}
	Unmap(m)
	if st := Delete(s, name); !st.Ok() {
		t.Fatalf("delete in %s: %s", dir, message(st))
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	remake := exec.Command("mkdir", "-m", "777", dir)
	if os.Geteuid() == 0 {
		remake.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	if out, err := remake.CombinedOutput(); err != nil {
		t.Fatalf("mkdir %s again: %v %s", dir, err, out)
	}
	defer os.RemoveAll(dir)
	if os.Geteuid() == 0 {
		// An array of that name in the attacker's directory: attach and delete must not see it.
		plant := exec.Command("sh", "-c", "head -c 4096 /dev/zero > "+dir+"/"+string(name))
		plant.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		if out, err := plant.CombinedOutput(); err != nil {
			t.Fatalf("plant: %v %s", err, out)
		}
	}
	before, _ := os.ReadDir(dir)

	want := func(op string, st Status) {
		t.Helper()
		msg := message(st)
		if st.Code != ErrNotFound || !strings.Contains(msg, "the directory of shared arrays (NPSHM_DIR) "+dir+" was removed") {
			t.Errorf("%s after %s was removed and made again: %v %q, want ErrNotFound naming it as removed", op, dir, st.Code, msg)
		}
	}
	_, _, st = Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{})
	want("create", st)
	_, _, st = Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{Replace: true})
	want("create(replace)", st)
	_, _, st = Attach(s, name, true)
	want("attach", st)
	want("delete", Delete(s, name))
	var l Lister
	want("list", l.Open())
	var vec string
	for _, v := range readFileVectors(t) {
		if v.OK {
			vec = filepath.Join(filesDir, v.File)
			break
		}
	}
	_, _, _, st = Load(s, fs, cpath(vec), name, &LoadOptions{})
	want("load", st)
	_, st = CleanTemporaries(s, nil)
	want("clean temporaries", st)
	st = ScanLeftovers(s, nil, func(Leftover) {})
	want("scan leftovers", st)

	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("the new %s had %d entries, now %d: %v", dir, len(before), len(after), after)
	}
	// Choosing the path again is a new check, of the new directory (here refused if foreign).
	st = SetDir(dir)
	if os.Geteuid() == 0 && st.Code != ErrPermission {
		t.Errorf("SetDir of the directory made again by uid %d: %v %q, want ErrPermission", nobody, st.Code, message(st))
	}
}

// The descriptors SetDir opens are never closed (another thread may be using the old one), so a
// directory already held is reused: switching back and forth between two directories many times
// holds two descriptors, not one per call.
func TestSetDirReusesHeldDescriptors(t *testing.T) {
	defer SetDir("")
	a, b := t.TempDir(), t.TempDir()
	SetDir(a)
	SetDir(b)
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
			if st := SetDir(d); !st.Ok() {
				t.Fatalf("SetDir(%q): %s", d, message(st))
			}
		}
	}
	if after := fds(); after > before {
		t.Errorf("300 SetDir calls over 3 directories opened %d descriptors more", after-before)
	}
}
