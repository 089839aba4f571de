package core

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Scratch is the working memory of one operation: every buffer an operation needs, so that it
// allocates nothing. It holds no Go pointers but into itself, so it may live in C memory.
type Scratch struct {
	Path   [MaxPath + 32]byte
	Temp   [MaxPath + 64]byte
	Proc   [32]byte
	Descr  [MaxDescr + 1]byte
	Header [MaxHeaderLen]byte
	Hdr    Header
	Dirent [8192]byte
	Owner  uint32 // the uid that owns the segment of the last Attach
}

// CreateOptions are the choices of Create.
type CreateOptions struct {
	Replace bool
	Fortran bool
	// NoReserve leaves the segment sparse (NPSHM_NO_RESERVE): no fallocate, FlagUnreserved set.
	NoReserve bool
	HasMode   bool
	Mode      uint32
	// Init, if set, fills the data before the array is published, so that no attacher sees it
	// unfilled: it gets the data's address and size and InitA, InitB as given. A nonzero result
	// abandons the creation (nothing is left) and becomes the status code. It must be a plain
	// function, not a closure, for Create to stay allocation-free.
	Init         InitFunc
	InitA, InitB unsafe.Pointer
	// Format is the segment format: SegNpshm (0), or a peer's (SegSharedArray, SegCdxcore), whose
	// libraries can then attach the array. What a peer's format cannot carry is refused.
	Format uint32
}

// InitFunc is the type of CreateOptions.Init.
type InitFunc func(data unsafe.Pointer, n uint64, a, b unsafe.Pointer) int32

// tempCounter makes temporary names unique within a process.
var tempCounter atomic.Uint64

// procState caches whether /proc/self/fd can publish O_TMPFILE files: 0 unknown, 1 yes, 2 no.
var procState atomic.Int32

var procSelfFd = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'f', 'd', 0}

// Create makes a new zero-filled array and maps it read-write. The header ends up in s.Hdr.
func Create(s *Scratch, name []byte, shape []int64, dtype []byte, opt CreateOptions) (Mapping, Target, Status) {
	t, st := ResolveName(name, s.Path[:0:len(s.Path)])
	if !st.Ok() {
		return Mapping{}, t, st
	}
	if len(shape) > MaxNdim {
		return Mapping{}, t, failNum(ErrInvalid, MsgNdimMustBetween064, int64(len(shape)))
	}
	descr, itemsize, st := NormalizeDtype(dtype, s.Descr[:0:MaxDescr])
	if !st.Ok() {
		return Mapping{}, t, st
	}
	if opt.HasMode {
		if st := CheckMode(opt.Mode); !st.Ok() {
			return Mapping{}, t, st
		}
	}
	if opt.NoReserve && opt.Format != SegNpshm {
		return Mapping{}, t, fail(ErrInvalid, MsgNoReserveNeedsNpshmFormat)
	}
	h := &s.Hdr
	*h = Header{Ndim: len(shape), Itemsize: uint64(itemsize), Descr: descr}
	copy(h.Shape[:], shape)
	if opt.Fortran {
		h.Flags |= FlagFortran
	}
	if opt.NoReserve {
		h.Flags |= FlagUnreserved
	}
	if st := h.Layout(); !st.Ok() {
		return Mapping{}, t, st
	}
	var hlen int
	if opt.Format != SegNpshm {
		if hlen, st = describePeer(h, opt.Format, s.Header[:]); !st.Ok() {
			return Mapping{}, t, st
		}
	} else {
		hugeLayout(h, t)
		h.CreatorPID = uint32(unix.Getpid())
		h.CreatedNs = time.Now().UnixNano()
		hlen = h.Encode(s.Header[:])
	}
	size := h.SegmentSize()

	dir := dirPath(t, s.Temp[:0:len(s.Temp)])
	fd, named, st := openTemp(s, &t, dir, unix.O_RDWR, 0o600)
	if !st.Ok() {
		return Mapping{}, t, t.removed(st)
	}
	m, st := fillSegment(fd, size, s.Header[:hlen], h.HeaderAt, opt, t.IsFile, true)
	if st.Ok() && opt.Init != nil {
		if r := opt.Init(addrPtr(m.Data(h)), h.DataNbytes, opt.InitA, opt.InitB); r != 0 {
			st = Status{Code: Code(r), Msg: MsgInitFunctionAbandonedArray}
		}
	}
	if st.Ok() {
		testPause(pauseCreatePublish)
		st = publish(s, fd, named, &t, opt.Replace)
	}
	if !st.Ok() {
		unix.Ftruncate(fd, 0) // frees the memory, even if a child forked meanwhile holds fd
	}
	unix.Close(fd)
	if !st.Ok() {
		discard(s, &t, named, m)
		return Mapping{}, t, t.removed(st)
	}
	return m, t, Status{}
}

// discard undoes a creation that failed before its name was published: it removes the temporary
// name, if the file had one, and unmaps what was mapped, so that nothing is left behind.
func discard(s *Scratch, t *Target, named bool, m Mapping) {
	if named && s.Temp[0] != 0 {
		sysUnlinkat(t.At(), t.Rel(s.Temp[:]))
	}
	if m.Addr != 0 {
		munmap(m)
	}
}

// dirPath writes the NUL-terminated directory of t into buf, ending in '/' so that a temporary
// name can be appended to it.
func dirPath(t Target, buf []byte) []byte {
	if t.Dir == 0 {
		return append(buf, '.', '/', 0)
	}
	buf = append(buf, t.Path[:t.Dir]...)
	return append(buf, 0)
}

// openTemp opens an unnamed file in dir (O_TMPFILE) for access (O_RDWR or O_WRONLY) with the
// permission bits perm (less the umask), or where that is not possible a new file named
// .npshm-tmp-<pid>-<n>, whose NUL-terminated path is then left in s.Temp. dir is t's directory
// (dirPath), opened relative to t's (At, Rel).
func openTemp(s *Scratch, t *Target, dir []byte, access int, perm uint32) (fd int, named bool, st Status) {
	return openTempFor(s, t, dir, access, perm, false)
}

// openTempFor is openTemp, with the descriptor under the fork guard if guard is set (a load's).
func openTempFor(s *Scratch, t *Target, dir []byte, access int, perm uint32, guard bool) (fd int, named bool, st Status) {
	open, closeFd := sysOpenat, unix.Close
	if guard {
		open, closeFd = guardedOpen, func(fd int) error { guardedClose(fd); return nil }
	}
	if procState.Load() != 2 {
		fd, errno := open(t.At(), t.Rel(dir), unix.O_TMPFILE|access|unix.O_CLOEXEC, perm)
		if errno == 0 {
			if procState.Load() == 0 {
				if sysFaccessat(procSelfFd[:]) == 0 {
					procState.Store(1)
				} else {
					procState.Store(2)
				}
			}
			if procState.Load() == 1 {
				return fd, false, Status{}
			}
			closeFd(fd)
		} else if errno != unix.EOPNOTSUPP && errno != unix.EISDIR && errno != unix.EINVAL {
			if access == unix.O_WRONLY { // writing an array file, as the C path words it
				return -1, false, sysFail(errno, MsgCannotCreateFile)
			}
			return -1, false, sysFail(errno, MsgCannotCreateArraySDirectoryEntry)
		}
	}
	dirLen := len(dir) - 1
	for range 100 {
		p := appendTempName(s.Temp[:dirLen])
		fd, errno := open(t.At(), t.Rel(p), unix.O_CREAT|unix.O_EXCL|access|unix.O_CLOEXEC, perm)
		if errno == 0 {
			return fd, true, Status{}
		}
		if errno != unix.EEXIST {
			return -1, false, sysFail(errno, MsgCannotCreateTemporaryFile)
		}
	}
	return -1, false, fail(ErrIO, MsgCannotFindFreeTemporaryName)
}

// hugeLayout puts the data of a new segment of 2 MiB or more in huge pages of its own, in a
// directory whose tmpfs hands them out (FORMAT.md: data_offset); creates and loads alike.
func hugeLayout(h *Header, t Target) {
	if !t.IsFile && Dir().Huge && h.DataNbytes >= HugeAlign {
		h.DataOffset = HugeAlign
	}
}

// fillSegment sets the mode, reserves the space, maps the segment and writes the header at offset
// at. With populate, on shared memory (not a file://, where it would dirty every page), it maps
// every page of the segment at once (MADV_POPULATE_WRITE): the pages fallocate reserved are then
// written without a page fault each, which makes a create and its first full write about 15%
// faster (bench/bench_speed.py). A kernel before 5.14 (EINVAL) or a failure leaves the pages to
// fault in as before: they are reserved either way.
func fillSegment(fd int, size uint64, header []byte, at uint64, opt CreateOptions, isFile, populate bool) (Mapping, Status) {
	if opt.HasMode {
		if err := unix.Fchmod(fd, opt.Mode); err != nil {
			return Mapping{}, sysFail(errnoOf(err), MsgCannotSetMode)
		}
	}
	if opt.NoReserve {
		populate = false
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			// hugetlbfs sizes a file in whole huge pages only (EINVAL), and reserves the pages of
			// a shared mapping when it maps them anyway: there the segment is reserved.
			if errnoOf(err) != unix.EINVAL {
				return Mapping{}, sysFail(errnoOf(err), MsgCannotSizeFile)
			}
			if errno := sysFallocate(fd, size); errno != 0 {
				return Mapping{}, sysFail(errno, MsgCannotReserveMemoryArray)
			}
		}
		// The header is written through the mapping below: its pages are reserved, else a full
		// /dev/shm would raise SIGBUS in npshm's own write.
		if errno := sysFallocate(fd, at+uint64(len(header))); errno != 0 &&
			!(isFile && (errno == unix.EOPNOTSUPP || errno == unix.ENOSYS)) {
			return Mapping{}, sysFail(errno, MsgCannotReserveMemoryArray)
		}
	} else if errno := sysFallocate(fd, size); errno != 0 {
		if !(isFile && (errno == unix.EOPNOTSUPP || errno == unix.ENOSYS)) {
			return Mapping{}, sysFail(errno, MsgCannotReserveMemoryArray)
		}
		// A file system without fallocate: the file is sized, though not reserved.
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			return Mapping{}, sysFail(errnoOf(err), MsgCannotSizeFile)
		}
	}
	var stat unix.Stat_t
	if err := unix.Fstat(fd, &stat); err != nil {
		return Mapping{}, sysFail(errnoOf(err), MsgCannotStatArray)
	}
	m, errno := mmap(fd, mapLen(fd, size, &stat), false)
	if errno != 0 {
		return Mapping{}, sysFail(errno, MsgCannotMapArray)
	}
	m.Dev, m.Ino = uint64(stat.Dev), stat.Ino
	if !isFile {
		adviseHuge(m)
	}
	if populate && !isFile {
		populateWrite(m)
	}
	copy(unsafe.Slice((*byte)(addrPtr(m.Addr+uintptr(at))), len(header)), header)
	return m, Status{}
}

// publish gives the finished segment its final name, atomically.
func publish(s *Scratch, fd int, named bool, t *Target, replace bool) Status {
	at := t.At()
	if !named {
		p := append(s.Proc[:0], "/proc/self/fd/"...)
		p = appendUint(p, uint64(fd))
		p = append(p, 0)
		if !replace {
			return linkStatus(sysLinkat(unix.AT_FDCWD, p, at, t.Rel(t.Path), unix.AT_SYMLINK_FOLLOW))
		}
		// Replace: name the file temporarily, then rename it over the old one.
		dirLen := len(dirPath(*t, s.Temp[:0:len(s.Temp)])) - 1
		for range 100 {
			tp := appendTempName(s.Temp[:dirLen])
			errno := sysLinkat(unix.AT_FDCWD, p, at, t.Rel(tp), unix.AT_SYMLINK_FOLLOW)
			if errno == unix.EEXIST {
				continue
			}
			if errno != 0 {
				return sysFail(errno, MsgCannotNameNewArray)
			}
			testPause(pauseReplaceRename)
			if errno := sysRenameat(at, t.Rel(tp), t.Rel(t.Path)); errno != 0 {
				sysUnlinkat(at, t.Rel(tp))
				return sysFail(errno, MsgCannotReplaceArray)
			}
			return Status{}
		}
		return fail(ErrIO, MsgCannotFindFreeTemporaryName)
	}
	if replace {
		testPause(pauseReplaceRename)
		if errno := sysRenameat(at, t.Rel(s.Temp[:]), t.Rel(t.Path)); errno != 0 {
			return sysFail(errno, MsgCannotReplaceArray)
		}
		s.Temp[0] = 0 // renamed: nothing left to clean up
		return Status{}
	}
	if st := linkStatus(sysLinkat(at, t.Rel(s.Temp[:]), at, t.Rel(t.Path), 0)); !st.Ok() {
		return st
	}
	sysUnlinkat(at, t.Rel(s.Temp[:]))
	s.Temp[0] = 0
	return Status{}
}

func linkStatus(errno unix.Errno) Status {
	switch errno {
	case 0:
		return Status{}
	case unix.EEXIST:
		return Status{Code: ErrExists, Errno: errno, Msg: MsgArrayNameExists}
	}
	return sysFail(errno, MsgCannotPublishArrayUnderName)
}

// Attach maps an existing array after validating its header, which ends up in s.Hdr.
func Attach(s *Scratch, name []byte, readOnly bool) (Mapping, Target, Status) {
	t, st := resolveName(name, s.Path[:0:len(s.Path)])
	if !st.Ok() {
		return Mapping{}, Target{}, st
	}
	// Never follow a symlink at the name (another user may have put one there, pointing at a
	// file of ours), and never block opening a FIFO: anything but a regular file is refused.
	flags := unix.O_RDWR | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOFOLLOW
	if readOnly {
		flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOFOLLOW
	}
	fd, errno := sysOpenat(t.At(), t.Rel(t.Path), flags, 0)
	if errno != 0 {
		switch errno {
		case unix.ENOENT:
			return Mapping{}, Target{}, t.removed(Status{Code: ErrNotFound, Errno: errno, Msg: MsgNoArrayOfThatName})
		case unix.ELOOP:
			return Mapping{}, Target{}, t.removed(errSymlink)
		}
		return Mapping{}, Target{}, t.removed(sysFail(errno, MsgCannotOpenArray))
	}
	m, st := attachFd(s, fd, readOnly, &t)
	unix.Close(fd)
	if !st.Ok() {
		return Mapping{}, Target{}, st
	}
	if !t.IsFile {
		adviseHuge(m)
	}
	return m, t, st
}

// populateChunk is how much of a new segment one MADV_POPULATE_WRITE maps: the call holds the
// process's mmap lock while it works, so a create of gigabytes would otherwise stall, for a second
// or more, every other thread that maps, unmaps or grows its heap.
const populateChunk = 64 << 20

// populateWrite maps every page of m now (MADV_POPULATE_WRITE), populateChunk bytes at a time. A
// kernel before 5.14 (EINVAL) or a failure leaves the pages to fault in as they are touched.
func populateWrite(m Mapping) {
	for off := uint64(0); off < m.Len; off += populateChunk {
		n := min(populateChunk, m.Len-off)
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.Addr+uintptr(off), uintptr(n), unix.MADV_POPULATE_WRITE); e != 0 {
			return
		}
	}
}

// adviseHuge asks for huge pages for a mapping of 2 MiB or more in the directory of shared arrays
// when its mount gives them only on request (huge=advise): MADV_HUGEPAGE. Elsewhere it does nothing.
func adviseHuge(m Mapping) {
	if m.Len >= HugeAlign && Dir().Advise {
		unix.Syscall(unix.SYS_MADVISE, m.Addr, uintptr(m.Len), unix.MADV_HUGEPAGE)
	}
}

// errSymlink is the refusal of a name that is a symbolic link (open with O_NOFOLLOW: ELOOP).
var errSymlink = Status{Code: ErrPermission, Errno: unix.ELOOP, Msg: MsgNameIsSymlink}

// attachFd maps the array open at fd, the name of t. What was opened must be on the device of t's
// held directory, or that directory's descriptor is checked (heldStatus): the fstat the attach makes
// anyway then finds a descriptor taken by another file system's directory at no cost.
func attachFd(s *Scratch, fd int, readOnly bool, t *Target) (Mapping, Status) {
	var stat unix.Stat_t
	if st := readHeader(s, fd, &stat); !st.Ok() {
		return Mapping{}, t.removed(st)
	}
	if t.Held && uint64(stat.Dev) != t.Info.Dev {
		if st := heldStatus(t.Info); !st.Ok() {
			return Mapping{}, st
		}
	}
	s.Owner = stat.Uid
	size := s.Hdr.SegmentSize()
	// A sparse segment is backed, unless it says it was made so on purpose (NoReserve) by this
	// user: another user's word for it is not taken (RELIABILITY.md).
	sparse := isSparse(&stat) && !(s.Hdr.Flags&FlagUnreserved != 0 && stat.Uid == uint32(unix.Geteuid()))
	if sparse && !readOnly {
		if st := reserveSparse(fd, size); !st.Ok() {
			return Mapping{}, st
		}
	}
	m, errno := mmap(fd, mapLen(fd, size, &stat), readOnly)
	if errno != 0 {
		return Mapping{}, sysFail(errno, MsgCannotMapArray)
	}
	m.Dev, m.Ino = uint64(stat.Dev), stat.Ino
	if sparse && readOnly {
		if st := populateSparse(fd, m, &stat); !st.Ok() {
			munmap(m)
			return Mapping{}, st
		}
	}
	return m, Status{}
}

// readHeader stats the open segment fd and reads and validates its header into s.Hdr.
func readHeader(s *Scratch, fd int, stat *unix.Stat_t) Status {
	return readHeaderQuick(s, fd, stat, false)
}

// readHeaderQuick is readHeader, with quick system calls (sys_linux.go) if quick: for a file on a
// tmpfs.
func readHeaderQuick(s *Scratch, fd int, stat *unix.Stat_t, quick bool) Status {
	var errno unix.Errno
	if quick {
		errno = quickFstat(fd, stat)
	} else if err := unix.Fstat(fd, stat); err != nil {
		errno = errnoOf(err)
	}
	if errno != 0 {
		return sysFail(errno, MsgCannotStatArray)
	}
	if stat.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail(ErrFormat, MsgNotArrayNotRegularFile)
	}
	size := uint64(stat.Size)
	want := min(uint64(headProbe), size)
	n, errno := preadAt(fd, s.Header[:want], 0, quick)
	if errno != 0 {
		return sysFail(errno, MsgCannotReadArraySHeader)
	}
	need := HeaderNeed(s.Header[:n])
	if need > n && uint64(need) <= size {
		if n, errno = preadAt(fd, s.Header[:need], 0, quick); errno != 0 {
			return sysFail(errno, MsgCannotReadArraySHeader)
		}
	}
	st := s.Hdr.Decode(s.Header[:n], size, s.Descr[:0:MaxDescr])
	if st.Code == ErrFormat { // not npshm's header (FORMAT.md, "Telling the formats apart"): a peer's?
		if ok, pst := readPeerHeader(s, fd, min(n, dataAlign), size); ok {
			return pst
		}
	}
	return st
}

// Delete removes the name of an array.
func Delete(s *Scratch, name []byte) Status {
	t, st := ResolveName(name, s.Path[:0:len(s.Path)])
	if !st.Ok() {
		return st
	}
	switch errno := sysUnlinkat(t.At(), t.Rel(t.Path)); errno {
	case 0:
		return Status{}
	case unix.ENOENT:
		return t.removed(Status{Code: ErrNotFound, Errno: errno, Msg: MsgNoArrayOfThatName})
	default:
		return sysFail(errno, MsgCannotDeleteArray)
	}
}

// Unmap releases a mapping.
func Unmap(m Mapping) Status {
	if m.Addr == 0 {
		return Status{}
	}
	if errno := munmap(m); errno != 0 {
		return sysFail(errno, "cannot unmap the array")
	}
	return Status{}
}

// Lister walks the directory of shared arrays (Dir) and reports the npshm arrays in it.
type Lister struct {
	dirfd int
	quick bool // the directory is a tmpfs: quick system calls (sys_linux.go)
	n     int
	off   int
	done  bool
}

// ListEntry is what Next reports of one array; Name is NUL-terminated (Name[:len(Name)-1] is the
// name), and the header is in the Scratch's Hdr.
type ListEntry struct {
	Name []byte
	Mode uint32
	UID  uint32
}

// Open starts a listing of the directory of shared arrays (Dir).
func (l *Lister) Open() Status {
	fd, st := OpenDir(MsgCannotReadDevShm)
	if !st.Ok() {
		return st
	}
	var fs unix.Statfs_t
	*l = Lister{dirfd: fd, quick: unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.TMPFS_MAGIC}
	return Status{}
}

// Close ends the listing.
func (l *Lister) Close() {
	if l.dirfd > 0 {
		unix.Close(l.dirfd)
		l.dirfd = -1
	}
}

// Next reports the next readable npshm array, using s for its buffers. ok is false at the end.
func (l *Lister) Next(s *Scratch) (e ListEntry, ok bool, st Status) {
	for {
		if l.off >= l.n {
			if l.done {
				return ListEntry{}, false, Status{}
			}
			n, err := unix.Getdents(l.dirfd, s.Dirent[:])
			if err != nil {
				return ListEntry{}, false, sysFail(errnoOf(err), MsgCannotReadDevShm)
			}
			if n == 0 {
				l.done = true
				continue
			}
			l.n, l.off = n, 0
		}
		// struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name.
		rec := s.Dirent[l.off:l.n]
		reclen := int(rec[16]) | int(rec[17])<<8
		if reclen < 20 || reclen > len(rec) {
			l.done, l.off = true, l.n
			return ListEntry{}, false, fail(ErrIO, "malformed directory entry in the directory of shared arrays")
		}
		l.off += reclen
		typ := rec[18]
		name := rec[19:reclen]
		end := 0
		for end < len(name) && name[end] != 0 {
			end++
		}
		if end == len(name) {
			continue
		}
		name = name[:end+1]
		if (typ != unix.DT_REG && typ != unix.DT_UNKNOWN) || string(name) == ".\x00" || string(name) == "..\x00" || hasTempPrefix(name) {
			continue
		}
		const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOFOLLOW
		var fd int
		var errno unix.Errno
		if l.quick {
			fd, errno = quickOpenat(l.dirfd, name, flags)
		} else {
			fd, errno = sysOpenat(l.dirfd, name, flags, 0)
		}
		if errno != 0 {
			continue
		}
		var stat unix.Stat_t
		st := readHeaderQuick(s, fd, &stat, l.quick)
		if l.quick {
			quickClose(fd)
		} else {
			unix.Close(fd)
		}
		if !st.Ok() {
			continue
		}
		return ListEntry{Name: name, Mode: stat.Mode & 0o7777, UID: stat.Uid}, true, Status{}
	}
}

func hasTempPrefix(name []byte) bool {
	_, ok := cutPrefix(name, TempPrefix)
	return ok
}

// appendTempName appends a fresh NUL-terminated temporary name, .npshm-tmp-<pid>-<16 hex digits>
// (FORMAT.md, "Creation"), to a directory path. The digits come from getrandom, so that another
// user cannot take the names a process will use; should getrandom fail, from a counter and the
// clock.
func appendTempName(dir []byte) []byte {
	p := append(dir, TempPrefix...)
	p = appendUint(p, uint64(unix.Getpid()))
	p = append(p, '-')
	var r [8]byte
	n, _, e := unix.Syscall(unix.SYS_GETRANDOM, uintptr(unsafe.Pointer(&r[0])), uintptr(len(r)), unix.GRND_NONBLOCK)
	v := uint64(r[0]) | uint64(r[1])<<8 | uint64(r[2])<<16 | uint64(r[3])<<24 | uint64(r[4])<<32 |
		uint64(r[5])<<40 | uint64(r[6])<<48 | uint64(r[7])<<56
	if e != 0 || n != uintptr(len(r)) {
		v = tempCounter.Add(1)*0x9e3779b97f4a7c15 ^ uint64(time.Now().UnixNano())
	}
	for i := 15; i >= 0; i-- {
		p = append(p, "0123456789abcdef"[v>>(4*uint(i))&15])
	}
	return append(p, 0)
}

func errnoOf(err error) unix.Errno {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}
