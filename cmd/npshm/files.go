package main

import (
	"fmt"
	"strconv"

	"github.com/npshm/npshm"
)

var loadCmd = &command{
	name:    "load",
	args:    "FILE NAME",
	summary: "load an array file (.npy, or cdxcore's npio) into a new array, or attach an existing one",
	help: `
The format is recognised by the file's first bytes. If the array NAME exists, it must have the
file's shape and dtype, and the file is not read (unless --exclusive, which fails instead). Of
several processes loading one name at once, exactly one reads the file; the array gets its name
only when it is completely filled.`,
	flags: []flagSpec{
		modeFlag,
		{name: "exclusive", help: "fail if the array exists, instead of attaching it"},
		{name: "offset", value: "N", help: "where the array's record starts in the file (default 0)"},
	},
	minArgs: 2,
	maxArgs: 2,
	run: func(c *invocation) error {
		opts := &npshm.ReadFileOptions{Exclusive: c.flags.has("exclusive"), ReadOnly: true}
		var err error
		if opts.Mode, err = parseMode(c.flags); err != nil {
			return err
		}
		if s, ok := c.flags["offset"]; ok {
			if opts.Offset, err = strconv.ParseInt(s, 0, 64); err != nil || opts.Offset < 0 {
				return usagef("--offset %q: a byte offset of 0 or more is expected", s)
			}
		}
		a, attached, err := npshm.ReadFile(c.args[0], c.args[1], opts)
		if err != nil {
			return err
		}
		defer a.Close()
		what := "loaded " + c.args[0] + " into"
		if attached {
			what = "the array exists, the file was not read:"
		}
		fmt.Fprintf(c.stdout, "%s %s: %s %s, %s\n", what, a.Name(), npshm.FormatShape(a.Shape()), a.Dtype(),
			humanBytes(int64(len(a.Bytes()))))
		return nil
	},
}

var saveCmd = &command{
	name:    "save",
	args:    "NAME FILE",
	summary: "write an array to a file: .npy if FILE ends in .npy, else cdxcore's npio",
	help: `
The .npy file is what numpy.save writes (numpy.load reads it); npio is what cdxcore.npio.to_file
writes, and holds only bool, int8 to int64, uint16 to uint64, float16 to float64, complex64,
complex128 and unit-less datetime64/timedelta64. The file appears complete or not at all.`,
	minArgs: 2,
	maxArgs: 2,
	run: func(c *invocation) error {
		a, err := npshm.Attach(c.args[0], &npshm.AttachOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer a.Close()
		if err := npshm.WriteFile(c.args[1], a); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "saved %s to %s (%s): %s %s, %s\n", a.Name(), c.args[1], npshm.FileFormat(c.args[1]),
			npshm.FormatShape(a.Shape()), a.Dtype(), humanBytes(int64(len(a.Bytes()))))
		return nil
	},
}
