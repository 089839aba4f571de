//go:build linux && cgo

package capi

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// The array-file entry points on the core: npshm_read_file(_ex) (load_linux.go), and
// npshm_write_file(_data), npshm_read_file_data and npshm_encode_file_header (filedata_linux.go).
// Like the rest of capi they make no Go heap allocation: the working memory is malloc'd by cshim,
// and the file's data is copied by C threads (cshim/fill.c). The C twin's filedata.c checks the
// arguments in the same order, with the same messages.

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
		return core.MsgOptionsSizeSmallerAnyNpshmRead, false
	}
	if o.Size > readOptionsV1 {
		if o.Size > 1<<16 {
			return core.MsgOptionsSizeImplausiblyLarge, false
		}
		for _, b := range unsafe.Slice((*byte)(unsafe.Pointer(o)), o.Size)[readOptionsV1:] {
			if b != 0 {
				return core.MsgOptionsUnknownFields, false
			}
		}
	}
	return "", true
}

// ReadFile is npshm_read_file_ex (opts may be nil).
func ReadFile(path, name unsafe.Pointer, flags uint32, opts *ReadOptions, out *unsafe.Pointer) (rc int32) {
	const op = "npshm_read_file"
	defer guard(&rc, op)
	nameB, ok := cbytes(name, core.MaxNameArg)
	switch {
	case !ok:
		return invalid(op, nil, core.MsgNameNullTooLong)
	case out == nil:
		return invalid(op, nameB, core.MsgOutNull)
	case flags&^core.ReadFlags != 0:
		return fail(core.FailFlags(core.MsgUnknownFlagsReadFileTakesNpshm,
			flags, core.ReadFlags), op, nameB)
	case flags&core.ModeMask != 0 && flags&FlagHasMode == 0:
		return invalid(op, nameB, core.MsgModeBitsWithoutNpshmHasMode)
	}
	pathB, ok := cbytes(path, core.MaxPath)
	if !ok {
		return invalid(op, nameB, core.MsgPathNullTooLong)
	}
	pathZ := unsafe.Slice((*byte)(path), len(pathB)+1)
	lo := core.LoadOptions{
		ReadOnly:      flags&FlagReadOnly != 0,
		Exclusive:     flags&FlagExclusive != 0,
		AcceptForeign: flags&FlagAcceptForeign != 0,
		HasMode:       flags&FlagHasMode != 0,
		Mode:          (flags & core.ModeMask) >> core.ModeShift,
		Fill:          core.FillC,
	}
	if opts != nil {
		if msg, ok := checkReadOptions(opts); !ok {
			return invalid(op, nameB, msg)
		}
		opts.Attached, opts.End = 0, 0
		if opts.TimeoutMs < -1 {
			return fail(core.Status{Code: core.ErrInvalid, Msg: core.MsgTimeoutMsMust1Limit0,
				Num: opts.TimeoutMs, HasNum: true}, op, nameB)
		}
		lo.Timeout = opts.TimeoutMs
		if opts.ExpectShape != 0 {
			switch {
			case opts.Ndim < 0 || opts.Ndim > core.MaxNdim:
				return invalid(op, nameB, core.MsgExpectedNdimMustBetween064)
			case opts.Ndim > 0 && opts.Shape == nil:
				return invalid(op, nameB, core.MsgExpectedShapeNull)
			}
			lo.ExpectShape = true
			lo.Shape = shapeOf(opts.Shape, opts.Ndim)
		}
		if opts.Dtype != nil {
			if lo.ExpectDtype, ok = cbytes(opts.Dtype, core.MaxDtypeArg); !ok {
				return invalid(op, nameB, core.MsgExpectedDtypeTooLong)
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
		// The array is published and stays: deleting it by name could remove another process's
		// array made since, and the load itself succeeded for anyone who attaches.
		core.Unmap(m)
		return fail(loadedOutOfMemory, op, nameB)
	}
	*out = h
	return 0
}

// filePath checks the path of a file function: NULL, too long or empty are refused (without a name
// in the message, as there is no usable one).
func filePath(op string, path unsafe.Pointer) ([]byte, int32) {
	pathB, ok := cbytes(path, core.MaxPath)
	switch {
	case !ok:
		return nil, invalid(op, nil, core.MsgPathNullTooLong)
	case len(pathB) == 0:
		return nil, invalid(op, nil, core.MsgPathEmpty)
	}
	return pathB, 0
}

// dataArgs checks the geometry and flags of an array in the caller's memory; needFormat makes one
// of NPSHM_NPY and NPSHM_NPIO compulsory.
func dataArgs(ndim int32, shape, dtype unsafe.Pointer, flags uint32, needFormat bool) ([]byte, core.Status) {
	bad := func(msg string) core.Status { return core.Status{Code: core.ErrInvalid, Msg: msg} }
	switch {
	case ndim < 0 || ndim > core.MaxNdim:
		return nil, core.Status{Code: core.ErrInvalid, Msg: core.MsgNdimMustBetween064, Num: int64(ndim), HasNum: true}
	case ndim > 0 && shape == nil:
		return nil, bad(core.MsgShapeNull)
	case flags&^core.DataFlags != 0:
		return nil, core.FailFlags(core.MsgUnknownFlagsTakesNpshmFortranNpshm, flags, core.DataFlags)
	}
	switch format := flags & (FlagNpy | FlagNpio); {
	case needFormat && (format == 0 || format == FlagNpy|FlagNpio):
		return nil, bad(core.MsgGiveOneNpshmNpyNpshmNpio)
	case format == FlagNpy|FlagNpio:
		return nil, bad(core.MsgGiveNpshmNpyNpshmNpioBoth)
	}
	dtypeB, ok := cbytes(dtype, core.MaxDtypeArg)
	if !ok {
		return nil, bad(core.MsgDtypeNullTooLong)
	}
	return dtypeB, core.Status{}
}

// FileFormat is npshm_file_format: NPSHM_NPY or NPSHM_NPIO, the format written to path.
func FileFormat(path unsafe.Pointer) uint32 {
	pathB, _ := cbytes(path, core.MaxPath)
	if core.FormatOf(pathB) == core.FormatNpy {
		return FlagNpy
	}
	return FlagNpio
}

// formatOf is the file format the flags choose, or the path's (core.FormatOf).
func formatOf(flags uint32, path []byte) int {
	switch flags & (FlagNpy | FlagNpio) {
	case FlagNpy:
		return core.FormatNpy
	case FlagNpio:
		return core.FormatNpio
	}
	return core.FormatOf(path)
}

// WriteFile is npshm_write_file: npshm_write_file_data of the handle's array.
func WriteFile(path, array unsafe.Pointer) (rc int32) {
	const op = "npshm_write_file"
	defer guard(&rc, op)
	pathB, rc := filePath(op, path)
	switch {
	case rc != 0:
		return rc
	case array == nil:
		return invalid(op, pathB, core.MsgArrayNull)
	}
	data, ndim, shape, dtype, fortran := handleArray(array)
	flags := uint32(0)
	if fortran {
		flags = FlagFortran
	}
	return writeData(op, path, pathB, data, ndim, shape, dtype, flags)
}

// WriteFileData is npshm_write_file_data.
func WriteFileData(path, data unsafe.Pointer, ndim int32, shape, dtype unsafe.Pointer, flags uint32) (rc int32) {
	const op = "npshm_write_file_data"
	defer guard(&rc, op)
	pathB, rc := filePath(op, path)
	if rc != 0 {
		return rc
	}
	return writeData(op, path, pathB, data, ndim, shape, dtype, flags)
}

func writeData(op string, path unsafe.Pointer, pathB []byte, data unsafe.Pointer, ndim int32, shape, dtype unsafe.Pointer,
	flags uint32) int32 {
	dtypeB, st := dataArgs(ndim, shape, dtype, flags, false)
	if !st.Ok() {
		return fail(st, op, pathB)
	}
	s := scratch()
	fs, raw := newFileScratch()
	if s == nil || fs == nil {
		freeScratch(raw)
		return fail(outOfMemory, op, pathB)
	}
	defer freeScratch(raw)
	h := &s.Hdr
	st = h.Describe(shapeOf(shape, ndim), dtypeB, flags&FlagFortran != 0, s.Descr[:0:core.MaxDescr])
	if st.Ok() && data == nil && h.DataNbytes > 0 {
		st = core.Status{Code: core.ErrInvalid, Msg: core.MsgDataNull}
	}
	if st.Ok() {
		st = core.WriteFile(s, fs, unsafe.Slice((*byte)(path), len(pathB)+1), h, data, formatOf(flags, pathB))
	}
	if !st.Ok() {
		return fail(st, op, pathB)
	}
	return 0
}

// EncodeFileHeader is npshm_encode_file_header.
func EncodeFileHeader(buf unsafe.Pointer, capacity uint64, ndim int32, shape, dtype unsafe.Pointer, flags uint32,
	length *uint64) (rc int32) {
	const op = "npshm_encode_file_header"
	defer guard(&rc, op)
	if length == nil {
		return invalid(op, nil, core.MsgLenNull)
	}
	*length = 0
	if buf == nil && capacity > 0 {
		return invalid(op, nil, core.MsgBufNull)
	}
	dtypeB, st := dataArgs(ndim, shape, dtype, flags, true)
	if !st.Ok() {
		return fail(st, op, nil)
	}
	s := scratch()
	if s == nil {
		return fail(outOfMemory, op, nil)
	}
	h := &s.Hdr
	n := 0
	st = h.Describe(shapeOf(shape, ndim), dtypeB, flags&FlagFortran != 0, s.Descr[:0:core.MaxDescr])
	if st.Ok() {
		n, st = core.EncodeFileHeader(s.Header[:], formatOf(flags, nil), h.Descr, h.Shape[:h.Ndim], h.Fortran())
	}
	if st.Ok() && uint64(n) > capacity {
		st = core.Status{Code: core.ErrInvalid, Msg: core.MsgBufTooSmallHeaderHas, Num: int64(n), HasNum: true}
	}
	if st.Ok() {
		copy(unsafe.Slice((*byte)(buf), n), s.Header[:n])
	}
	if st.Ok() || uint64(n) > capacity {
		*length = uint64(n)
	}
	if !st.Ok() {
		return fail(st, op, nil)
	}
	return 0
}

// ReadFileData is npshm_read_file_data: fn is the caller's npshm_alloc_fn. The working memory is
// its own, as fn may call back into the library.
func ReadFileData(path unsafe.Pointer, offset uint64, fn, ctx unsafe.Pointer, end *uint64) (rc int32) {
	const op = "npshm_read_file_data"
	defer guard(&rc, op)
	if end != nil {
		*end = 0
	}
	pathB, rc := filePath(op, path)
	switch {
	case rc != 0:
		return rc
	case fn == nil:
		return invalid(op, pathB, core.MsgAllocNull)
	}
	fs, raw := newFileScratch()
	if fs == nil {
		return fail(outOfMemory, op, pathB)
	}
	defer freeScratch(raw)
	e, st := core.ReadFileData(fs, unsafe.Slice((*byte)(path), len(pathB)+1), offset, callAlloc, fn, ctx, core.FillC)
	if !st.Ok() {
		return fail(st, op, pathB)
	}
	if end != nil {
		*end = e
	}
	return 0
}
