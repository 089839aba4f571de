//go:build !linux

package core

// checkDir: only the path's form, on systems npshm does not run on (unsupported.go).
func checkDir(d *DirInfo) Status { return dirPolicy(d.Nul[:len(d.Nul)-1]) }
