// Command npshm lists, describes, creates, loads, saves and deletes named numpy arrays in shared
// memory, and cleans up after processes that died while making one. `npshm help` lists the
// commands, `npshm help COMMAND` (or `npshm COMMAND --help`) explains one.
//
// Names are those of the library: "x" or "shm://x" for /dev/shm/x, "file://PATH" for a file.
// Flags may come before or after the arguments; "--" ends the flags. It exits 0 on success, 1 if
// an operation failed, and 2 on a usage error, whose message says what was wrong.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/npshm/npshm"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one entry of the command table: what `npshm help` shows, what the parser accepts,
// and what runs.
type command struct {
	name    string
	aliases []string
	args    string // the arguments, for the usage line: "NAME SHAPE DTYPE"
	summary string // one line, for `npshm help`
	help    string // the rest of `npshm help COMMAND`
	flags   []flagSpec
	minArgs int
	maxArgs int // -1: any number
	run     func(c *invocation) error
}

// invocation is one run of a command: what the user typed and where output goes.
type invocation struct {
	cmd    *command
	typed  string // the command's name as typed (an alias, perhaps): messages use it
	args   []string
	flags  flagValues
	stdout io.Writer
}

// commands is the command table, in the order `npshm help` lists them.
var commands []*command

func init() {
	commands = []*command{listCmd, infoCmd, createCmd, deleteCmd, loadCmd, saveCmd, cleanCmd, gcCmd, dfCmd, helpCmd}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// usageError is a mistake in the command line: exit status 2, with the message and the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// failures collects the errors of a command that goes on after one (delete a b c): each is
// printed, and the exit status is 1.
type failures []error

func (f failures) Error() string {
	msgs := make([]string, len(f))
	for i, err := range f {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

// orNil is f as an error, nil if empty.
func (f failures) orNil() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "npshm: a command is missing")
		writeOverview(stderr)
		return 2
	}
	switch args[0] {
	case "--version", "-version", "-V":
		fmt.Fprintln(stdout, "npshm", npshm.Version)
		return 0
	case "--help", "-help", "-h":
		writeOverview(stdout)
		return 0
	}
	cmd := lookup(args[0])
	if cmd == nil {
		msg := fmt.Sprintf("npshm: unknown command %q", args[0])
		if strings.HasPrefix(args[0], "-") {
			msg = fmt.Sprintf("npshm: unknown flag %q (flags follow the command)", args[0])
		}
		fmt.Fprintf(stderr, "%s\nrun 'npshm help' for the commands\n", msg)
		return 2
	}
	inv := &invocation{cmd: cmd, typed: args[0], stdout: stdout}
	var help bool
	var err error
	inv.args, inv.flags, help, err = parseArgs(cmd.flags, args[1:])
	if err == nil && help {
		writeHelp(stdout, cmd)
		return 0
	}
	if err == nil {
		err = checkArgCount(cmd, inv.args)
	}
	if err == nil {
		err = cmd.run(inv)
	}
	return report(stderr, inv, err)
}

// report prints err, naming the command as typed, and returns the exit status.
func report(stderr io.Writer, inv *invocation, err error) int {
	if err == nil {
		return 0
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "npshm %s: %s\n", inv.typed, usage.msg)
		fmt.Fprintf(stderr, "usage: %s\nrun 'npshm help %s' for more\n", usageLine(inv.cmd), inv.cmd.name)
		return 2
	}
	var many failures
	if !errors.As(err, &many) {
		many = failures{err}
	}
	for _, e := range many {
		fmt.Fprintf(stderr, "npshm %s: %s\n", inv.typed, message(e))
	}
	return 1
}

// message is the text of an error for the command line. The library's messages start with
// "npshm OP(...)": the command already says "npshm".
func message(err error) string {
	var e *npshm.Error
	if errors.As(err, &e) {
		return strings.TrimPrefix(err.Error(), "npshm ")
	}
	return err.Error()
}

func checkArgCount(cmd *command, args []string) error {
	want := strings.Fields(cmd.args)
	if len(args) < cmd.minArgs {
		missing := want[len(args):cmd.minArgs]
		return usagef("missing %s", strings.Join(missing, " and "))
	}
	if cmd.maxArgs >= 0 && len(args) > cmd.maxArgs {
		return usagef("unexpected argument %q (%s takes %s)", args[cmd.maxArgs], cmd.name, cmd.args)
	}
	return nil
}
