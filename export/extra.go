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
