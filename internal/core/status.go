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

// String names the code as the C header does (npshm_status_name).
func (c Code) String() string {
	if c <= 0 && int(-c) < len(codeNames) {
		return codeNames[-c]
	}
	return unknownCodeName
}

// Status is the outcome of an operation. Msg is always a constant string, so that a Status can be
// made and returned without allocating. The message reads Msg[ "Value"][ Path][Msg2][ Num][ Shape]:
// Value (the bad value of an argument, quoted, cut at 200 bytes) when not nil, Path (a path in the
// operation's scratch memory, such as a lock file's) and Msg2 (a constant) when set, Num when HasNum
// is set (in octal, with a leading 0 as C writes it, when Octal is set; in hexadecimal with 0x when
// Hex is), and Shape, when not nil, as a Python tuple. Value and Shape refer to the caller's memory,
// which must stay valid until the message is written.
type Status struct {
	Code   Code
	Errno  syscall.Errno
	Msg    string
	Value  []byte
	Path   []byte
	Msg2   string
	Num    int64
	HasNum bool
	Shape  []int64
	Octal  bool
	Hex    bool
}

// Ok reports whether the status is success.
func (s Status) Ok() bool { return s.Code == OK }

func fail(code Code, msg string) Status { return Status{Code: code, Msg: msg} }

func failNum(code Code, msg string, num int64) Status {
	return Status{Code: code, Msg: msg, Num: num, HasNum: true}
}

// failValue names the bad value: msg "value".
func failValue(code Code, msg string, value []byte) Status {
	return Status{Code: code, Msg: msg, Value: value}
}

// FailFlags refuses the flags outside allowed: msg and the unknown bits in hexadecimal.
func FailFlags(msg string, flags, allowed uint32) Status {
	return Status{Code: ErrInvalid, Msg: msg, Num: int64(flags &^ allowed), HasNum: true, Hex: true}
}

func failShape(code Code, msg string, shape []int64) Status {
	return Status{Code: code, Msg: msg, Shape: shape}
}

// permBits are the mode bits an array may have.
const permBits = 0o777

// CheckMode refuses a mode with bits other than the permission bits 0777: setuid, setgid and
// sticky bits would make an array another user can fill with a program and run.
func CheckMode(mode uint32) Status {
	if mode&^permBits != 0 {
		return Status{Code: ErrInvalid, Msg: MsgModeMustHoldPermissionBitsOnly, Num: int64(mode),
			HasNum: true, Octal: true}
	}
	return Status{}
}

// sysFail turns an errno from a system call into a Status with the matching code.
func sysFail(errno syscall.Errno, msg string) Status {
	return Status{Code: codeOfErrno(errno), Errno: errno, Msg: msg}
}

// AppendMessage appends "op("name"): msg[ num][: strerror]" to dst without growing it beyond its
// capacity, so that it can write into a fixed C buffer without allocating.
func (s Status) AppendMessage(dst []byte, op string, name []byte) []byte {
	w := boundedWriter{buf: dst}
	w.str(op)
	if name != nil {
		w.str("(\"")
		w.quoted(name)
		w.str("\")")
	}
	w.str(": ")
	w.str(s.Msg)
	if s.Value != nil {
		w.str(" \"")
		w.quoted(s.Value)
		w.str("\"")
	}
	if len(s.Path) > 0 {
		w.str(" ")
		w.bytes(trimNul(s.Path))
	}
	w.str(s.Msg2)
	if s.HasNum {
		w.str(" ")
		if s.Octal {
			w.octal(uint64(s.Num))
		} else if s.Hex {
			w.hex(uint64(s.Num))
		} else {
			w.int(s.Num)
		}
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

// trimNul drops the NUL that ends a path made for a system call.
func trimNul(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == 0 {
		return b[:len(b)-1]
	}
	return b
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

// quoted writes b, cut at 200 bytes and then followed by "...", for the quotes around a name or a
// value.
func (w *boundedWriter) quoted(b []byte) {
	if len(b) > 200 {
		w.bytes(b[:200])
		w.str("...")
	} else {
		w.bytes(b)
	}
}

// hex writes v in hexadecimal with a leading 0x, as C's "%#llx" does (0 is "0").
func (w *boundedWriter) hex(v uint64) {
	var digits [24]byte
	if v == 0 {
		w.str("0")
		return
	}
	w.bytes(appendDigits(append(digits[:0], '0', 'x'), v, 16, 0))
}

// octal writes v in octal with a leading 0, as C's "%#o" does.
func (w *boundedWriter) octal(v uint64) {
	var digits [24]byte
	w.bytes(appendDigits(append(digits[:0], '0'), v, 8, 0))
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

func appendUint(b []byte, v uint64) []byte { return appendDigits(b, v, 10, 1) }

// appendDigits appends v in base (2 to 16, lower-case letters) with at least min digits.
func appendDigits(b []byte, v, base uint64, min int) []byte {
	var digits [64]byte
	i := len(digits)
	for v > 0 || len(digits)-i < min {
		i--
		digits[i] = "0123456789abcdef"[v%base]
		v /= base
	}
	return append(b, digits[i:]...)
}
