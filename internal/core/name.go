package core

// Names (docs/FORMAT.md, "Names").

const (
	shmDir     = "/dev/shm/" // the default directory of shared-memory arrays (dir.go)
	filePrefix = "file://"
	shmPrefix  = "shm://"
	maxShmName = 255
	// MaxPath bounds a file:// path.
	MaxPath = 4095
	// TempPrefix starts the names of creations in progress.
	TempPrefix = ".npshm-tmp-"
	// reservedPrefix starts every name npshm gives its own files (temporaries, load locks); arrays
	// may not be named so, or a load or a clean-up could remove them.
	reservedPrefix = ".npshm-"
)

// Target is a resolved name: Path is NUL-terminated (for system calls; Path[:len(Path)-1] is the
// path) and Dir is the length of its directory part including the final '/'. Display is the name
// reported back to users: the shm name without prefix or '/', or the whole "file://PATH". A
// shared-memory name's directory is held by a descriptor (DirInfo.Fd): system calls resolve the
// part of a path after Dir relative to it (At, Rel), never the directory's path again.
type Target struct {
	Path    []byte
	Dir     int
	Display []byte
	IsFile  bool
	// Held: the directory is DirInfo's descriptor Info.Fd; else paths are resolved as they are.
	Held bool
	Info *DirInfo
}

// At is the directory descriptor that t's paths (Rel) are relative to: the held directory's, or
// AT_FDCWD.
func (t *Target) At() int {
	if t.Held {
		return t.Info.Fd
	}
	return atFdcwdInt
}

// Rel returns the part of p, a NUL-terminated path in t's directory (its Path, or a temporary or
// lock file name made from it), that system calls take with At: all of it, or the part after
// the held directory's path ("." for the directory itself).
func (t *Target) Rel(p []byte) []byte {
	if !t.Held {
		return p
	}
	if len(p) == t.Dir+1 { // the directory itself, "<dir>/\x00"
		return dotNul[:]
	}
	return p[t.Dir:]
}

// removed turns st, the failure of a system call of an operation on t, into the directory's
// removal if that is why it failed: t's held directory has no links left (a file is then missing,
// ENOENT, or cannot be made in it: EPERM for O_TMPFILE on a tmpfs). It costs an fstat on failures
// only.
func (t *Target) removed(st Status) Status {
	if t.Held && !st.Ok() && DirRemoved(t.Info.Fd) {
		return removedStatus(t.Info)
	}
	return st
}

// ResolveName turns a name into a path in buf (capacity at least MaxPath+32): a shared-memory name
// into one in the directory of shared arrays (Dir), whose refusal, if any, it returns.
func ResolveName(name []byte, buf []byte) (Target, Status) {
	for _, c := range name {
		if c == 0 {
			return Target{}, fail(ErrInvalid, "name contains a NUL byte")
		}
	}
	if rest, ok := cutPrefix(name, filePrefix); ok {
		if len(rest) == 0 {
			return Target{}, fail(ErrInvalid, MsgFileNameHasEmptyPath)
		}
		if len(rest) > MaxPath {
			return Target{}, fail(ErrInvalid, MsgFilePathTooLong)
		}
		if rest[len(rest)-1] == '/' {
			return Target{}, fail(ErrInvalid, MsgFilePathNamesDirectory)
		}
		path := append(buf[:0], rest...)
		path = append(path, 0)
		dir := 0
		for i, c := range rest {
			if c == '/' {
				dir = i + 1
			}
		}
		if _, reserved := cutPrefix(rest[dir:], reservedPrefix); reserved {
			return Target{}, fail(ErrInvalid, MsgNamesStartingNpshmAreReservedNpshm)
		}
		return Target{Path: path, Dir: dir, Display: name, IsFile: true}, Status{}
	}
	if rest, ok := cutPrefix(name, shmPrefix); ok {
		name = rest
	}
	if len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	switch {
	case len(name) == 0:
		return Target{}, fail(ErrInvalid, MsgNameEmpty)
	case len(name) > maxShmName:
		return Target{}, failNum(ErrInvalid, MsgNameLonger255Bytes, int64(len(name)))
	case string(name) == "." || string(name) == "..":
		return Target{}, fail(ErrInvalid, MsgNameDotOrDotDot)
	}
	for _, c := range name {
		if c == '/' {
			return Target{}, fail(ErrInvalid, MsgNameContainsSlash)
		}
	}
	if _, reserved := cutPrefix(name, reservedPrefix); reserved {
		return Target{}, fail(ErrInvalid, MsgNamesStartingNpshmAreReservedNpshm)
	}
	d := Dir()
	if !d.Err.Ok() {
		return Target{}, d.Err
	}
	path := append(buf[:0], d.Path...)
	path = append(path, name...)
	path = append(path, 0)
	return Target{Path: path, Dir: len(d.Path), Display: name, Held: d.Fd >= 0, Info: d}, Status{}
}
