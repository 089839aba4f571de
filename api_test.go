package npshm_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/npshm/npshm"
)

func TestAttachExpectations(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create(name, []int{3, 2}, "int64", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tests := []struct {
		opts npshm.AttachOptions
		want error // nil: attaches
	}{
		{npshm.AttachOptions{}, nil},
		{npshm.AttachOptions{Shape: []int{3, 2}}, nil},
		{npshm.AttachOptions{Shape: []int{3, 2}, Dtype: "int64", ReadOnly: true}, nil},
		{npshm.AttachOptions{Dtype: "<i8"}, nil},
		{npshm.AttachOptions{Dtype: "q"}, nil},
		{npshm.AttachOptions{Shape: []int{2, 3}}, npshm.ErrMismatch},
		{npshm.AttachOptions{Shape: []int{6}}, npshm.ErrMismatch},
		{npshm.AttachOptions{Shape: []int{}}, npshm.ErrMismatch}, // 0-d, not "any"
		{npshm.AttachOptions{Dtype: "float64"}, npshm.ErrMismatch},
		{npshm.AttachOptions{Dtype: "uint64"}, npshm.ErrMismatch},
		{npshm.AttachOptions{Shape: []int{3, 2}, Dtype: "int32"}, npshm.ErrMismatch},
		{npshm.AttachOptions{Dtype: "flaot64"}, npshm.ErrInvalid},
	}
	for _, tt := range tests {
		b, err := npshm.Attach(name, &tt.opts)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("Attach(%+v): %v, want %v", tt.opts, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), `npshm attach("`+name+`")`) {
			t.Errorf("the message does not name the call and the array: %v", err)
		}
		if b != nil {
			if b.ReadOnly() != tt.opts.ReadOnly {
				t.Errorf("Attach(%+v): read-only %v", tt.opts, b.ReadOnly())
			}
			b.Close()
		}
	}
}

func TestCreateFilled(t *testing.T) {
	t.Run("value", func(t *testing.T) {
		a, err := npshm.Create(uniqueName(t), []int{1000, 3}, "float64", &npshm.CreateOptions{Init: npshm.Fill(2.5)})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := npshm.Attach(a.Name(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for i, v := range must(npshm.View[float64](b)) {
			if v != 2.5 {
				t.Fatalf("element %d is %v, want 2.5", i, v)
			}
		}
	})
	t.Run("byte pattern", func(t *testing.T) {
		a, err := npshm.Create(uniqueName(t), []int{7}, "uint16", &npshm.CreateOptions{Init: npshm.FillBytes([]byte{0xff})})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for i, v := range must(npshm.View[uint16](a)) {
			if v != 0xffff {
				t.Fatalf("element %d is %#x", i, v)
			}
		}
		rec, err := npshm.Create(uniqueName(t), []int{5}, "[('x', '<i4'), ('y', '|u1', (4,))]",
			&npshm.CreateOptions{Init: npshm.FillBytes([]byte{1, 0, 0, 0, 9, 8, 7, 6})})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		if got := rec.Bytes()[32:]; string(got) != "\x01\x00\x00\x00\x09\x08\x07\x06" {
			t.Fatalf("last record % x", got)
		}
	})
	t.Run("init sees the array unpublished", func(t *testing.T) {
		name := uniqueName(t)
		a, err := npshm.Create(name, []int{4}, "int32", &npshm.CreateOptions{Init: func(a *npshm.Array) error {
			if _, err := npshm.Attach(name, nil); !errors.Is(err, npshm.ErrNotFound) {
				t.Errorf("attach during Init: %v, want ErrNotFound", err)
			}
			if err := a.Close(); !errors.Is(err, npshm.ErrInvalid) {
				t.Errorf("Close during Init: %v, want ErrInvalid", err)
			}
			v, err := npshm.View[int32](a)
			if err != nil {
				return err
			}
			for i := range v {
				v[i] = int32(i) + 1
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if v := must(npshm.View[int32](a)); v[3] != 4 || a.Name() != name {
			t.Fatalf("%v %q", v, a.Name())
		}
	})
}

// A fill that fails abandons the creation: nothing under the name, and the array a replace would
// have replaced stays.
func TestCreateFillFailures(t *testing.T) {
	name := uniqueName(t)
	mine := errors.New("no, thanks")
	tests := []struct {
		what string
		init func(*npshm.Array) error
		want error
		msg  string
	}{
		{"wrong type", npshm.Fill(int32(1)), npshm.ErrMismatch, "the fill value is a int32 (<i4), the array's dtype is <f8"},
		{"bad pattern", npshm.FillBytes([]byte{1, 2, 3}), npshm.ErrInvalid, "one element (8 bytes) or a divisor of it, not 3"},
		{"empty pattern", npshm.FillBytes(nil), npshm.ErrInvalid, "not 0"},
		{"init error", func(*npshm.Array) error { return mine }, mine, "\"): init: no, thanks"},
	}
	old, err := npshm.Create(name, []int{2}, "uint8", &npshm.CreateOptions{Init: npshm.Fill(uint8(7))})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for _, tt := range tests {
		for _, replace := range []bool{false, true} {
			target := name + "-new"
			if replace {
				target = name
			}
			a, err := npshm.Create(target, []int{4}, "float64", &npshm.CreateOptions{Init: tt.init, Replace: replace})
			if a != nil || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("%s (replace %v): %v, want %v with %q", tt.what, replace, err, tt.want, tt.msg)
			}
		}
		if _, err := npshm.Attach(name+"-new", nil); !errors.Is(err, npshm.ErrNotFound) {
			t.Errorf("%s left an array: %v", tt.what, err)
		}
		b, err := npshm.Attach(name, &npshm.AttachOptions{Shape: []int{2}, Dtype: "uint8"})
		if err != nil {
			t.Fatalf("%s: the replaced array is gone: %v", tt.what, err)
		}
		if b.Bytes()[1] != 7 {
			t.Errorf("%s: the replaced array changed", tt.what)
		}
		b.Close()
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("Create recovered %v, want the panic of Init", r)
			}
		}()
		npshm.Create(name+"-new", []int{4}, "float64", &npshm.CreateOptions{Init: func(*npshm.Array) error { panic("boom") }})
	}()
	if _, err := os.Stat("/dev/shm/" + name + "-new"); !os.IsNotExist(err) {
		t.Errorf("a panicking Init left an array: %v", err)
	}
}

func TestMemoryControl(t *testing.T) {
	a, err := npshm.Create(uniqueName(t), []int{4096}, "uint8", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, flags := range []int{npshm.MsSync, npshm.MsAsync, npshm.MsSync | npshm.MsInvalidate} {
		if err := a.Msync(flags); err != nil {
			t.Errorf("Msync(%d): %v", flags, err)
		}
	}
	for _, flags := range []int{npshm.MsSync | npshm.MsAsync, 8, -1} {
		if err := a.Msync(flags); !errors.Is(err, npshm.ErrInvalid) {
			t.Errorf("Msync(%d): %v, want ErrInvalid", flags, err)
		}
	}
	if err := a.Mlock(); err != nil && !errors.Is(err, npshm.ErrNoSpace) && !errors.Is(err, npshm.ErrPermission) {
		t.Errorf("Mlock: %v", err)
	}
	if err := a.Munlock(); err != nil {
		t.Errorf("Munlock: %v", err)
	}
}

func TestString(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create(name, []int{10, 3}, "float64", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := npshm.Attach(name, &npshm.AttachOptions{ReadOnly: true})
	defer r.Close()
	f, _ := npshm.Create(name, []int{2, 2}, "<i2", &npshm.CreateOptions{Replace: true, Fortran: true})
	defer f.Close()
	z, _ := npshm.Create(name, nil, "bool", &npshm.CreateOptions{Replace: true})
	defer z.Close()
	v, _ := npshm.Create(name, []int{4}, "u1", &npshm.CreateOptions{Replace: true})
	defer v.Close()
	tests := []struct {
		a    *npshm.Array
		want string
	}{
		{a, `npshm.Array("` + name + `", (10, 3), <f8)`},
		{r, `npshm.Array("` + name + `", (10, 3), <f8, read-only)`},
		{f, `npshm.Array("` + name + `", (2, 2), <i2, Fortran order)`},
		{z, `npshm.Array("` + name + `", (), |b1)`},
		{v, `npshm.Array("` + name + `", (4,), |u1)`},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
	a.Close()
	if got, want := a.String(), `npshm.Array("`+name+`", (10, 3), <f8, closed)`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
