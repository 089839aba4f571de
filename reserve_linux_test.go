package npshm_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/npshm/npshm"
)

// NoReserve leaves a zero-filled array sparse; with an Init (which writes into the memory) the
// array is reserved all the same, so that the fill cannot raise SIGBUS on a full /dev/shm.
func TestNoReserveIsForZeroFilledArrays(t *testing.T) {
	const n = 1 << 20
	tests := []struct {
		name   string
		init   func(*npshm.Array) error
		sparse bool
	}{
		{"no init", nil, true},
		{"Fill", npshm.Fill(uint8(1)), false},
		{"FillBytes of zeros", npshm.FillBytes([]byte{0}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := uniqueName(t)
			a, err := npshm.Create(name, []int{n}, "u1", &npshm.CreateOptions{NoReserve: true, Init: tc.init})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			var st syscall.Stat_t
			if err := syscall.Stat("/dev/shm/"+name, &st); err != nil {
				t.Fatal(err)
			}
			if sparse := st.Blocks*512 < n; sparse != tc.sparse {
				t.Errorf("NoReserve, init %s: %d of %d bytes backed, want sparse %v", tc.name, st.Blocks*512, st.Size,
					tc.sparse)
			}
		})
	}
}

// NoReserve on a /dev/shm without one free page: the header is still written, into a page the
// create reserves first, so the create fails with ENOSPC (it wrote through the mapping and died of
// SIGBUS). The test runs itself again in a private 1 MiB /dev/shm (a mount namespace, root).
func TestNoReserveOnAFullDevShmIsENOSPC(t *testing.T) {
	if os.Getenv("NPSHM_TEST_FULL_SHM") == "1" {
		fd, err := syscall.Open("/dev/shm/.filler", syscall.O_WRONLY|syscall.O_CREAT, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		page := make([]byte, 4096)
		for {
			if _, err := syscall.Write(fd, page); err != nil {
				if err != syscall.ENOSPC {
					t.Fatal(err)
				}
				break
			}
		}
		syscall.Close(fd)
		_, err = npshm.Create("sparse", []int{1 << 20}, "u1", &npshm.CreateOptions{NoReserve: true})
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("NoReserve on a full /dev/shm: %v, want ENOSPC", err)
		}
		return
	}
	if os.Geteuid() != 0 || exec.Command("unshare", "-m", "true").Run() != nil {
		if os.Getenv("NPSHM_REQUIRE_NOSPACE_TEST") == "1" {
			t.Fatal("cannot make a private /dev/shm (unshare -m), and NPSHM_REQUIRE_NOSPACE_TEST=1")
		}
		t.Skip("needs root for a private /dev/shm (unshare -m)")
	}
	cmd := exec.Command("unshare", "-m", "sh", "-c", `mount -t tmpfs -o size=1m,mode=1777 tmpfs /dev/shm && exec "$0" "$@"`,
		os.Args[0], "-test.run=^TestNoReserveOnAFullDevShmIsENOSPC$", "-test.v")
	cmd.Env = append(os.Environ(), "NPSHM_TEST_FULL_SHM=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS")) {
		t.Fatalf("%v (SIGBUS is the bug)\n%s", err, out)
	}
}
