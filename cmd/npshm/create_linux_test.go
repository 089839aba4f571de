package main

import (
	"syscall"
	"testing"
)

// --no-reserve creates a sparse array (issue 13), which stays sparse.
func TestCreateNoReserve(t *testing.T) {
	name := uniqueName(t)
	r := npshmRun("create", name, "1048576", "u1", "--no-reserve")
	if r.code != 0 {
		t.Fatalf("create --no-reserve: exit %d: %s", r.code, r.stderr)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/shm/"+name, &st); err != nil || st.Blocks*512 >= st.Size/2 {
		t.Fatalf("create --no-reserve: %d of %d bytes backed (%v)", st.Blocks*512, st.Size, err)
	}
}
