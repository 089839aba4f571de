package main

import (
	"fmt"
	"io/fs"
	"syscall"
)

// space is what df reports of a file system.
type space struct {
	Size, Used, Free int64
}

func statSpace(dir string) (space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return space{}, fmt.Errorf("cannot read the space of %s: %w", dir, err)
	}
	b := int64(st.Bsize)
	return space{Size: int64(st.Blocks) * b, Used: int64(st.Blocks-st.Bfree) * b, Free: int64(st.Bavail) * b}, nil
}

// fileUID is the owner of a file that os.Stat described.
func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
