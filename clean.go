package npshm

import "github.com/npshm/npshm/internal/core"

// CleanTemporaries removes what processes killed while publishing an array left behind: the
// caller's regular files named .npshm-tmp-<pid>-<id> whose process <pid> no longer exists, in dir,
// or in /dev/shm if dir is "" (docs/FORMAT.md, "Creation"). (A process killed between naming a
// replacement and renaming it over the old array leaves one; so does one killed during any
// creation where O_TMPFILE is unavailable.) Temporary files of live processes, and of other users,
// are kept. It returns how many files it removed.
func CleanTemporaries(dir string) (int, error) {
	s := scratchPool.Get().(*core.Scratch)
	defer scratchPool.Put(s)
	var d []byte
	if dir != "" {
		d = append([]byte(dir), 0)
	}
	n, st := core.CleanTemporaries(s, d)
	if !st.Ok() {
		return n, newError(st, "clean temporaries", dir)
	}
	return n, nil
}
