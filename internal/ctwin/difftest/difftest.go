// Package difftest holds the differential tests of the C twin (internal/ctwin) against the Go core,
// and the cgo wrappers they call: the twin's functions, and readers of the C handle and of this
// thread's last error, which internal/capi's tests use too. Test files cannot use cgo, so the
// wrappers live in this normal file; nothing but tests imports the package, so none of it is
// linked into libnpshm.so.
package difftest

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include -I${SRCDIR}/../../../cshim -I${SRCDIR}/.. -O2 -Wall -Wextra -std=gnu11
#include <stdlib.h>
#include <string.h>
#include "npshm.h"
#include "ctwin.h"

// What npshm__diff_list_cb saw: every array, and the one named want.
typedef struct npshm__diff_list_ctx {
    char want[256];
    int total;
    int found;
    int stop_after; // return 1 after this many calls if > 0
    int ndim;
    int64_t shape[NPSHM_MAX_NDIM];
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

	_ "github.com/npshm/npshm/cshim" // the C runtime: handles, errors
	"github.com/npshm/npshm/internal/core"
	_ "github.com/npshm/npshm/internal/ctwin" // the C functions wrapped here
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
	rc := C.npshm__c_create_init(cname, C.int(len(shape)), cshape, cdtype, C.uint(flags), nil, nil, &out)
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

// Release is npshm_release, which export/dispatch.c defines on top of npshm__handle_free.
func Release(h unsafe.Pointer) { C.npshm__handle_free((*C.npshm_array)(h)) }

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
func LastError() string { return C.GoString(C.npshm__errbuf()) }

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
	o := C.npshm_read_options{size: C.size_t(unsafe.Sizeof(C.npshm_read_options{}))}
	var a *C.npshm_array
	rc = int(C.npshm__c_read_file(cp, cn, C.uint(flags), &o, &a))
	if rc != 0 {
		return h, nil, false, rc
	}
	info := Handle(unsafe.Pointer(a))
	h = core.Header{Ndim: len(info.Shape), Itemsize: info.Itemsize, DataNbytes: info.Nbytes, Descr: []byte(info.Dtype)}
	copy(h.Shape[:], info.Shape)
	if info.Fortran {
		h.Flags = core.FlagFortran
	}
	data = C.GoBytes(info.Data, C.int(h.DataNbytes))
	C.npshm__handle_free(a)
	return h, data, o.attached != 0, 0
}
