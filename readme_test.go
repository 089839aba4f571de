package npshm_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// README's Go program, exactly as printed, built against this module and run: it prints what
// README says it prints, attaches on a second run, and stops with the library's message (not a
// panic) where "prices" is not an npshm array. It uses the fixed name "prices", so it runs in a
// private /dev/shm: a mount namespace, which needs root (as tests/c/run_in_small_shm.sh).
func TestReadmeGoProgram(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## Go\n.*?```go\n(.*?)```\n\nIt prints `([^`]*)`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no ```go block under ## Go followed by \"It prints `...`\"")
	}
	program, printed := m[1], string(m[2])
	if os.Geteuid() != 0 || exec.Command("unshare", "-m", "true").Run() != nil {
		if os.Getenv("NPSHM_REQUIRE_NOSPACE_TEST") == "1" {
			t.Fatal("cannot make a private /dev/shm (unshare -m), and NPSHM_REQUIRE_NOSPACE_TEST=1")
		}
		t.Skip("needs root for a private /dev/shm (unshare -m)")
	}

	// A module of its own that uses this one.
	dir := t.TempDir()
	root, _ := os.Getwd()
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	requires := regexp.MustCompile(`(?m)^\s*(golang\.org/x/\S+ \S+)`).FindAllSubmatch(gomod, -1)
	mod := "module readme\n\ngo 1.26\n\nrequire github.com/npshm/npshm v0.0.0\n"
	for _, r := range requires {
		mod += "require " + string(r[1]) + "\n"
	}
	mod += "replace github.com/npshm/npshm => " + root + "\n"
	sum, _ := os.ReadFile("go.sum")
	for name, data := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sum, "main.go": program} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goCmd, "build", "-o", "prices", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("README's Go program does not build: %v\n%s\n%s", err, out, program)
	}

	script := `mount -t tmpfs -o size=1m,mode=1777 tmpfs /dev/shm || exit 78
./prices || exit 10
./prices || exit 11
rm /dev/shm/prices && printf 'some other program' > /dev/shm/prices
./prices
echo "status $?" >&2`
	cmd := exec.Command("unshare", "-m", "sh", "-c", script)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
	}
	if want := printed + "\n" + printed + "\n"; stdout.String() != want {
		t.Errorf("the program printed %q, README says %q twice", stdout.String(), printed)
	}
	if e := stderr.String(); !strings.Contains(e, `npshm attach("prices"): `) || !strings.HasSuffix(e, "status 1\n") ||
		strings.Contains(e, "panic") {
		t.Errorf("where prices is not an npshm array, it should exit 1 with the library's message; stderr:\n%s", e)
	}
}
