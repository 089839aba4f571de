// Package cshim is the C half of libnpshm: the handle layout, the accessors, per-thread error
// state and scratch memory. Its Go functions let the exported entry points (package export) use
// that C state without allocating on the Go heap, which keeps them usable in a forked child.
package cshim

/*
#cgo CFLAGS: -I${SRCDIR}/../include -O2 -Wall -Wextra -std=gnu11
#include <stdlib.h>
#include "npshm_shim.h"
*/
import "C"

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

var scratchSize = C.size_t(unsafe.Sizeof(core.Scratch{}))

// Scratch returns this thread's scratch memory, or nil if it cannot be allocated.
func Scratch() *core.Scratch {
	return (*core.Scratch)(C.npshm__scratch(scratchSize))
}

// NewScratch returns scratch memory, and the handle to free it with FreeScratch; nil if out of memory.
func NewScratch() (*core.Scratch, unsafe.Pointer) {
	p := C.npshm__scratch_new(scratchSize)
	return (*core.Scratch)(p), p
}

// FreeScratch frees scratch memory from NewScratch.
func FreeScratch(p unsafe.Pointer) { C.npshm__scratch_free(p) }

// Fail records st as this thread's last error, as "op("name"): message", and returns its code.
func Fail(st core.Status, op string, name []byte) int32 {
	buf := unsafe.Slice((*byte)(unsafe.Pointer(C.npshm__errbuf())), int(C.npshm__errbuf_cap())+1)
	msg := st.AppendMessage(buf[:0:len(buf)-1], op, name)
	buf[len(msg)] = 0
	C.npshm__set_errno(C.int(st.Errno))
	return int32(st.Code)
}

// OutOfMemory is the status for a failed malloc.
var OutOfMemory = core.Status{Code: core.ErrNoSpace, Errno: 12, Msg: "out of memory"}

// NewHandle makes a C handle for a mapping whose header is h. It returns nil if out of memory.
func NewHandle(m core.Mapping, h *core.Header, name []byte) unsafe.Pointer {
	a := C.npshm__handle_new(C.size_t(len(h.Descr)), C.size_t(len(name)))
	if a == nil {
		return nil
	}
	a.base = m.Ptr()
	a.maplen = C.size_t(m.Len)
	a.data = unsafe.Add(m.Ptr(), h.DataOffset)
	a.nbytes = C.size_t(h.DataNbytes)
	a.itemsize = C.size_t(h.Itemsize)
	a.ndim = C.int(h.Ndim)
	if m.ReadOnly {
		a.readonly = 1
	}
	if h.Fortran() {
		a.fortran = 1
	}
	for i := 0; i < h.Ndim; i++ {
		a.shape[i] = C.int64_t(h.Shape[i])
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(a.dtype)), len(h.Descr)), h.Descr)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(a.name)), len(name)), name)
	return unsafe.Pointer(a)
}

// CallList calls a user's npshm_list_fn with the entry e, whose header is h; descr must be a
// NUL-terminated copy of the descriptor.
func CallList(fn, ctx unsafe.Pointer, e core.ListEntry, h *core.Header, descr []byte) int32 {
	return int32(C.npshm__call_list(fn, ctx, (*C.char)(unsafe.Pointer(&e.Name[0])),
		(*C.char)(unsafe.Pointer(&descr[0])), C.int(h.Ndim), (*C.int64_t)(unsafe.Pointer(&h.Shape[0])),
		C.size_t(h.Itemsize), C.size_t(h.DataNbytes), C.uint(e.Mode), C.uint(e.UID),
		C.int64_t(h.CreatorPID), C.int64_t(h.CreatedNs), C.int(h.Flags&core.FlagFortran)))
}
