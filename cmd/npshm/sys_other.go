//go:build !linux

package main

import (
	"io/fs"

	"github.com/npshm/npshm"
)

// npshm needs Linux: elsewhere the tool builds, and every command fails with the library's
// ErrUnsupported.

type space struct {
	Size, Used, Free int64
}

func statSpace(dir string) (space, error) { return space{}, npshm.ErrUnsupported }

func fileUID(fi fs.FileInfo) int { return -1 }
