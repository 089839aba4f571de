package npshm_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/npshm/npshm"
)

var counter atomic.Int64

func uniqueName(t testing.TB) string {
	t.Helper()
	name := "npshm-gotest-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(counter.Add(1), 10)
	t.Cleanup(func() { npshm.Delete(name) })
	return name
}

func TestCreateAttachErrors(t *testing.T) {
	existing := uniqueName(t)
	a, err := npshm.Create(existing, []int{4}, "float32", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tests := []struct {
		name   string
		do     func() error
		want   error
		alsoIs error
	}{
		{"exists", func() error { _, err := npshm.Create(existing, []int{1}, "u1", nil); return err }, npshm.ErrExists, fs.ErrExist},
		{"missing", func() error { _, err := npshm.Attach(existing+"-missing", nil); return err }, npshm.ErrNotFound, fs.ErrNotExist},
		{"delete missing", func() error { return npshm.Delete(existing + "-missing") }, npshm.ErrNotFound, syscall.ENOENT},
		{"empty name", func() error { _, err := npshm.Create("", []int{1}, "u1", nil); return err }, npshm.ErrInvalid, fs.ErrInvalid},
		{"slash", func() error { _, err := npshm.Create("a/b", []int{1}, "u1", nil); return err }, npshm.ErrInvalid, nil},
		{"object dtype", func() error { _, err := npshm.Create(existing+"-o", []int{1}, "object", nil); return err }, npshm.ErrInvalid, nil},
		{"negative dim", func() error { _, err := npshm.Create(existing+"-n", []int{-1}, "u1", nil); return err }, npshm.ErrInvalid, nil},
		{"numpy refuses the shape", func() error {
			_, err := npshm.Create(existing, []int{1 << 62, 0}, "int64", &npshm.CreateOptions{Replace: true})
			return err
		}, npshm.ErrInvalid, nil},
		{"bad mode", func() error {
			_, err := npshm.Create(existing+"-m", []int{1}, "u1", &npshm.CreateOptions{Mode: fs.ModeDir | 0o600})
			return err
		}, npshm.ErrInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if b, err := npshm.Attach(existing, nil); err != nil || len(b.Shape()) != 1 || b.Shape()[0] != 4 {
				t.Fatalf("a refused call changed the existing array: %v", err)
			} else {
				b.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.alsoIs != nil && !errors.Is(err, tt.alsoIs) {
				t.Fatalf("%v does not match %v", err, tt.alsoIs)
			}
			var e *npshm.Error
			if !errors.As(err, &e) || e.Error() == "" {
				t.Fatalf("not an *npshm.Error with a message: %#v", err)
			}
		})
	}
}

func TestSharedMemoryAndViews(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create("shm://"+name, []int{3, 2}, "int64", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := npshm.Attach("/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	va, _ := npshm.View[int64](a)
	vb, _ := npshm.View[int64](b)
	for i, v := range vb {
		if v != 0 {
			t.Fatalf("element %d is %d, want 0 (zero-filled)", i, v)
		}
	}
	va[5] = -7
	if vb[5] != -7 {
		t.Fatalf("attached view does not see the write")
	}
	if _, err := npshm.View[float64](a); !errors.Is(err, npshm.ErrMismatch) {
		t.Fatalf("View with the wrong type: %v", err)
	}
	type celsius float64
	c, err := npshm.Create(uniqueName(t), []int{2}, "<f8", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := npshm.View[celsius](c); err != nil {
		t.Fatalf("View of a named float64 type: %v", err)
	}
	if a.Name() != name || b.Name() != name || a.Len() != 6 || a.Itemsize() != 8 || a.CreatorPID() != os.Getpid() {
		t.Fatalf("metadata: %q %q %d %d %d", a.Name(), b.Name(), a.Len(), a.Itemsize(), a.CreatorPID())
	}
}

func TestCloseAndDelete(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create(name, []int{8}, "uint8", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Bytes()[7] = 9
	if err := npshm.Delete(name); err != nil {
		t.Fatal(err)
	}
	if a.Bytes()[7] != 9 {
		t.Fatal("mapping lost its data after delete")
	}
	if _, err := npshm.Attach(name, nil); !errors.Is(err, npshm.ErrNotFound) {
		t.Fatalf("attach after delete: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil || a.Bytes() != nil {
		t.Fatalf("second close: %v, bytes %v", err, a.Bytes())
	}
}

func TestModesAndFiles(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create(name, []int{1}, "u1", &npshm.CreateOptions{Mode: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := os.Stat("/dev/shm/" + name)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	path := filepath.Join(t.TempDir(), "array.npshm")
	f, err := npshm.Create("file://"+path, []int{2, 2}, "complex64", &npshm.CreateOptions{Fortran: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := npshm.Attach("file://"+path, &npshm.AttachOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !g.ReadOnly() || !g.Fortran() || g.Dtype() != "<c8" || g.Name() != "file://"+path {
		t.Fatalf("file array: ro %v fortran %v %s %s", g.ReadOnly(), g.Fortran(), g.Dtype(), g.Name())
	}
	st, err = os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("default mode %v, %v", st.Mode(), err)
	}
}

func TestVersionMatchesHeader(t *testing.T) {
	header, err := os.ReadFile("include/npshm.h")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define NPSHM_VERSION_MAJOR (\d+)\n#define NPSHM_VERSION_MINOR (\d+)\n` +
		`#define NPSHM_VERSION_PATCH (\d+)$`).FindSubmatch(header)
	if m == nil || string(m[1])+"."+string(m[2])+"."+string(m[3]) != npshm.Version {
		t.Fatalf("include/npshm.h has version %q, Go has %q", m, npshm.Version)
	}
}
