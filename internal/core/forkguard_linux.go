package core

import "golang.org/x/sys/unix"

// The fork guard keeps what a load holds, its locked lock file and its unnamed segment, out of the
// children that another thread forks meanwhile (a multiprocessing fork pool does). A child that
// inherited the lock file's open file description would share its flock, and hold it after the
// loader died; one that inherited the segment's descriptor would keep its memory allocated.
//
// Go programs do not fork, so the core needs nothing of it by itself: the C ABI sets Guard to C
// functions (cshim/guard.c) that keep the descriptors in a table whose pthread_atfork handler
// closes them in the child, and that open and register a descriptor with no fork in between.
// The loader also unlocks its lock file (LOCK_UN) before closing it, truncates an abandoned
// segment, and maps its segment MADV_DONTFORK until it is published, so that a child that holds a
// descriptor all the same (from a fork between open and registration) holds no lock and no memory
// once the load is over.
type ForkGuard struct {
	Open  func(dirfd int, path []byte, flags int, mode uint32) (int, unix.Errno) // openat, registered
	Close func(fd int)                                                // unregistered, then closed
}

// Guard is set once, before any load, by the C ABI's package initialisation.
var Guard ForkGuard

func guardedOpen(dirfd int, path []byte, flags int, mode uint32) (int, unix.Errno) {
	if Guard.Open != nil {
		return Guard.Open(dirfd, path, flags, mode)
	}
	return sysOpenat(dirfd, path, flags, mode)
}

func guardedClose(fd int) {
	if Guard.Close != nil {
		Guard.Close(fd)
		return
	}
	unix.Close(fd)
}
