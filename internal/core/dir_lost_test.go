//go:build linux

package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A program that closes descriptors it did not open (os.closerange, a daemonizing library) and
// then opens another directory that gets the number of the held one: creates, attaches, deletes,
// listings and loads would go to that directory (an array made there, a file of the program's
// deleted). Every operation checks that the descriptor still holds the directory it checked
// (fstat: device and inode; attach: the device of what it opened, then the fstat if it differs)
// and fails with ErrIO naming the directory; nothing changes in the other one; SetDir of the same
// path holds it again.
func TestLostDirDescriptorIsNotUsed(t *testing.T) {
	defer SetDir("")
	dir := t.TempDir() // on /tmp; other on /dev/shm: another device, for attach's check
	other, err := os.MkdirTemp("/dev/shm", "npshm-lost-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(other)
	s, fs := new(Scratch), new(FileScratch)
	name := []byte(testName(t))
	if st := SetDir(other); !st.Ok() {
		t.Fatalf("SetDir(%s): %s", other, message(st))
	}
	m, _, st := Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{})
	if !st.Ok() {
		t.Fatalf("create in %s: %s", other, message(st))
	}
	Unmap(m)
	if err := os.WriteFile(filepath.Join(other, "victim"), []byte("not an array"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := SetDir(dir); !st.Ok() {
		t.Fatalf("SetDir(%s): %s", dir, message(st))
	}
	fd := Dir().Fd
	before, _ := os.ReadDir(other)

	var vec string
	for _, v := range readFileVectors(t) {
		if v.OK {
			vec = filepath.Join(filesDir, v.File)
			break
		}
	}
	all := func(how string) {
		t.Helper()
		want := func(op string, st Status) {
			t.Helper()
			msg := message(st)
			if st.Code != ErrIO || st.Errno != unix.EBADF || !strings.Contains(msg, "(NPSHM_DIR) "+dir+" lost the descriptor") {
				t.Errorf("%s after its descriptor %d was %s: %v %q, want ErrIO naming %s", op, fd, how, st.Code, msg, dir)
			}
		}
		_, _, st := Create(s, []byte("new-"+string(name)), []int64{4}, []byte("<f8"), CreateOptions{})
		want("create", st)
		_, _, st = Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{Replace: true})
		want("create(replace)", st)
		_, _, st = Attach(s, name, true)
		want("attach", st)
		_, _, st = Attach(s, []byte("missing-"+string(name)), false)
		want("attach of a missing name", st)
		want("delete", Delete(s, []byte("victim")))
		var l Lister
		want("list", l.Open())
		_, _, _, st = Load(s, fs, cpath(vec), []byte("load-"+string(name)), &LoadOptions{})
		want("load", st)
		_, st = CleanTemporaries(s, nil)
		want("clean temporaries", st)
		want("scan leftovers", ScanLeftovers(s, nil, func(Leftover) {}))
	}

	unix.Close(fd) // closed, and nothing in its place
	all("closed")
	o, err := unix.Open(other, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if o != fd { // the open got another number: put it in the held one's place, as dup2 does
		if err := unix.Dup3(o, fd, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		unix.Close(o)
	}
	all("replaced by another directory's")
	if after, _ := os.ReadDir(other); len(after) != len(before) {
		t.Errorf("the other directory %s had %d entries, now %d: %v", other, len(before), len(after), after)
	}

	// Choosing the directory again holds it again, without closing the number now another's.
	if st := SetDir(dir); !st.Ok() {
		t.Fatalf("SetDir(%s) again: %s", dir, message(st))
	}
	if Dir().Fd == fd {
		t.Fatalf("SetDir again kept descriptor %d, which names %s now", fd, other)
	}
	var stat unix.Stat_t
	if err := unix.Fstat(fd, &stat); err != nil {
		t.Errorf("SetDir again closed descriptor %d, which was not its own any more: %v", fd, err)
	}
	unix.Close(fd)
	m, _, st = Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{})
	if !st.Ok() {
		t.Fatalf("create after SetDir again: %s", message(st))
	}
	Unmap(m)
	if _, err := os.Stat(filepath.Join(dir, string(name))); err != nil {
		t.Errorf("the array is not in %s: %v", dir, err)
	}
	Delete(s, name)

	// Closed, and the new open of SetDir gets the same number: it holds the directory again.
	fd = Dir().Fd
	unix.Close(fd)
	if st := SetDir(dir); !st.Ok() {
		t.Fatalf("SetDir(%s) after a close: %s", dir, message(st))
	}
	if st := heldStatus(Dir()); !st.Ok() {
		t.Errorf("SetDir after a close: %s", message(st))
	}
}

// NPSHM_DIR checked when the process has no descriptor left (EMFILE) is refused for that reason,
// which passes: the next operation checks it again instead of failing for the life of the process.
func TestDirRefusedForWantOfDescriptorsIsCheckedAgain(t *testing.T) {
	old := dirInfo.Load()
	defer dirInfo.Store(old)
	dir := t.TempDir()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	free, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(free)
	low := lim
	low.Cur = uint64(free) // the lowest free number: the next open fails with EMFILE
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	d := NewDirInfo(dir) // as init does with NPSHM_DIR
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if d.Err.Errno != unix.EMFILE {
		t.Skipf("the check did not run out of descriptors: %q", message(d.Err))
	}
	dirInfo.Store(d)
	s := new(Scratch)
	name := []byte(testName(t))
	m, _, st := Create(s, name, []int64{4}, []byte("<f8"), CreateOptions{})
	if !st.Ok() {
		t.Fatalf("create once descriptors are free again: %s", message(st))
	}
	Unmap(m)
	Delete(s, name)
	if got := Dir(); !got.Err.Ok() || string(got.Nul[:len(got.Nul)-1]) != dir {
		t.Errorf("Dir() is %s (%q), want %s", got.Nul, message(got.Err), dir)
	}
}
