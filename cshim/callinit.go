package cshim

/*
#include <stddef.h>
typedef int (*npshm__init_fn)(void *data, size_t nbytes, void *ctx);
static int npshm__call_init(void *fn, void *ctx, void *data, size_t nbytes) {
    return ((npshm__init_fn)fn)(data, nbytes, ctx);
}
*/
import "C"

import "unsafe"

// CallInit calls a user's npshm_init_fn fn with the new array's data and ctx.
func CallInit(fn, ctx, data unsafe.Pointer, n uint64) int32 {
	return int32(C.npshm__call_init(fn, ctx, data, C.size_t(n)))
}
