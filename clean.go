package npshm

// Leftover is a file that a process killed while it published or loaded an array left behind:
// a temporary segment .npshm-tmp-<pid>-<n>, a complete array that no name reaches, whose memory
// stays taken until it is removed; or the empty lock file .npshm-lock-<name> of a load, which
// takes no memory and is harmless. Leftovers lists them; RemoveLeftover removes one.
type Leftover struct {
	Name string // the file's name in its directory
	PID  int    // the process that made a temporary segment, which no longer exists; 0 for a lock file
	Lock bool   // a lock file, rather than a temporary segment
	Size int64  // the memory it takes, in bytes
	UID  int    // its owner
}
