//go:build linux && cgo

package difftest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/npshm/npshm/internal/core"
)

// The directory of shared arrays (NPSHM_DIR, npshm_set_dir; issue 13): both paths apply the same
// policy with the same status and message, and both put arrays there.
func TestSetDirPolicyMatches(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		core.SetDir("")
		CSetDir("")
	}()
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := mk("good", 0o700)
	sticky := mk("sticky", 0o777|os.ModeSticky)
	open := mk("open", 0o777)
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	mk("open/in", 0o700)
	mk("sticky/in", 0o700)
	mk("good/in", 0o700)
	cases := []struct {
		dir  string
		code core.Code
		msg  string
	}{
		{good, core.OK, ""},
		{good + "//", core.OK, ""},
		{sticky, core.OK, ""},
		{filepath.Join(good, "in"), core.OK, ""},
		{filepath.Join(sticky, "in"), core.OK, ""},
		{"/dev/shm", core.OK, ""},
		{"relative/dir", core.ErrInvalid, "must be an absolute path"},
		{filepath.Join(base, "missing"), core.ErrNotFound, "cannot use the directory"},
		{link, core.ErrPermission, "is a symbolic link"},
		{file, core.ErrInvalid, "is not a directory"},
		{open, core.ErrPermission, "writable by others and not sticky"},
		// Every ancestor follows the rules of the directory (RELIABILITY.md).
		{filepath.Join(open, "in"), core.ErrPermission, "is in " + open + ", which others may write to and is not sticky"},
		{filepath.Join(link, "in"), core.ErrPermission, "is in " + link + ", which is a symbolic link"},
		{filepath.Join(file, "in"), core.ErrInvalid, "is in " + file + ", which is not a directory"},
		{filepath.Join(base, "missing", "in"), core.ErrNotFound, "cannot use the directory"},
		{"/" + strings.Repeat("x", core.MaxDir), core.ErrInvalid, "is longer than"},
	}
	if os.Geteuid() == 0 {
		other := mk("other", 0o700)
		mk("other/in", 0o700)
		if err := os.Chown(other, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, []struct {
			dir  string
			code core.Code
			msg  string
		}{{other, core.ErrPermission, "belongs to neither root nor this user but uid 12345"},
			{filepath.Join(other, "in"), core.ErrPermission, "is in " + other + ", which belongs to neither root nor this user but uid 12345"}}...)
	}
	for _, c := range cases {
		st := core.SetDir(c.dir)
		code, msg := CSetDir(c.dir)
		if st.Code != c.code || code != c.code {
			t.Errorf("%s: Go %v, C %v (%s), want %v", c.dir, st.Code, code, msg, c.code)
			continue
		}
		if c.code == core.OK {
			continue
		}
		goMsg := string(st.AppendMessage(make([]byte, 0, 512), "npshm_set_dir", []byte(c.dir)))
		if goMsg != msg || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: messages differ or miss %q:\nGo %s\nC  %s", c.dir, c.msg, goMsg, msg)
		}
	}
	// The refusals kept the last good directory, /dev/shm; now make it good.
	if d, _ := CDir(); d != "/dev/shm" || string(core.Dir().Nul) != "/dev/shm\x00" {
		t.Fatalf("after refusals: C %q, Go %q", d, core.Dir().Nul)
	}
	core.SetDir(good)
	CSetDir(good)
	if d, _ := CDir(); d != good || string(core.Dir().Path) != good+"/" {
		t.Fatalf("C %q, Go %q, want %q", d, core.Dir().Path, good)
	}
	// C creates, Go attaches and lists, in the new directory; and the other way round.
	s := new(core.Scratch)
	name := "dirtest-c"
	h, code := CCreate(name, []int64{3}, "f8", 0)
	if code != core.OK {
		t.Fatalf("C create in %s: %v", good, code)
	}
	Release(h)
	if _, err := os.Stat(filepath.Join(good, name)); err != nil {
		t.Fatalf("C create: %v", err)
	}
	m, _, st := core.Create(s, []byte("dirtest-go"), []int64{3}, []byte("f8"), core.CreateOptions{})
	if !st.Ok() {
		t.Fatal(st.Msg)
	}
	core.Unmap(m)
	if h, code = CAttach("dirtest-go", 0); code != core.OK {
		t.Fatalf("C attach in %s: %v", good, code)
	}
	Release(h)
	if m, _, st = core.Attach(s, []byte(name), true); !st.Ok() {
		t.Fatal(st.Msg)
	}
	core.Unmap(m)
	var l core.Lister
	if st := l.Open(); !st.Ok() {
		t.Fatal(st.Msg)
	}
	found := 0
	for {
		e, ok, _ := l.Next(s)
		if !ok {
			break
		}
		found++
		_ = e
	}
	l.Close()
	if found != 2 {
		t.Errorf("Go list of %s: %d arrays, want 2", good, found)
	}
	if CDelete(name) != core.OK || !core.Delete(s, []byte("dirtest-go")).Ok() {
		t.Error("delete in the new directory failed")
	}
}
