package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/npshm/npshm"
)

var counter atomic.Int64

// uniqueName is a fresh array name, deleted (with anything named after it) when the test ends.
func uniqueName(t *testing.T) string {
	t.Helper()
	name := "npshm-cli-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(counter.Add(1), 10)
	t.Cleanup(func() {
		matches, _ := filepath.Glob("/dev/shm/" + name + "*")
		for _, m := range matches {
			os.Remove(m)
		}
	})
	return name
}

type result struct {
	code           int
	stdout, stderr string
}

func npshmRun(args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// step is one command line and what it must give: the exit status, and text that stdout and
// stderr must contain (every line of want*, in order).
type step struct {
	args       []string
	code       int
	wantOut    string
	wantErr    string
	notWantOut string
}

func runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := npshmRun(s.args...)
		if r.code != s.code || !strings.Contains(r.stdout, s.wantOut) || !strings.Contains(r.stderr, s.wantErr) ||
			(s.notWantOut != "" && strings.Contains(r.stdout, s.notWantOut)) {
			t.Errorf("npshm %q: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout ~%q, stderr ~%q",
				s.args, r.code, r.stdout, r.stderr, s.code, s.wantOut, s.wantErr)
		}
	}
}

func TestCreateInfoListDelete(t *testing.T) {
	name := uniqueName(t)
	runSteps(t, []step{
		// Flags after the arguments, and before.
		{[]string{"create", name, "10,3", "float64", "--mode", "0640", "--fill", "1.5"}, 0,
			"created " + name + ": (10, 3) <f8, 240 B, mode 0640\n", "", ""},
		{[]string{"create", "--fill=-2", name + "-b", "(4,)", "int16"}, 0, "(4,) <i2, 8 B, mode 0600", "", ""},
		{[]string{"create", name, "3", "u1"}, 1, "",
			"npshm create: create(\"" + name + "\"): an array of that name exists", ""},
		{[]string{"info", name}, 0, name + "\n  format   npshm\n  shape    (10, 3)\n  dtype    <f8 (itemsize 8)\n" +
			"  size     240 B (240 bytes)\n  order    C\n  mode     0640\n", "", ""},
		{[]string{"ls"}, 0, name + " ", "", ""},
		{[]string{"list"}, 0, "NAME ", "", ""},
	})
	a, err := npshm.Attach(name, &npshm.AttachOptions{Shape: []int{10, 3}, Dtype: "float64"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, v := range must(npshm.View[float64](a)) {
		if v != 1.5 {
			t.Fatalf("--fill 1.5 gave %v", v)
		}
	}
	b, err := npshm.Attach(name+"-b", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v := must(npshm.View[int16](b)); v[3] != -2 {
		t.Fatalf("--fill=-2 gave %v", v)
	}

	// --json: the same fields, numbers as numbers.
	var listed struct {
		Arrays []record `json:"arrays"`
		Count  int      `json:"count"`
		Nbytes int      `json:"nbytes"`
	}
	r := npshmRun("list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || r.code != 0 {
		t.Fatalf("list --json: %v, exit %d: %s", err, r.code, r.stdout)
	}
	var mine *record
	for i := range listed.Arrays {
		if listed.Arrays[i].Name == name {
			mine = &listed.Arrays[i]
		}
	}
	if mine == nil || mine.Dtype != "<f8" || mine.Nbytes != 240 || mine.Mode != "0640" || mine.Format != "npshm" ||
		mine.CreatorPID != os.Getpid() || !mine.CreatorAlive || mine.Shape[0] != 10 || mine.Owner == "" ||
		listed.Count != len(listed.Arrays) {
		t.Fatalf("list --json: %+v in %s", mine, r.stdout)
	}
	if !strings.Contains(r.stdout, `"dtype": "<f8"`) {
		t.Errorf("JSON escapes the dtype: %s", r.stdout)
	}
	var infos []record
	r = npshmRun("info", "--json", name, name+"-b")
	if err := json.Unmarshal([]byte(r.stdout), &infos); err != nil || len(infos) != 2 || infos[1].Dtype != "<i2" {
		t.Fatalf("info --json: %v: %s", err, r.stdout)
	}

	runSteps(t, []step{
		{[]string{"create", "--force", name, "()", "uint8", "--fill", "0xff"}, 0, "created " + name + ": () |u1, 1 B", "", ""},
		{[]string{"info", name}, 0, "  shape    ()\n", "", ""},
		{[]string{"rm", name, name + "-missing", name + "-b"}, 1, "deleted " + name + "\ndeleted " + name + "-b\n",
			"npshm rm: delete(\"" + name + "-missing\"): no array of that name", ""},
		{[]string{"delete", name}, 1, "", "npshm delete: delete(\"" + name + "\"): no array of that name", ""},
		{[]string{"info", name}, 1, "", "npshm info: attach(\"" + name + "\"): no array of that name", ""},
		{[]string{"list"}, 0, "total: ", "", name + " "},
	})
}

func TestUsageErrors(t *testing.T) {
	name := uniqueName(t)
	usage := "usage: npshm create NAME SHAPE DTYPE [--mode MODE] [--force] [--fill X] [--fortran] [--no-reserve] [--format FORMAT]\n" +
		"run 'npshm help create' for more\n"
	runSteps(t, []step{
		{[]string{"create", name, "10,x", "f8"}, 2, "", "npshm create: SHAPE \"10,x\": \"x\" is not a dimension\n" + usage, ""},
		{[]string{"create", name, "", "f8"}, 2, "", "npshm create: SHAPE \"\" is empty: write () for a 0-d array\n", ""},
		{[]string{"create", name, "-1,3", "f8"}, 2, "", `SHAPE "-1,3": "-1" is not a dimension: sizes are 0 or more`, ""},
		{[]string{"create", name, "99999999999999999999", "f8"}, 2, "", `"99999999999999999999" is too large a dimension`, ""},
		{[]string{"create", name, "(3,,)", "f8"}, 2, "", `SHAPE "(3,,)": "" is not a dimension`, ""},
		{[]string{"create", name, "3"}, 2, "", "npshm create: missing DTYPE\n", ""},
		{[]string{"create", name}, 2, "", "npshm create: missing SHAPE and DTYPE\n", ""},
		{[]string{"create", name, "3", "f8", "extra"}, 2, "", `npshm create: unexpected argument "extra"`, ""},
		{[]string{"create", name, "3", "f8", "--mode", "9"}, 2, "", `npshm create: --mode "9": permission bits in octal`, ""},
		{[]string{"create", name, "3", "f8", "--mode", "0"}, 2, "", `--mode "0"`, ""},
		{[]string{"create", name, "3", "f8", "--mode"}, 2, "", "npshm create: flag --mode needs a value (MODE)", ""},
		{[]string{"create", name, "3", "f8", "--bogus"}, 2, "", "npshm create: unknown flag --bogus", ""},
		{[]string{"create", name, "3", "f8", "--force=yes"}, 2, "", "npshm create: flag --force takes no value", ""},
		{[]string{"create", name, "3", "u1", "--fill", "300"}, 2, "", `npshm create: --fill "300": out of range for uint8`, ""},
		{[]string{"create", name, "3", "f8", "--fill", "abc"}, 2, "", `--fill "abc": not a number of type float64`, ""},
		{[]string{"rm"}, 2, "", "npshm rm: missing NAME...\nusage: npshm delete NAME... [--force]", ""},
		{[]string{"rm", "["}, 2, "", `npshm rm: NAME "[": not a valid glob`, ""},
		{[]string{"info"}, 2, "", "npshm info: missing NAME...", ""},
		{[]string{"list", "x"}, 2, "", `npshm list: unexpected argument "x"`, ""},
		{[]string{"load", "f.npy"}, 2, "", "npshm load: missing NAME", ""},
		{[]string{"load", "f.npy", name, "--offset", "-1"}, 2, "", `npshm load: --offset "-1"`, ""},
		{[]string{"help", "frob"}, 2, "", `npshm help: unknown command "frob"`, ""},
		{[]string{"frob"}, 2, "", "npshm: unknown command \"frob\"\nrun 'npshm help' for the commands", ""},
		{[]string{"--json"}, 2, "", `npshm: unknown flag "--json"`, ""},
		{[]string{}, 2, "", "npshm: a command is missing\n", ""},
		// Failures of the library: exit 1, its message after the command's name.
		// ... naming the bad value (issue 10).
		{[]string{"create", name, "3", "flaot64"}, 1, "", "npshm create: create(\"" + name + "\"): unknown dtype \"flaot64\"", ""},
		{[]string{"create", name, "3", "[('a', 'flaot64')]"}, 1, "", `unknown dtype "flaot64"`, ""},
		{[]string{"create", name, "3", "M8[nsec]"}, 1, "", `unknown datetime64/timedelta64 unit "[nsec]"`, ""},
		{[]string{"load", "/nonexistent/npshm-cli.npy", name}, 1, "", `no such file "/nonexistent/npshm-cli.npy"`, ""},
		{[]string{"create", "a/b", "3", "f8"}, 1, "", "npshm create: create(\"a/b\"): name contains '/'", ""},
	})
	if _, err := os.Stat("/dev/shm/" + name); !os.IsNotExist(err) {
		t.Fatalf("a failed create left %s: %v", name, err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	if r := npshmRun("--version"); r.code != 0 || r.stdout != "npshm "+npshm.Version+"\n" {
		t.Errorf("--version: %+v", r)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		if r := npshmRun(args...); r.code != 0 || !strings.Contains(r.stdout, "  create  ") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	for _, c := range commands {
		for _, args := range [][]string{{"help", c.name}, {c.name, "--help"}, {c.name, "x", "-h"}} {
			r := npshmRun(args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: npshm "+c.name) || r.stderr != "" {
				t.Errorf("%v: %+v", args, r)
			}
		}
	}
}

func TestDeleteGlobsAndForeignSegments(t *testing.T) {
	name := uniqueName(t)
	for _, n := range []string{name + "-g1", name + "-g2", name + "-h"} {
		a, err := npshm.Create(n, []int{1}, "u1", nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
	foreign := "/dev/shm/" + name + "-foreign"
	if err := os.WriteFile(foreign, []byte("not an npshm array, but a segment of some other program"), 0o600); err != nil {
		t.Fatal(err)
	}
	runSteps(t, []step{
		{[]string{"delete", name + "-g*"}, 0, "deleted " + name + "-g1\ndeleted " + name + "-g2\n", "", name + "-h"},
		{[]string{"delete", "shm://" + name + "-z*"}, 1, "", "npshm delete: no array in /dev/shm matches \"shm://" + name + "-z*\"", ""},
		{[]string{"delete", name + "-fore?gn"}, 1, "",
			"npshm delete: \"" + name + "-foreign\" is not an npshm array, so it stays (--force deletes it): attach(", ""},
		{[]string{"delete", name + "-foreign"}, 1, "", "not an npshm array, so it stays", ""},
	})
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("the foreign segment was deleted: %v", err)
	}
	runSteps(t, []step{
		{[]string{"delete", name + "-*", "--force"}, 0, "deleted " + name + "-foreign\ndeleted " + name + "-h\n", "", ""},
	})
	if _, err := os.Stat(foreign); !os.IsNotExist(err) {
		t.Fatalf("--force left the foreign segment: %v", err)
	}
}

func TestLoadSave(t *testing.T) {
	name := uniqueName(t)
	dir := t.TempDir()
	a, err := npshm.Create(name, []int{2, 3}, "int32", &npshm.CreateOptions{Init: npshm.Fill(int32(7))})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	npy, npio := filepath.Join(dir, "a.npy"), filepath.Join(dir, "a.npio")
	runSteps(t, []step{
		{[]string{"save", name, npy}, 0, "saved " + name + " to " + npy + " (npy): (2, 3) <i4, 24 B", "", ""},
		{[]string{"save", name, npio}, 0, "(npio)", "", ""},
		{[]string{"load", npy, name + "-2"}, 0, "loaded " + npy + " into " + name + "-2: (2, 3) <i4, 24 B", "", ""},
		{[]string{"load", "--mode", "0640", npio, name + "-2"}, 0, "the array exists, the file was not read: " + name + "-2", "", ""},
		{[]string{"load", npy, name + "-2", "--exclusive"}, 1, "", "npshm load: read file(\"" + name + "-2\"): ", ""},
		{[]string{"load", npio, name + "-3", "--mode", "0640"}, 0, "loaded", "", ""},
		{[]string{"info", name + "-3"}, 0, "mode     0640", "", ""},
		{[]string{"load", filepath.Join(dir, "missing.npy"), name + "-4"}, 1, "", "npshm load: read file(\"" + name + "-4\"): ", ""},
		{[]string{"save", name + "-missing", npy}, 1, "", "npshm save: attach(\"" + name + "-missing\"): no array", ""},
	})
	b, err := npshm.Attach(name+"-3", &npshm.AttachOptions{Shape: []int{2, 3}, Dtype: "int32"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v := must(npshm.View[int32](b)); v[5] != 7 {
		t.Fatalf("loaded %v", v)
	}
}

func TestCleanIsADryRunFirst(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	left := filepath.Join(dir, ".npshm-tmp-"+strconv.Itoa(cmd.Process.Pid)+"-1")
	if err := os.WriteFile(left, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	runSteps(t, []step{
		{[]string{"clean", "--dir", dir}, 0, "would remove " + left + " (", "", ""},
		{[]string{"clean", "--dir", dir}, 0, "1 leftover, ", "", ""},
	})
	if _, err := os.Stat(left); err != nil {
		t.Fatalf("the dry run removed %s: %v", left, err)
	}
	runSteps(t, []step{
		{[]string{"clean", "-y", "--dir", dir}, 0, "removed " + left + " (", "", ""},
		{[]string{"clean", "--dir", dir, "--yes"}, 0, "nothing to clean in " + dir, "", ""},
		{[]string{"clean", "--dir", filepath.Join(dir, "missing")}, 1, "", "npshm clean: leftovers(", ""},
	})
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("clean --yes left %s: %v", left, err)
	}
}

func TestDf(t *testing.T) {
	runSteps(t, []step{{[]string{"df"}, 0, "/dev/shm: ", "", ""}, {[]string{"df"}, 0, "\nnpshm arrays: ", "", ""}})
	var df map[string]any
	r := npshmRun("df", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &df); err != nil || df["size"].(float64) <= 0 {
		t.Fatalf("df --json: %v: %s", err, r.stdout)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestPeerFormats: create --format makes a peer's segment; list and info show its format, with no
// creator or age; a format the array cannot have is a clear error.
func TestPeerFormats(t *testing.T) {
	sa, cdx := uniqueName(t), uniqueName(t)
	runSteps(t, []step{
		{args: []string{"create", sa, "3,4", "int64", "--format", "sharedarray"}, wantOut: "sharedarray format"},
		{args: []string{"create", cdx, "5", "float32", "--format=cdxcore", "--fill", "2"}, wantOut: "cdxcore format"},
		{args: []string{"info", sa}, wantOut: "  format   sharedarray\n  shape    (3, 4)"},
		{args: []string{"info", cdx}, wantOut: "  format   cdxcore\n"},
		{args: []string{"info", "--json", cdx}, wantOut: `"format": "cdxcore"`},
		{args: []string{"list", "--json"}, wantOut: `"name": "` + sa + `",` + "\n      " + `"format": "sharedarray"`},
		{args: []string{"create", uniqueName(t), "3", "uint8", "--format", "cdxcore"}, code: 1,
			wantErr: "cdxcore segments cannot carry this dtype"},
		{args: []string{"create", uniqueName(t), "3", "f8", "--format", "hdf5"}, code: 2,
			wantErr: `--format "hdf5": npshm, sharedarray or cdxcore is expected`},
	})
	a, err := npshm.Attach(cdx, nil)
	if err != nil || a.Format() != npshm.FormatCdxcore || a.CreatorPID() != 0 {
		t.Fatalf("attach %s: %v %v", cdx, a, err)
	}
	v, _ := npshm.View[float32](a)
	if len(v) != 5 || v[4] != 2 {
		t.Errorf("--fill 2 of a cdxcore array: %v", v)
	}
	a.Close()
}

// Anyone may name a file in /dev/shm: a name with a newline or an escape sequence is shown quoted,
// so that it cannot forge a line of the listing or reach the terminal.
func TestOddNamesAreShownQuoted(t *testing.T) {
	name := uniqueName(t)
	odd := name + "\nforged  npshm  <f8\x1b[2J\xff"
	a, err := npshm.Create(odd, []int{1}, "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	quoted := strconv.Quote(odd)
	for _, args := range [][]string{{"list"}, {"info", odd}, {"delete", name + "*"}} {
		r := npshmRun(args...)
		if r.code != 0 || !strings.Contains(r.stdout, quoted) || strings.Contains(r.stdout, "\nforged") ||
			strings.ContainsAny(r.stdout, "\x1b\xff") {
			t.Errorf("npshm %q: exit %d, stdout %q; want the name shown as %s", args[0], r.code, r.stdout, quoted)
		}
	}
}
