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
	if dir == nil {
		dir = s.Temp[:0:len(s.Temp)]
		dir = append(dir, "/dev/shm\x00"...)
	}
	dirfd, errno := sysOpenat(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errno != 0 {
		return 0, sysFail(errno, "cannot read the directory")
	}
	defer unix.Close(dirfd)
	for {
		n, err := unix.Getdents(dirfd, s.Dirent[:])
		if err != nil {
			return removed, sysFail(errnoOf(err), "cannot read the directory")
		}
		if n == 0 {
			return removed, Status{}
		}
		for off := 0; off < n; {
			rec := s.Dirent[off:n]
			reclen := int(rec[16]) | int(rec[17])<<8
			if reclen < 20 || reclen > len(rec) {
				return removed, fail(ErrIO, "malformed directory entry")
			}
			off += reclen
			name := rec[19:reclen]
			end := 0
			for end < len(name) && name[end] != 0 {
				end++
			}
			if end == len(name) {
				continue
			}
			pid, ok := tempPid(name[:end])
			if !ok || pidAlive(pid) {
				continue
			}
			var st unix.Stat_t
			if sysFstatat(dirfd, name[:end+1], &st, unix.AT_SYMLINK_NOFOLLOW) != 0 ||
				st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(unix.Geteuid()) {
				continue
			}
			if sysUnlinkat(dirfd, name[:end+1]) == 0 {
				removed++
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
