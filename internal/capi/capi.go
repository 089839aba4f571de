//go:build linux && cgo

// Package capi implements the C ABI's entry points (include/npshm.h) on the core. Package export
// only converts C types and calls these functions.
//
// They never run in a forked child: there export/dispatch.c calls the C twin (internal/ctwin)
// instead, because the Go runtime cannot be entered (docs/DESIGN.md, "Fork"). They still make no
// Go heap allocation and start no goroutine, which keeps the C ABI's calls cheap and free of
// garbage-collector work: C strings are read in place, working memory comes from cshim (malloc),
// handles are C structs, errors go into a C thread-local buffer (bridge.go). capi_test.go asserts
// zero allocations.
package capi

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// cbytes returns the C string at p without its NUL, or ok=false if p is NULL or the string is
// longer than limit.
func cbytes(p unsafe.Pointer, limit int) (b []byte, ok bool) {
	if p == nil {
		return nil, false
	}
	for i := 0; i <= limit; i++ {
		if *(*byte)(unsafe.Add(p, i)) == 0 {
			return unsafe.Slice((*byte)(p), i), true
		}
	}
	return nil, false
}

// guard turns a panic into an error status, so that none crosses into C.
func guard(rc *int32, op string) {
	if r := recover(); r != nil {
		*rc = fail(core.Status{Code: core.ErrIO, Msg: "internal error (please report)"}, op, nil)
	}
}

func invalid(op string, name []byte, msg string) int32 {
	return fail(core.Status{Code: core.ErrInvalid, Msg: msg}, op, name)
}

func shapeOf(shape unsafe.Pointer, ndim int32) []int64 {
	if ndim <= 0 || shape == nil {
		return nil
	}
	return unsafe.Slice((*int64)(shape), ndim)
}

// Create is npshm_create.
func Create(name unsafe.Pointer, ndim int32, shape unsafe.Pointer, dtype unsafe.Pointer, flags uint32,
	out *unsafe.Pointer) (rc int32) {
	const op = "npshm_create"
	defer guard(&rc, op)
	return create(op, name, ndim, shape, dtype, flags, nil, nil, out)
}

// CreateInit is npshm_create_init: fn (an npshm_init_fn, not NULL) fills the data before the array
// is published. It has scratch memory of its own because fn may call back into the library.
func CreateInit(name unsafe.Pointer, ndim int32, shape unsafe.Pointer, dtype unsafe.Pointer, flags uint32,
	fn, ctx unsafe.Pointer, out *unsafe.Pointer) (rc int32) {
	const op = "npshm_create_init"
	defer guard(&rc, op)
	if fn == nil {
		nameB, _ := cbytes(name, core.MaxNameArg)
		return invalid(op, nameB, core.MsgInitNull)
	}
	return create(op, name, ndim, shape, dtype, flags, fn, ctx, out)
}

func create(op string, name unsafe.Pointer, ndim int32, shape unsafe.Pointer, dtype unsafe.Pointer, flags uint32,
	fn, ctx unsafe.Pointer, out *unsafe.Pointer) int32 {
	nameB, ok := cbytes(name, core.MaxNameArg)
	switch {
	case !ok:
		return invalid(op, nil, core.MsgNameNullTooLong)
	case out == nil:
		return invalid(op, nameB, core.MsgOutNull)
	case ndim < 0 || ndim > core.MaxNdim:
		return fail(core.Status{Code: core.ErrInvalid, Msg: core.MsgNdimMustBetween064,
			Num: int64(ndim), HasNum: true}, op, nameB)
	case ndim > 0 && shape == nil:
		return invalid(op, nameB, core.MsgShapeNull)
	case flags&^core.CreateFlags != 0:
		return fail(core.FailFlags(core.MsgUnknownFlagsNpshmReadonlyAppliesAttach, flags, core.CreateFlags), op, nameB)
	case flags&core.ModeMask != 0 && flags&FlagHasMode == 0:
		return invalid(op, nameB, core.MsgModeBitsWithoutNpshmHasMode)
	case flags&core.FormatFlags == core.FormatFlags:
		return invalid(op, nameB, core.MsgTwoFormats)
	}
	dtypeB, ok := cbytes(dtype, core.MaxDtypeArg)
	if !ok {
		return invalid(op, nameB, core.MsgDtypeNullTooLong)
	}
	s := scratch()
	opt := core.CreateOptions{
		Replace:   flags&FlagReplace != 0,
		Fortran:   flags&FlagFortran != 0,
		NoReserve: flags&FlagNoReserve != 0,
		HasMode:   flags&FlagHasMode != 0,
		Mode:      (flags & core.ModeMask) >> core.ModeShift,
		Format:    flags & core.FormatFlags,
	}
	if fn != nil {
		var raw unsafe.Pointer
		s, raw = newScratch()
		defer freeScratch(raw)
		opt.Init, opt.InitA, opt.InitB = callInit, fn, ctx
	}
	if s == nil {
		return fail(outOfMemory, op, nameB)
	}
	// The handle is made before the array: short of memory for it after the array is published,
	// the only clean-up would be a delete by name, which could remove another process's array by
	// then. The name it shows is part of the name given; a dtype that does not parse fails Create.
	var h unsafe.Pointer
	if descr, _, st := core.NormalizeDtype(dtypeB, s.Descr[:0:core.MaxDescr]); st.Ok() {
		if h = allocHandle(len(descr), len(nameB)); h == nil {
			return fail(outOfMemory, op, nameB)
		}
	}
	m, t, st := core.Create(s, nameB, shapeOf(shape, ndim), dtypeB, opt)
	if !st.Ok() {
		if h != nil {
			freeHandle(h)
		}
		return fail(st, op, nameB)
	}
	fillHandle(h, m, &s.Hdr, t.Display)
	*out = h
	return 0
}

// Attach is npshm_attach, and with expect set npshm_attach_expect.
func Attach(name unsafe.Pointer, flags uint32, expect bool, ndim int32, shape unsafe.Pointer,
	dtype unsafe.Pointer, out *unsafe.Pointer) (rc int32) {
	op := "npshm_attach"
	if expect {
		op = "npshm_attach_expect"
	}
	defer guard(&rc, op)
	nameB, ok := cbytes(name, core.MaxNameArg)
	switch {
	case !ok:
		return invalid(op, nil, core.MsgNameNullTooLong)
	case out == nil:
		return invalid(op, nameB, core.MsgOutNull)
	case flags&^core.AttachFlags != 0:
		return fail(core.FailFlags(core.MsgUnknownFlagsOnlyNpshmReadonlyApplies, flags, core.AttachFlags), op, nameB)
	case expect && (ndim < -1 || ndim > core.MaxNdim):
		return invalid(op, nameB, core.MsgExpectedNdimMust1AnyBetween)
	case expect && ndim > 0 && shape == nil:
		return invalid(op, nameB, core.MsgExpectedShapeNull)
	}
	var dtypeB []byte
	if expect && dtype != nil {
		if dtypeB, ok = cbytes(dtype, core.MaxDtypeArg); !ok {
			return invalid(op, nameB, core.MsgExpectedDtypeTooLong)
		}
	}
	s := scratch()
	if s == nil {
		return fail(outOfMemory, op, nameB)
	}
	m, t, st := core.Attach(s, nameB, flags&FlagReadOnly != 0)
	if !st.Ok() {
		return fail(st, op, nameB)
	}
	if expect {
		st := core.CheckExpected(&s.Hdr, ndim >= 0, shapeOf(shape, ndim), dtypeB, s.Descr[:0:core.MaxDescr])
		if !st.Ok() {
			core.Unmap(m)
			return fail(st, op, nameB)
		}
	}
	h := newHandle(m, &s.Hdr, t.Display)
	if h == nil {
		core.Unmap(m)
		return fail(outOfMemory, op, nameB)
	}
	*out = h
	return 0
}

// Delete is npshm_delete.
func Delete(name unsafe.Pointer) (rc int32) {
	const op = "npshm_delete"
	defer guard(&rc, op)
	nameB, ok := cbytes(name, core.MaxNameArg)
	if !ok {
		return invalid(op, nil, core.MsgNameNullTooLong)
	}
	s := scratch()
	if s == nil {
		return fail(outOfMemory, op, nameB)
	}
	if st := core.Delete(s, nameB); !st.Ok() {
		return fail(st, op, nameB)
	}
	return 0
}

// List is npshm_list. It has scratch memory of its own because fn may call back into the library.
func List(fn, ctx unsafe.Pointer) (rc int32) {
	const op = "npshm_list"
	defer guard(&rc, op)
	if fn == nil {
		return invalid(op, nil, core.MsgFnNull)
	}
	s, raw := newScratch()
	if s == nil {
		return fail(outOfMemory, op, nil)
	}
	defer freeScratch(raw)
	var l core.Lister
	if st := l.Open(); !st.Ok() {
		return fail(st, op, nil)
	}
	defer l.Close()
	for {
		e, ok, st := l.Next(s)
		if !st.Ok() {
			return fail(st, op, nil)
		}
		if !ok {
			return 0
		}
		n := copy(s.Descr[:core.MaxDescr], s.Hdr.Descr)
		s.Descr[n] = 0
		if r := callList(fn, ctx, e, &s.Hdr, s.Descr[:n+1]); r != 0 {
			return r
		}
	}
}
