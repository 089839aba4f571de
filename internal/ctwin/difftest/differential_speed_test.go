package difftest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

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
