package npshm_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/npshm/npshm"
)

func TestLeftovers(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	dead := strconv.Itoa(cmd.Process.Pid)
	write := func(name string, size int) string {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	staleTemp := write(".npshm-tmp-"+dead+"-3", 8192)
	staleLock := write(".npshm-lock-prices", 0)
	heldLock := write(".npshm-lock-loading", 0)
	liveTemp := write(".npshm-tmp-"+strconv.Itoa(os.Getpid())+"-1", 10)
	write("prices", 100)
	write(".npshm-tmp-"+dead+"-x", 10) // not a temporary name
	if err := os.Symlink(filepath.Join(dir, "prices"), filepath.Join(dir, ".npshm-tmp-"+dead+"-4")); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(filepath.Join(dir, heldLock))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	got, err := npshm.Leftovers(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b npshm.Leftover) int { return strings.Compare(a.Name, b.Name) })
	want := []npshm.Leftover{
		{Name: staleLock, Lock: true, UID: os.Geteuid()},
		{Name: staleTemp, PID: cmd.Process.Pid, UID: os.Geteuid()},
	}
	if len(got) != 2 || got[1].Size < 8192 {
		t.Fatalf("Leftovers = %+v, want %+v (the temporary file with its 8 KiB)", got, want)
	}
	got[1].Size = 0
	if !slices.Equal(got, want) {
		t.Fatalf("Leftovers = %+v, want %+v", got, want)
	}
	for _, name := range []string{heldLock, liveTemp, "prices", ".npshm-tmp-" + dead + "-4", "missing"} {
		if ok, err := npshm.RemoveLeftover(dir, name); ok || err != nil {
			t.Errorf("RemoveLeftover(%q) = %v, %v; it is no leftover", name, ok, err)
		}
	}
	for _, l := range want {
		if ok, err := npshm.RemoveLeftover(dir, l.Name); !ok || err != nil {
			t.Errorf("RemoveLeftover(%q) = %v, %v", l.Name, ok, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, l.Name)); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", l.Name, err)
		}
	}
	if left, err := npshm.Leftovers(dir); len(left) != 0 || err != nil {
		t.Errorf("after removing: %+v, %v", left, err)
	}
	for _, name := range []string{heldLock, liveTemp, "prices", ".npshm-tmp-" + dead + "-4"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	if _, err := npshm.RemoveLeftover(dir, "../"+staleTemp); !errors.Is(err, npshm.ErrInvalid) {
		t.Errorf("a name with '/': %v", err)
	}
	if _, err := npshm.Leftovers(filepath.Join(dir, "missing")); !errors.Is(err, npshm.ErrNotFound) {
		t.Errorf("a missing directory: %v", err)
	}
	if _, err := npshm.Leftovers(""); err != nil {
		t.Errorf("/dev/shm: %v", err)
	}
}
