// Package core implements the npshm segment format (docs/FORMAT.md) and the operations on named
// arrays: create, attach, delete and list.
//
// Every function here that the C ABI reaches makes no Go heap allocation and starts no goroutine:
// the Go runtime does not survive fork(), and a forked child that enters Go and allocates hangs
// (docs/DESIGN.md). Inputs are byte slices, outputs go into caller-provided memory (a Scratch, which
// the C ABI allocates with malloc), errors are plain Status values, and system calls are made
// directly. Tests assert zero allocations with testing.AllocsPerRun.
package core

import "syscall"

// Code is a status code; the values are those of include/npshm.h.
type Code int32

// The status codes of include/npshm.h.
const (
	OK            Code = 0
	ErrExists     Code = -1
	ErrNotFound   Code = -2
	ErrInvalid    Code = -3
	ErrNoSpace    Code = -4
	ErrFormat     Code = -5
	ErrMismatch   Code = -6
	ErrPermission Code = -7
	ErrIO         Code = -8
)

// String names the code as the C header does.
func (c Code) String() string {
	switch c {
	case OK:
		return "NPSHM_OK"
	case ErrExists:
		return "NPSHM_ERR_EXISTS"
	case ErrNotFound:
		return "NPSHM_ERR_NOT_FOUND"
	case ErrInvalid:
		return "NPSHM_ERR_INVALID"
	case ErrNoSpace:
		return "NPSHM_ERR_NO_SPACE"
	case ErrFormat:
		return "NPSHM_ERR_FORMAT"
	case ErrMismatch:
		return "NPSHM_ERR_MISMATCH"
	case ErrPermission:
		return "NPSHM_ERR_PERMISSION"
	case ErrIO:
		return "NPSHM_ERR_IO"
	}
	return "NPSHM_ERR_UNKNOWN"
}

// Status is the outcome of an operation. Msg is always a constant string, so that a Status can be
// made and returned without allocating. When HasNum is set, Num is printed after Msg; when Shape is
// not nil, it is printed after Msg as a Python tuple. Shape refers to the caller's shape, which must
// stay valid until the message is written.
type Status struct {
	Code   Code
	Errno  syscall.Errno
	Msg    string
	Num    int64
	HasNum bool
	Shape  []int64
}

// Ok reports whether the status is success.
func (s Status) Ok() bool { return s.Code == OK }

func fail(code Code, msg string) Status { return Status{Code: code, Msg: msg} }

func failNum(code Code, msg string, num int64) Status {
	return Status{Code: code, Msg: msg, Num: num, HasNum: true}
}

func failShape(code Code, msg string, shape []int64) Status {
	return Status{Code: code, Msg: msg, Shape: shape}
}

// sysFail turns an errno from a system call into a Status with the matching code.
func sysFail(errno syscall.Errno, msg string) Status {
	code := ErrIO
	switch errno {
	case syscall.EEXIST:
		code = ErrExists
	case syscall.ENOENT, syscall.ENOTDIR:
		code = ErrNotFound
	case syscall.ENOSPC, syscall.EDQUOT:
		code = ErrNoSpace
	case syscall.EACCES, syscall.EPERM, syscall.EROFS:
		code = ErrPermission
	case syscall.ENAMETOOLONG, syscall.EISDIR:
		code = ErrInvalid
	}
	return Status{Code: code, Errno: errno, Msg: msg}
}

// AppendMessage appends "op("name"): msg[ num][: strerror]" to dst without growing it beyond its
// capacity, so that it can write into a fixed C buffer without allocating.
func (s Status) AppendMessage(dst []byte, op string, name []byte) []byte {
	w := boundedWriter{buf: dst}
	w.str(op)
	if name != nil {
		w.str("(\"")
		if len(name) > 200 {
			w.bytes(name[:200])
			w.str("...")
		} else {
			w.bytes(name)
		}
		w.str("\")")
	}
	w.str(": ")
	w.str(s.Msg)
	if s.HasNum {
		w.str(" ")
		w.int(s.Num)
	}
	if s.Shape != nil {
		w.str(" (")
		for i, d := range s.Shape {
			if i > 0 {
				w.str(", ")
			}
			w.int(d)
		}
		if len(s.Shape) == 1 {
			w.str(",")
		}
		w.str(")")
	}
	if s.Errno != 0 {
		w.str(": ")
		w.str(s.Errno.Error())
	}
	return w.buf
}

// boundedWriter appends to a slice up to its capacity and silently drops the rest.
type boundedWriter struct{ buf []byte }

func (w *boundedWriter) str(s string) {
	n := min(len(s), cap(w.buf)-len(w.buf))
	w.buf = append(w.buf, s[:n]...)
}

func (w *boundedWriter) bytes(b []byte) {
	n := min(len(b), cap(w.buf)-len(w.buf))
	w.buf = append(w.buf, b[:n]...)
}

func (w *boundedWriter) int(v int64) {
	u := uint64(v)
	if v < 0 {
		w.str("-")
		u = -u
	}
	var digits [20]byte
	w.bytes(appendUint(digits[:0], u))
}

func appendUint(b []byte, v uint64) []byte {
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, digits[i:]...)
}
