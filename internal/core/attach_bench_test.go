//go:build linux

package core

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkAttach1GiB measures Attach and Unmap of a 1 GiB array (docs/RELIABILITY.md, "Sparse
// segments"): an array npshm created, whose pages are all allocated, so that the sparse check is
// one comparison of fstat's fields; and a segment made with ftruncate, whose holes are punched
// again before every attach (outside the timing), which a writable attach fallocates and a
// read-only one populates. Run it with -benchtime=20x; the file stands alone, so that it can be
// run on an older version for the figures without the check.
func BenchmarkAttach1GiB(b *testing.B) {
	const n = 1 << 27 // float64
	s := new(Scratch)
	full := testName(b)
	mustCreate(b, s, full, []int64{n}, "f8", CreateOptions{})
	sparse := testName(b)
	Unmap(mustCreate(b, s, sparse, []int64{n}, "f8", CreateOptions{}))
	f, err := os.OpenFile("/dev/shm/"+sparse, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	punch := func() {
		err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 4096, 8*n)
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name     string
		array    string
		readOnly bool
		holes    bool
	}{
		{"allocated/read-write", full, false, false},
		{"allocated/read-only", full, true, false},
		{"sparse/read-write", sparse, false, true},
		{"sparse/read-only", sparse, true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if c.holes {
					b.StopTimer()
					punch()
					b.StartTimer()
				}
				m, _, st := Attach(s, []byte(c.array), c.readOnly)
				if !st.Ok() {
					b.Fatal(st.Msg)
				}
				Unmap(m)
			}
		})
	}
}

// BenchmarkHotPaths measures the calls every user makes, on an array of 1000 float64: attach and
// unmap, and create (and replace) and delete, to compare versions side by side.
func BenchmarkHotPaths(b *testing.B) {
	s := new(Scratch)
	name := testName(b)
	mustCreate(b, s, name, []int64{1000}, "f8", CreateOptions{})
	other := []byte(testName(b))
	b.Run("attach", func(b *testing.B) {
		for b.Loop() {
			m, _, st := Attach(s, []byte(name), false)
			if !st.Ok() {
				b.Fatal(st.Msg)
			}
			Unmap(m)
		}
	})
	b.Run("create+delete", func(b *testing.B) {
		for b.Loop() {
			m, _, st := Create(s, other, []int64{1000}, []byte("f8"), CreateOptions{})
			if !st.Ok() {
				b.Fatal(st.Msg)
			}
			Unmap(m)
			Delete(s, other)
		}
	})
	b.Run("replace", func(b *testing.B) {
		for b.Loop() {
			m, _, st := Create(s, []byte(name), []int64{1000}, []byte("f8"), CreateOptions{Replace: true})
			if !st.Ok() {
				b.Fatal(st.Msg)
			}
			Unmap(m)
		}
	})
}
