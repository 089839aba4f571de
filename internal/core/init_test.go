//go:build linux

package core

import (
	"testing"
	"unsafe"
)

// fillSevens is an InitFunc: it fills the data with 7s, or abandons the array if a is not nil.
func fillSevens(data unsafe.Pointer, n uint64, a, b unsafe.Pointer) int32 {
	d := unsafe.Slice((*byte)(data), n)
	for i := range d {
		d[i] = 7
	}
	if a != nil {
		return 42
	}
	return 0
}

func TestCreateInitFillsBeforePublishing(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := []byte(testName(t))
		m, _, st := Create(s, name, []int64{3, 1000}, []byte("u1"), CreateOptions{Init: fillSevens})
		if !st.Ok() {
			t.Fatal(st.Code, st.Msg)
		}
		Unmap(m)
		a, _, st := Attach(s, name, true)
		if !st.Ok() {
			t.Fatal(st.Code, st.Msg)
		}
		for i, v := range unsafe.Slice((*byte)(addrPtr(a.Data(&s.Hdr))), 3000) {
			if v != 7 {
				t.Fatalf("byte %d is %d", i, v)
			}
		}
		Unmap(a)

		// Abandoned: the code comes back, the old array stays, nothing is left.
		abandon := unsafe.Pointer(&s.Proc[0])
		_, _, st = Create(s, name, []int64{5}, []byte("u1"), CreateOptions{Replace: true, Init: fillSevens, InitA: abandon})
		if st.Code != 42 {
			t.Fatalf("abandoned replace: %v, want 42", st.Code)
		}
		if a, _, st = Attach(s, name, true); !st.Ok() || s.Hdr.DataNbytes != 3000 {
			t.Fatalf("the old array did not survive an abandoned replace: %v", st.Code)
		}
		Unmap(a)
		Delete(s, name)
		if _, _, st = Create(s, name, []int64{5}, []byte("u1"), CreateOptions{Init: fillSevens, InitA: abandon}); st.Code != 42 {
			t.Fatalf("abandoned create: %v, want 42", st.Code)
		}
		if _, _, st = Attach(s, name, true); st.Code != ErrNotFound {
			t.Fatalf("an abandoned create left an array: %v", st.Code)
		}
		if left := tempLeftovers(t, "/dev/shm"); len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
		shape, dtype := []int64{100}, []byte("u1")
		noAllocs(t, "Create with Init", func() {
			m, _, st := Create(s, name, shape, dtype, CreateOptions{Replace: true, Init: fillSevens})
			if !st.Ok() {
				t.Fatal(st.Code, st.Msg)
			}
			Unmap(m)
		})
	})
}
