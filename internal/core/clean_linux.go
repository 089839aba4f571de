package core

import "golang.org/x/sys/unix"

// CleanTemporaries removes the stale temporary files of creations in dir (a NUL-terminated path;
// nil for /dev/shm): the regular files of the caller's uid named .npshm-tmp-<pid>-<id> (id: hex
// digits, FORMAT.md, "Creation"; the decimal ids of older versions are hex digits too) whose
// creating process <pid> no longer exists. Such a file is left by a process killed while it
// published an array: between linking a replacement to its temporary name and renaming it over the
// old array, or, where O_TMPFILE is not available, at any point of a creation. The files of live
// processes (possibly creating right now) are kept, and so are other users' files (root's clean-up
// too: anyone can make a file of that name in /dev/shm) and anything but a regular file. It
// returns how many files it removed.
//
// A pid is judged alive by kill(pid, 0), in the caller's pid namespace: run it in the namespace of
// the processes that create arrays.
func CleanTemporaries(s *Scratch, dir []byte) (removed int, st Status) {
	dirfd, st := openDirOrShm(dir)
	if !st.Ok() {
		return 0, st
	}
	defer unix.Close(dirfd)
	st = forEachEntry(s, dirfd, func(name []byte) {
		pid, ok := tempPid(name[:len(name)-1])
		if !ok || pidAlive(pid) {
			return
		}
		var st unix.Stat_t
		if sysFstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != 0 ||
			st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(unix.Geteuid()) {
			return
		}
		if sysUnlinkat(dirfd, name) == 0 {
			removed++
		}
	})
	return removed, st
}

// openDirOrShm opens dir (NUL-terminated) for reading, or with dir nil the directory of shared
// arrays through the descriptor its check holds (OpenDir).
func openDirOrShm(dir []byte) (int, Status) {
	if dir == nil {
		return OpenDir(MsgCannotReadDirectory)
	}
	dirfd, errno := sysOpenat(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errno != 0 {
		return -1, sysFail(errno, MsgCannotReadDirectory)
	}
	return dirfd, Status{}
}

// forEachEntry calls fn with the NUL-terminated name of every entry of the directory dirfd, read
// into s.Dirent (fn must not keep it).
func forEachEntry(s *Scratch, dirfd int, fn func(name []byte)) Status {
	for {
		n, err := unix.Getdents(dirfd, s.Dirent[:])
		if err != nil {
			return sysFail(errnoOf(err), MsgCannotReadDirectory)
		}
		if n == 0 {
			return Status{}
		}
		for off := 0; off < n; {
			rec := s.Dirent[off:n]
			reclen := int(rec[16]) | int(rec[17])<<8
			if reclen < 20 || reclen > len(rec) {
				return fail(ErrIO, "malformed directory entry")
			}
			off += reclen
			name := rec[19:reclen]
			end := 0
			for end < len(name) && name[end] != 0 {
				end++
			}
			if end < len(name) {
				fn(name[:end+1])
			}
		}
	}
}

// tempPid parses a temporary name, .npshm-tmp-<pid>-<id> with id made of lower-case hex digits,
// and returns its pid.
func tempPid(name []byte) (pid int, ok bool) {
	rest, ok := cutPrefix(name, TempPrefix)
	if !ok {
		return 0, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		if i >= 9 {
			return 0, false
		}
		pid = pid*10 + int(rest[i]-'0')
		i++
	}
	if i == 0 || pid <= 0 || i+1 >= len(rest) || rest[i] != '-' {
		return 0, false
	}
	for _, c := range rest[i+1:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, false
		}
	}
	return pid, true
}

// pidAlive reports whether a process pid exists (EPERM: it exists, but belongs to another user).
func pidAlive(pid int) bool {
	_, _, e := unix.RawSyscall(unix.SYS_KILL, uintptr(pid), 0, 0)
	return e != unix.ESRCH
}

// Leftover is a file that a dead process left behind (FORMAT.md, "Creation" and "Loading"): a
// temporary segment .npshm-tmp-<pid>-<n>, complete but unreachable, or the empty lock file
// .npshm-lock-<name> of a load.
type Leftover struct {
	Name  []byte // NUL-terminated, in the Scratch: valid during the callback only
	PID   int    // the process that made a temporary segment; 0 for a lock file
	Lock  bool   // a lock file
	Bytes int64  // the memory the file holds
	UID   uint32 // its owner
}

// ScanLeftovers calls fn for every leftover in dir (NUL-terminated; nil for /dev/shm) that the
// caller may remove: a temporary segment whose process no longer exists (as CleanTemporaries
// judges it), or a lock file that no loader holds, owned by the caller (by anyone, for root). It
// removes nothing; RemoveLeftover does.
func ScanLeftovers(s *Scratch, dir []byte, fn func(Leftover)) Status {
	dirfd, st := openDirOrShm(dir)
	if !st.Ok() {
		return st
	}
	defer unix.Close(dirfd)
	return forEachEntry(s, dirfd, func(name []byte) {
		if l, ok, _ := leftoverAt(dirfd, name, false); ok {
			fn(l)
		}
	})
}

// RemoveLeftover removes the file name (NUL-terminated) from dir (nil for /dev/shm) if it is still
// a leftover that ScanLeftovers would report, and reports whether it removed it. A lock file is
// removed as a loader removes its own: locked, checked to be the file under the name, unlinked.
func RemoveLeftover(s *Scratch, dir, name []byte) (bool, Status) {
	dirfd, st := openDirOrShm(dir)
	if !st.Ok() {
		return false, st
	}
	defer unix.Close(dirfd)
	_, ok, errno := leftoverAt(dirfd, name, true)
	if errno != 0 {
		return false, sysFail(errno, "cannot remove the file")
	}
	return ok, Status{}
}

// leftoverAt reports whether the entry name of dirfd is a leftover the caller may remove and, if
// remove is set, removes it: ok is then whether it did, errno why not if unlinking failed.
func leftoverAt(dirfd int, name []byte, remove bool) (l Leftover, ok bool, errno unix.Errno) {
	l.Name = name
	pid, temp := tempPid(name[:len(name)-1])
	_, lock := cutPrefix(name[:len(name)-1], LockPrefix)
	if !temp && !lock {
		return l, false, 0
	}
	fd, errno := sysOpenat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errno != 0 {
		return l, false, 0
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return l, false, 0
	}
	if euid := uint32(unix.Geteuid()); euid != 0 && st.Uid != euid {
		return l, false, 0
	}
	l.PID, l.Lock, l.Bytes, l.UID = pid, lock, st.Blocks*512, st.Uid
	if temp && pidAlive(pid) {
		return l, false, 0
	}
	if lock {
		// Held by a loader (alive, since the kernel drops the locks of the dead): not a leftover.
		// Locked here, it stays locked until fd is closed, so no loader uses it meanwhile.
		if _, _, e := unix.Syscall(unix.SYS_FLOCK, uintptr(fd), unix.LOCK_EX|unix.LOCK_NB, 0); e != 0 {
			return l, false, 0
		}
	}
	if remove {
		// Still the file checked above, not one put in its place meanwhile.
		var named unix.Stat_t
		if unix.Fstatat(dirfd, string(name[:len(name)-1]), &named, unix.AT_SYMLINK_NOFOLLOW) != nil ||
			named.Ino != st.Ino || named.Dev != st.Dev {
			return l, false, 0
		}
		if errno := sysUnlinkat(dirfd, name); errno != 0 {
			return l, false, errno
		}
	}
	return l, true, 0
}
