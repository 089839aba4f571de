package npshm

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"syscall"

	"github.com/npshm/npshm/internal/core"
)

// Sentinel errors, one per status code of the C ABI. Errors returned by this package match one of
// them with errors.Is; they also match fs.ErrExist, fs.ErrNotExist and fs.ErrPermission where those
// apply, and the operating system's errno (syscall.ENOSPC, ...) when there is one.
var (
	ErrExists     = errors.New("npshm: array exists")
	ErrNotFound   = errors.New("npshm: no such array")
	ErrInvalid    = errors.New("npshm: invalid argument")
	ErrNoSpace    = errors.New("npshm: no space for the array")
	ErrFormat     = errors.New("npshm: not a valid npshm array")
	ErrMismatch   = errors.New("npshm: array differs from what was expected")
	ErrPermission = errors.New("npshm: permission denied")
	ErrIO         = errors.New("npshm: i/o error")
)

// ErrUnsupported is the error of every operation on a system other than Linux, where npshm does
// not work (its segments live in Linux's /dev/shm). It matches errors.ErrUnsupported.
var ErrUnsupported = fmt.Errorf("npshm: %w: npshm needs Linux", errors.ErrUnsupported)

// Error describes a failed operation on a named array.
type Error struct {
	// Op is "create", "attach", "delete", "close", "view", "msync", "mlock", "munlock", "list",
	// "read file", "write file", "clean temporaries", "leftovers" or "remove leftover".
	Op    string
	Name  string        // the name given, if any
	Err   error         // the sentinel (ErrExists, ..., ErrUnsupported)
	Errno syscall.Errno // the operating system's error, or 0
	msg   string
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinel and, if there is one, the errno.
func (e *Error) Unwrap() []error {
	if e.Errno != 0 {
		return []error{e.Err, e.Errno}
	}
	return []error{e.Err}
}

// Is makes the error match the io/fs errors a Go programmer already checks for.
func (e *Error) Is(target error) bool {
	switch target {
	case fs.ErrExist:
		return e.Err == ErrExists
	case fs.ErrNotExist:
		return e.Err == ErrNotFound
	case fs.ErrPermission:
		return e.Err == ErrPermission
	case fs.ErrInvalid:
		return e.Err == ErrInvalid
	}
	return false
}

var sentinels = map[core.Code]error{
	core.ErrExists:     ErrExists,
	core.ErrNotFound:   ErrNotFound,
	core.ErrInvalid:    ErrInvalid,
	core.ErrNoSpace:    ErrNoSpace,
	core.ErrFormat:     ErrFormat,
	core.ErrMismatch:   ErrMismatch,
	core.ErrPermission: ErrPermission,
	core.ErrIO:         ErrIO,
}

// newError turns a core status into an *Error whose message reads like the C ABI's.
func newError(st core.Status, op, name string) error {
	var nameBytes []byte
	if name != "" {
		nameBytes = []byte(name)
	}
	msg := st.AppendMessage(make([]byte, 0, 512), "npshm "+op, nameBytes)
	err := sentinels[st.Code]
	if err == nil {
		err = ErrIO
	}
	return &Error{Op: op, Name: name, Err: err, Errno: syscall.Errno(st.Errno), msg: string(msg)}
}

// unsupported is the error of op on a system other than Linux.
func unsupported(op, name string) error {
	msg := "npshm " + op
	if name != "" {
		msg += "(" + strconv.Quote(name) + ")"
	}
	msg += ": npshm needs Linux, and this is " + runtime.GOOS
	return &Error{Op: op, Name: name, Err: ErrUnsupported, msg: msg}
}
