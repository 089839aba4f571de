package npshm_test

import (
	"testing"

	"github.com/npshm/npshm"
)

// The hot paths: attach (and close) an existing array; create (and close, and delete) one.
func BenchmarkAttach(b *testing.B) {
	name := uniqueName(b)
	a, err := npshm.Create(name, []int{1000}, "float64", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for b.Loop() {
		x, err := npshm.Attach(name, nil)
		if err != nil {
			b.Fatal(err)
		}
		x.Close()
	}
}

func BenchmarkCreate(b *testing.B) {
	name := uniqueName(b)
	for b.Loop() {
		a, err := npshm.Create(name, []int{1000}, "float64", nil)
		if err != nil {
			b.Fatal(err)
		}
		a.Close()
		npshm.Delete(name)
	}
}
