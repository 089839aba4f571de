//go:build linux

package npshm_test

import (
	"strings"
	"testing"

	"github.com/npshm/npshm"
)

// Errors name the bad value (issue 10), as the C ABI's messages and Python's do: a table of bad
// calls and what the error must say.
func TestErrorsNameTheBadValue(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create(name, []int{3}, "f8", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	missing := uniqueName(t)
	for _, c := range []struct {
		what string
		call func() error
		want string
	}{
		{"unknown dtype", func() error { _, err := npshm.Create(missing, []int{3}, "flaot64", nil); return err },
			`unknown dtype "flaot64"`},
		{"unknown field dtype", func() error {
			_, err := npshm.Create(missing, []int{3}, "[('a', 'flaot64')]", nil)
			return err
		}, `unknown dtype "flaot64"`},
		{"unknown unit", func() error { _, err := npshm.Create(missing, []int{3}, "M8[nsec]", nil); return err },
			`unit "[nsec]"`},
		{"bad name", func() error { _, err := npshm.Create("a/b", []int{3}, "f8", nil); return err },
			`create("a/b"): name contains '/'`},
		{"negative dimension", func() error { _, err := npshm.Create(missing, []int{3, -2}, "f8", nil); return err },
			"must not be negative, got -2"},
		{"setuid mode", func() error {
			_, err := npshm.Create(missing, []int{3}, "f8", &npshm.CreateOptions{Mode: 0o4755})
			return err
		}, "not 04755"},
		{"expected dtype", func() error {
			_, err := npshm.Attach(name, &npshm.AttachOptions{Dtype: "flaot64"})
			return err
		}, `unknown dtype "flaot64"`},
		{"missing file", func() error {
			_, _, err := npshm.ReadFile("/nonexistent/npshm-msg.npy", missing, nil)
			return err
		}, `no such file "/nonexistent/npshm-msg.npy"`},
	} {
		err := c.call()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want it to contain %q", c.what, err, c.want)
		}
	}
}
