package core

import "golang.org/x/sys/unix"

// Sparse segments (FORMAT.md, "Attaching"). A segment npshm creates has every page reserved by
// fallocate, so that touching it never raises SIGBUS on a full /dev/shm. A segment another program
// sized with ftruncate (peers do; an attacker may on purpose) has holes, and on tmpfs the first
// touch of a hole, a read as much as a write, allocates a page: on a full /dev/shm the kernel
// answers with SIGBUS. So an attach backs a sparse segment before handing it out, or fails with
// NO_SPACE. Arrays npshm made pay one comparison of fstat's fields for it.

// isSparse reports whether a file has fewer blocks than its size needs.
func isSparse(st *unix.Stat_t) bool {
	return uint64(st.Blocks)*512 < (uint64(st.Size)+pageSize-1)&^(pageSize-1)
}

const pageSize = 4096

// reserveSparse fills the holes of the first size bytes of a segment open for writing, with
// fallocate: on a full file system tmpfs gives back what the call allocated, so that a refused
// attach changes nothing. A file system without fallocate (a file:// array) is left as it is, as
// create leaves the files it makes there.
func reserveSparse(fd int, size uint64) Status {
	switch errno := sysFallocate(fd, size); errno {
	case 0, unix.EOPNOTSUPP, unix.ENOSYS:
		return Status{}
	default:
		return sysFail(errno, MsgCannotReserveMemoryArraySSparse)
	}
}

// populateSparse backs the holes of a read-only mapping m of a sparse segment on tmpfs, where a
// read fault allocates (a read-only descriptor cannot fallocate): if /dev/shm has room for them,
// MADV_POPULATE_READ allocates every page now, else the attach fails with NO_SPACE without touching
// the segment. On other file systems holes read as zeros without allocating. A kernel before 5.14,
// which cannot populate (EINVAL), leaves the holes.
func populateSparse(fd int, m Mapping, st *unix.Stat_t) Status {
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
		return Status{}
	}
	holes := (uint64(st.Size)+pageSize-1)&^(pageSize-1) - uint64(st.Blocks)*512
	holes = min(holes, (m.Len+pageSize-1)&^(pageSize-1))
	if uint64(fs.Bavail)*uint64(fs.Bsize) < holes {
		return errSparseNoSpace
	}
	_, _, e := unix.Syscall(unix.SYS_MADVISE, m.Addr, uintptr(m.Len), unix.MADV_POPULATE_READ)
	if e != 0 && e != unix.EINVAL {
		return errSparseNoSpace // EFAULT (a fault would have raised SIGBUS) or ENOMEM
	}
	return Status{}
}

var errSparseNoSpace = Status{Code: ErrNoSpace, Errno: unix.ENOSPC,
	Msg: MsgCannotReserveMemoryArraySSparse}
