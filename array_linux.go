package npshm

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

var scratchPool = sync.Pool{New: func() any { return new(core.Scratch) }}

// Create makes a new array, zero-filled or filled by opts.Init, and attaches to it. Creation is
// atomic: no process can attach a half-made array. Memory is reserved up front, so a full /dev/shm
// fails here with ErrNoSpace rather than crashing a process later. opts may be nil.
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
	// Init writes into the memory (Fill, FillBytes, the command line's --fill): unreserved, a write
	// that finds /dev/shm full would raise SIGBUS here, so NoReserve is for zero-filled arrays.
	noReserve := o.NoReserve && o.Init == nil
	copt := core.CreateOptions{Replace: o.Replace, Fortran: o.Fortran, NoReserve: noReserve, Format: uint32(o.Format)}
	if o.Mode != 0 {
		copt.HasMode, copt.Mode = true, uint32(o.Mode)
	}
	var call *initCall
	if o.Init != nil {
		call = &initCall{fn: o.Init, name: name, s: s}
		copt.Init, copt.InitA = runInit, unsafe.Pointer(call)
	}
	m, t, st := core.Create(s, []byte(name), dims, []byte(dtype), copt)
	if call != nil {
		return call.finish(m, t, st)
	}
	if !st.Ok() {
		return nil, newError(st, "create", name)
	}
	return newArray(m, &s.Hdr, string(t.Display)), nil
}

// initCall carries CreateOptions.Init through the core's creation, which calls runInit between
// reserving the memory and publishing it.
type initCall struct {
	fn       func(*Array) error
	name     string
	s        *core.Scratch
	a        *Array // the array Init filled
	err      error  // what Init returned
	panicked any    // what Init panicked with, to panic with again once the core has cleaned up
}

func runInit(data unsafe.Pointer, n uint64, ctx, _ unsafe.Pointer) (rc int32) {
	c := (*initCall)(ctx)
	h := &c.s.Hdr
	m := core.Mapping{Addr: uintptr(data) - uintptr(h.DataOffset), Len: h.SegmentSize()}
	c.a = newArray(m, h, c.name)
	c.a.creating = true
	defer func() {
		c.a.creating = false
		if r := recover(); r != nil {
			c.panicked, rc = r, 1
		}
	}()
	if c.err = c.fn(c.a); c.err != nil {
		return 1
	}
	return 0
}

// finish returns what Create returns after an Init: the filled array, Init's error, or the core's.
func (c *initCall) finish(m core.Mapping, t core.Target, st core.Status) (*Array, error) {
	if !st.Ok() && c.a != nil {
		c.a.mapping, c.a.data = core.Mapping{}, nil // the core unmapped it
	}
	switch {
	case c.panicked != nil:
		panic(c.panicked)
	case c.err != nil:
		var e *Error
		if errors.As(c.err, &e) {
			return nil, c.err
		}
		return nil, fmt.Errorf("npshm create(%q): init: %w", c.name, c.err)
	case !st.Ok():
		return nil, newError(st, "create", c.name)
	}
	c.a.name, c.a.mapping = string(t.Display), m
	return c.a, nil
}

// Attach maps an existing array after validating its header, and checks the shape and dtype opts
// expects. opts may be nil.
func Attach(name string, opts *AttachOptions) (*Array, error) {
	var o AttachOptions
	if opts != nil {
		o = *opts
	}
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	m, t, st := core.Attach(s, []byte(name), o.ReadOnly)
	if !st.Ok() {
		return nil, newError(st, "attach", name)
	}
	if o.Shape != nil || o.Dtype != "" {
		var shape []int64
		if o.Shape != nil {
			shape = make([]int64, len(o.Shape))
			for i, d := range o.Shape {
				shape[i] = int64(d)
			}
		}
		var dtype []byte
		if o.Dtype != "" {
			dtype = []byte(o.Dtype)
		}
		if st := core.CheckExpected(&s.Hdr, o.Shape != nil, shape, dtype, s.Descr[:0:core.MaxDescr]); !st.Ok() {
			core.Unmap(m)
			return nil, newError(st, "attach", name)
		}
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

// Close unmaps the array (npshm_release in C); it does not delete it. The Array and every slice
// taken from it must not be used afterwards. Closing twice is harmless.
func (a *Array) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.creating {
		return newError(core.Status{Code: core.ErrInvalid, Msg: "an array cannot be closed by its CreateOptions.Init"},
			"close", a.name)
	}
	if a.mapping.Addr == 0 {
		return nil
	}
	st := core.Unmap(a.mapping)
	a.mapping, a.data = core.Mapping{}, nil
	if !st.Ok() {
		return newError(st, "close", a.name)
	}
	return nil
}

// Msync flushes the array's memory to its file (msync(2) over the whole mapping; of use for
// file:// arrays): flags MsSync or MsAsync, optionally with MsInvalidate.
func (a *Array) Msync(flags int) error {
	return a.memory("msync", func(m core.Mapping) core.Status { return core.Msync(m, flags) })
}

// Mlock locks the array's pages into memory (mlock(2)), within RLIMIT_MEMLOCK: a refusal is
// ErrPermission, an exhausted limit ErrNoSpace.
func (a *Array) Mlock() error { return a.memory("mlock", core.Mlock) }

// Munlock undoes Mlock (munlock(2)).
func (a *Array) Munlock() error { return a.memory("munlock", core.Munlock) }

func (a *Array) memory(op string, call func(core.Mapping) core.Status) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mapping.Addr == 0 {
		return a.closedError(op)
	}
	if st := call(a.mapping); !st.Ok() {
		return newError(st, op, a.name)
	}
	return nil
}
