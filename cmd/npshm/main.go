// Command npshm lists, describes, creates and deletes named numpy arrays in shared memory.
//
//	npshm list                         every array in /dev/shm the caller may read
//	npshm info NAME...                 shape, dtype, size, mode, creator and time of each array
//	npshm create [-mode 0640] [-replace] [-fortran] NAME SHAPE DTYPE
//	                                   a new zero-filled array; SHAPE is "10,3" ("" for 0-d)
//	npshm delete NAME...               remove names; existing mappings keep working
//
// The flags of create come before NAME: Go's flag package stops at the first argument that is not
// a flag.
//
// Names are those of the library: "x" or "shm://x" for /dev/shm/x, "file://PATH" for a file.
// It exits 1 if any operation failed, 2 on a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npshm/npshm"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "list", "ls":
		err = list(stdout)
	case "info":
		err = info(args[1:], stdout)
	case "create":
		err = create(args[1:], stdout, stderr)
	case "delete", "rm":
		err = remove(args[1:])
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "npshm: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if errors.Is(err, errUsage) {
		usage(stderr)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: npshm list
       npshm info NAME...
       npshm create [-mode 0640] [-replace] [-fortran] NAME SHAPE DTYPE
       npshm delete NAME...
`)
}

func list(w io.Writer) error {
	infos, err := npshm.List()
	if err != nil {
		return err
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSHAPE\tDTYPE\tBYTES\tMODE")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", in.Name, shapeString(in.Shape), in.Dtype, in.Nbytes, in.Mode)
	}
	return tw.Flush()
}

func info(names []string, w io.Writer) error {
	if len(names) == 0 {
		return errUsage
	}
	var failed error
	for _, name := range names {
		a, err := npshm.Attach(name, &npshm.AttachOptions{ReadOnly: true})
		if err != nil {
			failed = errors.Join(failed, err)
			continue
		}
		order := "C"
		if a.Fortran() {
			order = "Fortran"
		}
		fmt.Fprintf(w, "%s\n  shape    %s\n  dtype    %s (itemsize %d)\n  bytes    %d\n  order    %s\n"+
			"  creator  pid %d at %s\n", a.Name(), shapeString(a.Shape()), a.Dtype(), a.Itemsize(),
			len(a.Bytes()), order, a.CreatorPID(), a.Created().Format(time.RFC3339Nano))
		a.Close()
	}
	return failed
}

func create(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("create", flag.ContinueOnError)
	flags.SetOutput(stderr)
	mode := flags.String("mode", "", "permission bits in octal (default 0600)")
	replace := flags.Bool("replace", false, "replace an existing array of that name")
	fortran := flags.Bool("fortran", false, "lay the data out in Fortran order")
	if err := flags.Parse(args); err != nil || flags.NArg() != 3 {
		return errUsage
	}
	shape, err := parseShape(flags.Arg(1))
	if err != nil {
		return err
	}
	opts := &npshm.CreateOptions{Replace: *replace, Fortran: *fortran}
	if *mode != "" {
		m, err := strconv.ParseUint(*mode, 8, 32)
		if err != nil {
			return fmt.Errorf("npshm create: bad -mode %q: an octal number like 0640 is expected", *mode)
		}
		opts.Mode = fs.FileMode(m)
	}
	a, err := npshm.Create(flags.Arg(0), shape, flags.Arg(2), opts)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(stdout, "created %s: shape %s, dtype %s, %d bytes\n", a.Name(), shapeString(a.Shape()), a.Dtype(),
		len(a.Bytes()))
	return nil
}

func remove(names []string) error {
	if len(names) == 0 {
		return errUsage
	}
	var failed error
	for _, name := range names {
		failed = errors.Join(failed, npshm.Delete(name))
	}
	return failed
}

// parseShape reads "10,3", "(10, 3)", "7" or "" (0-d).
func parseShape(s string) ([]int, error) {
	s = strings.Trim(strings.TrimSpace(s), "()[]")
	if strings.TrimSpace(s) == "" {
		return []int{}, nil
	}
	var shape []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // a trailing comma, as in "(3,)"
		}
		d, err := strconv.Atoi(part)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("npshm create: bad shape %q: dimensions are whole numbers of 0 or more", s)
		}
		shape = append(shape, d)
	}
	return shape, nil
}

func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
