package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/npshm/npshm"
	"github.com/npshm/npshm/internal/creators"
)

var jsonFlag = flagSpec{name: "json", help: "write JSON: the same fields, with numbers as numbers"}

var listCmd = &command{
	name:    "list",
	aliases: []string{"ls"},
	summary: "list the arrays in /dev/shm (or NPSHM_DIR) that you may read",
	help: `
Columns: the name; the format (npshm's own, or a peer's: sharedarray, cdxcore); the dtype (.npy descriptor) and shape; the size of
the data; the permission bits and the owner; the process that created the array and whether it
is still alive; and the time since its creation (a peer's segment records neither: "-"). A last line gives the total.`,
	flags:   []flagSpec{jsonFlag},
	maxArgs: 0,
	run: func(c *invocation) error {
		infos, err := npshm.List()
		if err != nil {
			return err
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
		now := time.Now()
		records := make([]record, len(infos))
		var alive creators.Set
		total := 0
		for i, in := range infos {
			records[i] = newRecord(in.Name, in.Format, in.Dtype, in.Shape, in.Itemsize, in.Nbytes, in.Fortran, in.Mode, in.UID,
				in.CreatorPID, in.Created, now, &alive)
			total += in.Nbytes
		}
		if c.flags.has("json") {
			return writeJSON(c.stdout, struct {
				Arrays []record `json:"arrays"`
				Count  int      `json:"count"`
				Nbytes int      `json:"nbytes"`
			}{records, len(records), total})
		}
		writeTable(c.stdout, records)
		fmt.Fprintf(c.stdout, "total: %s, %s\n", plural(len(records), "array"), humanBytes(int64(total)))
		return nil
	},
}

// listColumns are the columns of `npshm list`, which README's sample shows.
var listColumns = []string{"NAME", "FORMAT", "DTYPE", "SHAPE", "SIZE", "MODE", "OWNER", "CREATOR", "AGE"}

func writeTable(w io.Writer, records []record) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(listColumns, "\t"))
	for _, r := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(r.Name), r.Format, printable(r.Dtype), npshm.FormatShape(r.Shape),
			humanBytes(int64(r.Nbytes)), r.Mode, r.Owner, r.creator(), r.age())
	}
	tw.Flush()
}

// printable is s as a table or message shows it: as it is if every character is printable, else
// quoted with Go's escapes ("odd\nname\xff"). Anyone may name a file in /dev/shm: a newline would
// forge a line of the listing, and an escape sequence would reach the terminal.
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // dtypes are "<f8", not "\u003cf8"
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

var infoCmd = &command{
	name:    "info",
	args:    "NAME...",
	summary: "describe arrays: format, shape, dtype, size, order, mode, owner, creator, age",
	flags:   []flagSpec{jsonFlag},
	minArgs: 1,
	maxArgs: -1,
	run: func(c *invocation) error {
		var failed failures
		var records []record
		now := time.Now()
		for _, name := range c.args {
			r, err := describe(name, now)
			if err != nil {
				failed = append(failed, err)
				continue
			}
			records = append(records, r)
			if !c.flags.has("json") {
				writeInfo(c.stdout, r)
			}
		}
		if c.flags.has("json") {
			if err := writeJSON(c.stdout, records); err != nil {
				return err
			}
		}
		return failed.orNil()
	},
}

// describe attaches name read-only, and looks up its file's mode and owner.
func describe(name string, now time.Time) (record, error) {
	a, err := npshm.Attach(name, &npshm.AttachOptions{ReadOnly: true})
	if err != nil {
		return record{}, err
	}
	defer a.Close()
	path := npshm.Dir() + "/" + a.Name()
	if p, ok := strings.CutPrefix(a.Name(), "file://"); ok {
		path = p
	}
	var mode fs.FileMode
	uid := -1
	if st, err := os.Stat(path); err == nil {
		mode, uid = st.Mode(), fileUID(st)
	}
	return newRecord(a.Name(), a.Format(), a.Dtype(), a.Shape(), a.Itemsize(), len(a.Bytes()), a.Fortran(), mode, uid,
		a.CreatorPID(), a.Created(), now, new(creators.Set)), nil
}

func writeInfo(w io.Writer, r record) {
	order := "C"
	if r.Fortran {
		order = "Fortran"
	}
	fmt.Fprintf(w, "%s\n  format   %s\n  shape    %s\n  dtype    %s (itemsize %d)\n  size     %s (%d bytes)\n"+
		"  order    %s\n  mode     %s\n  owner    %s\n  creator  pid %s\n  created  %s (%s ago)\n",
		printable(r.Name), r.Format, npshm.FormatShape(r.Shape), printable(r.Dtype), r.Itemsize, humanBytes(int64(r.Nbytes)), r.Nbytes, order,
		r.Mode, r.Owner, r.creator(), r.created(), r.age())
}
