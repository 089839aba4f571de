package core

import "golang.org/x/sys/unix"

var procLocks = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 'l', 'o', 'c', 'k', 's', 0}

// lockHolder returns the pid that holds the flock of the file open as fd, as /proc/locks shows it
// (in the caller's pid namespace), or 0 if it cannot tell. buf is working memory; a line longer
// than buf is skipped. It serves only the message of a load that timed out.
func lockHolder(fd int, buf []byte) int {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	// /proc/locks names the file "%02x:%02x:%lu": major, minor, inode.
	var keyBuf [48]byte
	key := appendDigits(keyBuf[:0], uint64(unix.Major(st.Dev)), 16, 2)
	key = append(key, ':')
	key = appendDigits(key, uint64(unix.Minor(st.Dev)), 16, 2)
	key = append(key, ':')
	key = appendUint(key, st.Ino)
	lf, errno := sysOpenat(unix.AT_FDCWD, procLocks[:], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errno != 0 {
		return 0
	}
	pid, have := 0, 0
	for pid == 0 {
		n, err := unix.Read(lf, buf[have:])
		if err != nil || n <= 0 {
			if have > 0 {
				pid = holderIn(buf[:have], key)
			}
			break
		}
		have += n
		start := 0
		for i := start; i < have && pid == 0; i++ {
			if buf[i] == '\n' {
				pid = holderIn(buf[start:i], key)
				start = i + 1
			}
		}
		have = copy(buf, buf[start:have])
		if have == len(buf) {
			have = 0
		}
	}
	unix.Close(lf)
	return pid
}

// holderIn returns the pid of a line of /proc/locks, "1: FLOCK  ADVISORY  WRITE 1234 00:19:5 0 EOF",
// if it is a granted lock (not a "->" waiter) on the file key, else 0.
func holderIn(line, key []byte) int {
	var f [6][]byte
	n := 0
	for i := 0; i < len(line) && n < len(f); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		if j > i {
			f[n] = line[i:j]
			n++
		}
		i = j
	}
	if n < 6 || string(f[1]) == "->" || string(f[5]) != string(key) {
		return 0
	}
	pid := 0
	for _, c := range f[4] {
		if c < '0' || c > '9' || pid > 1<<30 {
			return 0
		}
		pid = pid*10 + int(c-'0')
	}
	return pid
}
