package npshm

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

var fileScratchPool = sync.Pool{New: func() any { return new(core.FileScratch) }}

// ReadFileContext is ReadFile, stopped (with an error matching ErrIO and syscall.EINTR, nothing
// left behind) when ctx is done.
func ReadFileContext(ctx context.Context, path, name string, opts *ReadFileOptions) (a *Array, attached bool, err error) {
	var o ReadFileOptions
	if opts != nil {
		o = *opts
	}
	if o.Mode&^fs.ModePerm != 0 {
		return nil, false, newError(core.CheckMode(uint32(o.Mode)), "read file", name)
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
		return newError(core.Status{Code: core.ErrInvalid, Msg: "the array is closed"}, "write file", path)
	}
	h := core.Header{Ndim: len(a.shape), Itemsize: uint64(a.itemsize), Descr: []byte(a.dtype), DataNbytes: uint64(len(a.data))}
	for i, d := range a.shape {
		h.Shape[i] = int64(d)
	}
	if a.fortran {
		h.Flags = core.FlagFortran
	}
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	fsc := fileScratchPool.Get().(*core.FileScratch)
	defer fileScratchPool.Put(fsc)
	var data unsafe.Pointer
	if len(a.data) > 0 {
		data = unsafe.Pointer(&a.data[0])
	}
	if st := core.WriteFile(s, fsc, append([]byte(path), 0), &h, data, core.FormatOf([]byte(path))); !st.Ok() {
		return newError(st, "write file", path)
	}
	return nil
}
