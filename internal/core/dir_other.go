//go:build !linux

package core

// checkDir: only the path's form, on systems npshm does not run on (unsupported.go).
func checkDir(d *DirInfo) Status { return dirPolicy(d.Nul[:len(d.Nul)-1]) }

const atFdcwdInt = -100

func closeFd(int) {}

// DirRemoved: never, on systems npshm does not run on.
func DirRemoved(int) bool { return false }
