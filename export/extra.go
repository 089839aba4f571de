package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
)

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
