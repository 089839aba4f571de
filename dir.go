package npshm

import "github.com/npshm/npshm/internal/core"

// DirEnv is the environment variable that names the directory of shared-memory arrays.
const DirEnv = core.DirEnv

// Dir returns the directory of shared-memory arrays (names "x", "shm://x" are files in it):
// /dev/shm, or the directory that the environment variable NPSHM_DIR named when the program
// started, or the one SetDir chose since. It returns it also when it was refused (see SetDir):
// operations on shared-memory names then fail with the reason.
func Dir() string {
	nul := core.Dir().Nul
	return string(nul[:len(nul)-1])
}

// DirHugePages returns the huge= option of the mount of Dir ("always", "within_size" or "advise")
// if it hands out huge pages, else "".
func DirHugePages() string { return core.Dir().HugeOpt }

// SetDir makes dir the directory of shared-memory arrays ("" is /dev/shm). A tmpfs mounted with
// huge=within_size (or always, advise) is the reason to choose another: data of 2 MiB or more is
// then aligned to 2 MiB and read through huge pages. The directory must be an absolute path to a
// directory that is not a symbolic link, owned by root or by this user, and sticky if others may
// write to it, as is every directory above it (docs/RELIABILITY.md; /dev/shm, the default, is used
// as it is): any other is refused
// (ErrPermission, ErrInvalid, ErrNotFound) and the old one stays. The directory checked is held
// open: if it is removed later, operations on shared-memory names fail with ErrNotFound naming
// it, and a directory made again under the same path is not used until SetDir chooses it again.
// Every process that shares arrays must use the same directory; set it before other goroutines
// use the package.
func SetDir(dir string) error {
	if st := core.SetDir(dir); !st.Ok() {
		return newError(st, "set dir", dir)
	}
	return nil
}
