package npshm

import (
	"io/fs"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// Array is an attached named array. Its memory stays mapped until Release, or until the Array is
// garbage collected; neither deletes the array. Slices returned by Bytes and View are valid only
// while the Array is reachable and not released: keep it alive (runtime.KeepAlive) as long as you
// use them.
type Array struct {
	name     string
	mapping  core.Mapping
	data     []byte
	shape    []int
	dtype    string
	itemsize int
	fortran  bool
	creator  int
	created  time.Time

	mu      sync.Mutex
	cleanup runtime.Cleanup
}

// CreateOptions are the choices of Create. The zero value creates a new, private (mode 0600),
// C-ordered array and fails if the name exists.
type CreateOptions struct {
	Replace bool        // replace an existing array of that name; its mappings stay valid
	Mode    fs.FileMode // permission bits; 0 means 0600
	Fortran bool        // lay the data out in Fortran order
}

// AttachOptions are the choices of Attach.
type AttachOptions struct {
	ReadOnly bool // map the memory read-only
}

var scratchPool = sync.Pool{New: func() any { return new(core.Scratch) }}

// Create makes a new zero-filled array and attaches to it. Creation is atomic: no process can attach
// a half-made array. Memory is reserved up front, so a full /dev/shm fails here with ErrNoSpace
// rather than crashing a process later. opts may be nil.
func Create(name string, shape []int, dtype string, opts *CreateOptions) (*Array, error) {
	var o CreateOptions
	if opts != nil {
		o = *opts
	}
	if st := checkMode(o.Mode); !st.Ok() {
		return nil, newError(st, "create", name)
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	copt := core.CreateOptions{Replace: o.Replace, Fortran: o.Fortran}
	if o.Mode != 0 {
		copt.HasMode, copt.Mode = true, uint32(o.Mode)
	}
	m, t, st := core.Create(s, []byte(name), dims, []byte(dtype), copt)
	if !st.Ok() {
		return nil, newError(st, "create", name)
	}
	return newArray(m, &s.Hdr, string(t.Display)), nil
}

// Attach maps an existing array after validating its header. opts may be nil.
func Attach(name string, opts *AttachOptions) (*Array, error) {
	readOnly := opts != nil && opts.ReadOnly
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	m, t, st := core.Attach(s, []byte(name), readOnly)
	if !st.Ok() {
		return nil, newError(st, "attach", name)
	}
	return newArray(m, &s.Hdr, string(t.Display)), nil
}

// Delete removes the name of an array. Existing mappings keep working; the memory is freed when the
// last one is gone.
func Delete(name string) error {
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	if st := core.Delete(s, []byte(name)); !st.Ok() {
		return newError(st, "delete", name)
	}
	return nil
}

// checkMode refuses a mode with anything but permission bits (fs.ModeSetuid, or 0o4000 given as
// if it were C's setuid bit), naming it in octal.
func checkMode(m fs.FileMode) core.Status {
	if m&^fs.ModePerm != 0 {
		return core.CheckMode(uint32(m))
	}
	return core.Status{}
}

func newArray(m core.Mapping, h *core.Header, name string) *Array {
	a := &Array{
		name:     name,
		mapping:  m,
		data:     m.Bytes()[h.DataOffset : h.DataOffset+h.DataNbytes],
		shape:    make([]int, h.Ndim),
		dtype:    string(h.Descr),
		itemsize: int(h.Itemsize),
		fortran:  h.Fortran(),
		creator:  int(h.CreatorPID),
		created:  time.Unix(0, h.CreatedNs),
	}
	for i := range a.shape {
		a.shape[i] = int(h.Shape[i])
	}
	a.cleanup = runtime.AddCleanup(a, func(m core.Mapping) { core.Unmap(m) }, m)
	return a
}

// Release unmaps the array; it does not delete it. The Array and every slice taken from it must not
// be used afterwards. Releasing twice is harmless.
func (a *Array) Release() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mapping.Addr == 0 {
		return nil
	}
	a.cleanup.Stop()
	st := core.Unmap(a.mapping)
	a.mapping, a.data = core.Mapping{}, nil
	if !st.Ok() {
		return newError(st, "release", a.name)
	}
	return nil
}

// Bytes returns the array's data: Len()*Itemsize() bytes in C (or Fortran) order.
func (a *Array) Bytes() []byte { return a.data }

// Name returns the name the array was created or attached under, without "/" or "shm://".
func (a *Array) Name() string { return a.name }

// Shape returns a copy of the array's dimensions.
func (a *Array) Shape() []int { return append([]int(nil), a.shape...) }

// Dtype returns the canonical .npy descriptor, e.g. "<f8".
func (a *Array) Dtype() string { return a.dtype }

// Itemsize returns the size of one element in bytes.
func (a *Array) Itemsize() int { return a.itemsize }

// Len returns the number of elements.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.shape {
		n *= d
	}
	return n
}

// ReadOnly reports whether the memory is mapped read-only.
func (a *Array) ReadOnly() bool { return a.mapping.ReadOnly }

// Fortran reports whether the data is in Fortran order.
func (a *Array) Fortran() bool { return a.fortran }

// CreatorPID returns the process id of the array's creator.
func (a *Array) CreatorPID() int { return a.creator }

// Created returns the array's creation time.
func (a *Array) Created() time.Time { return a.created }

// Element is a Go type with a fixed numpy dtype, for View.
type Element interface {
	~bool | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64 | ~complex64 | ~complex128
}

// View returns the array's data as a slice of T, whose numpy dtype must be the array's (for
// example float64 for "<f8"). The slice shares the array's memory; see Array for its lifetime.
func View[T Element](a *Array) ([]T, error) {
	var zero T
	want := descrOf(zero)
	if a.dtype != want {
		return nil, newError(core.Status{Code: core.ErrMismatch, Msg: "array dtype is " + a.dtype + ", not " + want},
			"view", a.name)
	}
	if len(a.data) == 0 {
		return []T{}, nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&a.data[0])), a.Len()), nil
}

// descrOf returns the native (little-endian) descriptor of an element type.
func descrOf[T Element](v T) string {
	t := reflect.TypeOf(v)
	switch t.Kind() {
	case reflect.Bool:
		return "|b1"
	case reflect.Int8:
		return "|i1"
	case reflect.Uint8:
		return "|u1"
	case reflect.Complex64:
		return "<c8"
	case reflect.Complex128:
		return "<c16"
	case reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "<u" + strconv.Itoa(int(t.Size()))
	case reflect.Float32, reflect.Float64:
		return "<f" + strconv.Itoa(int(t.Size()))
	}
	return "<i" + strconv.Itoa(int(t.Size()))
}
