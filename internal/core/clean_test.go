//go:build linux

package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	return cmd.Process.Pid
}

func TestCleanTemporaries(t *testing.T) {
	dir := t.TempDir()
	dead := deadPid(t)
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d := strconv.Itoa(dead)
	stale := []string{
		write(TempPrefix + d + "-1"), // the decimal counters of older versions
		write(TempPrefix + d + "-12345"),
		write(TempPrefix + d + "-0123456789abcdef"), // today's random ids
		write(TempPrefix + d + "-f"),
	}
	kept := []string{
		write(TempPrefix + strconv.Itoa(os.Getpid()) + "-7"), // a live process: maybe creating now
		write(TempPrefix + "1-3"),                            // init is alive
		write(TempPrefix + d + "-"),                          // not a temporary name
		write(TempPrefix + d + "-x1"),
		write(TempPrefix + d + "-ABC"),
		write(TempPrefix + "-1"),
		write(TempPrefix + "12345678901-1"),
		write("npshm-" + d + "-1"),
	}
	// Only the caller's regular files: not a symlink, a FIFO, or another user's file.
	link := filepath.Join(dir, TempPrefix+d+"-a1")
	if err := os.Symlink(kept[0], link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, TempPrefix+d+"-a2")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, link, fifo)
	if os.Geteuid() == 0 {
		other := write(TempPrefix + d + "-a3")
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, other)
	}
	s := new(Scratch)
	n, st := CleanTemporaries(s, append([]byte(dir), 0))
	if !st.Ok() || n != len(stale) {
		t.Fatalf("CleanTemporaries: %d removed, %v %s; want %d", n, st.Code, st.Msg, len(stale))
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if _, st := CleanTemporaries(s, []byte(filepath.Join(dir, "missing")+"\x00")); st.Code != ErrNotFound {
		t.Errorf("missing directory: %v, want ErrNotFound", st.Code)
	}
	// /dev/shm by default; nothing of ours is there, and it must not fail.
	if _, st := CleanTemporaries(s, nil); !st.Ok() {
		t.Errorf("/dev/shm: %v %s", st.Code, st.Msg)
	}
	noAllocs(t, "CleanTemporaries", func() { CleanTemporaries(s, nil) })
}

func TestPausePointNames(t *testing.T) {
	for want, name := range pauseNames {
		if got := pausePointOf(name); got != int32(want) {
			t.Errorf("pausePointOf(%q) = %d, want %d", name, got, want)
		}
	}
	for _, v := range []string{"x", "create", "CREATE-PUBLISH", " create-publish"} {
		if got := pausePointOf(v); got != pauseNone {
			t.Errorf("pausePointOf(%q) = %d, want none", v, got)
		}
	}
	if os.Getenv("NPSHM_TEST_PAUSE") == "" && pauseAt != pauseNone {
		t.Errorf("pauseAt = %d without NPSHM_TEST_PAUSE", pauseAt)
	}
}
