//go:build linux

package core

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// What the two sets of committed vectors share (tests/vectors by vectors_test.go, tests/vectors/peers
// by peers_test.go): a directory of .seg files and a MANIFEST of one line a vector, FILE first.

// buildVectorDir makes a vector directory's contents from its definitions: each segment by file
// name, and the MANIFEST (head, then the line of each definition in order).
func buildVectorDir[D any](t testing.TB, head string, defs []D, build func(testing.TB, D) ([]byte, string)) (map[string][]byte, string) {
	t.Helper()
	segs := map[string][]byte{}
	var b strings.Builder
	b.WriteString(head)
	for _, d := range defs {
		seg, line := build(t, d)
		file, _, _ := strings.Cut(line, " ")
		if _, dup := segs[file]; dup {
			t.Fatalf("two vectors named %s", file)
		}
		segs[file] = seg
		b.WriteString(line + "\n")
	}
	return segs, b.String()
}

// checkVectorDir writes segs and manifest into dir with -update; then the committed MANIFEST and
// .seg files must be what the definitions (in the test file defs) make, no file more, and every
// MANIFEST line must pass check, one line a segment.
func checkVectorDir(t *testing.T, dir, defs string, segs map[string][]byte, manifest string, check func(*testing.T, string)) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		for _, f := range old {
			if _, ok := segs[filepath.Base(f)]; !ok {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, seg := range segs {
			if err := os.WriteFile(filepath.Join(dir, name), seg, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The committed vectors are what the definitions make, byte for byte.
	got, err := os.ReadFile(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatalf("%v (run with -update to write the vectors)", err)
	}
	if string(got) != manifest {
		t.Errorf("%s/MANIFEST differs from the definitions in %s (run with -update):\n%s", dir, defs, got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, f := range files {
		if _, ok := segs[filepath.Base(f)]; !ok {
			t.Errorf("%s is not a vector defined in %s", f, defs)
		}
	}
	for name, want := range segs {
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%v (run with -update)", err)
		} else if !bytes.Equal(have, want) {
			t.Errorf("%s differs from what its definition in %s makes (run with -update)", name, defs)
		}
	}

	// Every vector reads as the MANIFEST says.
	n := 0
	for _, line := range strings.Split(string(got), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		check(t, line)
		n++
	}
	if n != len(segs) {
		t.Errorf("%s: checked %d MANIFEST lines, %s defines %d vectors", dir, n, defs, len(segs))
	}
	t.Logf("%s: %d vectors checked", dir, n)
}

// shapeField is the SHAPE field of a MANIFEST line: the dimensions joined by commas, "-" for none.
func shapeField(shape []int64) string {
	if len(shape) == 0 {
		return "-"
	}
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(s, ",")
}
