package main

import (
	"strconv"
	"strings"
)

// Flags: Go's flag package stops at the first argument, and users write flags after arguments
// (npshm create x 10 f8 --mode 0660), so the command line is parsed here. A flag is --name, or
// -name, or a short -y; a value follows as --name=VALUE or as the next argument; "--" ends the
// flags; --help and -h ask for the command's help.

// flagSpec describes one flag of a command.
type flagSpec struct {
	name  string // "mode": --mode
	short string // "y": -y, or ""
	value string // the value's placeholder ("MODE"), or "" for a flag without value
	help  string
}

// flagValues holds the flags given: the value of each (or "" for one without value).
type flagValues map[string]string

func (f flagValues) has(name string) bool { _, ok := f[name]; return ok }

// parseArgs separates flags from arguments.
func parseArgs(specs []flagSpec, in []string) (args []string, flags flagValues, help bool, err error) {
	flags = flagValues{}
	for i := 0; i < len(in); i++ {
		tok := in[i]
		if tok == "--" {
			return append(args, in[i+1:]...), flags, help, nil
		}
		if len(tok) < 2 || tok[0] != '-' || looksNumeric(tok) {
			args = append(args, tok) // "-" and negative numbers are arguments
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		if name == "help" || name == "h" {
			help = true
			continue
		}
		spec := findFlag(specs, name, !strings.HasPrefix(tok, "--"))
		switch {
		case spec == nil:
			return nil, nil, help, usagef("unknown flag %s", tok)
		case spec.value == "" && hasValue:
			return nil, nil, help, usagef("flag --%s takes no value", spec.name)
		case spec.value != "" && !hasValue:
			if i+1 >= len(in) {
				return nil, nil, help, usagef("flag --%s needs a value (%s)", spec.name, spec.value)
			}
			i++
			value = in[i]
		}
		flags[spec.name] = value
	}
	return args, flags, help, nil
}

func findFlag(specs []flagSpec, name string, single bool) *flagSpec {
	for i := range specs {
		if specs[i].name == name || (single && specs[i].short != "" && specs[i].short == name) {
			return &specs[i]
		}
	}
	return nil
}

// looksNumeric reports whether an argument that starts with '-' is a negative number (or a
// shape such as -1,3), which is an argument to report as such, not an unknown flag.
func looksNumeric(tok string) bool {
	first, _, _ := strings.Cut(tok[1:], ",")
	_, err := strconv.ParseFloat(first, 64)
	return err == nil
}
