package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// atFdcwd is AT_FDCWD as a system call argument.
var atFdcwd = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()

// Direct system calls on NUL-terminated byte paths. x/sys/unix's path-taking wrappers copy their
// string arguments to the heap, which the forked-child paths must not do.

func sysOpenat(dirfd int, path []byte, flags int, mode uint32) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(flags), uintptr(mode), 0, 0)
	return int(r), e
}

// quickOpenat is sysOpenat as a quick call (for a tmpfs only).
func quickOpenat(dirfd int, path []byte, flags int) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(flags), 0, 0, 0)
	return int(r), e
}

// quickFstat is unix.Fstat as a quick call (for a tmpfs only).
func quickFstat(fd int, st *unix.Stat_t) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0)
	return e
}

// quickClose is unix.Close as a quick call (for a tmpfs only).
func quickClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func sysFaccessat(path []byte) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_FACCESSAT, atFdcwd,
		uintptr(unsafe.Pointer(&path[0])), unix.X_OK, 0, 0, 0)
	return e
}

func sysLinkat(olddirfd int, oldpath []byte, newdirfd int, newpath []byte, flags int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_LINKAT, uintptr(olddirfd), uintptr(unsafe.Pointer(&oldpath[0])),
		uintptr(newdirfd), uintptr(unsafe.Pointer(&newpath[0])), uintptr(flags), 0)
	return e
}

func sysRenameat(dirfd int, oldpath, newpath []byte) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_RENAMEAT, uintptr(dirfd), uintptr(unsafe.Pointer(&oldpath[0])),
		uintptr(dirfd), uintptr(unsafe.Pointer(&newpath[0])), 0, 0)
	return e
}

func sysFstatat(dirfd int, path []byte, st *unix.Stat_t, flags int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
	return e
}

func sysUnlinkat(dirfd int, path []byte) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_UNLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])), 0)
	return e
}

// sysPread reads len(buf) bytes at offset 0, retrying short reads; it returns how many it got.
func sysPread(fd int, buf []byte) (int, unix.Errno) { return sysPreadAt(fd, buf, 0) }

func sysFallocate(fd int, size uint64) unix.Errno {
	for {
		_, _, e := unix.Syscall6(unix.SYS_FALLOCATE, uintptr(fd), 0, 0, uintptr(size), 0, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

func mmap(fd int, size uint64, readOnly bool) (Mapping, unix.Errno) {
	prot := unix.PROT_READ | unix.PROT_WRITE
	if readOnly {
		prot = unix.PROT_READ
	}
	r, _, e := unix.Syscall6(unix.SYS_MMAP, 0, uintptr(size), uintptr(prot), unix.MAP_SHARED, uintptr(fd), 0)
	if e != 0 {
		return Mapping{}, e
	}
	return Mapping{Addr: r, Len: size, ReadOnly: readOnly}, 0
}

// mapLen is the length of a mapping of size bytes of the file fd (st its fstat): size, but on a
// hugetlbfs, which maps whole huge pages, size rounded up to its page size. munmap, mprotect, mlock
// and madvise of a hugetlbfs mapping with a shorter length fail with EINVAL: the mapping, and
// its huge pages, stayed after release and delete. Another file system than hugetlbfs with a
// block size over 4 KiB (NFS, some XFS) costs one fstatfs more.
func mapLen(fd int, size uint64, st *unix.Stat_t) uint64 {
	if st.Blksize <= pageSize {
		return size
	}
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil || fs.Type != unix.HUGETLBFS_MAGIC || fs.Bsize <= pageSize {
		return size
	}
	b := uint64(fs.Bsize)
	return (size + b - 1) / b * b
}

func munmap(m Mapping) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_MUNMAP, m.Addr, uintptr(m.Len), 0)
	return e
}

// sysPreadAt reads len(buf) bytes at offset off, retrying short reads; it returns how many it got.
func sysPreadAt(fd int, buf []byte, off int64) (int, unix.Errno) { return preadAt(fd, buf, off, false) }

// The quick system calls: on a tmpfs, opening, stating, reading a header and closing a regular file
// never wait for a device, so the list path (Lister) makes them without telling the Go scheduler
// (RawSyscall): telling it costs more than the call itself, when the caller is a C thread (the C
// ABI's npshm_list), whose P the scheduler's monitor then hands to another thread and back.

// preadAt is sysPreadAt, made as a quick call if quick.
func preadAt(fd int, buf []byte, off int64, quick bool) (int, unix.Errno) {
	got := 0
	for got < len(buf) {
		var r uintptr
		var e unix.Errno
		if quick {
			r, _, e = unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&buf[got])),
				uintptr(len(buf)-got), uintptr(off+int64(got)), 0, 0)
		} else {
			r, _, e = unix.Syscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&buf[got])),
				uintptr(len(buf)-got), uintptr(off+int64(got)), 0, 0)
		}
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return got, e
		}
		if r == 0 {
			break
		}
		got += int(r)
	}
	return got, 0
}
