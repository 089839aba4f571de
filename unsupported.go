//go:build !linux

package npshm

import (
	"context"
	"time"
)

// npshm works on Linux only: elsewhere a program that uses it compiles, and every operation fails
// with an error matching ErrUnsupported (and errors.ErrUnsupported). No Array can exist there.

// Create fails: npshm needs Linux.
func Create(name string, shape []int, dtype string, opts *CreateOptions) (*Array, error) {
	return nil, unsupported("create", name)
}

// Attach fails: npshm needs Linux.
func Attach(name string, opts *AttachOptions) (*Array, error) {
	return nil, unsupported("attach", name)
}

// Delete fails: npshm needs Linux.
func Delete(name string) error { return unsupported("delete", name) }

// Close does nothing: no Array can exist here.
func (a *Array) Close() error { return nil }

// Msync fails: npshm needs Linux.
func (a *Array) Msync(flags int) error { return unsupported("msync", a.name) }

// Mlock fails: npshm needs Linux.
func (a *Array) Mlock() error { return unsupported("mlock", a.name) }

// Munlock fails: npshm needs Linux.
func (a *Array) Munlock() error { return unsupported("munlock", a.name) }

// List fails: npshm needs Linux.
func List() ([]Info, error) { return nil, unsupported("list", "") }

// CleanTemporaries fails: npshm needs Linux.
func CleanTemporaries(dir string) (int, error) { return 0, unsupported("clean temporaries", dir) }

// Leftovers fails: npshm needs Linux.
func Leftovers(dir string) ([]Leftover, error) { return nil, unsupported("leftovers", dir) }

// RemoveLeftover fails: npshm needs Linux.
func RemoveLeftover(dir, name string) (bool, error) {
	return false, unsupported("remove leftover", name)
}

// ReadFileContext fails: npshm needs Linux.
func ReadFileContext(ctx context.Context, path, name string, opts *ReadFileOptions) (*Array, bool, error) {
	return nil, false, unsupported("read file", name)
}

// WriteFile fails: npshm needs Linux.
func WriteFile(path string, a *Array) error { return unsupported("write file", path) }

// CreatorAlive is false: npshm needs Linux.
func CreatorAlive(pid int, created time.Time) bool { return false }

// Orphans fails: npshm needs Linux.
func Orphans(pattern string) ([]Orphan, error) { return nil, unsupported("orphans", "") }

// RemoveOrphan fails: npshm needs Linux.
func RemoveOrphan(o Orphan) (bool, error) { return false, unsupported("remove orphan", o.Name) }
