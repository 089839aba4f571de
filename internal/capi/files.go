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
	FlagExclusive     = 0x10
	FlagAcceptForeign = 0x20
	readFlags         = FlagReadOnly | FlagExclusive | FlagAcceptForeign | FlagHasMode | modeMask
)

func init() {
	core.CFill = cFill
	core.Guard = core.ForkGuard{Open: guardOpen, Close: guardClose}
}

// ReadOptions mirrors struct npshm_read_options (export/dispatch.c checks the layout). The caller
// sets Size to the size of the struct it was compiled with: fields beyond it are taken as zero, and
// bytes beyond ours must be zero (fields of a later version that this library cannot honour).
type ReadOptions struct {
	Size        uintptr
	ExpectShape int32
	Ndim        int32
	Shape       unsafe.Pointer
	Dtype       unsafe.Pointer
	Offset      uint64
	Cancel      unsafe.Pointer
	TimeoutMs   int64
	Attached    int32
	_           int32
	End         uint64
}

// readOptionsV1 is the size of the first version of npshm_read_options, the smallest accepted.
const readOptionsV1 = unsafe.Sizeof(ReadOptions{})

// checkReadOptions validates the caller's struct size (see ReadOptions).
func checkReadOptions(o *ReadOptions) (msg string, ok bool) {
	if o.Size < readOptionsV1 {
		return "options.size is smaller than any npshm_read_options (set it with NPSHM_READ_OPTIONS_INIT)", false
	}
	if o.Size > readOptionsV1 {
		if o.Size > 1<<16 {
			return "options.size is implausibly large", false
		}
		for _, b := range unsafe.Slice((*byte)(unsafe.Pointer(o)), o.Size)[readOptionsV1:] {
			if b != 0 {
				return "options set fields this version of the library does not know", false
			}
		}
	}
	return "", true
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
		return invalid(op, nameB, "unknown flags (read_file takes NPSHM_READONLY, NPSHM_EXCLUSIVE, NPSHM_ACCEPT_FOREIGN and a mode)")
	case flags&modeMask != 0 && flags&FlagHasMode == 0:
		return invalid(op, nameB, "mode bits without NPSHM_HAS_MODE (use NPSHM_MODE(perm))")
	}
	pathB, ok := cbytes(path, core.MaxPath)
	if !ok {
		return invalid(op, nameB, "path is NULL or too long")
	}
	pathZ := unsafe.Slice((*byte)(path), len(pathB)+1)
	lo := core.LoadOptions{
		ReadOnly:      flags&FlagReadOnly != 0,
		Exclusive:     flags&FlagExclusive != 0,
		AcceptForeign: flags&FlagAcceptForeign != 0,
		HasMode:       flags&FlagHasMode != 0,
		Mode:          (flags & modeMask) >> modeShift,
		Fill:          core.FillC,
	}
	if opts != nil {
		if msg, ok := checkReadOptions(opts); !ok {
			return invalid(op, nameB, msg)
		}
		opts.Attached, opts.End = 0, 0
		if opts.TimeoutMs < -1 {
			return fail(core.Status{Code: core.ErrInvalid, Msg: "timeout_ms must be -1 (no limit), 0 (the default: no limit) or positive, not",
				Num: opts.TimeoutMs, HasNum: true}, op, nameB)
		}
		lo.Timeout = opts.TimeoutMs
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
