//go:build linux

package core

import (
	"path/filepath"
	"testing"
)

// The core's operations run in forked children, where the Go heap must not be touched (package
// documentation): each must make no allocation at all, on success and on failure, once its
// Scratch exists.

func noAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(50, f); n != 0 {
		t.Errorf("%s: %v allocations per run, want 0", what, n)
	}
}

func TestZeroAllocs(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s := new(Scratch)
		name := []byte(testName(t))
		other := []byte(testName(t))
		file := []byte("file://" + filepath.Join(t.TempDir(), "a.seg"))
		missing := []byte(testName(t))
		shape := []int64{3, 4, 5}
		simple := []byte("float64")
		structured := []byte("[('x', 'f4'), ('y', '<i8', (3,)), ('', 'V4'), (('t', 'z'), [('a', 'M8[1s]')])]")
		bad := []byte("[('x', 'O')]")
		fail := func(st Status, want Code) {
			if st.Code != want {
				t.Fatalf("got %v %s, want %v", st.Code, st.Msg, want)
			}
		}
		ok := func(st Status) {
			if !st.Ok() {
				t.Fatalf("%v %s", st.Code, st.Msg)
			}
		}

		for _, n := range [][]byte{name, file} {
			noAllocs(t, "Create+Unmap+Delete "+string(n), func() {
				m, _, st := Create(s, n, shape, structured, CreateOptions{Fortran: true, HasMode: true, Mode: 0o640})
				ok(st)
				ok(Unmap(m))
				ok(Delete(s, n))
			})
		}
		m, _, st := Create(s, other, shape, simple, CreateOptions{})
		ok(st)
		Unmap(m)
		noAllocs(t, "Create with Replace", func() {
			m, _, st := Create(s, other, shape, simple, CreateOptions{Replace: true})
			ok(st)
			Unmap(m)
		})
		noAllocs(t, "Attach", func() {
			m, _, st := Attach(s, other, false)
			ok(st)
			Unmap(m)
			m, _, st = Attach(s, other, true)
			ok(st)
			Unmap(m)
		})
		noAllocs(t, "failures", func() {
			_, _, st := Create(s, other, shape, simple, CreateOptions{})
			fail(st, ErrExists)
			_, _, st = Create(s, missing, shape, bad, CreateOptions{})
			fail(st, ErrInvalid)
			_, _, st = Create(s, []byte("a/b"), shape, simple, CreateOptions{})
			fail(st, ErrInvalid)
			_, _, st = Attach(s, missing, true)
			fail(st, ErrNotFound)
			fail(Delete(s, missing), ErrNotFound)
		})
		var msg [256]byte
		noAllocs(t, "AppendMessage", func() {
			_, _, st := Attach(s, missing, true)
			if len(st.AppendMessage(msg[:0], "npshm_attach", missing)) == 0 {
				t.Fatal("empty message")
			}
		})
		seen := 0
		noAllocs(t, "Lister", func() {
			var l Lister
			ok(l.Open())
			for {
				e, more, st := l.Next(s)
				ok(st)
				if !more {
					break
				}
				if string(e.Name[:len(e.Name)-1]) == string(other) {
					seen++
				}
			}
			l.Close()
		})
		if seen == 0 {
			t.Error("the lister never saw the array")
		}
	})
}

func TestZeroAllocsNoIO(t *testing.T) {
	out := make([]byte, 0, MaxDescr)
	ins := [][]byte{
		[]byte("float64"), []byte(">i2"), []byte("datetime64[1s]"), []byte("U3"),
		[]byte("[('x', 'f4'), ('y', '<i8', (3,)), ('', 'V4'), ('', 'V4', 2), (\"it's\", [('a', 'M8[ns]')])]"),
		[]byte("[('x', 'O')]"), []byte("f3"), []byte(nested(20)),
	}
	noAllocs(t, "NormalizeDtype", func() {
		for _, in := range ins {
			NormalizeDtype(in, out)
		}
	})
	var hdrs [][]byte
	var sizes []uint64
	for _, sp := range []specHeader{
		validSpec(nil, "<f8", 8, false),
		validSpec([]int64{17, 5, 3}, "<i8", 8, true),
		validSpec([]int64{2}, "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]", 32, false),
		validSpec([]int64{2}, "<f4", 8, false), // refused: itemsize
	} {
		hdrs = append(hdrs, sp.encode(true))
		sizes = append(sizes, sp.segSize())
	}
	var h Header
	noAllocs(t, "Decode", func() {
		for i, b := range hdrs {
			h.Decode(b, sizes[i], out)
		}
	})
	buf := make([]byte, MaxHeaderLen)
	noAllocs(t, "Layout+Encode", func() {
		h := Header{Ndim: 3, Itemsize: 8, Descr: []byte("<f8")}
		h.Shape[0], h.Shape[1], h.Shape[2] = 3, 4, 5
		h.Layout()
		h.Encode(buf)
	})
	pathBuf := make([]byte, 0, MaxPath+len(shmDir)+2)
	names := [][]byte{[]byte("x"), []byte("shm:///x"), []byte("file:///tmp/x"), []byte("a/b")}
	noAllocs(t, "ResolveName", func() {
		for _, n := range names {
			ResolveName(n, pathBuf)
		}
	})
}
