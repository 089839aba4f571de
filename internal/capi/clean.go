//go:build linux && cgo

package capi

import (
	"unsafe"

	"github.com/npshm/npshm/internal/core"
)

// CleanTemporaries is npshm_clean_temporaries: dir is a C string, or NULL for /dev/shm.
func CleanTemporaries(dir unsafe.Pointer, removed *int32) (rc int32) {
	const op = "npshm_clean_temporaries"
	defer guard(&rc, op)
	var dirB []byte
	if dir != nil {
		b, ok := cbytes(dir, core.MaxPath)
		if !ok || len(b) == 0 {
			return invalid(op, nil, core.MsgDirectoryEmptyTooLong)
		}
		dirB = unsafe.Slice((*byte)(dir), len(b)+1) // with its NUL, for the system call
	}
	s := scratch()
	if s == nil {
		return fail(outOfMemory, op, dirB)
	}
	n, st := core.CleanTemporaries(s, dirB)
	if removed != nil {
		*removed = int32(n)
	}
	if !st.Ok() {
		return fail(st, op, trimNul(dirB))
	}
	return 0
}

func trimNul(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == 0 {
		return b[:len(b)-1]
	}
	return b
}

// SetDir is the Go side of npshm_set_dir: dir is a C string that the C side (internal/ctwin) has
// accepted already, or NULL for /dev/shm.
func SetDir(dir unsafe.Pointer) (rc int32) {
	const op = "npshm_set_dir"
	defer guard(&rc, op)
	var d string
	if dir != nil {
		b, ok := cbytes(dir, core.MaxDir+1)
		if !ok {
			return invalid(op, nil, "the directory of shared arrays ("+core.DirEnv+") is too long")
		}
		d = string(b)
	}
	if st := core.SetDir(d); !st.Ok() {
		return fail(st, op, []byte(d))
	}
	return 0
}
