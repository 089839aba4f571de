package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Array files to and from memory of the caller's: writing an array's data to a file, and reading a
// file's array into memory the caller gives (docs/FORMAT.md, "Array files"). The C twin
// (internal/ctwin/filedata.c) does the same for forked children.

// WriteFile writes the array whose header is h and whose data starts at data to the file path
// (NUL-terminated), in the given format. The file is written under a temporary name and renamed
// into place, so that nobody reads a partly written file; its mode is 0666 less the umask.
func WriteFile(s *Scratch, fs *FileScratch, path []byte, h *Header, data unsafe.Pointer, format int) Status {
	if len(path) < 2 || path[len(path)-1] != 0 {
		return fail(ErrInvalid, MsgPathEmpty)
	}
	if len(path)-1 > MaxPath {
		return fail(ErrInvalid, "path too long")
	}
	hlen, st := EncodeFileHeader(fs.File[:], format, h.Descr, h.Shape[:h.Ndim], h.Fortran())
	if !st.Ok() {
		return st
	}
	p := append(s.Path[:0], path...)
	dir := 0
	for i, c := range p[:len(p)-1] {
		if c == '/' {
			dir = i + 1
		}
	}
	if dir == len(p)-1 {
		return fail(ErrInvalid, MsgPathNamesDirectory)
	}
	t := Target{Path: p, Dir: dir, IsFile: true}
	fd, named, st := openTemp(s, &t, dirPath(t, s.Temp[:0:len(s.Temp)]), unix.O_WRONLY, 0o666)
	if !st.Ok() {
		return st
	}
	// The header and the first half of the data, the crash-test pause point, the rest.
	half := h.DataNbytes / 2
	st = writeAll(fd, unsafe.Pointer(&fs.File[0]), uint64(hlen), 0)
	if st.Ok() {
		st = writeAll(fd, data, half, uint64(hlen))
	}
	if st.Ok() {
		testPause(pauseWrite)
		st = writeAll(fd, unsafe.Add(data, half), h.DataNbytes-half, uint64(hlen)+half)
	}
	if st.Ok() {
		st = publish(s, fd, named, &t, true)
	}
	unix.Close(fd)
	if !st.Ok() && named && s.Temp[0] != 0 {
		sysUnlinkat(unix.AT_FDCWD, s.Temp[:])
	}
	return st
}

func writeAll(fd int, p unsafe.Pointer, n, off uint64) Status {
	for done := uint64(0); done < n; {
		want := min(n-done, 1<<30)
		r, _, e := unix.Syscall6(unix.SYS_PWRITE64, uintptr(fd), uintptr(unsafe.Add(p, done)), uintptr(want),
			uintptr(off+done), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e == unix.EFAULT { // the kernel's read of the array's memory met a page it cannot have
			return sysFail(e, MsgArrayMemoryUnreadable)
		}
		if e != 0 {
			return sysFail(e, MsgCannotWriteFile)
		}
		done += uint64(r)
	}
	return Status{}
}

// AllocFunc gives the memory a file's array is read into: it gets the decoded header and returns
// fh.DataNbytes bytes of writable memory, or a nonzero code that stops the read and becomes its
// status code. It must be a plain function, not a closure, for ReadFileData to stay
// allocation-free.
type AllocFunc func(fh *FileHeader, a, b unsafe.Pointer) (data unsafe.Pointer, rc int32)

// ReadFileData reads the array record at off in the file at path (NUL-terminated) into memory that
// alloc(&fs.FH, a, b) gives. alloc runs once the header is decoded and the file is known to hold
// all the data it describes, so a file that claims more than it holds is refused before anything
// is allocated; fs.FH.Descr is followed by a NUL byte then. The header and the data are read from
// one descriptor: a file renamed over path meanwhile cannot mix two files, and a file shortened in
// place meanwhile is a truncated file (the memory then holds part of the data). It returns the
// offset just past the record.
func ReadFileData(fs *FileScratch, path []byte, off uint64, alloc AllocFunc, a, b unsafe.Pointer, fill FillMode) (uint64, Status) {
	fd, st := openFile(path)
	if !st.Ok() {
		return 0, st
	}
	defer unix.Close(fd)
	if st := readFileHeader(fs, fd, off); !st.Ok() {
		return 0, st
	}
	fh := &fs.FH
	fs.Descr[len(fh.Descr)] = 0
	data, rc := alloc(fh, a, b)
	if rc != 0 {
		return 0, Status{Code: Code(rc), Msg: MsgAllocFunctionRefusedArray}
	}
	if data == nil && fh.DataNbytes > 0 {
		return 0, fail(ErrInvalid, MsgAllocGaveNoMemory)
	}
	fs.fill = fillState{src: fd, off: off + fh.HeaderLen, dstFd: -1, mode: fill} // in fs: no allocation
	if errno := fillRange(&fs.fill, data, 0, fh.DataNbytes); errno != 0 {
		return 0, fillFailure(errno)
	}
	return off + fh.HeaderLen + fh.DataNbytes, Status{}
}

// fillFailure is the status of a fill that failed with errno.
func fillFailure(errno unix.Errno) Status {
	switch errno {
	case unix.EINTR:
		return errCancelled
	case unix.ENODATA:
		return truncated(MsgFileShorterArrayHeaderDescribes)
	case unix.EFAULT: // the kernel's write into the array's memory met a page it cannot have
		return sysFail(errno, MsgArrayMemoryUnwritable)
	}
	return sysFail(errno, MsgCannotReadFile)
}
