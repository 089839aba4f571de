package core

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The crash-test hook. With the environment variable NPSHM_TEST_PAUSE naming one of the points
// below when the library is loaded, a process that reaches that point stops itself with SIGSTOP,
// so that a test can SIGKILL it there and check what is left (tests/c/test_hardening.c,
// python/tests/test_hardening.py). The C twin has the same points (internal/ctwin/fork.c).
//
// The variable is read once, in init; in production the hook costs one load and one predictable
// branch at each point, and never allocates (the forked-child rule of capi).
const (
	pauseNone          = iota
	pauseCreatePublish // create: the segment is complete, but not yet published under its name
	pauseReplaceRename // replace: the new segment is linked to its temporary name, not yet renamed
	pauseLoad          // a file load: the segment is half filled (for the file loader's use)
	pauseWrite         // a file write: the new file is half written, not yet named
)

var pauseAt int32

func init() { pauseAt = pausePointOf(os.Getenv("NPSHM_TEST_PAUSE")) }

func pausePointOf(v string) int32 {
	for i, n := range pauseNames {
		if i > 0 && v == n {
			return int32(i)
		}
	}
	return pauseNone
}

// testPause stops the process if NPSHM_TEST_PAUSE named this point. The SIGSTOP goes to the calling
// thread (tgkill), which then stops before it returns from the system call. Sent to the process
// (kill), it is taken by whichever thread the kernel picks, usually the main one: on a busy machine
// that thread may run only later, while the caller goes on and publishes the array it was meant to
// stop before (the flake of test_killed_loader_leaves_nothing).
func testPause(point int32) {
	if pauseAt == point {
		runtime.LockOSThread()
		unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGSTOP)
		runtime.UnlockOSThread()
	}
}
