// Command export is libnpshm.so: built with -buildmode=c-shared, it exports the C ABI of
// include/npshm.h. Every public function is C, in dispatch.c: in a forked child it calls the C
// twin (internal/ctwin), since the Go runtime does not survive fork; otherwise it calls one of the
// Go functions of this file, which only convert C types for internal/capi. Functions that need no
// Go at all (accessors, release, errors, msync) are plain C in dispatch.c over cshim's runtime.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -I${SRCDIR}/../cshim -I${SRCDIR}/../internal/ctwin -O2 -Wall -Wextra -std=gnu11
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
	_ "github.com/npshm/npshm/internal/ctwin" // the C twin, which dispatch.c calls in forked children
)

//export npshm__go_create
func npshm__go_create(name *C.char, ndim C.int, shape *C.int64_t, dtype *C.char, flags C.uint, out *unsafe.Pointer) C.int {
	return C.int(capi.Create(unsafe.Pointer(name), int32(ndim), unsafe.Pointer(shape), unsafe.Pointer(dtype),
		uint32(flags), out))
}

//export npshm__go_delete
func npshm__go_delete(name *C.char) C.int {
	return C.int(capi.Delete(unsafe.Pointer(name)))
}

//export npshm__go_list
func npshm__go_list(fn unsafe.Pointer, ctx unsafe.Pointer) C.int {
	return C.int(capi.List(fn, ctx))
}

//export npshm__go_set_dir
func npshm__go_set_dir(dir *C.char) C.int { return C.int(capi.SetDir(unsafe.Pointer(dir))) }

//export npshm__go_clean_temporaries
func npshm__go_clean_temporaries(dir *C.char, removed *C.int) C.int {
	return C.int(capi.CleanTemporaries(unsafe.Pointer(dir), (*int32)(unsafe.Pointer(removed))))
}

//export npshm__go_create_init
func npshm__go_create_init(name *C.char, ndim C.int, shape *C.int64_t, dtype *C.char, flags C.uint,
	fn unsafe.Pointer, ctx unsafe.Pointer, out *unsafe.Pointer) C.int {
	return C.int(capi.CreateInit(unsafe.Pointer(name), int32(ndim), unsafe.Pointer(shape), unsafe.Pointer(dtype),
		uint32(flags), fn, ctx, out))
}

// The array-file entry points (npshm_read_file_ex, npshm_write_file, npshm_write_file_data,
// npshm_read_file_data, npshm_encode_file_header).

//export npshm__go_read_file
func npshm__go_read_file(path, name *C.char, flags C.uint, opts unsafe.Pointer, out *unsafe.Pointer) C.int {
	return C.int(capi.ReadFile(unsafe.Pointer(path), unsafe.Pointer(name), uint32(flags), (*capi.ReadOptions)(opts), out))
}

//export npshm__go_write_file
func npshm__go_write_file(path *C.char, array unsafe.Pointer) C.int {
	return C.int(capi.WriteFile(unsafe.Pointer(path), array))
}

//export npshm__go_file_format
func npshm__go_file_format(path *C.char) C.uint {
	return C.uint(capi.FileFormat(unsafe.Pointer(path)))
}

//export npshm__go_write_file_data
func npshm__go_write_file_data(path *C.char, data unsafe.Pointer, ndim C.int, shape *C.int64_t, dtype *C.char, flags C.uint) C.int {
	return C.int(capi.WriteFileData(unsafe.Pointer(path), data, int32(ndim), unsafe.Pointer(shape), unsafe.Pointer(dtype),
		uint32(flags)))
}

//export npshm__go_read_file_data
func npshm__go_read_file_data(path *C.char, offset C.uint64_t, fn, ctx unsafe.Pointer, end *C.uint64_t) C.int {
	return C.int(capi.ReadFileData(unsafe.Pointer(path), uint64(offset), fn, ctx, (*uint64)(unsafe.Pointer(end))))
}

//export npshm__go_encode_file_header
func npshm__go_encode_file_header(buf unsafe.Pointer, capacity C.size_t, ndim C.int, shape *C.int64_t, dtype *C.char,
	flags C.uint, length *C.size_t) C.int {
	return C.int(capi.EncodeFileHeader(buf, uint64(capacity), int32(ndim), unsafe.Pointer(shape), unsafe.Pointer(dtype),
		uint32(flags), (*uint64)(unsafe.Pointer(length))))
}

func main() {}
