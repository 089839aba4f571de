package core

import (
	"strings"
	"testing"
)

func TestResolveName(t *testing.T) {
	n255 := strings.Repeat("n", 255)
	p4095 := "/" + strings.Repeat("p", 4094)
	for _, c := range []struct {
		name    string
		path    string // without the NUL
		dir     int
		display string
		isFile  bool
	}{
		{"x", "/dev/shm/x", 9, "x", false},
		{"/x", "/dev/shm/x", 9, "x", false},
		{"shm://x", "/dev/shm/x", 9, "x", false},
		{"shm:///x", "/dev/shm/x", 9, "x", false},
		{"array-1.v2", "/dev/shm/array-1.v2", 9, "array-1.v2", false},
		{"...", "/dev/shm/...", 9, "...", false},
		{".x", "/dev/shm/.x", 9, ".x", false},
		{"x.", "/dev/shm/x.", 9, "x.", false},
		{"a b", "/dev/shm/a b", 9, "a b", false},
		{"größe", "/dev/shm/größe", 9, "größe", false},
		{"shm:x", "/dev/shm/shm:x", 9, "shm:x", false},
		{"file:x", "/dev/shm/file:x", 9, "file:x", false},
		{"shm://shm:x", "/dev/shm/shm:x", 9, "shm:x", false},
		{n255, "/dev/shm/" + n255, 9, n255, false},
		{"/" + n255, "/dev/shm/" + n255, 9, n255, false},
		{"shm:///" + n255, "/dev/shm/" + n255, 9, n255, false},
		{"file:///tmp/x", "/tmp/x", 5, "file:///tmp/x", true},
		{"file:///x", "/x", 1, "file:///x", true},
		{"file://x", "x", 0, "file://x", true},
		{"file://./x", "./x", 2, "file://./x", true},
		{"file://a/b/c.seg", "a/b/c.seg", 4, "file://a/b/c.seg", true},
		{"file://../x", "../x", 3, "file://../x", true},
		{"file:///dev/shm/x", "/dev/shm/x", 9, "file:///dev/shm/x", true},
		{"file://shm://x", "shm://x", 6, "file://shm://x", true},
		{"file://" + p4095, p4095, 1, "file://" + p4095, true},
	} {
		buf := make([]byte, 0, MaxPath+len(shmDir)+2)
		tg, st := ResolveName([]byte(c.name), buf)
		if !st.Ok() {
			t.Errorf("ResolveName(%.40q): %v %s", c.name, st.Code, st.Msg)
			continue
		}
		if string(tg.Path) != c.path+"\x00" || tg.Dir != c.dir || string(tg.Display) != c.display || tg.IsFile != c.isFile {
			t.Errorf("ResolveName(%.40q) = {%.40q %d %.40q %v}, want {%.40q %d %.40q %v}", c.name,
				tg.Path, tg.Dir, tg.Display, tg.IsFile, c.path+"\x00", c.dir, c.display, c.isFile)
		}
		if &tg.Path[0] != &buf[:1][0] {
			t.Errorf("ResolveName(%.40q) did not build the path in the buffer given", c.name)
		}
	}
}

func TestResolveNameRefused(t *testing.T) {
	for _, name := range []string{
		"", "/", "shm://", "shm:///",
		".", "..", "/.", "/..", "shm://.", "shm://..", "shm:///..",
		"a/b", "x/", "//x", "shm:////x", "shm://a/b", "/a/", "../x", "./x",
		"x\x00", "\x00", "a\x00b", "shm://\x00", "file://a\x00", "file://\x00/x",
		strings.Repeat("n", 256), "/" + strings.Repeat("n", 256), "shm://" + strings.Repeat("n", 256),
		strings.Repeat("n", 5000),
		"file://", "file:///" + strings.Repeat("p", 4095), "file://" + strings.Repeat("p", 4096),
		"file:///tmp/", "file:///", "file://dir/",
		"FILE:///tmp/x", "file:/x", "SHM://x", "shm:/x",
		".npshm-lock-x", "/.npshm-tmp-1-2", "shm://.npshm-", "file:///tmp/.npshm-lock-a", "file://.npshm-tmp-1-1",
	} {
		buf := make([]byte, 0, MaxPath+len(shmDir)+2)
		if tg, st := ResolveName([]byte(name), buf); st.Code != ErrInvalid {
			t.Errorf("ResolveName(%.40q) = %.40q, %v; want NPSHM_ERR_INVALID", name, tg.Path, st.Code)
		}
	}
}
