// Package npshm shares numpy arrays between processes through named POSIX shared memory.
//
// A process creates an array under a name; any other process on the machine attaches to it by that
// name and sees the same memory, without copying. Arrays are laid out as docs/FORMAT.md specifies,
// so Go, C (libnpshm.so) and Python (import npshm) programs share them.
//
// A name "x" (or "/x", or "shm://x") is the POSIX shared memory object /dev/shm/x; a name
// "file://PATH" maps the regular file PATH instead. Arrays outlive the processes that made them,
// until Delete removes the name.
//
// Dtypes are numpy's: a name ("float64", "uint8", "datetime64[ns]") or a .npy descriptor ("<f8",
// "|S7", "[('x', '<f4'), ('y', '<i8', (3,))]"); the array reports the canonical descriptor.
//
// An Array is a mapping of the array's memory, and the slices View and Bytes return share it: they
// stay valid until the program calls Close, which unmaps it. The garbage collector never does, so
// that no slice is ever left pointing at unmapped memory; an Array that is not closed stays mapped
// until the process exits.
//
// npshm works on Linux. Elsewhere a program that uses the package builds, and every operation
// fails with an error matching ErrUnsupported.
package npshm

// Version is the library version; it equals NPSHM_VERSION in include/npshm.h (a test checks).
const Version = "0.1.0"
