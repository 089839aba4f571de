package npshm

import (
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// Array is an attached named array: a mapping of its shared memory. The mapping stays until Close,
// whatever the garbage collector does, so that the slices Bytes and View return stay valid for as
// long as the program keeps them, Array or no Array: nothing is unmapped behind the program's back.
// Close unmaps it (and must not run while another goroutine uses the array or its slices); an Array
// that is never closed stays mapped until the process exits, as with mmap-go. Neither deletes the
// array: that is Delete.
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
	format   Format

	mu       sync.Mutex
	creating bool // in CreateOptions.Init, which may not Close it
}

// CreateOptions are the choices of Create. The zero value creates a new, private (mode 0600),
// C-ordered, zero-filled array and fails if the name exists.
type CreateOptions struct {
	Replace bool        // replace an existing array of that name; its mappings stay valid
	Mode    fs.FileMode // permission bits; 0 means 0600
	Fortran bool        // lay the data out in Fortran order
	// Format is the segment format: FormatNpshm (the zero value), or a peer library's, so that
	// processes still on SharedArray or cdxcore attach the array (docs/FORMAT.md, "The peers'
	// segments"). What the format cannot carry (a dtype, Fortran order) is ErrInvalid.
	Format Format

	// NoReserve leaves the array's memory unreserved (NPSHM_NO_RESERVE in C): creating it costs
	// nothing whatever its size, and pages are allocated when first touched. If /dev/shm is full
	// then, the touch raises SIGBUS, which kills the process: for arrays used sparsely, with room to
	// spare (docs/RELIABILITY.md). By default every page is reserved at creation, and with an Init
	// too, NoReserve or not: Init writes into the memory.
	NoReserve bool

	// Init, if not nil, fills the new array before it gets its name, as npshm_create_init does in
	// C: no process can attach it unfilled (nor, with Replace, see the old array go) until Init
	// returns, and a process killed meanwhile leaves nothing under the name. Init gets the array,
	// zero-filled (View and Bytes work on it; Close does not). An error (or a panic) abandons the
	// creation: nothing is left behind, the array Replace would have replaced stays, and Create
	// returns the error (or panics). Fill and FillBytes make the usual ones.
	Init func(a *Array) error
}

// Format is the format of a segment: npshm's own, or that of a peer library, which Attach and List
// recognise and Create writes on request.
type Format int

// The segment formats (NPSHM_FORMAT_* in C, format="npshm" | "sharedarray" | "cdxcore" in Python).
const (
	FormatNpshm       Format = core.SegNpshm       // npshm's own (docs/FORMAT.md, "Segment layout")
	FormatSharedArray Format = core.SegSharedArray // SharedArray 3.x: data first, metadata at the end
	FormatCdxcore     Format = core.SegCdxcore     // cdxcore.npshm: an npio header, data at 64 bytes
)

// String is the format's name: "npshm", "sharedarray" or "cdxcore".
func (f Format) String() string { return core.FormatName(uint32(f)) }

// ParseFormat is the format of a name String gives, or ok=false.
func ParseFormat(name string) (f Format, ok bool) {
	v, ok := core.ParseFormat([]byte(name))
	return Format(v), ok
}

// AttachOptions are the choices of Attach. The zero value maps the array read-write, whatever its
// shape and dtype.
type AttachOptions struct {
	ReadOnly bool   // map the memory read-only
	Shape    []int  // if not nil, the array must have this shape (ErrMismatch); []int{} for 0-d
	Dtype    string // if not "", the array must have this dtype, in any spelling Create takes (ErrMismatch)
}

// The flags of Msync (msync(2); NPSHM_MS_* in C, npshm.MS_* in Python).
const (
	MsAsync      = core.MsAsync      // schedule the write and return
	MsSync       = core.MsSync       // write and wait
	MsInvalidate = core.MsInvalidate // with one of the above: drop other mappings' cached copies
)

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
		format:   Format(h.Format),
	}
	for i := range a.shape {
		a.shape[i] = int(h.Shape[i])
	}
	return a
}

// closedError is the error of an operation on a closed array.
func (a *Array) closedError(op string) error {
	return newError(core.Status{Code: core.ErrInvalid, Msg: "the array is closed"}, op, a.name)
}

// Bytes returns the array's data: Len()*Itemsize() bytes in C (or Fortran) order; nil once the
// array is closed. The slice shares the array's memory and is valid until Close.
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

// Format returns the array's segment format.
func (a *Array) Format() Format { return a.format }

// CreatorPID returns the process id of the array's creator (0 for a peer's segment, which does not
// record it).
func (a *Array) CreatorPID() int { return a.creator }

// Created returns the array's creation time (the Unix epoch for a peer's segment).
func (a *Array) Created() time.Time { return a.created }

// String describes the array, e.g. `npshm.Array("prices", (10, 3), <f8)`, with ", Fortran order",
// ", sharedarray format" (or cdxcore), ", read-only" or ", closed" where they apply.
func (a *Array) String() string {
	var b strings.Builder
	b.WriteString("npshm.Array(")
	b.WriteString(strconv.Quote(a.name))
	b.WriteString(", ")
	b.WriteString(FormatShape(a.shape))
	b.WriteString(", ")
	b.WriteString(a.dtype)
	if a.fortran {
		b.WriteString(", Fortran order")
	}
	if a.format != FormatNpshm {
		b.WriteString(", " + a.format.String() + " format")
	}
	if a.mapping.ReadOnly {
		b.WriteString(", read-only")
	}
	if a.mapping.Addr == 0 {
		b.WriteString(", closed")
	}
	b.WriteString(")")
	return b.String()
}

// FormatShape writes a shape as numpy does: (10, 3), (4,), () for 0-d.
func FormatShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Element is a Go type with a fixed numpy dtype, for View and Fill.
type Element interface {
	~bool | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64 | ~complex64 | ~complex128
}

// View returns the array's data as a slice of T, whose numpy dtype must be the array's (for
// example float64 for "<f8"). The slice shares the array's memory and is valid until Close.
func View[T Element](a *Array) ([]T, error) {
	var zero T
	if a.mapping.Addr == 0 {
		return nil, a.closedError("view")
	}
	if want := descrOf(zero); a.dtype != want {
		return nil, newError(core.Status{Code: core.ErrMismatch, Msg: "array dtype is " + a.dtype + ", not " + want},
			"view", a.name)
	}
	if len(a.data) == 0 {
		return []T{}, nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&a.data[0])), a.Len()), nil
}

// Fill returns a CreateOptions.Init that sets every element to v, as numpy.full does. The array's
// dtype must be T's, as for View (float64 for "float64" or "<f8"); another fails with ErrMismatch.
func Fill[T Element](v T) func(*Array) error {
	return func(a *Array) error {
		if want := descrOf(v); a.dtype != want {
			return newError(core.Status{Code: core.ErrMismatch,
				Msg: "the fill value is a " + reflect.TypeOf(v).String() + " (" + want + "), the array's dtype is " + a.dtype},
				"create", a.name)
		}
		return fillPattern(a.data, unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v)))
	}
}

// FillBytes returns a CreateOptions.Init that repeats pattern over the data: the bytes of one
// element (len(pattern) equal to the itemsize, for any dtype), or of a part of one (a length that
// divides the itemsize: a single byte sets every byte). Another length fails with ErrInvalid.
func FillBytes(pattern []byte) func(*Array) error {
	pattern = append([]byte(nil), pattern...)
	return func(a *Array) error {
		if len(pattern) == 0 || a.itemsize%len(pattern) != 0 {
			return newError(core.Status{Code: core.ErrInvalid, Num: int64(len(pattern)), HasNum: true,
				Msg: "the fill pattern must be one element (" + strconv.Itoa(a.itemsize) + " bytes) or a divisor of it, not"},
				"create", a.name)
		}
		return fillPattern(a.data, pattern)
	}
}

// fillPattern repeats pattern over data, which is zero: a pattern of zero bytes leaves the pages
// untouched.
func fillPattern(data, pattern []byte) error {
	zero := true
	for _, c := range pattern {
		zero = zero && c == 0
	}
	if zero || len(data) == 0 {
		return nil
	}
	n := copy(data, pattern)
	for n < len(data) {
		n += copy(data[n:], data[:n])
	}
	return nil
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
