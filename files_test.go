//go:build linux

package npshm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/npshm/npshm"
)

// Write an array to a .npy file, then load the file into a shared array under another name: the
// first load reads the file, later ones attach.
func ExampleReadFile() {
	name := "npshm-example-file-" + strconv.Itoa(os.Getpid())
	a, err := npshm.Create(name+"-src", []int{2, 3}, "float64", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name + "-src")
	defer npshm.Delete(name + "-c") // left by a cancelled load only if cancelling failed
	values, _ := npshm.View[float64](a)
	for i := range values {
		values[i] = float64(i) / 2
	}
	path := filepath.Join(os.TempDir(), name+".npy")
	defer os.Remove(path)
	if err := npshm.WriteFile(path, a); err != nil { // numpy.load reads it
		log.Fatal(err)
	}

	b, attached, err := npshm.ReadFile(path, name, &npshm.ReadFileOptions{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name)
	seen, _ := npshm.View[float64](b)
	fmt.Println(b.Shape(), b.Dtype(), seen, attached)
	_, attached, _ = npshm.ReadFile(path, name, nil)
	fmt.Println(attached)
	// Output:
	// [2 3] <f8 [0 0.5 1 1.5 2 2.5] false
	// true
}

// A file cut short fails with an error matching ErrTruncated; a missing one matches fs.ErrNotExist.
func ExampleReadFile_errors() {
	path := filepath.Join(os.TempDir(), "npshm-example-cut-"+strconv.Itoa(os.Getpid())+".npio")
	os.WriteFile(path, []byte{0, 0, 0, 16, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9}, 0o644) // 9 float64, no data
	defer os.Remove(path)
	_, _, err := npshm.ReadFile(path, "npshm-example-cut", nil)
	fmt.Println(errors.Is(err, npshm.ErrTruncated), errors.Is(err, npshm.ErrFormat))
	_, _, err = npshm.ReadFile(path+".missing", "npshm-example-cut", nil)
	fmt.Println(errors.Is(err, os.ErrNotExist))
	// Output:
	// true true
	// true
}

func TestReadFileConcurrentAndCancel(t *testing.T) {
	dir := t.TempDir()
	name := fmt.Sprintf("npshm-gotest-files-%d", os.Getpid())
	defer npshm.Delete(name)
	src, err := npshm.Create(name+"-src", []int{1 << 21}, "int64", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer npshm.Delete(name + "-src")
	v, _ := npshm.View[int64](src)
	for i := range v {
		v[i] = int64(i)
	}
	path := filepath.Join(dir, "big.npio")
	if err := npshm.WriteFile(path, src); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	loaded := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, attached, err := npshm.ReadFile(path, name, &npshm.ReadFileOptions{Shape: []int{1 << 21}, Dtype: "int64"})
			if err != nil {
				t.Error(err)
				return
			}
			defer a.Close()
			vals, _ := npshm.View[int64](a)
			if vals[len(vals)-1] != int64(len(vals)-1) {
				t.Error("partly filled array")
			}
			mu.Lock()
			if !attached {
				loaded++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if loaded != 1 {
		t.Errorf("%d loaders", loaded)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = npshm.ReadFileContext(ctx, path, name+"-c", nil)
	if !errors.Is(err, npshm.ErrIO) || !errors.Is(err, syscall.EINTR) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := os.Stat("/dev/shm/" + name + "-c"); err == nil {
		t.Error("cancelled load left an array")
	}
	_, _, err = npshm.ReadFile(path, name, &npshm.ReadFileOptions{Dtype: "float64"})
	if !errors.Is(err, npshm.ErrMismatch) {
		t.Errorf("mismatch: %v", err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("a mismatch is not a truncation")
	}
}

// Another process's load (here: its lock, held by this test) is waited for at most Timeout; an
// array of another user is taken only with AcceptForeign.
func TestReadFileTimeoutAndForeign(t *testing.T) {
	name := "npshm-gotest-neighbour-" + strconv.Itoa(os.Getpid())
	path := filepath.Join(t.TempDir(), "a.npio")
	a, err := npshm.Create(name+"-src", []int{4}, "float64", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer npshm.Delete(name + "-src")
	if err := npshm.WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile("/dev/shm/.npshm-lock-"+name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, _, err = npshm.ReadFile(path, name, &npshm.ReadFileOptions{Timeout: 20 * time.Millisecond})
	if !errors.Is(err, npshm.ErrIO) || !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("ReadFile with the lock held: %v, want ErrIO and ETIMEDOUT", err)
	}
	os.Remove(lock.Name())
	lock.Close()
	if _, _, err := npshm.ReadFile(path, name, &npshm.ReadFileOptions{Timeout: -1}); !errors.Is(err, npshm.ErrInvalid) {
		t.Errorf("negative timeout: %v, want ErrInvalid", err)
	}
	if os.Geteuid() != 0 {
		return
	}
	b, _, err := npshm.ReadFile(path, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer npshm.Delete(name)
	b.Close()
	if err := os.Chown("/dev/shm/"+name, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, _, err := npshm.ReadFile(path, name, nil); !errors.Is(err, npshm.ErrPermission) {
		t.Errorf("another user's array: %v, want ErrPermission", err)
	}
	c, attached, err := npshm.ReadFile(path, name, &npshm.ReadFileOptions{AcceptForeign: true})
	if err != nil || !attached {
		t.Fatalf("AcceptForeign: %v, attached %v", err, attached)
	}
	c.Close()
}
