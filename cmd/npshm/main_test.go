package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	name := "npshm-cli-test-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { run([]string{"delete", name}, &bytes.Buffer{}, &bytes.Buffer{}) })
	tests := []struct {
		args   []string
		code   int
		stdout string // substring expected on stdout
		stderr string // substring expected on stderr
	}{
		{[]string{"create", "-mode", "0640", name, "10,3", "float32"}, 0, "created " + name + ": shape (10, 3), dtype <f4, 120 bytes", ""},
		{[]string{"create", name, "(4,)", "u1"}, 1, "", "an array of that name exists"},
		{[]string{"create", "-replace", name, "(4,)", "u1"}, 0, "shape (4,), dtype |u1", ""},
		{[]string{"info", name}, 0, "dtype    |u1 (itemsize 1)", ""},
		{[]string{"list"}, 0, name, ""},
		{[]string{"create", name + "-x", "3,-1", "f8"}, 1, "", "bad shape"},
		{[]string{"create", "-mode", "9", name + "-x", "3", "f8"}, 1, "", "bad -mode"},
		{[]string{"create", name + "-x", "3", "object"}, 1, "", "object dtypes cannot be shared"},
		{[]string{"create", name + "-x"}, 2, "", "usage"},
		{[]string{"delete", name}, 0, "", ""},
		{[]string{"delete", name}, 1, "", "no array of that name"},
		{[]string{"info", name}, 1, "", "no array of that name"},
		{[]string{"frobnicate"}, 2, "", "unknown command"},
		{[]string{}, 2, "", "usage"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
