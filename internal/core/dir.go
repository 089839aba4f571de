package core

import (
	"os"
	"sync/atomic"
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
}

var dirInfo atomic.Pointer[DirInfo]

func init() {
	d := os.Getenv(DirEnv)
	if d == "" {
		d = shmDir
	}
	dirInfo.Store(NewDirInfo(d))
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
	dirInfo.Store(d)
	return Status{}
}

// NewDirInfo checks dir and describes it; a refusal is in Err.
func NewDirInfo(dir string) *DirInfo {
	for len(dir) > 1 && dir[len(dir)-1] == '/' {
		dir = dir[:len(dir)-1]
	}
	d := &DirInfo{Nul: append([]byte(dir), 0)}
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
		return fail(ErrInvalid, "the directory of shared arrays ("+DirEnv+") must be an absolute path")
	case len(dir) > MaxDir:
		return failNum(ErrInvalid, "the directory of shared arrays ("+DirEnv+") is longer than", MaxDir)
	}
	for _, c := range dir {
		if c == 0 {
			return fail(ErrInvalid, "the directory of shared arrays ("+DirEnv+") contains a NUL byte")
		}
	}
	return Status{}
}
