package npshm

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/npshm/npshm/internal/core"
	"github.com/npshm/npshm/internal/creators"
)

// Orphans: the rules of docs/RELIABILITY.md, "Orphans", which Python's npshm.delete_orphans
// (python/npshm/_orphans.py) applies too.

// CreatorAlive reports whether the process that created an array at created still runs as pid:
// a process of that pid that started after the creation has reused the pid and does not count.
// It is judged in this process's pid namespace.
func CreatorAlive(pid int, created time.Time) bool { return creators.Alive(pid, created) }

// mappers is one pass over /proc/*/maps: the files that readable processes map, and the uids of
// the processes whose maps this process may not read; hidden if /proc may hide some processes or
// their uids (hidepid: then they could be anyone's).
type mappers struct {
	mapped     map[[2]uint64]bool // device, inode
	unreadable map[int]bool
	hidden     bool
}

func scanMappers() mappers {
	m := mappers{mapped: map[[2]uint64]bool{}, unreadable: map[int]bool{}, hidden: procHidesProcesses()}
	entries, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		f, err := os.Open("/proc/" + pid + "/maps")
		if err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				// address perms offset dev inode path
				fl := strings.Fields(sc.Text())
				if len(fl) < 5 || fl[4] == "0" {
					continue
				}
				maj, min, ok := strings.Cut(fl[3], ":")
				ino, err := strconv.ParseUint(fl[4], 10, 64)
				ma, err1 := strconv.ParseUint(maj, 16, 32)
				mi, err2 := strconv.ParseUint(min, 16, 32)
				if ok && err == nil && err1 == nil && err2 == nil {
					m.mapped[[2]uint64{unix.Mkdev(uint32(ma), uint32(mi)), ino}] = true
				}
			}
			f.Close()
			if sc.Err() == nil {
				continue
			}
		}
		if os.IsNotExist(err) || pid == me {
			continue
		}
		uids := procUIDs(pid)
		if uids == nil {
			m.hidden = true // a process whose uids this process may not read either (hidepid=1)
		}
		for _, uid := range uids {
			m.unreadable[uid] = true
		}
	}
	return m
}

// procHidesProcesses reports whether /proc is mounted with hidepid (other than 0): then the
// processes of other users may be missing from it (invisible, ptraceable) or unreadable, status
// included (noaccess).
func procHidesProcesses() bool {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || f[4] != "/proc" || len(g) < 3 || g[0] != "proc" {
			continue
		}
		for _, o := range strings.Split(g[2], ",") {
			if v, ok := strings.CutPrefix(o, "hidepid="); ok && v != "0" && v != "off" {
				return true
			}
		}
	}
	return false
}

// procUIDs are the real, effective, saved and file-system uids of a process.
func procUIDs(pid string) []int {
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			var uids []int
			for _, f := range strings.Fields(rest) {
				if u, err := strconv.Atoi(f); err == nil {
					uids = append(uids, u)
				}
			}
			return uids
		}
	}
	return nil
}

// mayMap reports whether a process might map the file dev, ino of owner with mode.
func (m mappers) mayMap(dev, ino uint64, owner int, mode os.FileMode) bool {
	if m.mapped[[2]uint64{dev, ino}] {
		return true
	}
	if os.Geteuid() == 0 {
		return false // root reads every process it may ptrace; those it may not are not counted
	}
	if m.hidden && mode.Perm()&0o077 != 0 {
		return true // a process /proc does not show, of any user, could map it
	}
	for uid := range m.unreadable {
		if uid != 0 && (uid == owner || mode.Perm()&0o077 != 0) {
			return true
		}
	}
	return false
}

// Orphans lists the arrays in /dev/shm whose names match pattern (path.Match; "" matches all),
// whose creator is gone (CreatorAlive) and that no process maps, as far as this process can see
// in /proc/*/maps: a user who is not root does not see other users' processes, nor their own
// non-dumpable ones, and keeps an array if one of those runs as its owner or the array grants
// group or other access (root's processes are not counted against a user's array); where /proc
// is mounted with hidepid, it keeps every array that grants group or other access. Processes in
// other pid namespaces are not seen. The peers' segments, which record no creator, are never
// orphans.
func Orphans(pattern string) ([]Orphan, error) {
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("orphans: bad pattern %q: %w", pattern, err)
		}
	}
	infos, err := List()
	if err != nil {
		return nil, err
	}
	dirfd, st := core.OpenDir(core.MsgCannotReadDirectory)
	if !st.Ok() {
		return nil, newError(st, "orphans", "")
	}
	defer unix.Close(dirfd)
	var candidates []Orphan
	var alive creators.Set // one look at each creator, however many arrays it made
	for _, in := range infos {
		if pattern != "" {
			if ok, _ := path.Match(pattern, in.Name); !ok {
				continue
			}
		}
		// A peer's segment records no creator: whether it is an orphan cannot be told.
		if in.Format != FormatNpshm || alive.Alive(in.CreatorPID, in.Created) {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dirfd, in.Name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		candidates = append(candidates, Orphan{Info: in, Dev: uint64(st.Dev), Ino: st.Ino})
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	m := scanMappers()
	var out []Orphan
	for _, o := range candidates {
		if !m.mayMap(o.Dev, o.Ino, o.UID, o.Mode) {
			out = append(out, o)
		}
	}
	return out, nil
}

// RemoveOrphan deletes the orphan o if its name still leads to the same file and its creator is
// still gone; false if it did not (replaced, removed by another, or its creator runs). A process
// that attaches or replaces the array in the microseconds between that check and the unlink is
// the remaining race: its mapping stays valid, but the name is gone.
func RemoveOrphan(o Orphan) (bool, error) {
	dirfd, cst := core.OpenDir(core.MsgCannotReadDirectory)
	if !cst.Ok() {
		return false, newError(cst, "remove orphan", o.Name)
	}
	defer unix.Close(dirfd)
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, o.Name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, fmt.Errorf("remove orphan %q: %w", o.Name, err)
	}
	if uint64(st.Dev) != o.Dev || st.Ino != o.Ino || CreatorAlive(o.CreatorPID, o.Created) {
		return false, nil
	}
	if err := unix.Unlinkat(dirfd, o.Name, 0); err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, fmt.Errorf("remove orphan %q: %w", o.Name, err)
	}
	return true, nil
}
