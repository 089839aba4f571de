// Package cshim is the C runtime of libnpshm's C ABI: the handle (struct npshm_array) and its
// allocation, per-thread error messages and scratch memory, the parallel fill of loads, and the
// call of a user's npshm_list_fn. It is plain C, libc and pthreads, so that it works in a forked
// child as well (docs/DESIGN.md, "Fork"). Its header, cshim.h, is internal to the library: the
// public functions (export/dispatch.c) and the C twin (internal/ctwin) call this runtime from C,
// internal/capi from Go. It defines no public symbol.
//
// This file exists only so that cgo compiles the C files of this directory into whatever imports
// the package; the package has no Go API. (Compiling them by #including the .c files from another
// package's directory would hide their edits from Go's build cache, which sees only the files of a
// package's own directory: golang/go#24355.)
package cshim

/*
#cgo CFLAGS: -I${SRCDIR}/../include -O2 -Wall -Wextra -std=gnu11
*/
import "C"
