package main

import (
	"fmt"

	"github.com/npshm/npshm"
)

var dfCmd = &command{
	name:    "df",
	summary: "show the space of /dev/shm, and how much of it npshm arrays take",
	help: `
Size, used and free space of /dev/shm (free: what an unprivileged process may still take), then
the memory taken by the npshm arrays you may read (header and data) and by leftovers of dead
processes that npshm clean would remove.`,
	flags:   []flagSpec{jsonFlag},
	maxArgs: 0,
	run: func(c *invocation) error {
		sp, err := statSpace("/dev/shm")
		if err != nil {
			return err
		}
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
				"path": "/dev/shm", "size": sp.Size, "used": sp.Used, "free": sp.Free,
				"arrays": len(infos), "arrays_bytes": arrays, "leftovers": len(leftovers), "leftovers_bytes": left,
			})
		}
		percent := 0.0
		if sp.Size > 0 {
			percent = 100 * float64(sp.Used) / float64(sp.Size)
		}
		fmt.Fprintf(c.stdout, "/dev/shm: %s, %s used (%.0f%%), %s free\n", humanBytes(sp.Size), humanBytes(sp.Used),
			percent, humanBytes(sp.Free))
		fmt.Fprintf(c.stdout, "npshm arrays: %s, %s\n", plural(len(infos), "array"), humanBytes(arrays))
		fmt.Fprintf(c.stdout, "leftovers of dead processes: %s, %s\n", plural(len(leftovers), "file"), humanBytes(left))
		return nil
	},
}
