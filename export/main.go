// Command export is libnpshm.so: built with -buildmode=c-shared, it exports the C ABI of
// include/npshm.h. The public functions are C (dispatch.c): in a forked child they take cshim's C
// path, since the Go runtime does not survive fork; otherwise they call these Go functions, which
// only convert C types for internal/capi. cshim provides what needs no Go at all (accessors,
// release, errors, msync).
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

//export npshm__go_attach
func npshm__go_attach(name *C.char, flags C.uint, out *unsafe.Pointer) C.int {
	return C.int(capi.Attach(unsafe.Pointer(name), uint32(flags), false, -1, nil, nil, out))
}

//export npshm__go_attach_expect
func npshm__go_attach_expect(name *C.char, flags C.uint, ndim C.int, shape *C.int64_t, dtype *C.char, out *unsafe.Pointer) C.int {
	return C.int(capi.Attach(unsafe.Pointer(name), uint32(flags), true, int32(ndim), unsafe.Pointer(shape),
		unsafe.Pointer(dtype), out))
}

//export npshm__go_delete
func npshm__go_delete(name *C.char) C.int {
	return C.int(capi.Delete(unsafe.Pointer(name)))
}

//export npshm__go_list
func npshm__go_list(fn unsafe.Pointer, ctx unsafe.Pointer) C.int {
	return C.int(capi.List(fn, ctx))
}

func main() {}
