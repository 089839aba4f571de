//go:build linux

package core

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Round two of the hardening (docs/RELIABILITY.md, "A hostile neighbour and a careless caller"):
// temporary names, lock files and arrays of another user, bounded waits, a fork during a load,
// FIFOs and sparse segments. The other user is uid 65534, made by chown (as root).

func message(st Status) string {
	return string(st.AppendMessage(make([]byte, 0, 1024), "op", nil))
}

func TestTempNamesAreRandom(t *testing.T) {
	dir := []byte("/dev/shm/")
	a := string(appendTempName(append([]byte(nil), dir...)))
	b := string(appendTempName(append([]byte(nil), dir...)))
	re := regexp.MustCompile(`^/dev/shm/\.npshm-tmp-` + strconv.Itoa(os.Getpid()) + `-[0-9a-f]{16}\x00$`)
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("temporary names %q, %q: want .npshm-tmp-<pid>-<16 random hex digits>", a, b)
	}
	if pid, ok := tempPid([]byte(a[len(dir) : len(a)-1])); !ok || pid != os.Getpid() {
		t.Errorf("tempPid(%q) = %d, %v", a, pid, ok)
	}
}

func holdLock(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); os.Remove(path) })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
}

// A wait for another process's load is bounded by LoadOptions.Timeout: ETIMEDOUT, with the lock
// file and its holder (this process) in the message.
func TestLoadTimeout(t *testing.T) {
	path := npioFile(t, 10)
	name := testName(t)
	lock := "/dev/shm/" + LockPrefix + name
	holdLock(t, lock)
	_, _, _, st := load(t, path, name, LoadOptions{Timeout: 30})
	want := "timed out waiting for the lock file " + lock + ", held by pid " + strconv.Itoa(os.Getpid())
	if st.Code != ErrIO || st.Errno != unix.ETIMEDOUT || !strings.Contains(message(st), want) {
		t.Errorf("load with a held lock: %v %v %q, want NPSHM_ERR_IO ETIMEDOUT %q", st.Code, st.Errno, message(st), want)
	}
	if _, err := os.Lstat("/dev/shm/" + name); !os.IsNotExist(err) {
		t.Error("a timed-out load left an array")
	}
	// A cancel flag still works beside a timeout.
	cancel := int32(1)
	if _, _, _, st := load(t, path, name, LoadOptions{Timeout: 60_000, Cancel: unsafe.Pointer(&cancel)}); st.Errno != unix.EINTR {
		t.Errorf("cancelled load with a timeout: %v %v, want EINTR", st.Code, st.Errno)
	}
}

// The lock file is checked before it is used: a symlink, a FIFO or another user's file at its
// name is refused with PERMISSION, at once.
func TestLockFileRefused(t *testing.T) {
	path := npioFile(t, 10)
	cases := []struct {
		what string
		make func(p string) error
		want string
	}{
		{"symlink", func(p string) error { return os.Symlink("/dev/null", p) }, " is a symbolic link"},
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }, " is not a regular file"},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, struct {
			what string
			make func(p string) error
			want string
		}{"another user's", func(p string) error {
			if err := os.WriteFile(p, nil, 0o666); err != nil {
				return err
			}
			return os.Chown(p, 65534, 65534)
		}, " belongs to uid 65534"})
	}
	for _, c := range cases {
		name := testName(t)
		lock := "/dev/shm/" + LockPrefix + name
		if err := c.make(lock); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(lock)
		_, _, _, st := load(t, path, name, LoadOptions{})
		if want := "the lock file " + lock + c.want; st.Code != ErrPermission || !strings.Contains(message(st), want) {
			t.Errorf("%s lock file: %v %q, want NPSHM_ERR_PERMISSION %q", c.what, st.Code, message(st), want)
		}
		if _, err := os.Lstat(lock); err != nil {
			t.Errorf("%s lock file: removed (%v)", c.what, err)
		}
	}
}

// An existing array of another uid is not taken as the load's result unless AcceptForeign.
func TestForeignArrayRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make another user's array")
	}
	path := npioFile(t, 10)
	name := testName(t)
	s := new(Scratch)
	mustCreate(t, s, name, []int64{10}, "<f8", CreateOptions{HasMode: true, Mode: 0o666})
	if err := os.Chown("/dev/shm/"+name, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} { // the attach before the lock, and without the file
		opt := LoadOptions{}
		if full {
			opt = LoadOptions{ExpectShape: true, Shape: []int64{10}, ExpectDtype: []byte("f8")}
		}
		_, _, _, st := load(t, path, name, opt)
		if st.Code != ErrPermission || !strings.Contains(message(st), "the existing array belongs to uid 65534") {
			t.Errorf("foreign array: %v %q, want NPSHM_ERR_PERMISSION", st.Code, message(st))
		}
	}
	_, _, res, st := load(t, path, name, LoadOptions{AcceptForeign: true})
	if !st.Ok() || !res.Attached {
		t.Errorf("foreign array with AcceptForeign: %v %s, attached %v", st.Code, st.Msg, res.Attached)
	}
	checkNoLockFiles(t, name)
}

// A FIFO (or any non-regular file) as the file to load is refused without blocking in open.
func TestLoadFileNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	name := testName(t)
	_, _, _, st := load(t, fifo, name, LoadOptions{})
	if st.Code != ErrInvalid || !strings.Contains(message(st), "the file is not a regular file") {
		t.Errorf("load of a FIFO: %v %q, want NPSHM_ERR_INVALID", st.Code, message(st))
	}
	_, _, _, st = load(t, "/dev/null", name, LoadOptions{})
	if st.Code != ErrInvalid {
		t.Errorf("load of /dev/null: %v %q, want NPSHM_ERR_INVALID", st.Code, message(st))
	}
	checkNoLockFiles(t, name)
}

// A fork during a load shares the lock's open file description and the segment's descriptor with
// the child; here a dup stands for the child's copy. Dropping the lock unlocks it for the sharer
// too (LOCK_UN), and an abandoned segment is truncated, so that the sharer holds no memory.
func TestLoadDescriptorsSharedWithAChild(t *testing.T) {
	name := testName(t)
	lock := append([]byte("/dev/shm/"+LockPrefix+name), 0)
	defer os.Remove(string(lock[:len(lock)-1]))
	var shared, segs []int
	Guard = ForkGuard{
		Open: func(dirfd int, path []byte, flags int, mode uint32) (int, unix.Errno) {
			fd, errno := sysOpenat(dirfd, path, flags, mode)
			if errno == 0 {
				d, _ := unix.Dup(fd)
				shared = append(shared, d)
				if flags&unix.O_TMPFILE == unix.O_TMPFILE {
					segs = append(segs, d)
				}
			}
			return fd, errno
		},
	}
	defer func() {
		Guard = ForkGuard{}
		for _, fd := range shared {
			unix.Close(fd)
		}
	}()
	s := new(Scratch)
	tg := Target{Path: lock, Dir: len("/dev/shm/")} // by path: lock is absolute
	fd, st := takeLock(s, &tg, lock, &LoadOptions{})
	if !st.Ok() {
		t.Fatal(st.Msg)
	}
	waiter, err := os.Open(string(lock[:len(lock)-1]))
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	dropLock(&tg, lock, fd)
	if err := unix.Flock(int(waiter.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Errorf("the lock is still held through the shared descriptor: %v", err)
	}

	// A load that is abandoned once its segment exists (cancelled before the fill).
	shared = shared[:0]
	cancel := int32(1)
	path := npioFile(t, 1<<16)
	_, _, _, st = load(t, path, name, LoadOptions{Cancel: unsafe.Pointer(&cancel)})
	if st.Errno != unix.EINTR {
		t.Fatalf("cancelled load: %v %v", st.Code, st.Errno)
	}
	if len(segs) != 1 {
		t.Fatalf("saw %d unnamed segments through the guard, want 1", len(segs))
	}
	var stat unix.Stat_t
	if err := unix.Fstat(segs[0], &stat); err != nil || stat.Size != 0 || stat.Blocks != 0 {
		t.Errorf("the abandoned segment still holds %d bytes (%d blocks) %v", stat.Size, stat.Blocks, err)
	}
}

// sparseSegment writes a valid segment of n float64 as a sparse file: the header, then a hole.
func sparseSegment(t *testing.T, name string, n int64) string {
	t.Helper()
	var h Header
	h.Ndim, h.Shape[0], h.Itemsize, h.Descr = 1, n, 8, []byte("<f8")
	if st := h.Layout(); !st.Ok() {
		t.Fatal(st.Msg)
	}
	buf := make([]byte, MaxHeaderLen)
	hlen := h.Encode(buf)
	p := "/dev/shm/" + name
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(buf[:hlen]); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(h.SegmentSize())); err != nil {
		t.Fatal(err)
	}
	return p
}

// Attach backs a sparse segment before mapping it: fallocate for a writable attach, and
// MADV_POPULATE_READ for a read-only one on tmpfs (where a read fault on a hole allocates too).
// A full /dev/shm is tested in a private tmpfs (tests/c/test_nospace.c, test_hardening_neighbour.py).
func TestAttachBacksSparseSegments(t *testing.T) {
	s := new(Scratch)
	for _, ro := range []bool{false, true} {
		name := testName(t)
		p := sparseSegment(t, name, 1<<18)
		var before unix.Stat_t
		if err := unix.Stat(p, &before); err != nil || !isSparse(&before) {
			t.Fatalf("the test segment is not sparse: %v", err)
		}
		mustAttach(t, s, name, ro)
		var after unix.Stat_t
		if err := unix.Stat(p, &after); err != nil || isSparse(&after) {
			t.Errorf("read-only %v: %d of %d bytes backed after attach", ro, after.Blocks*512, after.Size)
		}
	}
	// Our own arrays are not sparse: nothing to do, and nothing allocated.
	name := testName(t)
	mustCreate(t, s, name, []int64{1 << 18}, "f8", CreateOptions{})
	var st unix.Stat_t
	if err := unix.Stat("/dev/shm/"+name, &st); err != nil || isSparse(&st) {
		t.Errorf("a created array is sparse: %v", err)
	}
	var sparse [][]byte
	for range 60 {
		n := testName(t)
		sparseSegment(t, n, 1<<10)
		sparse = append(sparse, []byte(n))
	}
	i := 0
	noAllocs(t, "Attach of sparse segments", func() {
		m, _, st := Attach(s, sparse[i], i%2 == 0)
		if !st.Ok() {
			t.Fatal(st.Msg)
		}
		Unmap(m)
		i++
	})
}

// A cancel set before the load is published wins, even when there is nothing to fill (a fill of
// zero bytes never looks at the flag): Python's Ctrl+C relies on it, since a load thread that
// starts late must not publish after the caller raised KeyboardInterrupt.
func TestCancelledEmptyLoad(t *testing.T) {
	path := npioFile(t, 0)
	name := testName(t)
	cancel := int32(1)
	for _, fill := range []FillMode{FillSerial, FillGoroutines} {
		_, _, _, st := load(t, path, name, LoadOptions{Cancel: unsafe.Pointer(&cancel), Fill: fill})
		if st.Code != ErrIO || st.Errno != unix.EINTR {
			t.Errorf("cancelled load of an empty array: %v %v, want NPSHM_ERR_IO EINTR", st.Code, st.Errno)
		}
		if _, err := os.Lstat("/dev/shm/" + name); !os.IsNotExist(err) {
			t.Error("a cancelled load published its array")
		}
	}
	checkNoLockFiles(t, name)
}
