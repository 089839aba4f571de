package core

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// checkDir applies the policy of RELIABILITY.md ("The directory of shared arrays") to d: an
// absolute path to a directory, owned by root or by this user, and sticky if others may write to it
// (as /dev/shm and /tmp are), so that nobody else can remove or rename the arrays in it; and every
// directory above it the same (as OpenSSH checks a path it trusts), from the root down, so that
// nobody else can rename it away and put theirs in its place. No component may be a symbolic link.
// It also reads from /proc/self/mountinfo whether its mount hands out huge pages. It opens the
// directory it checked into d.Fd: the chain is checked by path, then the directory opened without
// following a symbolic link and its identity compared with the path's, so that the descriptor
// holds the directory the check passed.
func checkDir(d *DirInfo) Status {
	dir := d.Nul[:len(d.Nul)-1]
	if st := dirPolicy(dir); !st.Ok() {
		return st
	}
	var st unix.Stat_t
	if string(dir) == shmDir[:len(shmDir)-1] {
		// The system's own directory, chosen by nobody: used as the peers use it, whoever its
		// owner seems to be (a user namespace shows root's files as the overflow uid) and even
		// as a symbolic link (/dev/shm -> /run/shm on older systems). Only its mount is read.
		// Held by a descriptor too (one code path); if it cannot be opened now, used by its path.
		if fd, errno := sysOpenat(unix.AT_FDCWD, d.Nul, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); errno == 0 {
			if unix.Fstat(fd, &st) == nil {
				d.Fd, d.Dev, d.Ino = fd, uint64(st.Dev), st.Ino
				d.setHuge(hugeMount(st.Dev))
			} else {
				unix.Close(fd)
			}
		}
		return Status{}
	}
	for i := 1; i <= len(dir); i++ {
		// The ancestors end before each '/' (the root is dir[:1]); the directory itself last.
		var anc []byte
		switch {
		case i == len(dir):
		case i == 1 && len(dir) > 1:
			anc = dir[:1]
		case dir[i] == '/' && dir[i-1] != '/':
			anc = dir[:i]
		default:
			continue
		}
		path := dir
		if anc != nil {
			path = anc
		}
		if err := unix.Lstat(string(path), &st); err != nil {
			return sysFail(errnoOf(err), MsgCannotUseDirSharedArrays)
		}
		if bad := dirEntryRule(&st); bad != dirSafe {
			if anc == nil {
				return dirRefusal(bad, &st)
			}
			return ancestorRefusal(bad, &st, anc)
		}
	}
	fd, errno := sysOpenat(unix.AT_FDCWD, d.Nul, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errno != 0 {
		return sysFail(errno, MsgCannotUseDirSharedArrays)
	}
	var held unix.Stat_t
	if err := unix.Fstat(fd, &held); err != nil || held.Dev != st.Dev || held.Ino != st.Ino {
		unix.Close(fd)
		return fail(ErrIO, MsgDirChangedWhileChecked)
	}
	d.Fd, d.Dev, d.Ino = fd, uint64(st.Dev), st.Ino
	d.setHuge(hugeMount(st.Dev))
	return Status{}
}

// atFdcwdInt is AT_FDCWD.
const atFdcwdInt = unix.AT_FDCWD

func closeFd(fd int) { unix.Close(fd) }

// DirRemoved reports whether the directory held by fd was removed (rmdir leaves it no links).
func DirRemoved(fd int) bool {
	var st unix.Stat_t
	return fd >= 0 && unix.Fstat(fd, &st) == nil && st.Nlink == 0
}


// OpenDir opens the directory of shared arrays for reading (a new open file description: its own
// offset), relative to the descriptor the check holds; a removed directory fails with ErrNotFound.
// msg is the message of another failure.
func OpenDir(msg string) (int, Status) {
	d := Dir()
	if !d.Err.Ok() {
		return -1, d.Err
	}
	if d.Fd < 0 {
		fd, errno := sysOpenat(unix.AT_FDCWD, d.Nul, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errno != 0 {
			return -1, sysFail(errno, msg)
		}
		return fd, Status{}
	}
	if DirRemoved(d.Fd) {
		return -1, removedStatus(d)
	}
	fd, errno := sysOpenat(d.Fd, dotNul[:], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errno != 0 {
		return -1, sysFail(errno, msg)
	}
	return fd, Status{}
}


// setHuge records the huge= option of the directory's mount.
func (d *DirInfo) setHuge(opt string) {
	d.HugeOpt, d.Huge, d.Advise = opt, opt != "", opt == "advise"
}

// What dirEntryRule finds wrong with a directory of the path.
const (
	dirSafe = iota
	dirSymlink
	dirNotDir
	dirForeign
	dirNotSticky
)

// dirEntryRule applies the policy to one component of the path.
func dirEntryRule(st *unix.Stat_t) int {
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return dirSymlink
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return dirNotDir
	case st.Uid != 0 && st.Uid != uint32(unix.Geteuid()):
		return dirForeign
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		return dirNotSticky
	}
	return dirSafe
}

// dirRefusal is the refusal of the directory itself.
func dirRefusal(bad int, st *unix.Stat_t) Status {
	switch bad {
	case dirSymlink:
		return errDirSymlink
	case dirNotDir:
		return errDirNotDir
	case dirForeign:
		return Status{Code: ErrPermission, Msg: MsgDirBelongsNeitherRootNorUser, Num: int64(st.Uid), HasNum: true}
	}
	return errDirNotSticky
}

// ancestorRefusal is the refusal of the directory because of its ancestor anc.
func ancestorRefusal(bad int, st *unix.Stat_t, anc []byte) Status {
	s := Status{Code: ErrPermission, Msg: MsgDirSharedArraysIsIn, Path: anc}
	switch bad {
	case dirSymlink:
		s.Errno, s.Msg2 = unix.ELOOP, MsgWhichIsSymlinkNpshmFollowsNone
	case dirNotDir:
		s.Code, s.Errno, s.Msg2 = ErrInvalid, unix.ENOTDIR, MsgWhichIsNotDirectory
	case dirForeign:
		s.Msg2, s.Num, s.HasNum = MsgWhichBelongsNeitherRootNorUser, int64(st.Uid), true
	default:
		s.Msg2 = MsgWhichOthersMayWriteNotSticky
	}
	return s
}

var (
	errDirSymlink   = Status{Code: ErrPermission, Errno: unix.ELOOP, Msg: MsgDirIsSymlinkNpshmDoesNotFollow}
	errDirNotDir    = Status{Code: ErrInvalid, Errno: unix.ENOTDIR, Msg: MsgDirIsNotDirectory}
	errDirNotSticky = Status{Code: ErrPermission, Msg: MsgDirWritableByOthersNotSticky}
)

// hugeMount returns the huge= option of the tmpfs of device dev if it hands out huge pages
// (always, within_size or advise; advise: on MADV_HUGEPAGE only), else "".
func hugeMount(dev uint64) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(unix.Major(dev)), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(dev)), 10)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[2] != want {
			continue
		}
		_, after, ok := strings.Cut(line, " - ")
		post := strings.Fields(after)
		if !ok || len(post) < 3 || post[0] != "tmpfs" {
			continue
		}
		for _, o := range strings.Split(post[2], ",") {
			switch o {
			case "huge=always", "huge=within_size", "huge=advise":
				return o[len("huge="):]
			}
		}
		return ""
	}
	return ""
}
