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

// nobody is the second user of the tests that need one (root only).
const nobody = 65534

// The check of the directory of shared arrays covers its ancestors (RELIABILITY.md): in a directory
// that another user owns, that user can rename ours away and put their own in its place after the
// one-time check, and every array would then be made in, and attached from, a directory they
// control.
func TestSetDirRefusesForeignAncestor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to act as a second user")
	}
	defer SetDir("")
	base, err := os.MkdirTemp("", "npshm-dirtest-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil { // the other user may go through, not write
		t.Fatal(err)
	}
	evil := filepath.Join(base, "evil")
	mine := filepath.Join(evil, "mine")
	if err := os.Mkdir(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(evil, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(mine, 0o700); err != nil { // ours: only the ancestor is foreign
		t.Fatal(err)
	}
	st := SetDir(mine)
	msg := string(st.AppendMessage(make([]byte, 0, 1024), "SetDir", nil))
	if st.Code != ErrPermission || !strings.Contains(msg, "is in "+evil+", which belongs to neither root nor this user but uid 65534") {
		t.Errorf("SetDir(%s) under a foreign directory: %v %q, want ErrPermission naming %s", mine, st.Code, msg, evil)
	}
	if string(Dir().Path) != "/dev/shm/" {
		t.Errorf("the refusal changed the directory to %s", Dir().Path)
	}
	// Why: the other user can swap the directory, whoever owns it.
	swap := exec.Command("sh", "-c", "mv mine old && mkdir -m 777 mine")
	swap.Dir = evil
	swap.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := swap.CombinedOutput(); err != nil {
		t.Fatalf("the owner of %s could not swap %s: %v %s", evil, mine, err, out)
	}
	var fi syscall.Stat_t
	if err := syscall.Stat(mine, &fi); err != nil || fi.Uid != nobody {
		t.Fatalf("after the swap %s belongs to %d (%v)", mine, fi.Uid, err)
	}
}

// Every ancestor is checked from the root down, with the rules of the directory itself.
func TestSetDirChecksEveryAncestor(t *testing.T) {
	defer SetDir("")
	base := t.TempDir()
	mk := func(p string, mode os.FileMode) string {
		t.Helper()
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := mk(filepath.Join(base, "open"), 0o777)
	mk(filepath.Join(open, "in"), 0o700)
	sticky := mk(filepath.Join(base, "sticky"), 0o777|os.ModeSticky)
	mk(filepath.Join(sticky, "in"), 0o700)
	real := mk(filepath.Join(base, "real"), 0o700)
	mk(filepath.Join(real, "in"), 0o700)
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir  string
		code Code
		msg  string
	}{
		{filepath.Join(sticky, "in"), OK, ""},
		{filepath.Join(real, "in"), OK, ""},
		{filepath.Join(real, "in") + "//", OK, ""},
		{filepath.Join(open, "in"), ErrPermission, "is in " + open + ", which others may write to and is not sticky"},
		{filepath.Join(link, "in"), ErrPermission, "is in " + link + ", which is a symbolic link (npshm follows none: name the real path)"},
		{filepath.Join(base, "missing", "in"), ErrNotFound, "cannot use the directory"},
	}
	for _, c := range cases {
		st := SetDir(c.dir)
		msg := string(st.AppendMessage(make([]byte, 0, 1024), "SetDir", nil))
		if st.Code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("SetDir(%s): %v %q, want %v %q", c.dir, st.Code, msg, c.code, c.msg)
		}
	}
}
