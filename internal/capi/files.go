//go:build linux && cgo

package capi

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// npshm_read_file, npshm_read_file_ex and npshm_write_file on the core (load_linux.go). Like the rest
// of capi they make no Go heap allocation: the working memory is malloc'd by cshim, and the file's
// data is copied by C threads (cshim/fill.c).

// Flags of npshm_read_file, as in include/npshm.h.
const (
	FlagExclusive = 0x10
	readFlags     = FlagReadOnly | FlagExclusive | FlagHasMode | modeMask
)

func init() { core.CFill = cFill }

// ReadOptions mirrors struct npshm_read_options (export/dispatch.c checks the layout).
type ReadOptions struct {
	ExpectShape int32
	Ndim        int32
	Shape       unsafe.Pointer
	Dtype       unsafe.Pointer
	Offset      uint64
	Cancel      unsafe.Pointer
	Attached    int32
	_           int32
	End         uint64
}

// ReadFile is npshm_read_file_ex (opts may be nil).
func ReadFile(path, name unsafe.Pointer, flags uint32, opts *ReadOptions, out *unsafe.Pointer) (rc int32) {
	const op = "npshm_read_file"
	defer guard(&rc, op)
	nameB, ok := cbytes(name, maxName)
	switch {
	case !ok:
		return invalid(op, nil, "name is NULL or too long")
	case out == nil:
		return invalid(op, nameB, "out is NULL")
	case flags&^readFlags != 0:
		return invalid(op, nameB, "unknown flags (read_file takes NPSHM_READONLY, NPSHM_EXCLUSIVE and a mode)")
	}
	pathB, ok := cbytes(path, core.MaxPath)
	if !ok {
		return invalid(op, nameB, "path is NULL or too long")
	}
	pathZ := unsafe.Slice((*byte)(path), len(pathB)+1)
	lo := core.LoadOptions{
		ReadOnly:  flags&FlagReadOnly != 0,
		Exclusive: flags&FlagExclusive != 0,
		HasMode:   flags&FlagHasMode != 0,
		Mode:      (flags & modeMask) >> modeShift,
		Fill:      core.FillC,
	}
	if opts != nil {
		opts.Attached, opts.End = 0, 0
		if opts.ExpectShape != 0 {
			switch {
			case opts.Ndim < 0 || opts.Ndim > core.MaxNdim:
				return invalid(op, nameB, "expected ndim must be between 0 and 64")
			case opts.Ndim > 0 && opts.Shape == nil:
				return invalid(op, nameB, "expected shape is NULL")
			}
			lo.ExpectShape = true
			lo.Shape = shapeOf(opts.Shape, opts.Ndim)
		}
		if opts.Dtype != nil {
			if lo.ExpectDtype, ok = cbytes(opts.Dtype, maxDtype); !ok {
				return invalid(op, nameB, "expected dtype is too long")
			}
		}
		lo.Offset, lo.Cancel = opts.Offset, opts.Cancel
	}
	s := scratch()
	fs, raw := newFileScratch()
	if s == nil || fs == nil {
		freeScratch(raw)
		return fail(outOfMemory, op, nameB)
	}
	defer freeScratch(raw)
	m, t, res, st := core.Load(s, fs, pathZ, nameB, &lo)
	if !st.Ok() {
		return fail(st, op, nameB)
	}
	if opts != nil {
		if res.Attached {
			opts.Attached = 1
		}
		opts.End = res.End
	}
	h := newHandle(m, &s.Hdr, t.Display)
	if h == nil {
		core.Unmap(m)
		if !res.Attached {
			core.Delete(s, nameB)
		}
		return fail(outOfMemory, op, nameB)
	}
	*out = h
	return 0
}

// WriteFile is npshm_write_file.
func WriteFile(path, array unsafe.Pointer) (rc int32) {
	const op = "npshm_write_file"
	defer guard(&rc, op)
	pathB, ok := cbytes(path, core.MaxPath)
	switch {
	case !ok:
		return invalid(op, nil, "path is NULL or too long")
	case len(pathB) == 0:
		return invalid(op, nil, "path is empty")
	case array == nil:
		return invalid(op, pathB, "array is NULL")
	}
	s := scratch()
	fs, raw := newFileScratch()
	if s == nil || fs == nil {
		freeScratch(raw)
		return fail(outOfMemory, op, pathB)
	}
	defer freeScratch(raw)
	format := core.FormatNpio
	if n := len(pathB); n >= 4 && string(pathB[n-4:]) == ".npy" {
		format = core.FormatNpy
	}
	h := &s.Hdr
	data := handleHeader(array, h)
	if st := core.WriteFile(s, fs, unsafe.Slice((*byte)(path), len(pathB)+1), h, data, format); !st.Ok() {
		return fail(st, op, pathB)
	}
	return 0
}
