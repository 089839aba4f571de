// Package difftest holds the differential tests of the C twin (internal/ctwin) against the Go core,
// and the cgo wrappers they call: the twin's functions, and readers of the C handle and of this
// thread's last error, which internal/capi's tests use too. Test files cannot use cgo, so the
// wrappers live in this normal file; nothing but tests imports the package, so none of it is
// linked into libnpshm.so.
package difftest

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include -I${SRCDIR}/../../../cshim -I${SRCDIR}/.. -O2 -Wall -Wextra -std=gnu11
#include <stdio.h>
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
    unsigned format;
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
        c->format = info->format;
        strncpy(c->dtype, info->dtype, sizeof c->dtype - 1);
        c->dtype[sizeof c->dtype - 1] = 0;
    }
    return c->stop_after > 0 && c->total >= c->stop_after ? 1 : 0;
}

// The twin's internals with plain results, for the differential tests.
static int npshm__c_normalize_dtype(const char *in, size_t len, char *out, size_t cap, int64_t *itemsize, const char **err) {
    size_t olen = 0;
    long long size = 0;
    status s = npshm__normalize(in, len, out, cap > 0 ? cap - 1 : 0, &olen, &size);
    if (s.code) { *err = s.msg; return s.code; }
    out[olen] = 0;
    *itemsize = size;
    return 0;
}

static int npshm__c_check_header(const unsigned char *buf, size_t len, uint64_t seg_size, const char **err) {
    header h;
    char *scratch = malloc(MAX_DESCR);
    if (scratch == NULL) { *err = MSG_OUT_MEMORY; return NPSHM_ERR_NO_SPACE; }
    status s = npshm__decode_header(buf, len, seg_size, &h, scratch);
    free(scratch);
    if (s.code) { *err = s.msg; return s.code; }
    return 0;
}

static int npshm__c_decode_file_header(const unsigned char *buf, size_t len, uint64_t avail, int *format, int *ndim,
                                int64_t *shape, char *descr, size_t cap, uint64_t *itemsize, int *fortran,
                                uint64_t *header_len, uint64_t *nbytes, const char **err, int *eof) {
    static const unsigned char empty[1];
    fheader fh;
    char *canon = malloc(MAX_DESCR + 1);
    if (canon == NULL) { *err = MSG_OUT_MEMORY; return NPSHM_ERR_NO_SPACE; }
    status s = npshm__decode_file_header(buf ? buf : empty, buf ? len : 0, avail, &fh, canon);
    *eof = s.code == NPSHM_ERR_FORMAT && s.errnum == ENODATA;
    if (s.code) { free(canon); *err = s.msg; return s.code; }
    *format = fh.format;
    *ndim = fh.ndim;
    memcpy(shape, fh.shape, sizeof(int64_t) * (size_t)fh.ndim);
    snprintf(descr, cap, "%s", canon);
    *itemsize = fh.itemsize;
    *fortran = fh.fortran;
    *header_len = fh.header_len;
    *nbytes = fh.nbytes;
    free(canon);
    return 0;
}

static void *npshm__diff_list_fn(void) { return (void *)npshm__diff_list_cb; }

// What npshm__diff_alloc_cb saw, and the memory it gave (malloc'd, with a spare byte).
typedef struct npshm__diff_alloc_ctx {
    int calls;
    int rc; // returned instead of memory if nonzero
    unsigned format;
    int ndim;
    int64_t shape[NPSHM_MAX_NDIM];
    char *dtype;
    size_t itemsize, nbytes;
    int fortran;
    void *data;
} npshm__diff_alloc_ctx;

static int npshm__diff_alloc_cb(const npshm_file_info *info, void **data, void *ctx) {
    npshm__diff_alloc_ctx *c = ctx;
    c->calls++;
    c->format = info->format;
    c->ndim = info->ndim;
    memcpy(c->shape, info->shape, sizeof(int64_t) * (size_t)info->ndim);
    free(c->dtype);
    c->dtype = strdup(info->dtype);
    c->itemsize = info->itemsize;
    c->nbytes = info->nbytes;
    c->fortran = info->fortran;
    if (c->rc) return c->rc;
    free(c->data);
    c->data = malloc(info->nbytes + 1);
    *data = c->data;
    return 0;
}

static void *npshm__diff_alloc_fn(void) { return (void *)npshm__diff_alloc_cb; }

static int npshm__diff_init_cb(void *data, size_t nbytes, void *ctx) {
    (void)data;
    (void)nbytes;
    (void)ctx;
    return 0;
}

static void *npshm__diff_init_fn(void) { return (void *)npshm__diff_init_cb; }

static void npshm__diff_alloc_free(npshm__diff_alloc_ctx *c) {
    free(c->dtype);
    free(c->data);
    free(c);
}
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
	Format            uint32
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
		r.Format = uint32(c.format)
	}
	return r
}

// FreeListCtx frees a context from NewListCtx.
func FreeListCtx(ctx unsafe.Pointer) { C.free(ctx) }

// CList is the C path's npshm_list.
func CList(fn, ctx unsafe.Pointer) int32 { return int32(C.npshm__c_list(fn, ctx)) }

// Release is npshm_release, which export/dispatch.c defines as npshm__handle_free.
func Release(h unsafe.Pointer) core.Code { return core.Code(C.npshm__handle_free((*C.npshm_array)(h))) }

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
	Format   uint32
	Dtype    string
	Name     string
	// Which array: the file's device and inode, the header's creation time and creator.
	Dev, Ino              uint64
	CreatedNs, CreatorPID int64
}

// Handle returns the content of the handle h.
func Handle(h unsafe.Pointer) HandleInfo {
	a := (*C.npshm_array)(h)
	r := HandleInfo{
		Base: a.base, MapLen: uint64(a.maplen), Data: a.data, Nbytes: uint64(a.nbytes),
		Itemsize: uint64(a.itemsize), Shape: make([]int64, int(a.ndim)), ReadOnly: a.readonly != 0,
		Fortran: a.fortran != 0, Format: uint32(a.format), Dtype: C.GoString(a.dtype), Name: C.GoString(a.name),
		Dev: uint64(a.device), Ino: uint64(a.inode), CreatedNs: int64(a.created_ns), CreatorPID: int64(a.creator_pid),
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

// ---- C memory for the tests, which cannot use cgo ----

// CMem returns a C copy of b with a NUL byte after it; free it with Free.
func CMem(b []byte) unsafe.Pointer {
	p := C.malloc(C.size_t(len(b) + 1))
	copy(unsafe.Slice((*byte)(p), len(b)+1), append(b, 0))
	return p
}

// Free frees C memory from CMem.
func Free(p unsafe.Pointer) { C.free(p) }

// LastErrno is npshm_last_errno: this thread's last failure's errno.
func LastErrno() int { return int(C.npshm__errno()) }

// ---- array files in the caller's memory: the twin's entry points ----

// AllocInfo is what the test npshm_alloc_fn (AllocFn) saw, and the data read into its memory.
type AllocInfo struct {
	Calls    int
	Format   uint32
	Shape    []int64
	Dtype    string
	Itemsize uint64
	Nbytes   uint64
	Fortran  bool
	Data     []byte
}

// AllocFn is a C npshm_alloc_fn that records the file's header in its context (NewAllocCtx) and
// gives malloc'd memory, or returns the context's rc instead if that is not 0.
func AllocFn() unsafe.Pointer { return C.npshm__diff_alloc_fn() }

// NewAllocCtx makes a context for AllocFn; free it with FreeAllocCtx.
func NewAllocCtx(rc int) unsafe.Pointer {
	c := (*C.npshm__diff_alloc_ctx)(C.calloc(1, C.size_t(unsafe.Sizeof(C.npshm__diff_alloc_ctx{}))))
	c.rc = C.int(rc)
	return unsafe.Pointer(c)
}

// AllocResult returns what AllocFn recorded in ctx.
func AllocResult(ctx unsafe.Pointer) AllocInfo {
	c := (*C.npshm__diff_alloc_ctx)(ctx)
	r := AllocInfo{Calls: int(c.calls)}
	if c.calls == 0 {
		return r
	}
	r.Format, r.Itemsize, r.Nbytes, r.Fortran = uint32(c.format), uint64(c.itemsize), uint64(c.nbytes), c.fortran != 0
	r.Shape = make([]int64, int(c.ndim))
	for i := range r.Shape {
		r.Shape[i] = int64(c.shape[i])
	}
	r.Dtype = C.GoString(c.dtype)
	if c.data != nil {
		r.Data = C.GoBytes(c.data, C.int(c.nbytes))
	}
	return r
}

// FreeAllocCtx frees a context of NewAllocCtx and the memory AllocFn gave.
func FreeAllocCtx(ctx unsafe.Pointer) { C.npshm__diff_alloc_free((*C.npshm__diff_alloc_ctx)(ctx)) }

// CWriteFile is the twin's npshm_write_file.
func CWriteFile(path, array unsafe.Pointer) int32 {
	return int32(C.npshm__c_write_file((*C.char)(path), (*C.npshm_array)(array)))
}

// CFileFormat is the twin's npshm_file_format.
func CFileFormat(path unsafe.Pointer) uint32 { return uint32(C.npshm__c_file_format((*C.char)(path))) }

// CWriteFileData is the twin's npshm_write_file_data.
func CWriteFileData(path, data unsafe.Pointer, ndim int32, shape, dtype unsafe.Pointer, flags uint32) int32 {
	return int32(C.npshm__c_write_file_data((*C.char)(path), data, C.int(ndim), (*C.int64_t)(shape), (*C.char)(dtype),
		C.uint(flags)))
}

// CReadFileData is the twin's npshm_read_file_data.
func CReadFileData(path unsafe.Pointer, offset uint64, fn, ctx unsafe.Pointer, end *uint64) int32 {
	return int32(C.npshm__c_read_file_data((*C.char)(path), C.uint64_t(offset), C.npshm_alloc_fn(fn), ctx,
		(*C.uint64_t)(unsafe.Pointer(end))))
}

// CEncodeFileHeader is the twin's npshm_encode_file_header.
func CEncodeFileHeader(buf unsafe.Pointer, capacity uint64, ndim int32, shape, dtype unsafe.Pointer, flags uint32,
	length *uint64) int32 {
	return int32(C.npshm__c_encode_file_header(buf, C.size_t(capacity), C.int(ndim), (*C.int64_t)(shape),
		(*C.char)(dtype), C.uint(flags), (*C.size_t)(unsafe.Pointer(length))))
}

// ---- the twin's entry points with raw C arguments, for the error tables ----

// InitFn is a C npshm_init_fn that leaves the data zero-filled.
func InitFn() unsafe.Pointer { return C.npshm__diff_init_fn() }

// CCreateRaw is the twin's npshm_create_init (npshm_create with init nil).
func CCreateRaw(name unsafe.Pointer, ndim int32, shape, dtype unsafe.Pointer, flags uint32, init, ctx unsafe.Pointer,
	out *unsafe.Pointer) int32 {
	return int32(C.npshm__c_create_init((*C.char)(name), C.int(ndim), (*C.int64_t)(shape), (*C.char)(dtype), C.uint(flags),
		C.npshm_init_fn(init), ctx, (**C.npshm_array)(unsafe.Pointer(out))))
}

// CAttachRaw is the twin's npshm_attach (expect false) or npshm_attach_expect.
func CAttachRaw(name unsafe.Pointer, flags uint32, expect bool, ndim int32, shape, dtype unsafe.Pointer,
	out *unsafe.Pointer) int32 {
	e := 0
	if expect {
		e = 1
	}
	return int32(C.npshm__c_attach((*C.char)(name), C.uint(flags), C.int(e), C.int(ndim), (*C.int64_t)(shape),
		(*C.char)(dtype), (**C.npshm_array)(unsafe.Pointer(out))))
}

// CDeleteRaw is the twin's npshm_delete.
func CDeleteRaw(name unsafe.Pointer) int32 { return int32(C.npshm__c_delete((*C.char)(name))) }

// CReadFileRaw is the twin's npshm_read_file (no options).
func CReadFileRaw(path, name unsafe.Pointer, flags uint32, out *unsafe.Pointer) int32 {
	return int32(C.npshm__c_read_file((*C.char)(path), (*C.char)(name), C.uint(flags), nil,
		(**C.npshm_array)(unsafe.Pointer(out))))
}

// CCleanRaw is the twin's npshm_clean_temporaries.
func CCleanRaw(dir unsafe.Pointer, removed *int32) int32 {
	return int32(C.npshm__c_clean_temporaries((*C.char)(dir), (*C.int)(unsafe.Pointer(removed))))
}

// CSetDir is the C path's npshm_set_dir; the message is this thread's last error (call it on the
// thread of the failure: runtime.LockOSThread).
func CSetDir(dir string) (core.Code, string) {
	var cdir *C.char
	if dir != "" {
		cdir = C.CString(dir)
		defer C.free(unsafe.Pointer(cdir))
	}
	rc := C.npshm__c_set_dir(cdir)
	if rc != 0 {
		return core.Code(rc), LastError()
	}
	return core.OK, ""
}

// CDir is the C path's directory of shared-memory arrays, and whether its mount gives huge pages.
func CDir() (dir string, huge bool) {
	d := C.npshm__dir()
	return C.GoString(d.nul), d.huge != 0
}
