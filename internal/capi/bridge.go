//go:build linux && cgo

package capi

// The bridge to cshim's C runtime (cshim/cshim.h): this thread's scratch memory and error, C
// handles, the user's callbacks, and the parallel fill of loads, all without allocating on the Go
// heap.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/../../cshim -O2 -Wall -Wextra -std=gnu11
#include <stdint.h>
#include <stdlib.h>
#include "cshim.h"

static int npshm__call_init(void *fn, void *ctx, void *data, size_t nbytes) {
    return ((npshm_init_fn)fn)(data, nbytes, ctx);
}
*/
import "C"

import (
	"unsafe"

	_ "github.com/npshm/npshm/cshim" // the C functions of cshim.h
	"github.com/npshm/npshm/internal/core"
	"golang.org/x/sys/unix"
)

var scratchSize = C.size_t(unsafe.Sizeof(core.Scratch{}))

// scratch returns this thread's scratch memory, or nil if it cannot be allocated.
func scratch() *core.Scratch {
	return (*core.Scratch)(C.npshm__scratch(scratchSize))
}

// newScratch returns scratch memory, and the handle to free it with freeScratch; nil if out of memory.
func newScratch() (*core.Scratch, unsafe.Pointer) {
	p := C.npshm__scratch_new(scratchSize)
	return (*core.Scratch)(p), p
}

// freeScratch frees scratch memory from newScratch.
func freeScratch(p unsafe.Pointer) { C.npshm__scratch_free(p) }

// fail records st as this thread's last error, as "op("name"): message", and returns its code.
func fail(st core.Status, op string, name []byte) int32 {
	buf := unsafe.Slice((*byte)(unsafe.Pointer(C.npshm__errbuf())), int(C.npshm__errbuf_cap())+1)
	msg := st.AppendMessage(buf[:0:len(buf)-1], op, name)
	buf[len(msg)] = 0
	C.npshm__set_errno(C.int(st.Errno))
	return int32(st.Code)
}

// outOfMemory is the status for a failed malloc.
var outOfMemory = core.Status{Code: core.ErrNoSpace, Errno: 12, Msg: core.MsgOutMemory}

// loadedOutOfMemory is the status of a load that published its array but found no memory for the
// caller's handle (internal/ctwin's load_new says the same).
var loadedOutOfMemory = core.Status{Code: core.ErrNoSpace, Errno: 12, Msg: core.MsgOutMemoryArrayLoadedStays}

// newHandle makes a C handle for a mapping whose header is h. It returns nil if out of memory.
func newHandle(m core.Mapping, h *core.Header, name []byte) unsafe.Pointer {
	a := allocHandle(len(h.Descr), len(name))
	if a != nil {
		fillHandle(a, m, h, name)
	}
	return a
}

// allocHandle makes an empty C handle with room for a descriptor and a name of these lengths; nil
// if out of memory. Free it with freeHandle until fillHandle has given it a mapping.
func allocHandle(descrLen, nameLen int) unsafe.Pointer {
	return unsafe.Pointer(C.npshm__handle_new(C.size_t(descrLen), C.size_t(nameLen)))
}

// freeHandle frees a handle of allocHandle that has no mapping.
func freeHandle(p unsafe.Pointer) { C.npshm__handle_free((*C.npshm_array)(p)) }

// fillHandle fills a handle of allocHandle (with room for h.Descr and name) for a mapping whose
// header is h.
func fillHandle(p unsafe.Pointer, m core.Mapping, h *core.Header, name []byte) {
	a := (*C.npshm_array)(p)
	a.base = m.Ptr()
	a.maplen = C.size_t(m.Len)
	a.data = unsafe.Add(m.Ptr(), h.DataOffset)
	a.nbytes = C.size_t(h.DataNbytes)
	a.itemsize = C.size_t(h.Itemsize)
	a.ndim = C.int(h.Ndim)
	a.device = C.uint64_t(m.Dev)
	a.inode = C.uint64_t(m.Ino)
	a.created_ns = C.int64_t(h.CreatedNs)
	a.creator_pid = C.int64_t(h.CreatorPID)
	if m.ReadOnly {
		a.readonly = 1
	}
	if h.Fortran() {
		a.fortran = 1
	}
	a.format = C.uint(h.Format)
	for i := 0; i < h.Ndim; i++ {
		a.shape[i] = C.int64_t(h.Shape[i])
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(a.dtype)), len(h.Descr)), h.Descr)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(a.name)), len(name)), name)
}

// callList calls a user's npshm_list_fn with the entry e, whose header is h; descr must be a
// NUL-terminated copy of the descriptor.
func callList(fn, ctx unsafe.Pointer, e core.ListEntry, h *core.Header, descr []byte) int32 {
	return int32(C.npshm__call_list(fn, ctx, (*C.char)(unsafe.Pointer(&e.Name[0])),
		(*C.char)(unsafe.Pointer(&descr[0])), C.int(h.Ndim), (*C.int64_t)(unsafe.Pointer(&h.Shape[0])),
		C.size_t(h.Itemsize), C.size_t(h.DataNbytes), C.uint(e.Mode), C.uint(e.UID),
		C.int64_t(h.CreatorPID), C.int64_t(h.CreatedNs), C.int(h.Flags&core.FlagFortran), C.uint(h.Format)))
}

// callInit is the core's InitFunc for npshm_create_init: it calls the user's npshm_init_fn fn with
// the new array's data and ctx.
func callInit(data unsafe.Pointer, n uint64, fn, ctx unsafe.Pointer) int32 {
	return int32(C.npshm__call_init(fn, ctx, data, C.size_t(n)))
}

// Array files: the C ABI's side of core.Load and core.WriteFile.

// cFill is core.CFill: the copy in C threads (cshim/fill.c), allocation-free in Go.
func cFill(src int, off uint64, dst unsafe.Pointer, n uint64, dstFd int, dstOff uint64, cancel unsafe.Pointer) unix.Errno {
	return unix.Errno(C.npshm__fill(C.int(src), C.uint64_t(off), dst, C.uint64_t(n), C.int(dstFd),
		C.uint64_t(dstOff), (*C.int)(cancel)))
}

// guardOpen and guardClose are core.Guard: a load's descriptors under cshim's fork guard.
func guardOpen(dirfd int, path []byte, flags int, mode uint32) (int, unix.Errno) {
	r := C.npshm__guard_open(C.int(dirfd), (*C.char)(unsafe.Pointer(&path[0])), C.int(flags), C.uint(mode))
	if r < 0 {
		return -1, unix.Errno(-r)
	}
	return int(r), 0
}

func guardClose(fd int) { C.npshm__guard_close(C.int(fd)) }

var fileScratchSize = C.size_t(unsafe.Sizeof(core.FileScratch{}))

// newFileScratch returns C memory for a load or a write, and the handle to free it with
// freeScratch; nil if out of memory.
func newFileScratch() (*core.FileScratch, unsafe.Pointer) {
	p := C.npshm__scratch_new(fileScratchSize)
	return (*core.FileScratch)(p), p
}

// callAlloc is the core's AllocFunc for npshm_read_file_data: it calls the caller's npshm_alloc_fn
// fn with ctx and the file's header (fh.Descr is NUL-terminated).
func callAlloc(fh *core.FileHeader, fn, ctx unsafe.Pointer) (unsafe.Pointer, int32) {
	format := C.uint(FlagNpio)
	if fh.Format == core.FormatNpy {
		format = FlagNpy
	}
	r := C.npshm__call_alloc(fn, ctx, format, C.int(fh.Ndim), (*C.int64_t)(unsafe.Pointer(&fh.Shape[0])),
		(*C.char)(unsafe.Pointer(unsafe.SliceData(fh.Descr))), C.size_t(fh.Itemsize), C.size_t(fh.DataNbytes),
		C.int(b2i(fh.Fortran)))
	return r.data, int32(r.rc)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// handleArray returns what npshm_write_file_data needs of a handle's array.
func handleArray(p unsafe.Pointer) (data unsafe.Pointer, ndim int32, shape, dtype unsafe.Pointer, fortran bool) {
	a := (*C.npshm_array)(p)
	return a.data, int32(a.ndim), unsafe.Pointer(&a.shape[0]), unsafe.Pointer(a.dtype), a.fortran != 0
}
