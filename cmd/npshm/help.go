package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

var helpCmd = &command{
	name:    "help",
	args:    "[COMMAND]",
	summary: "explain the commands, or one of them",
	maxArgs: 1,
	run: func(c *invocation) error {
		if len(c.args) == 0 {
			writeOverview(c.stdout)
			return nil
		}
		cmd := lookup(c.args[0])
		if cmd == nil {
			return usagef("unknown command %q", c.args[0])
		}
		writeHelp(c.stdout, cmd)
		return nil
	},
}

// usageLine is a command's synopsis: "npshm create NAME SHAPE DTYPE [--mode MODE] [--force] ...".
func usageLine(c *command) string {
	parts := []string{"npshm", c.name}
	if c.args != "" {
		parts = append(parts, c.args)
	}
	for _, f := range c.flags {
		parts = append(parts, "["+f.synopsis("|")+"]")
	}
	return strings.Join(parts, " ")
}

func writeOverview(w io.Writer) {
	fmt.Fprintln(w, "npshm: named numpy arrays in shared memory (/dev/shm)")
	fmt.Fprintln(w, "\nusage: npshm COMMAND [ARGUMENTS] [FLAGS]\n\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		name := c.name
		if len(c.aliases) > 0 {
			name += " (" + strings.Join(c.aliases, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, `
Names are "x" or "shm://x" for /dev/shm/x, and "file://PATH" for a file. Flags may come before or
after the arguments. "npshm help COMMAND" or "npshm COMMAND --help" explains a command;
"npshm --version" prints the version. Exit status: 0 done, 1 an operation failed, 2 a usage error.`)
}

func writeHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", usageLine(c), strings.ToUpper(c.summary[:1])+c.summary[1:])
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if len(c.aliases) > 0 {
		fmt.Fprintf(w, "\nAlso: %s.\n", strings.Join(c.aliases, ", "))
	}
	if len(c.flags) > 0 {
		fmt.Fprintln(w, "\nflags:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range c.flags {
			fmt.Fprintf(tw, "  %s\t%s\n", f.synopsis(", "), f.help)
		}
		tw.Flush()
	}
}

// synopsis writes a flag as "--mode MODE", or "-y<sep>--yes" where it has a short form.
func (f flagSpec) synopsis(sep string) string {
	s := "--" + f.name
	if f.short != "" {
		s = "-" + f.short + sep + s
	}
	if f.value != "" {
		s += " " + f.value
	}
	return s
}
