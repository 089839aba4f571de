//go:build linux

package core

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Tests against the real /dev/shm. Every name holds the pid and a counter, and is deleted when the
// test ends.

var testCounter atomic.Int64

// testName returns a fresh /dev/shm name that is removed when the test ends.
func testName(t testing.TB) string {
	t.Helper()
	n := fmt.Sprintf("npshm-gotest-%d-%d", os.Getpid(), testCounter.Add(1))
	t.Cleanup(func() { os.Remove("/dev/shm/" + n) })
	return n
}

// tempLeftovers lists the temporary files of this process in dir.
func tempLeftovers(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*npshm-tmp-"+strconv.Itoa(os.Getpid())+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkNoLeftovers(t testing.TB, dir string) {
	t.Helper()
	if m := tempLeftovers(t, dir); len(m) > 0 {
		t.Errorf("temporary files left behind in %s: %v", dir, m)
	}
}

// useNamedTemp makes Create build segments under a .npshm-tmp- name instead of with O_TMPFILE, as on
// file systems without O_TMPFILE, for the rest of the test.
func useNamedTemp(t *testing.T) {
	old := procState.Load()
	procState.Store(2)
	t.Cleanup(func() { procState.Store(old) })
}

// creationModes runs f with O_TMPFILE creation and with named temporary files.
func creationModes(t *testing.T, f func(t *testing.T)) {
	t.Run("tmpfile", f)
	t.Run("named", func(t *testing.T) {
		useNamedTemp(t)
		f(t)
	})
}

func mustCreate(t testing.TB, s *Scratch, name string, shape []int64, dtype string, opt CreateOptions) Mapping {
	t.Helper()
	m, _, st := Create(s, []byte(name), shape, []byte(dtype), opt)
	if !st.Ok() {
		t.Fatalf("Create(%q, %v, %q): %v %s %v", name, shape, dtype, st.Code, st.Msg, st.Errno)
	}
	t.Cleanup(func() { Unmap(m) })
	return m
}

func mustAttach(t testing.TB, s *Scratch, name string, readOnly bool) Mapping {
	t.Helper()
	m, _, st := Attach(s, []byte(name), readOnly)
	if !st.Ok() {
		t.Fatalf("Attach(%q): %v %s %v", name, st.Code, st.Msg, st.Errno)
	}
	t.Cleanup(func() { Unmap(m) })
	return m
}

// mapPerms returns the permissions /proc/self/maps shows for the mapping at addr, e.g. "rw-s".
func mapPerms(t testing.TB, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prefix := strconv.FormatUint(uint64(addr), 16) + "-"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return strings.Fields(sc.Text())[1]
		}
	}
	t.Fatalf("no mapping at %#x", addr)
	return ""
}

func TestCreateAttach(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		for _, c := range []struct {
			shape   []int64
			dtype   string
			descr   string
			fortran bool
		}{
			{nil, "float64", "<f8", false},
			{[]int64{0, 3}, "f8", "<f8", false},
			{[]int64{5000}, "uint8", "|u1", false},
			{[]int64{17, 5, 3}, "int64", "<i8", false},
			{[]int64{4, 6}, "float32", "<f4", true},
			{ones(64), "?", "|b1", false},
			{[]int64{3}, "[('x','f4'),('y','<i8',(3,)),('','V4')]", "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]", false},
			// a header longer than a page, so that attaching reads it in two steps
			{[]int64{2}, longName(3 * 4096), strings.Replace(longName(3*4096), "'?'", "'|b1'", 1), false},
		} {
			name := testName(t)
			before := time.Now().UnixNano()
			m := mustCreate(t, s, name, c.shape, c.dtype, CreateOptions{Fortran: c.fortran})
			after := time.Now().UnixNano()
			h := s.Hdr
			if string(h.Descr) != c.descr || h.Ndim != len(c.shape) || h.Fortran() != c.fortran ||
				h.CreatorPID != uint32(os.Getpid()) || h.CreatedNs < before || h.CreatedNs > after {
				t.Errorf("%.40s: created header %s", c.dtype, hdrString(&h))
			}
			if m.Addr%4096 != 0 || m.Data(&h)%4096 != 0 || m.Len != h.SegmentSize() || m.ReadOnly {
				t.Errorf("%s: mapping %+v, data at %#x", c.dtype, m, m.Data(&h))
			}
			if p := mapPerms(t, m.Addr); p != "rw-s" {
				t.Errorf("%s: created mapping is %s, want rw-s", c.dtype, p)
			}
			fi, err := os.Stat("/dev/shm/" + name)
			if err != nil || uint64(fi.Size()) != h.SegmentSize() || fi.Mode() != 0o600 {
				t.Errorf("%s: file %v %v, want size %d mode 0600", c.dtype, fi.Size(), fi.Mode(), h.SegmentSize())
			}
			// Everything after the header is zero: padding and data.
			seg := m.Bytes()
			if i := bytes.IndexFunc(seg[h.HeaderLen+4:], func(r rune) bool { return r != 0 }); i >= 0 {
				t.Errorf("%s: byte %d after the header is not zero", c.dtype, int(h.HeaderLen)+4+i)
			}
			// Data written through the creator's mapping is seen by an attacher.
			if h.DataNbytes > 0 {
				data := unsafe.Slice((*byte)(unsafe.Add(m.Ptr(), h.DataOffset)), h.DataNbytes)
				for i := range data {
					data[i] = byte(i*7 + 3)
				}
			}
			a := mustAttach(t, s, name, false)
			if !bytes.Equal(a.Bytes(), seg) {
				t.Errorf("%s: attached segment differs from the created one", c.dtype)
			}
			if s.Hdr.Shape != h.Shape || string(s.Hdr.Descr) != c.descr || s.Hdr.CreatedNs != h.CreatedNs {
				t.Errorf("%.40s: attached header %s, created %s", c.dtype, hdrString(&s.Hdr), hdrString(&h))
			}
			if p := mapPerms(t, a.Addr); p != "rw-s" {
				t.Errorf("%s: read-write attach is %s, want rw-s", c.dtype, p)
			}
			r := mustAttach(t, s, "shm://"+name, true)
			if p := mapPerms(t, r.Addr); p != "r--s" || !r.ReadOnly {
				t.Errorf("%s: read-only attach is %s (ReadOnly %v), want r--s", c.dtype, p, r.ReadOnly)
			}
			if !bytes.Equal(r.Bytes(), seg) {
				t.Errorf("%s: read-only segment differs", c.dtype)
			}
		}
		checkNoLeftovers(t, "/dev/shm")
	})
}

func TestCreateExclusive(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := testName(t)
		m := mustCreate(t, s, name, []int64{8}, "u1", CreateOptions{})
		m.Bytes()[s.Hdr.DataOffset] = 42
		for _, n := range []string{name, "/" + name, "shm://" + name, "shm:///" + name} {
			_, _, st := Create(s, []byte(n), []int64{3}, []byte("f8"), CreateOptions{})
			if st.Code != ErrExists {
				t.Errorf("Create(%q) over an existing array: %v, want NPSHM_ERR_EXISTS", n, st.Code)
			}
		}
		a := mustAttach(t, s, name, true)
		if s.Hdr.Shape[0] != 8 || string(s.Hdr.Descr) != "|u1" || a.Bytes()[s.Hdr.DataOffset] != 42 {
			t.Error("a refused create changed the existing array")
		}
		// A foreign file is not replaced without Replace either.
		foreign := testName(t)
		os.WriteFile("/dev/shm/"+foreign, []byte("x"), 0o600)
		if _, _, st := Create(s, []byte(foreign), nil, []byte("f8"), CreateOptions{}); st.Code != ErrExists {
			t.Errorf("Create over a foreign file: %v, want NPSHM_ERR_EXISTS", st.Code)
		}
		checkNoLeftovers(t, "/dev/shm")
	})
}

func TestCreateReplace(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := testName(t)
		old := mustCreate(t, s, name, []int64{4}, "int32", CreateOptions{})
		oldHdr := s.Hdr
		oldData := unsafe.Slice((*int32)(unsafe.Add(old.Ptr(), oldHdr.DataOffset)), 4)
		oldData[3] = 7
		attachedOld := mustAttach(t, s, name, true)

		nw := mustCreate(t, s, name, []int64{2, 3}, "float64", CreateOptions{Replace: true, HasMode: true, Mode: 0o640})
		newHdr := s.Hdr
		// The old mappings still hold the old array...
		if oldData[3] != 7 || !bytes.Equal(attachedOld.Bytes()[:oldHdr.HeaderLen], old.Bytes()[:oldHdr.HeaderLen]) {
			t.Error("the old array's mappings changed when it was replaced")
		}
		oldData[0] = 1 // and stay writable
		// ...and attachers get the new one.
		a := mustAttach(t, s, name, false)
		if s.Hdr.Ndim != 2 || s.Hdr.Shape[1] != 3 || string(s.Hdr.Descr) != "<f8" || s.Hdr.CreatedNs != newHdr.CreatedNs {
			t.Errorf("attached %s after the replace, want the new array", hdrString(&s.Hdr))
		}
		a.Bytes()[newHdr.DataOffset] = 9
		if nw.Bytes()[newHdr.DataOffset] != 9 {
			t.Error("the new array's mappings do not share memory")
		}
		if fi, err := os.Stat("/dev/shm/" + name); err != nil || fi.Mode() != 0o640 {
			t.Errorf("replaced array: %v %v, want mode 0640", fi.Mode(), err)
		}
		// Replace also creates when the name is free.
		free := testName(t)
		mustCreate(t, s, free, nil, "f8", CreateOptions{Replace: true})
		mustAttach(t, s, free, true)
		checkNoLeftovers(t, "/dev/shm")
	})
}

// A replace with a shape numpy refuses is refused before anything is created: the old array keeps
// its name, its inode and its data (issue 8, item 1).
func TestRefusedReplaceKeepsTheOldArray(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := testName(t)
		old := mustCreate(t, s, name, []int64{4}, "int64", CreateOptions{})
		unsafe.Slice((*int64)(unsafe.Add(old.Ptr(), s.Hdr.DataOffset)), 4)[2] = 42
		before, err := os.Stat("/dev/shm/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, shape := range [][]int64{{1 << 62, 0}, {0, 1<<63 - 1}, {1 << 40, 1 << 40}} {
			_, _, st := Create(s, []byte(name), shape, []byte("int64"), CreateOptions{Replace: true})
			if st.Code != ErrInvalid {
				t.Errorf("replace with shape %v: %v %s, want NPSHM_ERR_INVALID", shape, st.Code, st.Msg)
			}
		}
		after, err := os.Stat("/dev/shm/" + name)
		if err != nil || !os.SameFile(before, after) {
			t.Fatalf("the old array was replaced: %v", err)
		}
		m := mustAttach(t, s, name, true)
		if got := unsafe.Slice((*int64)(unsafe.Add(m.Ptr(), s.Hdr.DataOffset)), 4)[2]; got != 42 || s.Hdr.Shape[0] != 4 {
			t.Errorf("the old array changed: shape %v, element %d", s.Hdr.Shape[:s.Hdr.Ndim], got)
		}
		checkNoLeftovers(t, "/dev/shm")
	})
}

// While an array is replaced over and over, attachers always find an array: the old or the new
// one, never none and never a half-made one.
func TestReplaceIsAtomic(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		name := testName(t)
		mustCreate(t, new(Scratch), name, []int64{1}, "i8", CreateOptions{})
		const rounds = 200
		var done atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := new(Scratch)
				for n := 0; !done.Load() || n < 10; n++ {
					m, _, st := Attach(s, []byte(name), true)
					if !st.Ok() {
						select {
						case errs <- fmt.Sprintf("attach during replace: %v %s", st.Code, st.Msg):
						default:
						}
						return
					}
					Unmap(m)
				}
			}()
		}
		s := new(Scratch)
		for i := range rounds {
			m, _, st := Create(s, []byte(name), []int64{int64(i + 1)}, []byte("i8"), CreateOptions{Replace: true})
			if !st.Ok() {
				t.Errorf("replace %d: %s", i, st.Msg)
				break
			}
			Unmap(m)
		}
		done.Store(true)
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		checkNoLeftovers(t, "/dev/shm")
	})
}

func TestCreateMode(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	s := new(Scratch)
	for _, c := range []struct {
		opt  CreateOptions
		want os.FileMode
	}{
		{CreateOptions{}, 0o600},
		{CreateOptions{HasMode: true, Mode: 0o600}, 0o600},
		{CreateOptions{HasMode: true, Mode: 0o640}, 0o640},
		{CreateOptions{HasMode: true, Mode: 0o666}, 0o666}, // the umask does not apply
		{CreateOptions{HasMode: true, Mode: 0o400}, 0o400},
		{CreateOptions{HasMode: true, Mode: 0}, 0},
		{CreateOptions{HasMode: true, Mode: 0o777}, 0o777},
		{CreateOptions{Mode: 0o644}, 0o600}, // Mode without HasMode is ignored
	} {
		name := testName(t)
		mustCreate(t, s, name, []int64{1}, "f8", c.opt)
		fi, err := os.Stat("/dev/shm/" + name)
		if err != nil || fi.Mode() != c.want {
			t.Errorf("%+v: mode %v, want %v (%v)", c.opt, fi.Mode(), c.want, err)
		}
	}
}

// Setuid, setgid and sticky bits, and anything beyond 0777, are refused by create and load, with
// the value in octal; nothing is created.
func TestModeRefused(t *testing.T) {
	s, fs := new(Scratch), new(FileScratch)
	file := append([]byte(npioFile(t, 4)), 0)
	for _, mode := range []uint32{0o4755, 0o2755, 0o1777, 0o1000, 0o10000, 0o177777, 1 << 31} {
		want := "mode must hold permission bits only (0 to 0777), not 0" + strconv.FormatUint(uint64(mode), 8)
		name := testName(t)
		_, _, st := Create(s, []byte(name), nil, []byte("f8"), CreateOptions{HasMode: true, Mode: mode})
		if msg := string(st.AppendMessage(make([]byte, 0, 256), "create", nil)); st.Code != ErrInvalid || !strings.Contains(msg, want) {
			t.Errorf("create, mode %#o: %v %q, want NPSHM_ERR_INVALID %q", mode, st.Code, msg, want)
		}
		_, _, _, st = Load(s, fs, file, []byte(name), &LoadOptions{HasMode: true, Mode: mode})
		if msg := string(st.AppendMessage(make([]byte, 0, 256), "load", nil)); st.Code != ErrInvalid || !strings.Contains(msg, want) {
			t.Errorf("load, mode %#o: %v %q, want NPSHM_ERR_INVALID %q", mode, st.Code, msg, want)
		}
		if _, err := os.Lstat("/dev/shm/" + name); !os.IsNotExist(err) {
			t.Errorf("a refused mode %#o left %s behind", mode, name)
		}
	}
}

// Without permission to write, a read-write attach is refused and a read-only one works.
func TestAttachPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write anything")
	}
	s := new(Scratch)
	name := testName(t)
	mustCreate(t, s, name, []int64{3}, "f8", CreateOptions{HasMode: true, Mode: 0o400})
	if _, _, st := Attach(s, []byte(name), false); st.Code != ErrPermission {
		t.Errorf("read-write attach of a 0400 array: %v, want NPSHM_ERR_PERMISSION", st.Code)
	}
	mustAttach(t, s, name, true)
}

func TestCreateRefused(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := testName(t)
		for _, c := range []struct {
			name  string
			shape []int64
			dtype string
			opt   CreateOptions
			code  Code
		}{
			{name, make([]int64, 65), "f8", CreateOptions{}, ErrInvalid},
			{name, []int64{-1}, "f8", CreateOptions{}, ErrInvalid},
			{name, []int64{3, -1}, "f8", CreateOptions{}, ErrInvalid},
			{name, []int64{1 << 40, 1 << 40}, "f8", CreateOptions{}, ErrInvalid},
			{name, []int64{1}, "object", CreateOptions{}, ErrInvalid},
			{name, []int64{1}, "[('x', 'O')]", CreateOptions{}, ErrInvalid},
			{name, []int64{1}, "", CreateOptions{}, ErrInvalid},
			{name, []int64{1}, "f8", CreateOptions{HasMode: true, Mode: 0o20000}, ErrInvalid},
			{"", []int64{1}, "f8", CreateOptions{}, ErrInvalid},
			{"a/b", []int64{1}, "f8", CreateOptions{}, ErrInvalid},
			{"file:///nonexistent-npshm-dir/x", []int64{1}, "f8", CreateOptions{}, ErrNotFound},
			{"file:///dev/null/x", []int64{1}, "f8", CreateOptions{}, ErrNotFound},
			{"file://" + t.TempDir(), []int64{1}, "f8", CreateOptions{}, ErrExists},
			{"file://" + t.TempDir(), []int64{1}, "f8", CreateOptions{Replace: true}, ErrInvalid},
		} {
			_, _, st := Create(s, []byte(c.name), c.shape, []byte(c.dtype), c.opt)
			if st.Code != c.code {
				t.Errorf("Create(%q, %v, %q, %+v) = %v %s, want %v", c.name, c.shape, c.dtype, c.opt, st.Code, st.Msg, c.code)
			}
		}
		if _, err := os.Stat("/dev/shm/" + name); !os.IsNotExist(err) {
			t.Errorf("refused creates left %s behind", name)
		}
		checkNoLeftovers(t, "/dev/shm")
	})
}

// A full /dev/shm fails at create time with ErrNoSpace, and leaves nothing behind.
func TestCreateNoSpace(t *testing.T) {
	var fs unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &fs); err != nil || fs.Blocks == 0 {
		t.Skipf("/dev/shm has no size limit (%v)", err)
	}
	total := int64(fs.Blocks) * fs.Bsize
	if total > 1<<54 {
		t.Skip("/dev/shm is too large to overfill")
	}
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := testName(t)
		for _, opt := range []CreateOptions{{}, {Replace: true}} {
			_, _, st := Create(s, []byte(name), []int64{2, total}, []byte("u1"), opt)
			if st.Code != ErrNoSpace || st.Errno != unix.ENOSPC {
				t.Errorf("Create of %d bytes in /dev/shm of %d: %v %v, want NPSHM_ERR_NO_SPACE", 2*total, total, st.Code, st.Errno)
			}
		}
		if _, err := os.Stat("/dev/shm/" + name); !os.IsNotExist(err) {
			t.Errorf("a failed create left %s behind", name)
		}
		checkNoLeftovers(t, "/dev/shm")
	})
}

func TestDelete(t *testing.T) {
	s := new(Scratch)
	name := testName(t)
	m := mustCreate(t, s, name, []int64{16}, "u1", CreateOptions{})
	a := mustAttach(t, s, name, false)
	if st := Delete(s, []byte("shm:///"+name)); !st.Ok() {
		t.Fatalf("Delete: %s", st.Msg)
	}
	if _, err := os.Stat("/dev/shm/" + name); !os.IsNotExist(err) {
		t.Error("Delete left the name")
	}
	// Existing mappings keep working and keep sharing memory.
	hdr := s.Hdr
	a.Bytes()[hdr.DataOffset+15] = 0xab
	if m.Bytes()[hdr.DataOffset+15] != 0xab {
		t.Error("mappings stopped sharing memory after Delete")
	}
	for _, n := range []string{name, "file://" + filepath.Join(t.TempDir(), "none")} {
		if st := Delete(s, []byte(n)); st.Code != ErrNotFound {
			t.Errorf("Delete(%q) of nothing: %v, want NPSHM_ERR_NOT_FOUND", n, st.Code)
		}
	}
	for _, n := range []string{"", ".", "..", "a/b", "x\x00"} {
		if st := Delete(s, []byte(n)); st.Code != ErrInvalid {
			t.Errorf("Delete(%q): %v, want NPSHM_ERR_INVALID", n, st.Code)
		}
	}
	// A name can be created again once deleted.
	mustCreate(t, s, name, nil, "f8", CreateOptions{})
}

func TestAttachNotFound(t *testing.T) {
	s := new(Scratch)
	for _, n := range []string{testName(t), "shm://" + testName(t), "file://" + filepath.Join(t.TempDir(), "none"),
		"file:///nonexistent-npshm-dir/x"} {
		if _, _, st := Attach(s, []byte(n), true); st.Code != ErrNotFound {
			t.Errorf("Attach(%q): %v, want NPSHM_ERR_NOT_FOUND", n, st.Code)
		}
	}
	for _, n := range []string{"", "..", "a/b", strings.Repeat("n", 256)} {
		if _, _, st := Attach(s, []byte(n), true); st.Code != ErrInvalid {
			t.Errorf("Attach(%q): %v, want NPSHM_ERR_INVALID", n, st.Code)
		}
	}
}

func TestFileArrays(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		dir := t.TempDir()
		s := new(Scratch)
		path := filepath.Join(dir, "a.seg")
		name := "file://" + path
		m := mustCreate(t, s, name, []int64{3, 4}, "int16", CreateOptions{})
		m.Bytes()[s.Hdr.DataOffset] = 5
		if _, _, st := Create(s, []byte(name), nil, []byte("f8"), CreateOptions{}); st.Code != ErrExists {
			t.Errorf("second create: %v, want NPSHM_ERR_EXISTS", st.Code)
		}
		a := mustAttach(t, s, name, true)
		if a.Bytes()[s.Hdr.DataOffset] != 5 || s.Hdr.Shape[1] != 4 {
			t.Error("attached file differs")
		}
		raw, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(raw, m.Bytes()) {
			t.Errorf("file content differs from the mapping (%v)", err)
		}
		mustCreate(t, s, name, []int64{2}, "f4", CreateOptions{Replace: true})
		mustAttach(t, s, name, false)
		if s.Hdr.Shape[0] != 2 || string(s.Hdr.Descr) != "<f4" {
			t.Errorf("attached %s after the replace", hdrString(&s.Hdr))
		}
		if st := Delete(s, []byte(name)); !st.Ok() {
			t.Errorf("Delete: %s", st.Msg)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Error("Delete left the file")
		}
		checkNoLeftovers(t, dir)
	})
}

// watchNames reports the names that appear in dir (created, linked or renamed into it) between
// the call and the call of the function it returns.
func watchNames(t *testing.T, dir string) func() []string {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("no inotify: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		t.Skipf("no inotify: %v", err)
	}
	return func() []string {
		var names []string
		buf := make([]byte, 1<<16)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n <= 0 {
				return names
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				names = append(names, string(bytes.TrimRight(name, "\x00")))
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

// Creation never shows a name other than the final one and .npshm-tmp-<pid>-<n> (FORMAT.md
// "Creation"): a process killed midway leaves nothing else. Relative file:// names included.
func TestCreationNames(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		names := watchNames(t, dir)
		s := new(Scratch)
		for _, n := range []string{"file://rel", "file://" + filepath.Join(dir, "abs"), "file://./dot"} {
			for _, replace := range []bool{false, true} {
				mustCreate(t, s, n, []int64{3}, "f8", CreateOptions{Replace: replace})
			}
		}
		// A failed publish as well.
		if _, _, st := Create(s, []byte("file://rel"), nil, []byte("f8"), CreateOptions{}); st.Code != ErrExists {
			t.Errorf("create over rel: %v", st.Code)
		}
		tmp := TempPrefix + strconv.Itoa(os.Getpid()) + "-"
		seen := names()
		for _, n := range seen {
			if n != "rel" && n != "abs" && n != "dot" && !strings.HasPrefix(n, tmp) {
				t.Errorf("creation showed the name %q in %s", n, dir)
			}
		}
		if len(seen) < 6 {
			t.Errorf("inotify saw only %v", seen)
		}
		checkNoLeftovers(t, dir)
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 3 {
			t.Errorf("left in %s: %v", dir, left)
		}
	})
}

// writeForeign writes a file that is not (quite) an npshm array into /dev/shm.
func writeForeign(t *testing.T, content []byte) string {
	t.Helper()
	name := testName(t)
	if err := os.WriteFile("/dev/shm/"+name, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// segment returns a valid segment, header, padding and data, as a writer makes it.
func segment(shape []int64, descr string, itemsize uint64) []byte {
	sp := validSpec(shape, descr, itemsize, false)
	seg := make([]byte, sp.segSize())
	copy(seg, sp.encode(true))
	return seg
}

func TestAttachForeign(t *testing.T) {
	valid := segment([]int64{100}, "<f8", 8)
	lying := func(edit func(sp *specHeader)) []byte {
		sp := validSpec([]int64{100}, "<f8", 8, false)
		edit(&sp)
		seg := make([]byte, 4096+800)
		copy(seg, sp.encode(true))
		return seg
	}
	random := make([]byte, 8192)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for _, c := range []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"a few bytes", []byte("hello")},
		{"67 bytes of magic", append([]byte(Magic), make([]byte, 59)...)},
		{"random bytes", random},
		{"random bytes after the magic", append([]byte(Magic), random...)},
		{"a numpy file", append([]byte("\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (100,), }"), make([]byte, 900)...)},
		{"header only", valid[:validSpec([]int64{100}, "<f8", 8, false).headerLen+4]},
		{"header and padding", valid[:4096]},
		{"one byte short", valid[:len(valid)-1]},
		{"data_nbytes larger than the file", lying(func(sp *specHeader) { sp.shape[0], sp.dataNbytes = 1000, 8000 })},
		{"data_offset beyond the file", lying(func(sp *specHeader) { sp.shape[0], sp.dataNbytes, sp.dataOffset = 1, 8, 1<<20 })},
		{"header_len beyond the file", func() []byte {
			sp := validSpec([]int64{1}, longName(3*4096), 1, false)
			return sp.encode(true)[:4096+100]
		}()},
		{"bad checksum", func() []byte { b := bytes.Clone(valid); b[70]++; return b }()},
		{"version 2", lying(func(sp *specHeader) { sp.version = 2 })},
		{"non-canonical descriptor", lying(func(sp *specHeader) { sp.descr = "=f8" })},
	} {
		name := writeForeign(t, c.content)
		s := new(Scratch)
		for _, ro := range []bool{true, false} {
			if m, _, st := Attach(s, []byte(name), ro); st.Code != ErrFormat {
				Unmap(m)
				t.Errorf("%s (read-only %v): Attach = %v %s, want NPSHM_ERR_FORMAT", c.name, ro, st.Code, st.Msg)
			}
		}
	}
	// An array whose file was cut short after creation.
	s := new(Scratch)
	name := testName(t)
	mustCreate(t, s, name, []int64{10000}, "u1", CreateOptions{})
	if err := os.Truncate("/dev/shm/"+name, 4096+9999); err != nil {
		t.Fatal(err)
	}
	if _, _, st := Attach(s, []byte(name), true); st.Code != ErrFormat {
		t.Errorf("truncated array: Attach = %v, want NPSHM_ERR_FORMAT", st.Code)
	}
}

// Things in /dev/shm that are not regular files.
func TestAttachNotAFile(t *testing.T) {
	s := new(Scratch)
	dir := testName(t)
	if err := os.Mkdir("/dev/shm/"+dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, st := Attach(s, []byte(dir), true); st.Code != ErrFormat {
		t.Errorf("read-only attach of a directory: %v, want NPSHM_ERR_FORMAT", st.Code)
	}
	if _, _, st := Attach(s, []byte(dir), false); st.Code != ErrInvalid {
		t.Errorf("read-write attach of a directory: %v, want NPSHM_ERR_INVALID (EISDIR)", st.Code)
	}
	fifo := testName(t)
	if err := unix.Mkfifo("/dev/shm/"+fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		if _, _, st := Attach(s, []byte(fifo), ro); st.Code != ErrFormat {
			t.Errorf("attach of a FIFO (read-only %v): %v, want NPSHM_ERR_FORMAT", ro, st.Code)
		}
	}
	// A symbolic link at the name is never followed: another user may have put it there, pointing
	// at a file of ours. Attach refuses it (PERMISSION, ELOOP), and the lister skips it.
	target := testName(t)
	mustCreate(t, s, target, []int64{2}, "f8", CreateOptions{})
	link := testName(t)
	if err := os.Symlink("/dev/shm/"+target, "/dev/shm/"+link); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		_, _, st := Attach(s, []byte(link), ro)
		if st.Code != ErrPermission || st.Errno != unix.ELOOP || !strings.Contains(st.Msg, "symbolic link") {
			t.Errorf("attach of a symlink (read-only %v): %v %v %q, want NPSHM_ERR_PERMISSION, ELOOP", ro, st.Code,
				st.Errno, st.Msg)
		}
	}
	flink := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink("/dev/shm/"+target, flink); err != nil {
		t.Fatal(err)
	}
	if _, _, st := Attach(s, []byte("file://"+flink), true); st.Code != ErrPermission || st.Errno != unix.ELOOP {
		t.Errorf("attach of a file:// symlink: %v %v, want NPSHM_ERR_PERMISSION, ELOOP", st.Code, st.Errno)
	}
	for _, e := range listAll(t) {
		if e.name == link {
			t.Error("the lister reported a symbolic link")
		}
	}
}

// hdrString describes a header briefly, for failure messages.
func hdrString(h *Header) string {
	return fmt.Sprintf("{flags %d header_len %d data %d+%d itemsize %d shape %v descr %.60q pid %d ns %d}", h.Flags,
		h.HeaderLen, h.DataOffset, h.DataNbytes, h.Itemsize, h.Shape[:max(0, min(h.Ndim, MaxNdim))], h.Descr,
		h.CreatorPID, h.CreatedNs)
}

type listed struct {
	name string
	mode uint32
	uid  uint32
	hdr  Header
}

func listAll(t *testing.T) []listed {
	t.Helper()
	var l Lister
	if st := l.Open(); !st.Ok() {
		t.Fatalf("Lister.Open: %s", st.Msg)
	}
	defer l.Close()
	s := new(Scratch)
	var out []listed
	for {
		e, ok, st := l.Next(s)
		if !st.Ok() {
			t.Fatalf("Lister.Next: %s", st.Msg)
		}
		if !ok {
			return out
		}
		h := s.Hdr
		h.Descr = bytes.Clone(h.Descr)
		out = append(out, listed{string(e.Name[:len(e.Name)-1]), e.Mode, e.UID, h})
	}
}

func TestLister(t *testing.T) {
	s := new(Scratch)
	want := map[string]Header{}
	for i, dtype := range []string{"f8", "[('x', '<f4', (2,))]", "U3"} {
		name := testName(t)
		mustCreate(t, s, name, []int64{int64(i + 1), 2}, dtype, CreateOptions{Fortran: i == 1, HasMode: true, Mode: 0o640})
		h := s.Hdr
		h.Descr = bytes.Clone(h.Descr)
		want[name] = h
	}
	// What the lister must skip: foreign files, a directory, a creation in progress.
	foreign := writeForeign(t, []byte("not an array"))
	garbled := writeForeign(t, func() []byte { b := segment([]int64{3}, "<f8", 8); b[8] = 2; return b }())
	dir := testName(t)
	os.Mkdir("/dev/shm/"+dir, 0o700)
	tmp := TempPrefix + strconv.Itoa(os.Getpid()) + "-lister"
	if err := os.WriteFile("/dev/shm/"+tmp, segment([]int64{3}, "<f8", 8), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/dev/shm/" + tmp) })

	found := map[string]bool{}
	for _, e := range listAll(t) {
		switch e.name {
		case foreign, garbled, dir, tmp, ".", "..":
			t.Errorf("the lister reported %q", e.name)
		}
		h, ok := want[e.name]
		if !ok {
			continue
		}
		if found[e.name] {
			t.Errorf("%s listed twice", e.name)
		}
		found[e.name] = true
		if e.mode != 0o640 || e.uid != uint32(os.Getuid()) || e.hdr.Shape != h.Shape ||
			string(e.hdr.Descr) != string(h.Descr) || e.hdr.CreatedNs != h.CreatedNs || e.hdr.Flags != h.Flags {
			t.Errorf("%s: listed mode %o uid %d %s, want mode 0640 uid %d %s", e.name, e.mode, e.uid, hdrString(&e.hdr), os.Getuid(), hdrString(&h))
		}
	}
	if len(found) != len(want) {
		t.Errorf("listed %d of our %d arrays", len(found), len(want))
	}
	// A deleted array is gone from the listing.
	for name := range want {
		Delete(s, []byte(name))
	}
	for _, e := range listAll(t) {
		if _, ok := want[e.name]; ok {
			t.Errorf("deleted array %s still listed", e.name)
		}
	}
}

// Many arrays: the lister reads the directory in several getdents batches.
func TestListerManyEntries(t *testing.T) {
	s := new(Scratch)
	want := map[string]bool{}
	for range 300 {
		name := testName(t) + strings.Repeat("-long-name", 10)
		t.Cleanup(func() { os.Remove("/dev/shm/" + name) })
		mustCreate(t, s, name, nil, "u1", CreateOptions{})
		want[name] = true
	}
	n := 0
	for _, e := range listAll(t) {
		if want[e.name] {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("listed %d of %d arrays", n, len(want))
	}
}
