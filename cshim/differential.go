package cshim

// Go wrappers around the C path (npshm_child.c) and the C handle, for the tests: the differential
// tests compare the C path with the Go core, and the capi tests release handles and list arrays
// with them. Test files cannot use cgo, so these live in a normal file; nothing else calls them.

/*
#include <stdlib.h>
#include <string.h>
#include "npshm.h"
#include "npshm_shim.h"

// What npshm__diff_list_cb saw: every array, and the one named want.
typedef struct npshm__diff_list_ctx {
    char want[256];
    int total;
    int found;
    int stop_after; // return 1 after this many calls if > 0
    int ndim;
    int64_t shape[NPSHM__MAX_NDIM];
    size_t itemsize, nbytes;
    unsigned mode, uid;
    int64_t creator_pid, created_ns;
    int fortran;
    char dtype[512];
} npshm__diff_list_ctx;

static int npshm__diff_list_cb(const npshm_info *info, void *ctx) {
    npshm__diff_list_ctx *c = ctx;
    c->total++;
    if (strcmp(info->name, c->want) == 0) {
        c->found++;
        c->ndim = info->ndim;
        memcpy(c->shape, info->shape, sizeof(int64_t) * (size_t)info->ndim);
        c->itemsize = info->itemsize;
        c->nbytes = info->nbytes;
        c->mode = info->mode;
        c->uid = info->uid;
        c->creator_pid = info->creator_pid;
        c->created_ns = info->created_ns;
        c->fortran = info->fortran;
        strncpy(c->dtype, info->dtype, sizeof c->dtype - 1);
        c->dtype[sizeof c->dtype - 1] = 0;
    }
    return c->stop_after > 0 && c->total >= c->stop_after ? 1 : 0;
}

static void *npshm__diff_list_fn(void) { return (void *)npshm__diff_list_cb; }
*/
import "C"

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// CNormalizeDtype runs the C path's dtype normaliser.
func CNormalizeDtype(in []byte) (descr []byte, itemsize int64, code core.Code, msg string) {
	out := (*C.char)(C.malloc(core.MaxDescr + 1))
	defer C.free(unsafe.Pointer(out))
	cin := C.CBytes(in) // C memory, so that the C parser never sees the Go heap
	defer C.free(cin)
	var size C.int64_t
	var err *C.char
	rc := C.npshm__c_normalize_dtype((*C.char)(cin), C.size_t(len(in)), out, core.MaxDescr+1, &size, &err)
	if rc != 0 {
		return nil, 0, core.Code(rc), C.GoString(err)
	}
	return []byte(C.GoString(out)), int64(size), core.OK, ""
}

// CCheckHeader runs the C path's header decoder on buf, the start of a segment of segSize bytes.
func CCheckHeader(buf []byte, segSize uint64) (code core.Code, msg string) {
	cbuf := C.CBytes(buf)
	defer C.free(cbuf)
	var err *C.char
	rc := C.npshm__c_check_header((*C.uchar)(cbuf), C.size_t(len(buf)), C.uint64_t(segSize), &err)
	if rc != 0 {
		return core.Code(rc), C.GoString(err)
	}
	return core.OK, ""
}

// CCreate is the C path's npshm_create.
func CCreate(name string, shape []int64, dtype string, flags uint32) (unsafe.Pointer, core.Code) {
	cname, cdtype := C.CString(name), C.CString(dtype)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cdtype))
	var cshape *C.int64_t
	if len(shape) > 0 {
		cshape = (*C.int64_t)(C.malloc(C.size_t(8 * len(shape))))
		defer C.free(unsafe.Pointer(cshape))
		copy(unsafe.Slice((*int64)(unsafe.Pointer(cshape)), len(shape)), shape)
	}
	var out *C.npshm_array
	rc := C.npshm__c_create(cname, C.int(len(shape)), cshape, cdtype, C.uint(flags), &out)
	return unsafe.Pointer(out), core.Code(rc)
}

// CAttach is the C path's npshm_attach.
func CAttach(name string, flags uint32) (unsafe.Pointer, core.Code) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var out *C.npshm_array
	rc := C.npshm__c_attach(cname, C.uint(flags), 0, -1, nil, nil, &out)
	return unsafe.Pointer(out), core.Code(rc)
}

// CDelete is the C path's npshm_delete.
func CDelete(name string) core.Code {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return core.Code(C.npshm__c_delete(cname))
}

// ListEntryInfo is what the test list callback recorded of the array it looked for.
type ListEntryInfo struct {
	Total, Found      int
	Shape             []int64
	Itemsize, Nbytes  uint64
	Mode, UID         uint32
	CreatorPID, Ctime int64
	Fortran           bool
	Dtype             string
}

// ListFn is a C npshm_list_fn that counts the arrays it is called with and records the one whose
// name is the context's (see NewListCtx).
func ListFn() unsafe.Pointer { return C.npshm__diff_list_fn() }

// NewListCtx makes a context for ListFn in C memory, looking for want; stopAfter > 0 makes ListFn
// return 1 after that many calls. Free it with FreeListCtx.
func NewListCtx(want string, stopAfter int) unsafe.Pointer {
	c := (*C.npshm__diff_list_ctx)(C.calloc(1, C.size_t(unsafe.Sizeof(C.npshm__diff_list_ctx{}))))
	w := unsafe.Slice((*byte)(unsafe.Pointer(&c.want[0])), len(c.want)-1)
	copy(w, want)
	c.stop_after = C.int(stopAfter)
	return unsafe.Pointer(c)
}

// ResetListCtx clears what ListFn recorded.
func ResetListCtx(ctx unsafe.Pointer) {
	c := (*C.npshm__diff_list_ctx)(ctx)
	c.total, c.found = 0, 0
}

// ListCtxResult returns what ListFn recorded in ctx.
func ListCtxResult(ctx unsafe.Pointer) ListEntryInfo {
	c := (*C.npshm__diff_list_ctx)(ctx)
	r := ListEntryInfo{Total: int(c.total), Found: int(c.found)}
	if c.found > 0 {
		r.Shape = make([]int64, int(c.ndim))
		for i := range r.Shape {
			r.Shape[i] = int64(c.shape[i])
		}
		r.Itemsize, r.Nbytes = uint64(c.itemsize), uint64(c.nbytes)
		r.Mode, r.UID = uint32(c.mode), uint32(c.uid)
		r.CreatorPID, r.Ctime = int64(c.creator_pid), int64(c.created_ns)
		r.Fortran = c.fortran != 0
		r.Dtype = C.GoString(&c.dtype[0])
	}
	return r
}

// FreeListCtx frees a context from NewListCtx.
func FreeListCtx(ctx unsafe.Pointer) { C.free(ctx) }

// CList is the C path's npshm_list.
func CList(fn, ctx unsafe.Pointer) int32 { return int32(C.npshm__c_list(fn, ctx)) }

// Release is npshm_release.
func Release(h unsafe.Pointer) { C.npshm_release((*C.npshm_array)(h)) }

// HandleInfo is the content of an npshm_array handle.
type HandleInfo struct {
	Base     unsafe.Pointer // the mapping: the header, then the data
	MapLen   uint64
	Data     unsafe.Pointer
	Nbytes   uint64
	Itemsize uint64
	Shape    []int64
	ReadOnly bool
	Fortran  bool
	Dtype    string
	Name     string
}

// Handle returns the content of the handle h.
func Handle(h unsafe.Pointer) HandleInfo {
	a := (*C.npshm_array)(h)
	r := HandleInfo{
		Base: a.base, MapLen: uint64(a.maplen), Data: a.data, Nbytes: uint64(a.nbytes),
		Itemsize: uint64(a.itemsize), Shape: make([]int64, int(a.ndim)), ReadOnly: a.readonly != 0,
		Fortran: a.fortran != 0, Dtype: C.GoString(a.dtype), Name: C.GoString(a.name),
	}
	for i := range r.Shape {
		r.Shape[i] = int64(a.shape[i])
	}
	return r
}

// LastError is npshm_last_error: this thread's last failure. Call it on the thread of the failure
// (runtime.LockOSThread).
func LastError() string { return C.GoString(C.npshm_last_error()) }
