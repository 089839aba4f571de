//go:build linux && cgo

package difftest

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/npshm/npshm/internal/core"
)

// residentKiB is the Rss of the mapping that starts at addr, from /proc/self/smaps.
func residentKiB(t *testing.T, addr uintptr) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps")
	}
	defer f.Close()
	start := fmt.Sprintf("%x-", addr)
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "-") && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = strings.HasPrefix(line, start)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}

// A created array's pages are mapped at once (MADV_POPULATE_WRITE after the reservation), on both
// paths, so that its first write takes no page fault per page (issue 13). A load's segment is not.
func TestCreatePopulatesTheMapping(t *testing.T) {
	const n = 4 << 20
	s := new(core.Scratch)
	name := uniqueName(t)
	m, _, st := core.Create(s, []byte(name), []int64{n}, []byte("u1"), core.CreateOptions{})
	if !st.Ok() {
		t.Fatalf("Go create: %s", st.Msg)
	}
	if kib := residentKiB(t, m.Addr); kib < n/1024 {
		t.Errorf("Go create: %d KiB of the %d KiB mapping resident", kib, n/1024)
	}
	core.Unmap(m)

	name = uniqueName(t)
	h, code := CCreate(name, []int64{n}, "u1", 0)
	if code != core.OK {
		t.Fatalf("C create: %v", code)
	}
	defer Release(h)
	if kib := residentKiB(t, uintptr(Handle(h).Base)); kib < n/1024 {
		t.Errorf("C create: %d KiB of the %d KiB mapping resident", kib, n/1024)
	}
}

func blocksOf(t *testing.T, name string) (sparse bool) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/dev/shm/"+name, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Blocks)*512 < uint64(st.Size)&^4095
}

// NPSHM_NO_RESERVE leaves the segment sparse and says so in the header (FlagUnreserved); attaches
// by the same user, read-write or read-only, on either path, leave the holes. A segment of another
// user is backed whatever its header says (the hostile neighbour of RELIABILITY.md).
func TestNoReserveStaysSparse(t *testing.T) {
	const n = 1 << 20
	s := new(core.Scratch)
	for _, creator := range []string{"Go", "C"} {
		name := uniqueName(t)
		if creator == "Go" {
			m, _, st := core.Create(s, []byte(name), []int64{n}, []byte("u1"), core.CreateOptions{NoReserve: true})
			if !st.Ok() {
				t.Fatalf("Go create: %s", st.Msg)
			}
			if s.Hdr.Flags&core.FlagUnreserved == 0 {
				t.Errorf("Go create: header flags %#x", s.Hdr.Flags)
			}
			core.Unmap(m)
		} else {
			h, code := CCreate(name, []int64{n}, "u1", core.FlagNoReserve)
			if code != core.OK {
				t.Fatalf("C create: %v", code)
			}
			Release(h)
		}
		if !blocksOf(t, name) {
			t.Fatalf("%s create with NoReserve: not sparse", creator)
		}
		for _, ro := range []bool{false, true} {
			m, _, st := core.Attach(s, []byte(name), ro)
			if !st.Ok() {
				t.Fatalf("Go attach: %s", st.Msg)
			}
			if s.Hdr.Flags&core.FlagUnreserved == 0 {
				t.Errorf("Go attach: header flags %#x", s.Hdr.Flags)
			}
			core.Unmap(m)
			flags := uint32(0)
			if ro {
				flags = 1
			}
			h, code := CAttach(name, flags)
			if code != core.OK {
				t.Fatalf("C attach: %v", code)
			}
			Release(h)
			if !blocksOf(t, name) {
				t.Errorf("%s array, attach read-only %v: backed", creator, ro)
			}
		}
		if os.Geteuid() != 0 {
			continue
		}
		// Another user's word is not taken: backed on attach (read-write here: we are root).
		if err := os.Chown("/dev/shm/"+name, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		attach := func(i int) {
			if i == 0 {
				m, _, st := core.Attach(s, []byte(name), false)
				if !st.Ok() {
					t.Fatalf("Go attach: %s", st.Msg)
				}
				core.Unmap(m)
			} else {
				h, code := CAttach(name, 0)
				if code != core.OK {
					t.Fatalf("C attach: %v", code)
				}
				Release(h)
			}
		}
		for i, path := range []string{"Go", "C"} {
			attach(i)
			if blocksOf(t, name) {
				t.Errorf("%s attach of another user's unreserved array left it sparse", path)
			}
			// Make it sparse again for the other path.
			if i == 0 {
				f, err := os.OpenFile("/dev/shm/"+name, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 8192, n-8192)
				f.Close()
				if !blocksOf(t, name) {
					t.Fatal("cannot punch the holes again")
				}
			}
		}
	}
}

// The C path keeps the headers it validated (issue 13), but never serves one for another file
// (a replaced or recreated array) or for a file written since (write(2) changes its times).
func TestAttachHeaderCacheIsNeverStale(t *testing.T) {
	runtime.LockOSThread() // the cache is per thread
	defer runtime.UnlockOSThread()
	name := uniqueName(t)
	shapeOf := func() ([]int64, core.Code) {
		h, code := CAttach(name, 0)
		if code != core.OK {
			return nil, code
		}
		defer Release(h)
		return Handle(h).Shape, code
	}
	h, code := CCreate(name, []int64{3}, "f8", 0)
	if code != core.OK {
		t.Fatal(code)
	}
	Release(h)
	for range 2 {
		if s, code := shapeOf(); code != core.OK || len(s) != 1 || s[0] != 3 {
			t.Fatalf("attach: %v %v", s, code)
		}
	}
	// Replaced (a new file under the name): the new header.
	if h, code = CCreate(name, []int64{4}, "f8", 0x2); code != core.OK {
		t.Fatal(code)
	}
	Release(h)
	if s, _ := shapeOf(); len(s) != 1 || s[0] != 4 {
		t.Errorf("after a replace: shape %v, want [4]", s)
	}
	// Deleted and created again: the new header.
	CDelete(name)
	if h, code = CCreate(name, []int64{5}, "f8", 0); code != core.OK {
		t.Fatal(code)
	}
	Release(h)
	if s, _ := shapeOf(); len(s) != 1 || s[0] != 5 {
		t.Errorf("after a delete and create: shape %v, want [5]", s)
	}
	// Written with write(2): the times change, the header is read and checked again.
	time.Sleep(20 * time.Millisecond) // past the clock's tick, on kernels with coarse file times
	f, err := os.OpenFile("/dev/shm/"+name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("NOTANARR"), 0)
	f.Close()
	if _, code := shapeOf(); code != core.ErrFormat {
		t.Errorf("after the header was overwritten: %v, want NPSHM_ERR_FORMAT", code)
	}
}
