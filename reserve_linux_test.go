package npshm_test

import (
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
