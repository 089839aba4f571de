// Package creators tells whether arrays' creators still run (docs/RELIABILITY.md, "Orphans"), for
// npshm.CreatorAlive, npshm.Orphans and the npshm command. Python's python/npshm/_orphans.py
// applies the same rule.
package creators

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reuseMargin: a process's start time has a resolution of a clock tick, and a creator made its
// array after it started. A process of the creator's pid that started later than this after the
// creation is another process that got the pid again.
const reuseMargin = 2 * time.Second

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time: 100 on every Linux port.
const clockTicks = 100

// look is what one look at a pid found: no such process, its start time, or, where /proc could
// not tell, whether the pid alone runs.
type look struct {
	gone     bool
	started  bool // start is known
	start    time.Time
	pidAlive bool // when neither gone nor started
}

// Set judges many arrays in one pass: it looks at each pid once (one read of /proc/PID/stat),
// however many arrays that process created. The zero Set is ready; it is not for concurrent use.
type Set struct {
	seen map[int]look
}

// Alive reports whether the process that created an array at created still runs as pid: a
// process of that pid that started after the creation has reused the pid and does not count. It
// is judged in this process's pid namespace, at the first look at pid in this Set.
func (s *Set) Alive(pid int, created time.Time) bool {
	if pid <= 0 {
		return false
	}
	l, ok := s.seen[pid]
	if !ok {
		l = lookAt(pid)
		if s.seen == nil {
			s.seen = map[int]look{}
		}
		s.seen[pid] = l
	}
	switch {
	case l.gone:
		return false
	case l.started:
		return !l.start.After(created.Add(reuseMargin))
	default:
		return l.pidAlive
	}
}

// Alive is Set.Alive for one array.
func Alive(pid int, created time.Time) bool {
	var s Set
	return s.Alive(pid, created)
}

func lookAt(pid int) look {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if os.IsNotExist(err) {
			return look{gone: true}
		}
		return look{pidAlive: syscall.Kill(pid, 0) != syscall.ESRCH} // /proc hidden: the pid alone
	}
	i := bytes.LastIndexByte(stat, ')') // the command name, in parentheses, may hold anything
	if i < 0 || i+2 > len(stat) {
		return look{pidAlive: true}
	}
	fields := strings.Fields(string(stat[i+2:]))
	if len(fields) < 20 {
		return look{pidAlive: true}
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return look{pidAlive: true}
	}
	var boot unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot) != nil {
		return look{pidAlive: true}
	}
	bootWall := time.Now().Add(-time.Duration(boot.Nano()))
	return look{started: true, start: bootWall.Add(time.Duration(ticks) * time.Second / clockTicks)}
}
