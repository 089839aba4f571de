package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/npshm/npshm"
)

var deleteCmd = &command{
	name:    "delete",
	aliases: []string{"rm"},
	args:    "NAME...",
	summary: "delete arrays by name or glob; their users keep their mappings",
	help: `
A NAME with *, ? or [ is a glob, matched against the names in /dev/shm or NPSHM_DIR (a * matches no leading
dot, and npshm's own .npshm-* files are never matched: npshm clean removes those). A segment that
is not an npshm array is left alone, unless --force is given. The memory is freed when the last
process that maps the array unmaps it.`,
	flags:   []flagSpec{{name: "force", help: "delete segments that are not npshm arrays too"}},
	minArgs: 1,
	maxArgs: -1,
	run: func(c *invocation) error {
		force := c.flags.has("force")
		var failed failures
		for _, arg := range c.args {
			names, err := expand(arg)
			if err != nil {
				var usage *usageError
				if errors.As(err, &usage) {
					return err
				}
				failed = append(failed, err)
				continue
			}
			for _, name := range names {
				if err := deleteOne(name, force); err != nil {
					failed = append(failed, err)
					continue
				}
				fmt.Fprintf(c.stdout, "deleted %s\n", printable(name))
			}
		}
		return failed.orNil()
	},
}

// expand turns a glob into the names in /dev/shm it matches; any other NAME is itself.
func expand(arg string) ([]string, error) {
	if strings.HasPrefix(arg, "file://") {
		return []string{arg}, nil
	}
	pattern := strings.TrimPrefix(strings.TrimPrefix(arg, "shm://"), "/")
	if !strings.ContainsAny(pattern, "*?[") {
		return []string{arg}, nil
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, usagef("NAME %q: not a valid glob: %v", arg, err)
	}
	entries, err := os.ReadDir(npshm.Dir())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".npshm-") || (strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".")) {
			continue
		}
		if ok, _ := path.Match(pattern, name); ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no array in %s matches %q", npshm.Dir(), arg)
	}
	sort.Strings(names)
	return names, nil
}

// deleteOne deletes name if it is an npshm array, or whatever it is with force.
func deleteOne(name string, force bool) error {
	if !force {
		a, err := npshm.Attach(name, &npshm.AttachOptions{ReadOnly: true})
		switch {
		case err == nil:
			a.Close()
		case errors.Is(err, npshm.ErrFormat):
			return fmt.Errorf("%q is not an npshm array, so it stays (--force deletes it): %s", name, message(err))
		case errors.Is(err, npshm.ErrPermission):
			return fmt.Errorf("cannot tell whether %q is an npshm array, so it stays (--force deletes it): %s",
				name, message(err))
		case !errors.Is(err, npshm.ErrNotFound):
			return err
		}
		// Not found: Delete says so, naming the operation the user asked for.
	}
	return npshm.Delete(name)
}
