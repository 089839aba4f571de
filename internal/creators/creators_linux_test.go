package creators

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestSetLooksOncePerPid(t *testing.T) {
	var s Set
	me := os.Getpid()
	now := time.Now()
	if !s.Alive(me, now) || !s.Alive(me, now.Add(-time.Millisecond)) {
		t.Fatal("this process, after it started: not alive")
	}
	// An array created long before this process started was made by another process of this pid.
	if s.Alive(me, now.Add(-24*365*time.Hour)) {
		t.Fatal("an array older than the process of its pid: creator alive")
	}
	if len(s.seen) != 1 {
		t.Fatalf("looked at %d pids, want 1", len(s.seen))
	}
	if s.Alive(0, now) || s.Alive(-1, now) {
		t.Fatal("pid <= 0: alive")
	}
	if Alive(me, now) != s.Alive(me, now) {
		t.Fatal("Alive and Set.Alive disagree")
	}
}

func TestSetGoneProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	pid := cmd.Process.Pid // reaped: gone, unless the pid was taken again (then started after now)
	var s Set
	if s.Alive(pid, time.Now().Add(-time.Hour)) {
		t.Fatalf("pid %d of a reaped process: alive", pid)
	}
}
