package core

import "unsafe"

// Mapping is a mapped segment: Addr is the segment's first byte (the header), the data starts at
// Addr + Hdr.DataOffset.
type Mapping struct {
	Addr     uintptr
	Len      uint64 // the segment's size; on a hugetlbfs rounded up to its page size (mapLen)
	ReadOnly bool
	// Dev and Ino identify the file it maps (st_dev, st_ino): with the header's creation time and
	// creator they tell one array of a name from another that replaced it.
	Dev, Ino uint64
}

// The flags of Msync: Linux's MS_ASYNC, MS_INVALIDATE and MS_SYNC (NPSHM_MS_* in include/npshm.h).
const (
	MsAsync      = 1
	MsInvalidate = 2
	MsSync       = 4
)

// Data returns the address of the array's first element.
func (m Mapping) Data(h *Header) uintptr { return m.Addr + uintptr(h.DataOffset) }

// Bytes returns the whole mapped segment.
func (m Mapping) Bytes() []byte {
	if m.Addr == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(addrPtr(m.Addr)), m.Len)
}

// Ptr returns the mapping's first byte as a pointer.
func (m Mapping) Ptr() unsafe.Pointer { return addrPtr(m.Addr) }

// addrPtr turns the address of memory outside the Go heap (a mapping) into a pointer.
func addrPtr(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
