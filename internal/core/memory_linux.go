package core

import "golang.org/x/sys/unix"

// Memory control over a whole mapping: the Go API's Msync, Mlock and Munlock. The C ABI makes
// the same calls in C (export/dispatch.c: npshm_msync, npshm_mlock, npshm_munlock), with the same
// flags, checks and status codes.

// Msync flushes the mapping to its file (msync(2)).
func Msync(m Mapping, flags int) Status {
	if flags&^(MsAsync|MsSync|MsInvalidate) != 0 || (flags&MsAsync != 0 && flags&MsSync != 0) {
		return failNum(ErrInvalid, "flags must be MS_ASYNC or MS_SYNC, optionally with MS_INVALIDATE, not", int64(flags))
	}
	_, _, e := unix.Syscall(unix.SYS_MSYNC, m.Addr, uintptr(m.Len), uintptr(flags))
	return memStatus(e, MsgMsyncFailed)
}

// Mlock locks the mapping's pages into memory (mlock(2)).
func Mlock(m Mapping) Status {
	_, _, e := unix.Syscall(unix.SYS_MLOCK, m.Addr, uintptr(m.Len), 0)
	return memStatus(e, MsgMlockFailed)
}

// Munlock unlocks them (munlock(2)).
func Munlock(m Mapping) Status {
	_, _, e := unix.Syscall(unix.SYS_MUNLOCK, m.Addr, uintptr(m.Len), 0)
	return memStatus(e, MsgMunlockFailed)
}

// memStatus maps the errno of msync, mlock and munlock as export/dispatch.c does: a refused lock
// (EPERM, EACCES) is a permission error, an exhausted lock limit (ENOMEM, EAGAIN) no space.
func memStatus(errno unix.Errno, msg string) Status {
	if errno == 0 {
		return Status{}
	}
	code := ErrIO
	for _, e := range memErrnoCodes {
		if e.errno == errno {
			code = e.code
		}
	}
	return Status{Code: code, Errno: errno, Msg: msg}
}
