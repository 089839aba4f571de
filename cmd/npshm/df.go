package main

import (
	"fmt"

	"github.com/npshm/npshm"
)

var dfCmd = &command{
	name:    "df",
	summary: "show the space of the directory of arrays (/dev/shm), and how much of it npshm arrays take",
	help: `
The directory of shared arrays: /dev/shm, or what the environment variable NPSHM_DIR names (a
tmpfs mounted huge=within_size, for huge pages), and the mount's huge= option if it has one.
Its size, used and free space (free: what an unprivileged process may still take), then
the memory taken by the npshm arrays you may read (header and data) and by leftovers of dead
processes that npshm clean would remove.`,
	flags:   []flagSpec{jsonFlag},
	maxArgs: 0,
	run: func(c *invocation) error {
		dir := npshm.Dir()
		sp, err := statSpace(dir)
		if err != nil {
			return err
		}
		huge := npshm.DirHugePages()
		infos, err := npshm.List()
		if err != nil {
			return err
		}
		leftovers, err := npshm.Leftovers("")
		if err != nil {
			return err
		}
		var arrays, left int64
		for _, in := range infos {
			arrays += int64(in.SegmentSize)
		}
		for _, l := range leftovers {
			left += l.Size
		}
		if c.flags.has("json") {
			return writeJSON(c.stdout, map[string]any{
				"path": dir, "huge": huge, "size": sp.Size, "used": sp.Used, "free": sp.Free,
				"arrays": len(infos), "arrays_bytes": arrays, "leftovers": len(leftovers), "leftovers_bytes": left,
			})
		}
		percent := 0.0
		if sp.Size > 0 {
			percent = 100 * float64(sp.Used) / float64(sp.Size)
		}
		shown := dir
		if huge != "" {
			shown += " (huge=" + huge + ")"
		}
		fmt.Fprintf(c.stdout, "%s: %s, %s used (%.0f%%), %s free\n", shown, humanBytes(sp.Size), humanBytes(sp.Used),
			percent, humanBytes(sp.Free))
		fmt.Fprintf(c.stdout, "npshm arrays: %s, %s\n", plural(len(infos), "array"), humanBytes(arrays))
		fmt.Fprintf(c.stdout, "leftovers of dead processes: %s, %s\n", plural(len(leftovers), "file"), humanBytes(left))
		return nil
	},
}
