package npshm

import (
	"io/fs"
	"time"

	"github.com/npshm/npshm/internal/core"
)

// List returns the arrays in /dev/shm that the caller may read: npshm's, and the peers' that
// Attach takes (Info.Format tells them apart). Other segments, corrupt ones and unfinished
// creations are left out.
func List() ([]Info, error) {
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	var l core.Lister
	if st := l.Open(); !st.Ok() {
		return nil, newError(st, "list", "")
	}
	defer l.Close()
	var infos []Info
	for {
		e, ok, st := l.Next(s)
		if !st.Ok() {
			return infos, newError(st, "list", "")
		}
		if !ok {
			return infos, nil
		}
		h := &s.Hdr
		info := Info{
			Name:        string(e.Name[:len(e.Name)-1]),
			Dtype:       string(h.Descr),
			Shape:       make([]int, h.Ndim),
			Itemsize:    int(h.Itemsize),
			Nbytes:      int(h.DataNbytes),
			SegmentSize: int(h.SegmentSize()),
			Mode:        fs.FileMode(e.Mode),
			UID:         int(e.UID),
			CreatorPID:  int(h.CreatorPID),
			Created:     time.Unix(0, h.CreatedNs),
			Fortran:     h.Fortran(),
			Format:      Format(h.Format),
		}
		for i := range info.Shape {
			info.Shape[i] = int(h.Shape[i])
		}
		infos = append(infos, info)
	}
}
