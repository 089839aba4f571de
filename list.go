package npshm

import (
	"io/fs"
	"time"
)

// Info describes an array found by List.
type Info struct {
	Name        string
	Dtype       string
	Shape       []int
	Itemsize    int
	Nbytes      int // the size of the data
	SegmentSize int // the memory the array takes: its header and its data
	Mode        fs.FileMode
	UID         int
	CreatorPID  int
	Created     time.Time
	Fortran     bool
	Format      Format // npshm's own, or a peer library's
}
