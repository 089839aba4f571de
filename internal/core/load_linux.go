package core

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Loading arrays from files (npio, .npy) straight into new shared arrays. docs/FORMAT.md, "Array
// files" and "Loading"; the C twin (internal/ctwin/load.c) does the same for forked children.
// Writing files, and reading them into the caller's memory, is filedata_linux.go's.

// LockPrefix starts the names of the lock files that make one process load a given name.
const LockPrefix = ".npshm-lock-"

// FileScratch is the working memory of a load or a write, beside a Scratch. Like Scratch it holds
// no Go pointers but into itself, so that it may live in C memory.
type FileScratch struct {
	File   [MaxHeaderLen]byte // the file's header as read, then the descriptor handed to Create
	Descr  [MaxDescr + 1]byte // the file's canonical descriptor
	Expect [MaxDescr + 1]byte // the expected dtype, canonical
	Lock   [MaxPath + 320]byte
	FH     FileHeader
	fill   fillState
}

// FillMode says how a load copies the file's data into the new array.
type FillMode int32

const (
	// FillSerial reads with pread from this thread only.
	FillSerial FillMode = iota
	// FillGoroutines reads with several goroutines (it allocates: not for the C ABI).
	FillGoroutines
	// FillC uses CFill (set by the C ABI): C threads, no Go allocation.
	FillC
)

// CFill copies n bytes of file src at offset off into dst, which is mapped from the file dstFd at
// offset dstOff, with threads of its own, checking *cancel between chunks. It returns 0, EINTR if
// cancelled, ENODATA if the file ended early, or the errno of a failed read. Set once, by the C
// ABI's package initialisation.
var CFill func(src int, off uint64, dst unsafe.Pointer, n uint64, dstFd int, dstOff uint64, cancel unsafe.Pointer) unix.Errno

// fillState is what the Create init function needs of a load; it lives in the FileScratch.
type fillState struct {
	src    int
	off    uint64
	dstFd  int
	dstOff uint64
	cancel uintptr
	mode   FillMode
	errno  unix.Errno
	failed bool
}

// LoadOptions are the choices of Load.
type LoadOptions struct {
	ReadOnly  bool
	Exclusive bool // fail with ErrExists if the name exists, instead of attaching to it
	HasMode   bool
	Mode      uint32
	Offset    uint64 // where the array's record starts in the file
	// The expected geometry: an existing array, and the file, must have it (else ErrMismatch).
	ExpectShape bool
	Shape       []int64
	ExpectDtype []byte // nil for any
	// Cancel, if not nil, points to an int32 (in memory that stays put, such as C memory) that
	// stops the load when it becomes nonzero: ErrIO with errno EINTR. Once the array is published
	// it is too late: the load returns it.
	Cancel unsafe.Pointer
	// Timeout bounds the wait for another process's load of the name, in milliseconds: ErrIO with
	// errno ETIMEDOUT once it has passed. 0 or less: no limit.
	Timeout int64
	// AcceptForeign takes an existing array of another uid as the result. Without it such an
	// array is refused (ErrPermission): another user could have made it, with the file's
	// geometry and a mode that lets them write into it, before the caller's load.
	AcceptForeign bool
	Fill          FillMode
}

// LoadResult says what Load did.
type LoadResult struct {
	Attached bool   // an existing array was attached; the file was not loaded
	End      uint64 // the offset just past the record in the file, 0 if the file was not read
}

func cancelled(p unsafe.Pointer) bool {
	return p != nil && atomic.LoadInt32((*int32)(p)) != 0
}

var errCancelled = Status{Code: ErrIO, Errno: unix.EINTR, Msg: MsgLoadCancelled}

// Load attaches the array name, or if there is none, loads the array file at path (NUL-terminated)
// into a new array of that name. Of many processes loading the same name at once, exactly one
// reads the file, behind a lock file (FORMAT.md, "Loading"); the others wait and attach. Nobody can
// attach a partly filled array, and a loader that dies leaves nothing and blocks nobody. The
// mapping's header is in s.Hdr.
func Load(s *Scratch, fs *FileScratch, path []byte, name []byte, opt *LoadOptions) (Mapping, Target, LoadResult, Status) {
	var res LoadResult
	if opt.HasMode {
		if st := CheckMode(opt.Mode); !st.Ok() {
			return Mapping{}, Target{}, res, st
		}
	}
	if len(opt.Shape) > MaxNdim {
		return Mapping{}, Target{}, res, fail(ErrInvalid, MsgExpectedNdimMustBetween064)
	}
	t, st := ResolveName(name, s.Path[:0:len(s.Path)])
	if !st.Ok() {
		return Mapping{}, t, res, st
	}
	var expect []byte
	if opt.ExpectDtype != nil {
		d, _, st := NormalizeDtype(opt.ExpectDtype, fs.Expect[:0:MaxDescr])
		if !st.Ok() {
			return Mapping{}, t, res, st
		}
		expect = d
	}
	lockPath := LockPath(t, fs.Lock[:0:len(fs.Lock)])
	if lockPath == nil {
		return Mapping{}, t, res, fail(ErrInvalid, MsgNameTooLongLockFile)
	}

	src := -1
	defer func() {
		if src >= 0 {
			unix.Close(src)
		}
	}()
	readFile := func() Status {
		fd, st := openFile(path)
		if !st.Ok() {
			st.Value = trimNul(path) // the message names the file: the operation names the array
			return st
		}
		src = fd
		if st := readFileHeader(fs, src, opt.Offset); !st.Ok() {
			return st
		}
		res.End = opt.Offset + fs.FH.HeaderLen + fs.FH.DataNbytes
		return fileMatches(&fs.FH, opt, expect)
	}
	// Without a full expectation, the file says what an existing array must look like.
	fileFirst := !(opt.ExpectShape && expect != nil)
	if fileFirst {
		if st := readFile(); !st.Ok() {
			return Mapping{}, t, res, st
		}
	}
	if !opt.Exclusive {
		m, st := attachMatching(s, fs, name, opt, expect, fileFirst)
		if st.Code != ErrNotFound {
			res.Attached = st.Ok()
			return m, t, res, st
		}
	}
	if !fileFirst {
		if st := readFile(); !st.Ok() {
			return Mapping{}, t, res, st
		}
	}
	lock, st := takeLock(s, &t, lockPath, opt)
	if !st.Ok() {
		return Mapping{}, t, res, t.removed(st)
	}
	defer dropLock(&t, lockPath, lock)
	// Whoever held the lock before may have published the array meanwhile.
	if opt.Exclusive {
		if errno := sysFaccessatF(t.At(), t.Rel(t.Path)); errno != unix.ENOENT {
			if errno == 0 {
				return Mapping{}, t, res, Status{Code: ErrExists, Errno: unix.EEXIST, Msg: MsgArrayNameExists}
			}
			return Mapping{}, t, res, sysFail(errno, MsgCannotCheckArraySName)
		}
	} else {
		m, st := attachMatching(s, fs, name, opt, expect, true)
		if st.Code != ErrNotFound {
			res.Attached = st.Ok()
			return m, t, res, st
		}
	}
	m, t, st := loadNew(s, fs, src, name, opt)
	if st.Code == ErrExists && !opt.Exclusive {
		// Created by plain create, outside the lock: attach it like any existing array.
		m, st = attachMatching(s, fs, name, opt, expect, true)
		res.Attached = st.Ok()
	}
	return m, t, res, st
}

// loadNew creates the array from the file whose header is in fs.FH and whose fd is src: as Create
// does (FORMAT.md, "Creation"), but with the data copied from the file before publishing, partly
// with sendfile into the new segment's descriptor, which Create does not hand out.
func loadNew(s *Scratch, fs *FileScratch, src int, name []byte, opt *LoadOptions) (Mapping, Target, Status) {
	fh := &fs.FH
	t, st := ResolveName(name, s.Path[:0:len(s.Path)])
	if !st.Ok() {
		return Mapping{}, t, st
	}
	h := &s.Hdr
	*h = Header{Ndim: fh.Ndim, Itemsize: fh.Itemsize, Descr: fh.Descr, Shape: fh.Shape}
	if fh.Fortran {
		h.Flags = FlagFortran
	}
	if st := h.Layout(); !st.Ok() {
		return Mapping{}, t, st
	}
	hugeLayout(h, t)
	h.CreatorPID = uint32(unix.Getpid())
	h.CreatedNs = time.Now().UnixNano()
	hlen := h.Encode(s.Header[:])
	size := h.SegmentSize()
	fd, named, st := openTempFor(s, &t, dirPath(t, s.Temp[:0:len(s.Temp)]), unix.O_RDWR, 0o600, true)
	if !st.Ok() {
		return Mapping{}, t, t.removed(st)
	}
	m, st := fillSegment(fd, size, s.Header[:hlen], 0, CreateOptions{HasMode: opt.HasMode, Mode: opt.Mode}, t.IsFile, false)
	if st.Ok() {
		// A child forked during the load gets no mapping of the unpublished segment.
		unix.Syscall(unix.SYS_MADVISE, m.Addr, uintptr(m.Len), unix.MADV_DONTFORK)
	}
	if st.Ok() {
		fs.fill = fillState{src: src, off: opt.Offset + fh.HeaderLen, dstFd: fd, dstOff: h.DataOffset,
			cancel: uintptr(opt.Cancel), mode: opt.Fill}
		if loadInit(addrPtr(m.Data(h)), h.DataNbytes, unsafe.Pointer(fs), nil) != 0 {
			st = fillFailure(fs.fill.errno)
		}
	}
	if st.Ok() && cancelled(opt.Cancel) {
		// The last look before the point of no return: a fill of nothing never looked, and a
		// cancel must win over a publish that has not happened yet.
		st = errCancelled
	}
	if st.Ok() {
		st = publish(s, fd, named, &t, false)
	}
	if !st.Ok() {
		unix.Ftruncate(fd, 0) // frees the memory, even if a child forked meanwhile holds fd
	}
	guardedClose(fd)
	if !st.Ok() {
		discard(s, &t, named, m)
		return Mapping{}, t, t.removed(st)
	}
	unix.Syscall(unix.SYS_MADVISE, m.Addr, uintptr(m.Len), unix.MADV_DOFORK) // an array like any other
	if opt.ReadOnly {
		unix.Mprotect(m.Bytes(), unix.PROT_READ)
		m.ReadOnly = true
	}
	return m, t, Status{}
}

// loadInit fills the data from the file: half, the crash-test pause point, the other half.
func loadInit(data unsafe.Pointer, n uint64, a, _ unsafe.Pointer) int32 {
	fs := (*FileScratch)(a)
	f := &fs.fill
	half := n / 2 / dataAlign * dataAlign
	errno := fillRange(f, data, 0, half)
	if errno == 0 {
		testPause(pauseLoad)
		errno = fillRange(f, data, half, n-half)
	}
	if errno != 0 {
		f.errno, f.failed = errno, true
		return int32(ErrIO)
	}
	return 0
}

func fillRange(f *fillState, data unsafe.Pointer, at, n uint64) unix.Errno {
	if n == 0 {
		return 0
	}
	dst := unsafe.Add(data, at)
	cancel := *(*unsafe.Pointer)(unsafe.Pointer(&f.cancel))
	switch {
	case f.mode == FillC && CFill != nil:
		return CFill(f.src, f.off+at, dst, n, f.dstFd, f.dstOff+at, cancel)
	case f.mode == FillGoroutines:
		return fillGoroutines(f, f.off+at, dst, n, f.dstOff+at, cancel)
	}
	return fillSendfile(f.src, f.off+at, f.dstFd, f.dstOff+at, dst, n, cancel)
}

// fillSendfile copies with sendfile into the segment's descriptor (no page faults, the least CPU
// per byte); where sendfile cannot, with pread into the mapping.
func fillSendfile(src int, off uint64, dstFd int, dstOff uint64, dst unsafe.Pointer, n uint64, cancel unsafe.Pointer) unix.Errno {
	if dstFd < 0 {
		return fillSerial(src, off, dst, n, cancel)
	}
	for done := uint64(0); done < n; {
		if cancelled(cancel) {
			return unix.EINTR
		}
		want := min(n-done, fillChunk)
		if _, err := unix.Seek(dstFd, int64(dstOff+done), 0); err != nil {
			return fillSerial(src, off+done, unsafe.Add(dst, done), n-done, cancel)
		}
		in := int64(off + done)
		r, _, e := unix.Syscall6(unix.SYS_SENDFILE, uintptr(dstFd), uintptr(src), uintptr(unsafe.Pointer(&in)), uintptr(want), 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EINVAL || e == unix.ENOSYS:
			return fillSerial(src, off+done, unsafe.Add(dst, done), n-done, cancel)
		case e != 0:
			return e
		case r == 0:
			return unix.ENODATA
		}
		done += uint64(r)
	}
	return 0
}

// fillChunk is how much a fill reads between two looks at the cancel flag.
const fillChunk = 8 << 20

// fillSerial preads n bytes at off into dst.
func fillSerial(src int, off uint64, dst unsafe.Pointer, n uint64, cancel unsafe.Pointer) unix.Errno {
	for done := uint64(0); done < n; {
		if cancelled(cancel) {
			return unix.EINTR
		}
		want := min(n-done, fillChunk)
		p := unsafe.Add(dst, done)
		sysMadvise(p, want, unix.MADV_POPULATE_WRITE)
		r, _, e := unix.Syscall6(unix.SYS_PREAD64, uintptr(src), uintptr(p), uintptr(want), uintptr(off+done), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		if r == 0 {
			return unix.ENODATA
		}
		done += uint64(r)
	}
	return 0
}

func sysMadvise(p unsafe.Pointer, n uint64, advice int) {
	unix.Syscall(unix.SYS_MADVISE, uintptr(p)&^(dataAlign-1), uintptr(n)+uintptr(p)&(dataAlign-1), uintptr(advice))
}

// fillGoroutines copies with sendfile from the front and, on a machine with more than one CPU,
// a goroutine with pread into the mapping from the back, meeting in the middle (the segment's
// writes by sendfile take a lock that a second sendfile would wait for; page faults do not).
func fillGoroutines(f *fillState, off uint64, dst unsafe.Pointer, n, dstOff uint64, cancel unsafe.Pointer) unix.Errno {
	if n < 64<<20 || runtime.NumCPU() < 2 || f.dstFd < 0 {
		return fillSendfile(f.src, off, f.dstFd, dstOff, dst, n, cancel)
	}
	chunks := (n + fillChunk - 1) / fillChunk
	var lohi atomic.Uint64 // next chunk from the front << 32 | chunks left before the back's
	lohi.Store(chunks)
	take := func(front bool) (uint64, bool) {
		for {
			v := lohi.Load()
			lo, hi := v>>32, v&0xffffffff
			if lo >= hi {
				return 0, false
			}
			nv, c := (lo+1)<<32|hi, lo
			if !front {
				nv, c = lo<<32|(hi-1), hi-1
			}
			if lohi.CompareAndSwap(v, nv) {
				return c, true
			}
		}
	}
	var first atomic.Int32
	work := func(front bool) {
		for first.Load() == 0 {
			c, ok := take(front)
			if !ok {
				return
			}
			at := c * fillChunk
			m := min(fillChunk, n-at)
			var e unix.Errno
			if front {
				e = fillSendfile(f.src, off+at, f.dstFd, dstOff+at, unsafe.Add(dst, at), m, cancel)
			} else {
				e = fillSerial(f.src, off+at, unsafe.Add(dst, at), m, cancel)
			}
			if e != 0 {
				first.CompareAndSwap(0, int32(e))
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		work(false)
	}()
	work(true)
	wg.Wait()
	return unix.Errno(first.Load())
}

// openFile opens an array file for reading. A FIFO or device is refused without blocking: opened
// O_NONBLOCK (a FIFO without a writer would block open forever, deaf to signals), checked, and
// only then made blocking again.
func openFile(path []byte) (int, Status) {
	fd, errno := sysOpenat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if errno != 0 {
		if errno == unix.ENOENT {
			return -1, Status{Code: ErrNotFound, Errno: errno, Msg: MsgNoSuchFile}
		}
		return -1, sysFail(errno, MsgCannotOpenFile)
	}
	var stat unix.Stat_t
	st := Status{}
	if err := unix.Fstat(fd, &stat); err != nil {
		st = sysFail(errnoOf(err), MsgCannotStatFile)
	} else if stat.Mode&unix.S_IFMT == unix.S_IFDIR {
		st = Status{Code: ErrInvalid, Errno: unix.EISDIR, Msg: MsgFileIsDirectory}
	} else if stat.Mode&unix.S_IFMT != unix.S_IFREG {
		st = fail(ErrInvalid, MsgFileNotRegular)
	} else if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		st = sysFail(errnoOf(err), MsgCannotOpenFile)
	}
	if !st.Ok() {
		unix.Close(fd)
		return -1, st
	}
	return fd, Status{}
}

// readFileHeader reads and decodes the header of the record at off in fd into fs.FH.
func readFileHeader(fs *FileScratch, fd int, off uint64) Status {
	var stat unix.Stat_t
	if err := unix.Fstat(fd, &stat); err != nil {
		return sysFail(errnoOf(err), MsgCannotStatFile)
	}
	size := uint64(stat.Size)
	avail := uint64(0)
	if size > off {
		avail = size - off
	}
	want := min(avail, uint64(len(fs.File)))
	got := uint64(0)
	for got < want {
		r, _, e := unix.Syscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&fs.File[got])),
			uintptr(want-got), uintptr(off+got), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return sysFail(e, MsgCannotReadFile)
		}
		if r == 0 {
			break
		}
		got += uint64(r)
	}
	if got < want {
		avail = got // the file shrank meanwhile
	}
	return DecodeFileHeader(fs.File[:got], avail, fs.Descr[:0:MaxDescr], &fs.FH)
}

// fileMatches checks the file's geometry against the expectations.
func fileMatches(fh *FileHeader, opt *LoadOptions, expect []byte) Status {
	return matchGeometry(fh.Ndim, fh.Shape[:fh.Ndim], fh.Descr, opt, expect)
}

func matchGeometry(ndim int, shape []int64, descr []byte, opt *LoadOptions, expect []byte) Status {
	return MatchGeometry(ndim, shape, descr, opt.ExpectShape, opt.Shape, expect)
}

// attachMatching attaches name and checks it against the expectations and, if withFile, against
// the file's header in fs.FH. A mismatch unmaps it again.
func attachMatching(s *Scratch, fs *FileScratch, name []byte, opt *LoadOptions, expect []byte, withFile bool) (Mapping, Status) {
	m, _, st := Attach(s, name, opt.ReadOnly)
	if !st.Ok() {
		return Mapping{}, st
	}
	if !opt.AcceptForeign && s.Owner != uint32(unix.Geteuid()) {
		munmap(m)
		return Mapping{}, Status{Code: ErrPermission, Msg: MsgExistingArrayBelongsUid, Num: int64(s.Owner),
			HasNum: true}
	}
	h := &s.Hdr
	st = matchGeometry(h.Ndim, h.Shape[:h.Ndim], h.Descr, opt, expect)
	if st.Ok() && withFile && fs.FH.Format != 0 {
		fh := &fs.FH
		o := LoadOptions{ExpectShape: true, Shape: fh.Shape[:fh.Ndim]}
		st = matchGeometry(h.Ndim, h.Shape[:h.Ndim], h.Descr, &o, fh.Descr)
		if st.Ok() && h.Fortran() != fh.Fortran && !layoutSame(fh) {
			st = Status{Code: ErrMismatch, Msg: MsgArrayHasDifferentMemoryOrderFile}
		}
	}
	if !st.Ok() {
		munmap(m)
		return Mapping{}, st
	}
	return m, Status{}
}

// layoutSame reports whether C and Fortran order coincide for the file's shape.
func layoutSame(fh *FileHeader) bool {
	big := 0
	for _, d := range fh.Shape[:fh.Ndim] {
		if d > 1 {
			big++
		}
	}
	return big <= 1
}

// LockPath writes the NUL-terminated path of the lock file of target t into buf: in t's directory,
// LockPrefix and the name; a name too long for that is shortened to its first 200 bytes, '~' and
// the FNV-1a 64-bit hash of the whole name in 16 hex digits. It returns nil if buf is too small.
func LockPath(t Target, buf []byte) []byte {
	base := t.Path[t.Dir : len(t.Path)-1]
	out := append(buf[:0], t.Path[:t.Dir]...)
	if len(out)+len(LockPrefix)+255+1 > cap(buf) {
		return nil
	}
	out = append(out, LockPrefix...)
	if len(LockPrefix)+len(base) <= 255 {
		out = append(out, base...)
	} else {
		out = append(out, base[:200]...)
		out = append(out, '~')
		h := uint64(14695981039346656037)
		for _, c := range base {
			h ^= uint64(c)
			h *= 1099511628211
		}
		for i := 15; i >= 0; i-- {
			out = append(out, "0123456789abcdef"[h>>(4*uint(i))&15])
		}
	}
	return append(out, 0)
}

// takeLock opens and locks the lock file (FORMAT.md, "Loading", step 3), making sure that the
// locked file is still the one under that path: a finished loader removes it. With a cancel flag or
// a timeout it polls, so that a cancelled waiter stops and a bounded one gives up.
func takeLock(s *Scratch, t *Target, path []byte, opt *LoadOptions) (int, Status) {
	deadline := int64(0)
	if opt.Timeout > 0 {
		deadline = monotonicNs() + opt.Timeout*1e6
	}
	for {
		fd, st := openLock(t, path)
		if !st.Ok() {
			return -1, st
		}
		if st := flockWait(s, fd, path, opt.Cancel, deadline); !st.Ok() {
			// Cancelled (or failed) while waiting. If nobody holds the lock after all (the wait may
			// have been for nothing but a signal), the file may be ours alone: remove it as a
			// loader would. If somebody holds it, they remove it.
			if _, _, e := unix.Syscall(unix.SYS_FLOCK, uintptr(fd), unix.LOCK_EX|unix.LOCK_NB, 0); e == 0 {
				if sameFile(fd, t, path) {
					sysUnlinkat(t.At(), t.Rel(path))
				}
			}
			guardedClose(fd)
			return -1, st
		}
		if sameFile(fd, t, path) {
			return fd, Status{}
		}
		guardedClose(fd) // removed or replaced while we waited: lock the current one
	}
}

// openLock opens the lock file at path, creating it (mode 0600) if there is none, and refuses one
// that no loader of this user made: a symlink, anything but a regular file, or a file of another
// uid. In /dev/shm anyone may create files; another user's lock file, held with flock, would make
// every load of the name wait forever.
func openLock(t *Target, path []byte) (int, Status) {
	const flags = unix.O_RDWR | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK
	at, rel := t.At(), t.Rel(path)
	for {
		// Without O_CREAT first: fs.protected_regular refuses O_CREAT on another user's file in a
		// sticky directory before we could say whose it is.
		fd, errno := guardedOpen(at, rel, flags, 0)
		if errno == unix.ENOENT {
			fd, errno = guardedOpen(at, rel, flags|unix.O_CREAT|unix.O_EXCL, 0o600)
			if errno == unix.EEXIST {
				continue // another loader made it meanwhile
			}
		}
		switch errno {
		case 0:
		case unix.ELOOP:
			return -1, Status{Code: ErrPermission, Errno: errno, Msg: MsgLockFile, Path: path, Msg2: MsgIsSymlink}
		default:
			return -1, sysFail(errno, MsgCannotOpenLockFile)
		}
		var st unix.Stat_t
		switch err := unix.Fstat(fd, &st); {
		case err != nil:
			guardedClose(fd)
			return -1, sysFail(errnoOf(err), MsgCannotStatLockFile)
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			guardedClose(fd)
			return -1, Status{Code: ErrPermission, Msg: MsgLockFile, Path: path, Msg2: MsgIsNotRegularFile}
		case st.Uid != uint32(unix.Geteuid()):
			guardedClose(fd)
			return -1, Status{Code: ErrPermission, Msg: MsgLockFile, Path: path, Msg2: MsgBelongsUid,
				Num: int64(st.Uid), HasNum: true}
		}
		return fd, Status{}
	}
}

// sameFile reports whether fd is the file at path, in t's directory.
func sameFile(fd int, t *Target, path []byte) bool {
	var held, named unix.Stat_t
	return unix.Fstat(fd, &held) == nil && sysFstatat(t.At(), t.Rel(path), &named, 0) == 0 &&
		held.Ino == named.Ino && held.Dev == named.Dev
}

// flockWait locks fd, waiting for its holder: blocking, or with a cancel flag or a deadline (in
// monotonicNs' time; 0 for none) polling with growing pauses.
func flockWait(s *Scratch, fd int, path []byte, cancel unsafe.Pointer, deadline int64) Status {
	if cancel == nil && deadline == 0 {
		for {
			_, _, e := unix.Syscall(unix.SYS_FLOCK, uintptr(fd), unix.LOCK_EX, 0)
			if e != unix.EINTR {
				if e != 0 {
					return sysFail(e, MsgCannotLockLockFile)
				}
				return Status{}
			}
		}
	}
	wait := int64(50_000)
	for {
		_, _, e := unix.Syscall(unix.SYS_FLOCK, uintptr(fd), unix.LOCK_EX|unix.LOCK_NB, 0)
		switch e {
		case 0:
			return Status{}
		case unix.EWOULDBLOCK, unix.EINTR:
		default:
			return sysFail(e, MsgCannotLockLockFile)
		}
		if cancelled(cancel) {
			return errCancelled
		}
		pause := wait
		if deadline != 0 {
			left := deadline - monotonicNs()
			if left <= 0 {
				st := Status{Code: ErrIO, Errno: unix.ETIMEDOUT, Msg: MsgTimedOutWaitingLockFile, Path: path}
				if pid := lockHolder(fd, s.Dirent[:]); pid > 0 {
					st.Msg2, st.Num, st.HasNum = MsgHeldPid, int64(pid), true
				}
				return st
			}
			pause = min(pause, left)
		}
		ts := unix.Timespec{Sec: pause / 1e9, Nsec: pause % 1e9}
		unix.Syscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		wait = min(wait*2, 5_000_000)
	}
}

// dropLock removes the lock file, then unlocks and closes it: a waiter that locked the removed file
// notices and locks a new one. LOCK_UN unlocks the open file description for every process that
// shares it, so a child forked during the load does not keep the waiters waiting.
func dropLock(t *Target, path []byte, fd int) {
	sysUnlinkat(t.At(), t.Rel(path))
	unix.Syscall(unix.SYS_FLOCK, uintptr(fd), unix.LOCK_UN, 0)
	guardedClose(fd)
}

func monotonicNs() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Sec*1e9 + ts.Nsec
}

func sysFaccessatF(dirfd int, path []byte) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_FACCESSAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])), unix.F_OK, 0, 0, 0)
	return e
}
