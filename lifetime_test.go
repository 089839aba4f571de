package npshm_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
	"unsafe"

	"github.com/npshm/npshm"
)

// mapped reports whether the address p lies in a mapping of this process (/proc/self/maps).
func mapped(t *testing.T, p unsafe.Pointer) bool {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	addr := uintptr(p)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(sc.Text(), "%x-%x", &lo, &hi); n == 2 && addr >= lo && addr < hi {
			return true
		}
	}
	return false
}

// A view handed out by the API stays valid after its Array is dropped and collected: the
// garbage collector never unmaps it behind the program's back (only Close does).
func TestViewOutlivesItsDroppedArray(t *testing.T) {
	name := uniqueName(t)
	const n = 1 << 16
	view := func() []int64 {
		a, err := npshm.Create(name, []int{n}, "int64", nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := npshm.View[int64](a)
		if err != nil {
			t.Fatal(err)
		}
		return v // a is dropped here, unclosed
	}()
	p := unsafe.Pointer(&view[0])
	for i := 0; i < 20 && mapped(t, p); i++ {
		runtime.GC()
		time.Sleep(time.Millisecond) // lets cleanups and finalizers run, if there were any
	}
	if !mapped(t, p) {
		t.Fatal("the view's memory was unmapped by the garbage collector while the view was in use")
	}
	// Every element is the array's: written here, read back through a fresh attach. A fault
	// (memory unmapped meanwhile) becomes a panic, and a test failure, rather than a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("using the view faulted: %v", r)
		}
	}()
	for i := range view {
		view[i] = int64(i) * 3
	}
	b, err := npshm.Attach(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seen, _ := npshm.View[int64](b)
	for i := range seen {
		if seen[i] != int64(i)*3 || view[i] != int64(i)*3 {
			t.Fatalf("element %d: the view holds %d, the array %d; want %d", i, view[i], seen[i], i*3)
		}
	}
}

// Close unmaps, at once and only once; a closed array refuses views and memory calls.
func TestCloseUnmaps(t *testing.T) {
	a, err := npshm.Create(uniqueName(t), []int{1000}, "float64", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := unsafe.Pointer(&a.Bytes()[0])
	if !mapped(t, p) {
		t.Fatal("a new array is not mapped")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if mapped(t, p) {
		t.Fatal("Close left the memory mapped")
	}
	if err := a.Close(); err != nil || a.Bytes() != nil {
		t.Fatalf("second Close: %v, Bytes %v", err, a.Bytes())
	}
	if _, err := npshm.View[float64](a); !errors.Is(err, npshm.ErrInvalid) {
		t.Errorf("View of a closed array: %v", err)
	}
	if err := a.Msync(npshm.MsSync); !errors.Is(err, npshm.ErrInvalid) {
		t.Errorf("Msync of a closed array: %v", err)
	}
}
