package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/npshm/npshm/internal/capi"
)

// The array-file entry points (npshm_read_file_ex, npshm_write_file); dispatch_files.c calls them
// outside forked children.

//export npshm__go_read_file
func npshm__go_read_file(path, name *C.char, flags C.uint, opts unsafe.Pointer, out *unsafe.Pointer) C.int {
	return C.int(capi.ReadFile(unsafe.Pointer(path), unsafe.Pointer(name), uint32(flags), (*capi.ReadOptions)(opts), out))
}

//export npshm__go_write_file
func npshm__go_write_file(path *C.char, array unsafe.Pointer) C.int {
	return C.int(capi.WriteFile(unsafe.Pointer(path), array))
}
