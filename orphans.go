package npshm

// Orphan is an array whose creator is gone and that no process maps: what Orphans finds and
// RemoveOrphan deletes. Dev and Ino identify its file, so that a replacement is never removed.
type Orphan struct {
	Info
	Dev, Ino uint64
}
