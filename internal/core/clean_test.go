//go:build linux

package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
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
	stale := []string{
		write(TempPrefix + strconv.Itoa(dead) + "-1"),
		write(TempPrefix + strconv.Itoa(dead) + "-12345"),
	}
	kept := []string{
		write(TempPrefix + strconv.Itoa(os.Getpid()) + "-7"), // a live process: maybe creating now
		write(TempPrefix + "1-3"),                            // init is alive
		write(TempPrefix + strconv.Itoa(dead) + "-"),         // not a temporary name
		write(TempPrefix + strconv.Itoa(dead) + "-x1"),
		write(TempPrefix + "-1"),
		write(TempPrefix + "12345678901-1"),
		write("npshm-" + strconv.Itoa(dead) + "-1"),
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
		if _, err := os.Stat(p); err != nil {
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
