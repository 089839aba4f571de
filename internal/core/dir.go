package core

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// The directory of shared-memory arrays (FORMAT.md, "Names"): /dev/shm, or the directory the
// environment variable NPSHM_DIR names when the process starts (when libnpshm loads, for C and
// Python), or the one SetDir chose since. A huge-page tmpfs (mounted huge=within_size) is the reason
// to choose another (issue 13).

// DirEnv is the environment variable that names the directory of shared-memory arrays.
const DirEnv = "NPSHM_DIR"

// MaxDir bounds the directory's path, so that it and any name fit a Scratch's path buffers.
const MaxDir = MaxPath - maxShmName - 32

// HugeAlign is the alignment of the data of an array on a huge-page mount: a PMD huge page.
const HugeAlign = 2 << 20

// DirInfo is the directory of shared-memory arrays, as checked when it was chosen.
type DirInfo struct {
	// Path ends in '/', Nul is the directory NUL-terminated (without the '/', but for "/").
	Path, Nul []byte
	// Err is why the directory cannot be used (CheckDir's refusal), or zero; every operation on a
	// shared-memory name fails with it.
	Err Status
	// Huge: the mount hands out huge pages (huge=always, within_size or advise), so data is
	// aligned to HugeAlign; Advise: they need MADV_HUGEPAGE (huge=advise).
	Huge, Advise bool
	// HugeOpt is the mount's huge= option ("always", "within_size", "advise"), or "".
	HugeOpt string
	// Fd is a descriptor of the directory, opened by the check (the directory checked is the one
	// held), or -1 if it could not be opened (/dev/shm only, which is then used by its path).
	// Every operation works relative to it (openat, linkat, unlinkat...), so that a directory
	// removed later and made again by someone else under the same path is never used: operations
	// then fail with ErrNotFound (RELIABILITY.md, "The directory of shared arrays"). It is never
	// closed: another thread may be using it while SetDir installs a new DirInfo.
	Fd int
	// Dev and Ino identify the directory held by Fd.
	Dev, Ino uint64
}

// At returns the directory descriptor to resolve a name relative to: Fd, or AT_FDCWD for a
// directory used by its path.
func (d *DirInfo) At() int {
	if d.Fd < 0 {
		return atFdcwdInt
	}
	return d.Fd
}

var dirInfo atomic.Pointer[DirInfo]

func init() {
	d := os.Getenv(DirEnv)
	if d == "" {
		d = shmDir
	}
	dirInfo.Store(reuseDirInfo(NewDirInfo(d)))
}

// Dir returns the directory of shared-memory arrays.
func Dir() *DirInfo { return dirInfo.Load() }

// SetDir makes dir the directory of shared-memory arrays, if CheckDir accepts it ("" is /dev/shm).
func SetDir(dir string) Status {
	if dir == "" {
		dir = shmDir
	}
	d := NewDirInfo(dir)
	if !d.Err.Ok() {
		return d.Err
	}
	dirInfo.Store(reuseDirInfo(d))
	return Status{}
}

// held are the DirInfos SetDir installed, each holding a descriptor: their descriptors are never
// closed (an operation of another thread may still be using one after SetDir replaced it), so a
// choice of a directory already held, the same path and the same directory, reuses it instead,
// and a program that switches between a few directories holds a few descriptors, not one per call.
var held struct {
	sync.Mutex
	dirs []*DirInfo
}

// reuseDirInfo returns the held DirInfo equal to d (closing d's descriptor), or records d.
func reuseDirInfo(d *DirInfo) *DirInfo {
	held.Lock()
	defer held.Unlock()
	for _, h := range held.dirs {
		if h.Fd >= 0 && d.Fd >= 0 && h.Dev == d.Dev && h.Ino == d.Ino && string(h.Nul) == string(d.Nul) &&
			h.HugeOpt == d.HugeOpt {
			closeFd(d.Fd)
			return h
		}
	}
	held.dirs = append(held.dirs, d)
	return d
}

// NewDirInfo checks dir and describes it; a refusal is in Err.
func NewDirInfo(dir string) *DirInfo {
	for len(dir) > 1 && dir[len(dir)-1] == '/' {
		dir = dir[:len(dir)-1]
	}
	d := &DirInfo{Nul: append([]byte(dir), 0), Fd: -1}
	d.Path = []byte(dir)
	if dir != "/" {
		d.Path = append(d.Path, '/')
	}
	d.Err = checkDir(d)
	return d
}

// dirPolicy is the shared part of CheckDir's rules: the path itself.
func dirPolicy(dir []byte) Status {
	switch {
	case len(dir) == 0 || dir[0] != '/':
		return fail(ErrInvalid, MsgDirMustBeAbsolutePath)
	case len(dir) > MaxDir:
		return failNum(ErrInvalid, MsgDirIsLongerThan, MaxDir)
	}
	for _, c := range dir {
		if c == 0 {
			return fail(ErrInvalid, MsgDirContainsNulByte)
		}
	}
	return Status{}
}

// removedStatus is the failure of an operation whose directory of shared arrays, d, was removed.
func removedStatus(d *DirInfo) Status {
	return Status{Code: ErrNotFound, Errno: errENOENT, Msg: MsgDirSharedArrays, Path: d.Nul, Msg2: MsgWasRemovedSetDirAgain}
}

const errENOENT = syscall.ENOENT

var dotNul = [...]byte{'.', 0}
