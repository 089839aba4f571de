package npshm

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/npshm/npshm/internal/core"
)

// Array files: cdxcore's npio format and numpy's .npy, loaded straight into shared arrays
// (docs/FORMAT.md, "Array files" and "Loading").

// ErrTruncated matches the error of a file that ends before the array its header describes (it
// also matches ErrFormat and io.ErrUnexpectedEOF). Other damaged headers match ErrFormat only.
var ErrTruncated = errors.New("npshm: file is truncated")

// ReadFileOptions are the choices of ReadFile. The zero value attaches an existing array of the
// name (which must match the file) or loads the file into a new, private (mode 0600) array.
type ReadFileOptions struct {
	ReadOnly  bool        // map the array read-only
	Exclusive bool        // fail with ErrExists if the name exists, instead of attaching to it
	Mode      fs.FileMode // permission bits of a new array; 0 means 0600
	Shape     []int       // if not nil, the array (and the file) must have this shape (ErrMismatch)
	Dtype     string      // if not "", the array (and the file) must have this dtype (ErrMismatch)
	Offset    int64       // where the array's record starts in the file
	// AcceptForeign takes an existing array of another user (uid) as the result; without it such
	// an array is ErrPermission, since another user could have made it to be written into.
	AcceptForeign bool
	// Timeout bounds the wait for another process's load of the name (an error matching ErrIO and
	// syscall.ETIMEDOUT); 0 waits without limit. The context bounds the whole call.
	Timeout time.Duration
}

// fileError is the *Error of a truncated file, which also matches ErrTruncated.
type fileError struct{ err *Error }

func (e fileError) Error() string { return e.err.Error() }

func (e fileError) Is(target error) bool {
	return target == ErrTruncated || target == io.ErrUnexpectedEOF || e.err.Is(target)
}

func (e fileError) Unwrap() error { return e.err }

func fileErr(st core.Status, op, name string) error {
	err := newError(st, op, name)
	if core.Truncated(st) {
		return fileError{err.(*Error)}
	}
	return err
}

// ReadFile attaches the array name or, if there is none, loads the array file at path (npio as
// written by cdxcore.npio.to_file, or .npy as written by numpy.save; the format is recognised by
// the file's first bytes) into a new array of that name. attached reports which. Of any number of
// processes loading one name at once, exactly one reads the file and the others attach the
// complete array; a loader that dies leaves nothing behind and blocks nobody. opts may be nil.
func ReadFile(path, name string, opts *ReadFileOptions) (a *Array, attached bool, err error) {
	return ReadFileContext(context.Background(), path, name, opts)
}

// FileFormat is the format WriteFile gives the file path: "npy" if path ends in ".npy", else
// "npio".
func FileFormat(path string) string {
	if core.FormatOf([]byte(path)) == core.FormatNpy {
		return "npy"
	}
	return "npio"
}
