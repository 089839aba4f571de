package cshim

/*
#include <stdint.h>
#include <stdlib.h>
#include "npshm_shim.h"
*/
import "C"

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
	"golang.org/x/sys/unix"
)

// Array files: the C ABI's side of core.Load and core.WriteFile.

// Fill is core.CFill: the copy in C threads (npshm_fill.c), allocation-free in Go.
func Fill(src int, off uint64, dst unsafe.Pointer, n uint64, dstFd int, dstOff uint64, cancel unsafe.Pointer) unix.Errno {
	return unix.Errno(C.npshm__fill(C.int(src), C.uint64_t(off), dst, C.uint64_t(n), C.int(dstFd),
		C.uint64_t(dstOff), (*C.int)(cancel)))
}

var fileScratchSize = C.size_t(unsafe.Sizeof(core.FileScratch{}))

// NewFileScratch returns C memory for a load or a write, and the handle to free it with
// FreeScratch; nil if out of memory.
func NewFileScratch() (*core.FileScratch, unsafe.Pointer) {
	p := C.npshm__scratch_new(fileScratchSize)
	return (*core.FileScratch)(p), p
}

// HandleHeader fills h (ndim, shape, itemsize, descr, flags, data size) from a handle and returns
// the address of its data. h.Descr points into the handle.
func HandleHeader(p unsafe.Pointer, h *core.Header) unsafe.Pointer {
	a := (*C.npshm_array)(p)
	*h = core.Header{Ndim: int(a.ndim), Itemsize: uint64(a.itemsize), DataNbytes: uint64(a.nbytes)}
	for i := 0; i < h.Ndim && i < core.MaxNdim; i++ {
		h.Shape[i] = int64(a.shape[i])
	}
	if a.fortran != 0 {
		h.Flags = core.FlagFortran
	}
	d := unsafe.Pointer(a.dtype)
	n := 0
	for *(*byte)(unsafe.Add(d, n)) != 0 && n < core.MaxDescr {
		n++
	}
	h.Descr = unsafe.Slice((*byte)(d), n)
	return a.data
}
