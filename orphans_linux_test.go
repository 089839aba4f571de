package npshm_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/npshm/npshm"
)

// setCreator rewrites an array's header as if process pid had created it.
func setCreator(t *testing.T, name string, pid int) {
	t.Helper()
	f, err := os.OpenFile("/dev/shm/"+name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	hl := binary.LittleEndian.Uint32(head[12:])
	binary.LittleEndian.PutUint32(head[48:], uint32(pid))
	binary.LittleEndian.PutUint32(head[hl:], crc32.ChecksumIEEE(head[:hl]))
	if _, err := f.WriteAt(head[:hl+4], 0); err != nil {
		t.Fatal(err)
	}
}

func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestCreatorAlive(t *testing.T) {
	if !npshm.CreatorAlive(os.Getpid(), time.Now()) {
		t.Error("this process is not alive")
	}
	if npshm.CreatorAlive(deadPID(t), time.Now()) {
		t.Error("a dead process is alive")
	}
	later := exec.Command("sleep", "60")
	if err := later.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { later.Process.Kill(); later.Wait() }()
	if npshm.CreatorAlive(later.Process.Pid, time.Now().Add(-time.Hour)) {
		t.Error("a process that started an hour after the creation counts as the creator (pid reuse)")
	}
}

func TestOrphans(t *testing.T) {
	name := uniqueName(t)
	a, err := npshm.Create(name, []int{16}, "int32", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer npshm.Delete(name)
	setCreator(t, name, deadPID(t))
	// Mapped by this process: not an orphan.
	if o, err := npshm.Orphans(name); err != nil || len(o) != 0 {
		t.Fatalf("Orphans of a mapped array: %v, %v", o, err)
	}
	a.Close()
	o, err := npshm.Orphans(name)
	if err != nil || len(o) != 1 || o[0].Name != name {
		t.Fatalf("Orphans: %v, %v; want %s", o, err, name)
	}
	// Replaced meanwhile: RemoveOrphan keeps the replacement.
	b, err := npshm.Create(name, []int{3}, "int8", &npshm.CreateOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if ok, err := npshm.RemoveOrphan(o[0]); ok || err != nil {
		t.Fatalf("RemoveOrphan of a replaced array: %v, %v", ok, err)
	}
	setCreator(t, name, deadPID(t))
	o, _ = npshm.Orphans(name)
	if len(o) != 1 {
		t.Fatalf("Orphans after the replacement lost its creator: %v", o)
	}
	if ok, err := npshm.RemoveOrphan(o[0]); !ok || err != nil {
		t.Fatalf("RemoveOrphan: %v, %v", ok, err)
	}
	if _, err := os.Stat("/dev/shm/" + name); !os.IsNotExist(err) {
		t.Errorf("the orphan is still there: %v", err)
	}
	if _, err := npshm.Orphans("[bad"); err == nil {
		t.Error("a bad pattern is no error")
	}
}

// TestPeerFormatsInGo: Create writes a peer's format, Attach and List report it, and a peer's
// segment, which records no creator, is never an orphan.
func TestPeerFormatsInGo(t *testing.T) {
	for _, f := range []npshm.Format{npshm.FormatSharedArray, npshm.FormatCdxcore} {
		name := uniqueName(t)
		a, err := npshm.Create(name, []int{4, 2}, "float64", &npshm.CreateOptions{Format: f, Init: npshm.Fill(1.5)})
		if err != nil {
			t.Fatal(err)
		}
		defer npshm.Delete(name)
		a.Close()
		b, err := npshm.Attach(name, &npshm.AttachOptions{ReadOnly: true, Shape: []int{4, 2}, Dtype: "<f8"})
		if err != nil || b.Format() != f || b.CreatorPID() != 0 {
			t.Fatalf("attach of a %s array: %v %v", f, b, err)
		}
		if v, _ := npshm.View[float64](b); len(v) != 8 || v[7] != 1.5 {
			t.Errorf("%s: data %v", f, v)
		}
		if want := `npshm.Array("` + name + `", (4, 2), <f8, ` + f.String() + ` format, read-only)`; b.String() != want {
			t.Errorf("String: %s, want %s", b, want)
		}
		b.Close()
		infos, err := npshm.List()
		found := false
		for _, in := range infos {
			if in.Name == name {
				found = in.Format == f && in.CreatorPID == 0
			}
		}
		if err != nil || !found {
			t.Errorf("List of a %s array: found %v, %v", f, found, err)
		}
		if o, err := npshm.Orphans(name); err != nil || len(o) != 0 {
			t.Errorf("a %s array is an orphan: %v %v", f, o, err)
		}
		if _, err := npshm.Create(name+"-x", []int{3}, "uint8", &npshm.CreateOptions{Format: f}); f == npshm.FormatCdxcore &&
			!errors.Is(err, npshm.ErrInvalid) {
			t.Errorf("uint8 as cdxcore: %v, want ErrInvalid", err)
		}
		npshm.Delete(name + "-x")
	}
	if f, ok := npshm.ParseFormat("sharedarray"); !ok || f != npshm.FormatSharedArray {
		t.Error("ParseFormat(sharedarray)")
	}
	if _, ok := npshm.ParseFormat("hdf5"); ok {
		t.Error("ParseFormat(hdf5) is ok")
	}
}
