package npshm

import (
	"strings"

	"github.com/npshm/npshm/internal/core"
)

// CleanTemporaries removes what processes killed while publishing an array left behind: the
// caller's regular files named .npshm-tmp-<pid>-<id> whose process <pid> no longer exists, in dir,
// or in /dev/shm if dir is "" (docs/FORMAT.md, "Creation").
// (A process killed between naming a replacement and renaming it over the old array leaves one;
// so does one killed during any creation where O_TMPFILE is unavailable.) Temporary files of live
// processes, and of other users, are kept. It returns how many files it removed.
func CleanTemporaries(dir string) (int, error) {
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	d, err := dirBytes("clean temporaries", dir)
	if err != nil {
		return 0, err
	}
	n, st := core.CleanTemporaries(s, d)
	if !st.Ok() {
		return n, newError(st, "clean temporaries", dir)
	}
	return n, nil
}

// Leftovers lists, without removing anything, the leftovers of dead processes in dir (/dev/shm if
// dir is "") that the caller may remove: the temporary segments CleanTemporaries removes, and the
// lock files no loader holds; the caller's own, or everyone's for root.
func Leftovers(dir string) ([]Leftover, error) {
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	d, err := dirBytes("leftovers", dir)
	if err != nil {
		return nil, err
	}
	var out []Leftover
	st := core.ScanLeftovers(s, d, func(l core.Leftover) {
		out = append(out, Leftover{Name: string(l.Name[:len(l.Name)-1]), PID: l.PID, Lock: l.Lock, Size: l.Bytes,
			UID: int(l.UID)})
	})
	if !st.Ok() {
		return out, newError(st, "leftovers", dir)
	}
	return out, nil
}

// RemoveLeftover removes the file name from dir (/dev/shm if dir is "") if it still is a leftover
// that Leftovers would list (its process still gone, its lock still free), and reports whether it
// removed it.
func RemoveLeftover(dir, name string) (bool, error) {
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return false, newError(core.Status{Code: core.ErrInvalid, Msg: "a leftover's name has no '/' or NUL"},
				"remove leftover", name)
		}
	}
	d, err := dirBytes("remove leftover", dir)
	if err != nil {
		return false, err
	}
	ok, st := core.RemoveLeftover(s, d, append([]byte(name), 0))
	if !st.Ok() {
		return false, newError(st, "remove leftover", name)
	}
	return ok, nil
}

// dirBytes is dir NUL-terminated for the core, or nil (/dev/shm) for "".
func dirBytes(op, dir string) ([]byte, error) {
	if strings.IndexByte(dir, 0) >= 0 {
		return nil, newError(core.Status{Code: core.ErrInvalid, Msg: "the directory contains a NUL byte"}, op, dir)
	}
	if dir == "" {
		return nil, nil
	}
	return append([]byte(dir), 0), nil
}
