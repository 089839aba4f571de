package main

import (
	"fmt"
	"path/filepath"

	"github.com/npshm/npshm"
)

var cleanCmd = &command{
	name:    "clean",
	summary: "remove what dead processes left behind (a dry run unless --yes)",
	help: `
A process killed while it replaced an array (or created one without O_TMPFILE) leaves a
temporary segment .npshm-tmp-<pid>-<n>: a complete array that no name reaches, whose memory stays
taken. A loader killed while it loaded a file leaves an empty lock file .npshm-lock-<name>. Those
of dead processes (and locks nobody holds), yours or, for root, anyone's, are listed; --yes
removes them, each checked again just before.`,
	flags: []flagSpec{
		{name: "yes", short: "y", help: "remove them, rather than only list them"},
		{name: "dir", value: "DIR", help: "clean DIR, the directory of file:// arrays, instead of the directory of shared arrays (/dev/shm, or NPSHM_DIR)"},
	},
	maxArgs: 0,
	run: func(c *invocation) error {
		dir := c.flags["dir"]
		shown := dir
		if shown == "" {
			shown = npshm.Dir()
		}
		leftovers, err := npshm.Leftovers(dir)
		if err != nil {
			return err
		}
		if len(leftovers) == 0 {
			fmt.Fprintf(c.stdout, "nothing to clean in %s\n", shown)
			return nil
		}
		remove := c.flags.has("yes")
		var failed failures
		var n int
		var bytes int64
		for _, l := range leftovers {
			what := fmt.Sprintf("temporary segment of process %d, which is gone", l.PID)
			if l.Lock {
				what = "lock file that no process holds"
			}
			verb := "would remove"
			if remove {
				ok, err := npshm.RemoveLeftover(dir, l.Name)
				if err != nil {
					failed = append(failed, err)
					continue
				}
				if !ok {
					continue // in use again, or removed by somebody else meanwhile
				}
				verb = "removed"
			}
			n++
			bytes += l.Size
			fmt.Fprintf(c.stdout, "%s %s (%s, %s)\n", verb, filepath.Join(shown, l.Name), humanBytes(l.Size), what)
		}
		if remove {
			fmt.Fprintf(c.stdout, "removed %s, %s\n", plural(n, "leftover"), humanBytes(bytes))
		} else {
			fmt.Fprintf(c.stdout, "%s, %s: run 'npshm %s --yes' to remove them\n", plural(n, "leftover"),
				humanBytes(bytes), c.typed)
		}
		return failed.orNil()
	},
}
