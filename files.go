package npshm

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// Array files: cdxcore's npio format and numpy's .npy, loaded straight into shared arrays
// (docs/FORMAT.md, "Array files" and "Loading").

// ErrTruncated matches the error of a file that ends before the array its header describes (it
// also matches ErrFormat and io.ErrUnexpectedEOF). Other damaged headers match ErrFormat only.
var ErrTruncated = errors.New("npshm: file is truncated")

// ReadFileOptions are the choices of ReadFile. The zero value attaches an existing array of the
// name (which must match the file) or loads the file into a new, private (mode 0600) array.
type ReadFileOptions struct {
	ReadOnly  bool        // map the array read-only
	Exclusive bool        // fail with ErrExists if the name exists, instead of attaching to it
	Mode      fs.FileMode // permission bits of a new array; 0 means 0600
	Shape     []int       // if not nil, the array (and the file) must have this shape (ErrMismatch)
	Dtype     string      // if not "", the array (and the file) must have this dtype (ErrMismatch)
	Offset    int64       // where the array's record starts in the file
	// AcceptForeign takes an existing array of another user (uid) as the result; without it such
	// an array is ErrPermission, since another user could have made it to be written into.
	AcceptForeign bool
	// Timeout bounds the wait for another process's load of the name (an error matching ErrIO and
	// syscall.ETIMEDOUT); 0 waits without limit. The context bounds the whole call.
	Timeout time.Duration
}

// fileError is the *Error of a truncated file, which also matches ErrTruncated.
type fileError struct{ err *Error }

func (e fileError) Error() string { return e.err.Error() }

func (e fileError) Is(target error) bool {
	return target == ErrTruncated || target == io.ErrUnexpectedEOF || e.err.Is(target)
}

func (e fileError) Unwrap() error { return e.err }

func fileErr(st core.Status, op, name string) error {
	err := newError(st, op, name)
	if core.Truncated(st) {
		return fileError{err.(*Error)}
	}
	return err
}

var fileScratchPool = sync.Pool{New: func() any { return new(core.FileScratch) }}

// ReadFile attaches the array name or, if there is none, loads the array file at path (npio as
// written by cdxcore.npio.to_file, or .npy as written by numpy.save; the format is recognised by
// the file's first bytes) into a new array of that name. attached reports which. Of any number of
// processes loading one name at once, exactly one reads the file and the others attach the
// complete array; a loader that dies leaves nothing behind and blocks nobody. opts may be nil.
func ReadFile(path, name string, opts *ReadFileOptions) (a *Array, attached bool, err error) {
	return ReadFileContext(context.Background(), path, name, opts)
}

// ReadFileContext is ReadFile, stopped (with an error matching ErrIO and syscall.EINTR, nothing
// left behind) when ctx is done.
func ReadFileContext(ctx context.Context, path, name string, opts *ReadFileOptions) (a *Array, attached bool, err error) {
	var o ReadFileOptions
	if opts != nil {
		o = *opts
	}
	if st := checkMode(o.Mode); !st.Ok() {
		return nil, false, newError(st, "read file", name)
	}
	if o.Offset < 0 || strings.IndexByte(path, 0) >= 0 {
		return nil, false, newError(core.Status{Code: core.ErrInvalid, Msg: "bad offset or path"}, "read file", name)
	}
	if o.Timeout < 0 {
		return nil, false, newError(core.Status{Code: core.ErrInvalid, Msg: "timeout must not be negative"}, "read file", name)
	}
	lo := core.LoadOptions{ReadOnly: o.ReadOnly, Exclusive: o.Exclusive, AcceptForeign: o.AcceptForeign,
		Offset: uint64(o.Offset), Fill: core.FillGoroutines}
	if o.Timeout > 0 {
		lo.Timeout = max(1, o.Timeout.Milliseconds())
	}
	if o.Mode != 0 {
		lo.HasMode, lo.Mode = true, uint32(o.Mode)
	}
	if o.Shape != nil {
		lo.ExpectShape = true
		lo.Shape = make([]int64, len(o.Shape))
		for i, d := range o.Shape {
			lo.Shape[i] = int64(d)
		}
	}
	if o.Dtype != "" {
		lo.ExpectDtype = []byte(o.Dtype)
	}
	cancel := new(int32)
	if ctx.Err() != nil {
		// Already cancelled: say so now. AfterFunc would set the flag from another goroutine,
		// possibly after a small file is loaded.
		*cancel = 1
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { atomic.StoreInt32(cancel, 1) })
		defer stop()
		lo.Cancel = unsafe.Pointer(cancel)
	}
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	fsc := fileScratchPool.Get().(*core.FileScratch)
	defer fileScratchPool.Put(fsc)
	m, t, res, st := core.Load(s, fsc, append([]byte(path), 0), []byte(name), &lo)
	if !st.Ok() {
		return nil, false, fileErr(st, "read file", name)
	}
	return newArray(m, &s.Hdr, string(t.Display)), res.Attached, nil
}

// WriteFile writes the array to the file path: .npy (the bytes numpy.save writes) if path ends in
// ".npy", else npio (what cdxcore.npio.to_file writes, and what cdxcore.npio.from_file reads). The
// file appears complete or not at all. npio holds only bool, int8 to int64, uint16 to uint64,
// float16 to float64, complex64, complex128 and unit-less datetime64/timedelta64 in C order: other
// arrays fail with ErrInvalid.
func WriteFile(path string, a *Array) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mapping.Addr == 0 {
		return newError(core.Status{Code: core.ErrInvalid, Msg: "array is released"}, "write file", path)
	}
	h := core.Header{Ndim: len(a.shape), Itemsize: uint64(a.itemsize), Descr: []byte(a.dtype), DataNbytes: uint64(len(a.data))}
	for i, d := range a.shape {
		h.Shape[i] = int64(d)
	}
	if a.fortran {
		h.Flags = core.FlagFortran
	}
	format := core.FormatNpio
	if strings.HasSuffix(path, ".npy") {
		format = core.FormatNpy
	}
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	fsc := fileScratchPool.Get().(*core.FileScratch)
	defer fileScratchPool.Put(fsc)
	var data unsafe.Pointer
	if len(a.data) > 0 {
		data = unsafe.Pointer(&a.data[0])
	}
	if st := core.WriteFile(s, fsc, append([]byte(path), 0), &h, data, format); !st.Ok() {
		return newError(st, "write file", path)
	}
	return nil
}
