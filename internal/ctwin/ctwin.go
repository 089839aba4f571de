// Package ctwin is the C twin of internal/core: docs/FORMAT.md implemented a second time, in C, for
// processes made by fork().
//
// A forked child has one thread: the Go runtime's other threads are gone, with any lock they held,
// and entering Go there hangs (docs/DESIGN.md, "Fork"). So in a forked child every public entry
// point (export/dispatch.c) calls this twin instead of the core, and the child never enters Go. The
// twin follows the core rule for rule, with the same status codes and messages, and each C file is
// the twin of the core file of the same name. internal/ctwin/difftest, the shared vectors and the C
// tests run in a forked child keep the two equal.
//
// There is no Go API here: this file exists so that cgo compiles the directory's C files into
// whatever imports the package (export, for libnpshm.so; difftest, for the tests). The C side
// calls cshim's C runtime (errors, handles, the parallel fill), hence the import.
package ctwin

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/../../cshim -O2 -Wall -Wextra -std=gnu11
*/
import "C"

import _ "github.com/npshm/npshm/cshim" // the C runtime the twin calls
