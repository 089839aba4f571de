package cshim

/*
#include <stdint.h>
#include <stdlib.h>
#include "npshm_shim.h"
#include "npshm_files.h"
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

// CDecodeFileHeader runs the C path's file-header decoder, for the differential tests.
func CDecodeFileHeader(buf []byte, avail uint64, fh *core.FileHeader, descr []byte) (code int, msg string, eof bool) {
	var format, ndim, fortran, ceof C.int
	var itemsize, hlen, nbytes C.uint64_t
	var err *C.char
	var p *C.uchar
	if len(buf) > 0 {
		p = (*C.uchar)(unsafe.Pointer(&buf[0]))
	}
	rc := C.npshm__c_decode_file_header(p, C.size_t(len(buf)), C.uint64_t(avail), &format, &ndim,
		(*C.int64_t)(unsafe.Pointer(&fh.Shape[0])), (*C.char)(unsafe.Pointer(&descr[0])), C.size_t(len(descr)),
		&itemsize, &fortran, &hlen, &nbytes, &err, &ceof)
	if rc != 0 {
		return int(rc), C.GoString(err), ceof != 0
	}
	fh.Format, fh.Ndim, fh.Fortran = int(format), int(ndim), fortran != 0
	fh.Itemsize, fh.HeaderLen, fh.DataNbytes = uint64(itemsize), uint64(hlen), uint64(nbytes)
	fh.Descr = []byte(C.GoString((*C.char)(unsafe.Pointer(&descr[0]))))
	return 0, "", false
}

// CLockPath is the C path's lock file path of a name, for the differential tests.
func CLockPath(name string) (string, bool) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	buf := make([]byte, 8192)
	if C.npshm__c_lock_path(cn, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))) != 0 {
		return "", false
	}
	return C.GoString((*C.char)(unsafe.Pointer(&buf[0]))), true
}

// CEncodeNpyHeader is the C path's .npy header encoder, for the differential tests.
func CEncodeNpyHeader(descr string, shape []int64, fortran bool) []byte {
	cd := C.CString(descr)
	defer C.free(unsafe.Pointer(cd))
	buf := make([]byte, core.MaxHeaderLen)
	var sp *C.int64_t
	if len(shape) > 0 {
		sp = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	f := 0
	if fortran {
		f = 1
	}
	n := C.npshm__c_encode_npy_header((*C.uchar)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), cd, C.int(len(shape)), sp, C.int(f))
	return buf[:n]
}

// CReadFile loads a file with the C path (npshm__c_read_file), for the differential tests: it
// returns a copy of the array's header fields and data, then releases it.
func CReadFile(path, name string, flags uint32) (h core.Header, data []byte, attached bool, rc int) {
	cp, cn := C.CString(path), C.CString(name)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cn))
	var o C.npshm_read_options
	var a *C.npshm_array
	rc = int(C.npshm__c_read_file(cp, cn, C.uint(flags), &o, &a))
	if rc != 0 {
		return h, nil, false, rc
	}
	d := HandleHeader(unsafe.Pointer(a), &h)
	h.Descr = append([]byte(nil), h.Descr...)
	data = C.GoBytes(d, C.int(h.DataNbytes))
	C.npshm_release(a)
	return h, data, o.attached != 0, 0
}
