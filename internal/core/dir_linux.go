package core

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// checkDir applies the policy of RELIABILITY.md ("The directory of shared arrays") to d: an
// absolute path to a directory, not a symbolic link, owned by root or by this user, and sticky if
// others may write to it (as /dev/shm and /tmp are), so that nobody else can remove or rename the
// arrays in it. It also reads from /proc/self/mountinfo whether its mount hands out huge pages.
func checkDir(d *DirInfo) Status {
	dir := d.Nul[:len(d.Nul)-1]
	if st := dirPolicy(dir); !st.Ok() {
		return st
	}
	var st unix.Stat_t
	if err := unix.Lstat(string(dir), &st); err != nil {
		return sysFail(errnoOf(err), "cannot use the directory of shared arrays ("+DirEnv+")")
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return errDirSymlink
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return errDirNotDir
	case st.Uid != 0 && st.Uid != uint32(unix.Geteuid()):
		return Status{Code: ErrPermission, Msg: "the directory of shared arrays (" + DirEnv +
			") belongs to neither root nor this user but uid", Num: int64(st.Uid), HasNum: true}
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		return errDirNotSticky
	}
	d.HugeOpt = hugeMount(st.Dev)
	d.Huge, d.Advise = d.HugeOpt != "", d.HugeOpt == "advise"
	return Status{}
}

var (
	errDirSymlink = Status{Code: ErrPermission, Errno: unix.ELOOP,
		Msg: "the directory of shared arrays (" + DirEnv + ") is a symbolic link, which npshm does not follow"}
	errDirNotDir = Status{Code: ErrInvalid, Errno: unix.ENOTDIR,
		Msg: "the directory of shared arrays (" + DirEnv + ") is not a directory"}
	errDirNotSticky = Status{Code: ErrPermission,
		Msg: "the directory of shared arrays (" + DirEnv + ") is writable by others and not sticky"}
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
