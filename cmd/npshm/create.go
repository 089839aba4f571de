package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/npshm/npshm"
)

var modeFlag = flagSpec{name: "mode", value: "MODE",
	help: "permission bits in octal, e.g. 0660 to share with the group (default 0600)"}

var createCmd = &command{
	name:    "create",
	args:    "NAME SHAPE DTYPE",
	summary: "create an array, zero-filled or filled with a value",
	help: `
SHAPE is the sizes separated by commas, as numpy writes them or not: 10,3 or (10, 3) or 7 or (7,);
() is a 0-d array (a single element). DTYPE is a numpy dtype: a name (float64, uint8, bool,
datetime64[ns], S7) or a .npy descriptor (<f8, |u1, [('x', '<f4'), ('y', '<i8')]).
--fill takes a number for numeric dtypes (0x1F, 1e-3, inf, nan, 1+2j), true or false for bool,
a count of units or NaT for datetime64 and timedelta64, and text for S and U; the array is filled
before it gets its name, so no process sees it half filled.`,
	flags: []flagSpec{
		modeFlag,
		{name: "force", help: "replace an existing array of that name (its users keep the old one)"},
		{name: "fill", value: "X", help: "set every element to X (default 0)"},
		{name: "fortran", help: "lay the data out in Fortran order"},
		{name: "no-reserve", help: "leave the memory unreserved (sparse): SIGBUS on touch if /dev/shm is full then " +
			"(a --fill reserves it all the same)"},
		{name: "format", value: "FORMAT", help: "the segment format: npshm (default), sharedarray or cdxcore, " +
			"for processes still on those libraries"},
	},
	minArgs: 3,
	maxArgs: 3,
	run: func(c *invocation) error {
		shape, err := parseShape(c.args[1])
		if err != nil {
			return err
		}
		opts := &npshm.CreateOptions{Replace: c.flags.has("force"), Fortran: c.flags.has("fortran"),
			NoReserve: c.flags.has("no-reserve")}
		if f, ok := c.flags["format"]; ok {
			if opts.Format, ok = npshm.ParseFormat(f); !ok {
				return usagef("--format %q: npshm, sharedarray or cdxcore is expected", f)
			}
		}
		if opts.Mode, err = parseMode(c.flags); err != nil {
			return err
		}
		if c.flags.has("fill") {
			x := c.flags["fill"]
			opts.Init = func(a *npshm.Array) error {
				pattern, err := encodeFill(x, a.Dtype())
				if err != nil {
					return usagef("--fill %q: %v", x, err)
				}
				return npshm.FillBytes(pattern)(a)
			}
		}
		a, err := npshm.Create(c.args[0], shape, c.args[2], opts)
		var usage *usageError
		if errors.As(err, &usage) {
			return usage // a fill value that does not fit the dtype
		}
		if err != nil {
			return err
		}
		defer a.Close()
		fmt.Fprintf(c.stdout, "created %s: %s %s, %s, mode %s", a.Name(), npshm.FormatShape(a.Shape()), a.Dtype(),
			humanBytes(int64(len(a.Bytes()))), modeString(opts.Mode|defaultMode(opts.Mode)))
		if a.Format() != npshm.FormatNpshm {
			fmt.Fprintf(c.stdout, ", %s format", a.Format())
		}
		fmt.Fprintln(c.stdout)
		return nil
	},
}

// defaultMode is the library's default, 0600, where no mode was given.
func defaultMode(m fs.FileMode) fs.FileMode {
	if m == 0 {
		return 0o600
	}
	return 0
}

// parseShape reads a SHAPE: "10,3", "(10, 3)", "[10, 3]", "7", "(7,)", or "()" for 0-d. An empty
// SHAPE is an error, not a 0-d array: it is what a shell gives for an unset variable.
func parseShape(s string) ([]int, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return nil, usagef("SHAPE %q is empty: write () for a 0-d array", s)
	}
	if n := len(in); n >= 2 && (in[0] == '(' && in[n-1] == ')' || in[0] == '[' && in[n-1] == ']') {
		in = strings.TrimSpace(in[1 : n-1])
		if in == "" {
			return []int{}, nil
		}
	}
	parts := strings.Split(in, ",")
	if len(parts) > 1 && strings.TrimSpace(parts[len(parts)-1]) == "" {
		parts = parts[:len(parts)-1] // (7,)
	}
	shape := make([]int, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		d, err := strconv.ParseUint(p, 10, 63)
		switch {
		case err == nil:
			shape[i] = int(d)
		case errors.Is(err, strconv.ErrRange):
			return nil, usagef("SHAPE %q: %q is too large a dimension", s, p)
		case strings.HasPrefix(p, "-"):
			return nil, usagef("SHAPE %q: %q is not a dimension: sizes are 0 or more", s, p)
		default:
			return nil, usagef("SHAPE %q: %q is not a dimension", s, p)
		}
	}
	return shape, nil
}

// parseMode reads --mode: octal permission bits, 0001 to 0777 (0 would be the library's default).
func parseMode(f flagValues) (fs.FileMode, error) {
	s, ok := f["mode"]
	if !ok {
		return 0, nil
	}
	m, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O"), 8, 32)
	if err != nil || m == 0 || m > 0o777 {
		return 0, usagef("--mode %q: permission bits in octal are expected, 0001 to 0777, e.g. 0660", s)
	}
	return fs.FileMode(m), nil
}
