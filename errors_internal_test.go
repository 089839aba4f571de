package npshm

import (
	"errors"
	"testing"
)

// What every operation returns on a system other than Linux (unsupported.go).
func TestUnsupported(t *testing.T) {
	err := unsupported("create", "prices")
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) || errors.Is(err, ErrIO) {
		t.Errorf("%v does not match ErrUnsupported and errors.ErrUnsupported alone", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "create" || e.Name != "prices" {
		t.Errorf("%#v", err)
	}
	if want := `npshm create("prices"): npshm needs Linux, and this is linux`; err.Error() != want {
		t.Errorf("%q, want %q", err, want)
	}
	if want := "npshm list: npshm needs Linux, and this is linux"; unsupported("list", "").Error() != want {
		t.Errorf("%q, want %q", unsupported("list", ""), want)
	}
}
