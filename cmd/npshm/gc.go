package main

import (
	"fmt"

	"github.com/npshm/npshm"
)

var gcCmd = &command{
	name:    "gc",
	args:    "[PATTERN...]",
	summary: "delete orphans: arrays whose creator is gone and that no process maps (a dry run unless --yes)",
	help: `
With --orphans, lists the arrays in /dev/shm (those whose names match a PATTERN, shell-style, if
any is given) whose creator is gone and that no process maps; --yes deletes them, each checked
again just before: its name must still lead to the same file, and its creator must still be gone.

The creator is gone if no process of its pid runs, or the one that does started after the array
was created (the pid was reused). An array is mapped if a line of some /proc/PID/maps names its
device and inode: only processes you may read are seen. A user who is not root cannot read other
users' processes: an array is kept if one of those runs as its owner, or if it grants group or
other access. Root's processes are not counted against a user's array; run as root to see them.
Processes in other pid namespaces are not seen at all.`,
	flags: []flagSpec{
		{name: "orphans", help: "collect orphans (the only kind of garbage there is for now)"},
		{name: "yes", short: "y", help: "delete them, rather than only list them"},
	},
	maxArgs: -1,
	run: func(c *invocation) error {
		if !c.flags.has("orphans") {
			return usagef("say what to collect: --orphans")
		}
		patterns := c.args
		if len(patterns) == 0 {
			patterns = []string{""}
		}
		remove := c.flags.has("yes")
		var failed failures
		var n, bytes int
		seen := map[string]bool{}
		for _, pattern := range patterns {
			orphans, err := npshm.Orphans(pattern)
			if err != nil {
				return usagef("%v", err)
			}
			for _, o := range orphans {
				if seen[o.Name] {
					continue
				}
				seen[o.Name] = true
				verb := "would delete"
				if remove {
					ok, err := npshm.RemoveOrphan(o)
					if err != nil {
						failed = append(failed, err)
						continue
					}
					if !ok {
						continue // replaced, deleted by another, or its creator runs
					}
					verb = "deleted"
				}
				n++
				bytes += o.SegmentSize
				fmt.Fprintf(c.stdout, "%s %s (%s, created by pid %d, which is gone)\n", verb, printable(o.Name),
					humanBytes(int64(o.SegmentSize)), o.CreatorPID)
			}
		}
		switch {
		case n == 0:
			fmt.Fprintln(c.stdout, "no orphans")
		case remove:
			fmt.Fprintf(c.stdout, "deleted %s, %s\n", plural(n, "orphan"), humanBytes(int64(bytes)))
		default:
			fmt.Fprintf(c.stdout, "%s, %s: run 'npshm %s --orphans --yes' to delete them\n", plural(n, "orphan"),
				humanBytes(int64(bytes)), c.typed)
		}
		return failed.orNil()
	},
}
