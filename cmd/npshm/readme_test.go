package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	columnGap = regexp.MustCompile(`\s{2,}`)
	totalLine = regexp.MustCompile(`^total: \d+ arrays?, \d+(\.\d)? (B|[KMGTPE]iB)$`)
)

// checkListing checks a listing of `npshm list`: its columns, a row per array, the total.
func checkListing(t *testing.T, where string, lines []string) {
	t.Helper()
	if len(lines) < 2 {
		t.Fatalf("%s: no listing: %q", where, lines)
	}
	if got := columnGap.Split(strings.TrimSpace(lines[0]), -1); strings.Join(got, " ") != strings.Join(listColumns, " ") {
		t.Errorf("%s: columns %q, want %q", where, got, listColumns)
	}
	for _, row := range lines[1 : len(lines)-1] {
		if got := columnGap.Split(strings.TrimSpace(row), -1); len(got) != len(listColumns) {
			t.Errorf("%s: row %q has %d columns, want %d", where, row, len(got), len(listColumns))
		}
	}
	if last := lines[len(lines)-1]; !totalLine.MatchString(last) {
		t.Errorf("%s: last line %q is not a total", where, last)
	}
}

// README shows real output of `npshm list`: the same columns as the tool prints.
func TestReadmeListSample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## Command line\n.*?```console\n\\$ npshm list\n(.*?)\n\\$ ").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no ```console block with `$ npshm list` under ## Command line")
	}
	checkListing(t, "README", strings.Split(string(m[1]), "\n"))

	name := uniqueName(t)
	if r := npshmRun("create", name, "1000", "float64"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := npshmRun("list")
	checkListing(t, "npshm list", strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"))
}
