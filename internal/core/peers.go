package core

import "encoding/binary"

// The peers' segment formats (docs/FORMAT.md, "The peers' segments"): SharedArray 3.x (data first,
// its metadata block at the end) and cdxcore.npshm (an npio header at the start, the data at the
// next multiple of 64). Attach recognises both; Create writes them on request, so that processes
// still on a peer library attach what npshm creates.

// Segment formats (Header.Format): the values of include/npshm.h's NPSHM_FORMAT_* (a capi test
// checks that they agree).
const (
	SegNpshm       = 0
	SegSharedArray = 0x100
	SegCdxcore     = 0x200
)

// SharedArray's metadata block (struct array_meta of its shared_array.h, packed, in the host's
// byte order): magic[16], size_t size, int typenum, int itemsize, int ndims, npy_intp
// dims[NPY_MAXDIMS]. NPY_MAXDIMS is numpy's at SharedArray's build: 64 with numpy 2, 32 with numpy 1.
const (
	saMagic       = "[SharedArray]\x00\x00\x00"
	saFixed       = 36
	saMetaLen     = saFixed + 8*64 // what npshm writes, and SharedArray built on numpy 2
	saMetaLenNp1  = saFixed + 8*32 // SharedArray built on numpy 1, read only
	cdxcoreAlign  = 64             // cdxcore.npshm.ALIGN; no dtype of npio's aligns more
	saTypeString  = 18             // NPY_STRING
	saTypeUnicode = 19             // NPY_UNICODE
	saTypeVoid    = 20             // NPY_VOID
	// peerDescrAt is where a peer's decoded descriptor goes in a Scratch's Header: past the first
	// page and SharedArray's block, and not in its Descr, which CheckExpected overwrites.
	peerDescrAt = dataAlign + saMetaLen
)

// FormatName is the name of a segment format, as list() and the CLI show it.
func FormatName(format uint32) string {
	switch format {
	case SegSharedArray:
		return "sharedarray"
	case SegCdxcore:
		return "cdxcore"
	}
	return "npshm"
}

// ParseFormat is the segment format of a name FormatName gives ("" is npshm), or ok=false.
func ParseFormat(name []byte) (format uint32, ok bool) {
	switch string(name) {
	case "", "npshm":
		return SegNpshm, true
	case "sharedarray":
		return SegSharedArray, true
	case "cdxcore":
		return SegCdxcore, true
	}
	return 0, false
}

// saTypenum returns SharedArray's type number of a canonical descriptor, or -1 if it has none: a
// type number carries no byte order, no fields and no datetime unit.
func saTypenum(descr []byte) int32 {
	for _, t := range saTypes {
		if t.descr == string(descr) {
			return t.num
		}
	}
	if len(descr) < 3 {
		return -1
	}
	if _, ok := parseDecimal(descr[2:]); !ok {
		return -1
	}
	switch string(descr[:2]) {
	case "|S":
		return saTypeString
	case "<U":
		return saTypeUnicode
	case "|V":
		return saTypeVoid
	}
	return -1
}

// saDescr writes the canonical descriptor of SharedArray's typenum and itemsize into out, or
// returns ok=false if npshm cannot take that type.
func saDescr(typenum, itemsize int32, out []byte) ([]byte, bool) {
	for _, t := range saTypes {
		if t.num == typenum {
			if itemsize != t.size {
				return nil, false
			}
			return append(out[:0], t.descr...), true
		}
	}
	if itemsize <= 0 {
		return nil, false
	}
	switch typenum {
	case saTypeString:
		return appendUint(append(out[:0], "|S"...), uint64(itemsize)), true
	case saTypeUnicode:
		if itemsize%4 != 0 {
			return nil, false
		}
		return appendUint(append(out[:0], "<U"...), uint64(itemsize/4)), true
	case saTypeVoid:
		return appendUint(append(out[:0], "|V"...), uint64(itemsize)), true
	}
	return nil, false
}

// oneBigDim reports whether at most one dimension exceeds 1: the array's C and Fortran layouts
// are then the same bytes, and a format without Fortran order can hold it.
func oneBigDim(shape []int64) bool {
	big := 0
	for _, d := range shape {
		if d > 1 {
			big++
		}
	}
	return big <= 1
}

// describePeer lays out h (Ndim, Shape, Itemsize, Descr and Flags set, Layout done) as a segment of
// format and encodes the peer's header into buf (capacity MaxHeaderLen): the refusals of what the
// format cannot carry, before anything is created. It returns the header's length; h.HeaderAt is
// where it goes.
func describePeer(h *Header, format uint32, buf []byte) (int, Status) {
	if h.Fortran() {
		if !oneBigDim(h.Shape[:h.Ndim]) {
			if format == SegSharedArray {
				return 0, fail(ErrInvalid, MsgSharedArrayCOrderOnly)
			}
			return 0, fail(ErrInvalid, MsgCdxcoreCOrderOnly)
		}
		h.Flags &^= FlagFortran // the same bytes in C order
	}
	h.Format = format
	h.HeaderLen = 0
	h.CreatorPID, h.CreatedNs = 0, 0
	switch format {
	case SegSharedArray:
		num := saTypenum(h.Descr)
		if num < 0 || h.Itemsize == 0 {
			return 0, fail(ErrInvalid, MsgSharedArrayCannotCarryDtype)
		}
		h.DataOffset, h.Trailer, h.HeaderAt = 0, saMetaLen, h.DataNbytes
		le := binary.LittleEndian
		clear(buf[:saMetaLen])
		copy(buf, saMagic)
		le.PutUint64(buf[16:], h.DataNbytes)
		le.PutUint32(buf[24:], uint32(num))
		le.PutUint32(buf[28:], uint32(h.Itemsize))
		le.PutUint32(buf[32:], uint32(h.Ndim))
		for i, d := range h.Shape[:h.Ndim] {
			le.PutUint64(buf[saFixed+8*i:], uint64(d))
		}
		return saMetaLen, Status{}
	case SegCdxcore:
		if NpioCode(h.Descr) < 0 {
			return 0, fail(ErrInvalid, MsgCdxcoreCannotCarryDtype)
		}
		n, st := EncodeNpioHeader(buf, h.Descr, h.Shape[:h.Ndim], false)
		if !st.Ok() {
			return 0, st
		}
		h.DataOffset = (uint64(n) + cdxcoreAlign - 1) / cdxcoreAlign * cdxcoreAlign
		h.Trailer, h.HeaderAt = 0, 0
		return n, Status{}
	}
	return 0, failNum(ErrInvalid, MsgUnknownSegmentFormat, int64(format))
}

// cdxcoreHeader reports whether buf starts like cdxcore's npio header: a length of 8 + 8*ndim, at
// most 64 dimensions, a known dtype code, and dimensions numpy can have. cdxcore writes no magic, so
// decodeCdxcore then demands the exact size too.
func cdxcoreHeader(buf []byte) bool {
	if len(buf) < 8 {
		return false
	}
	be := binary.BigEndian
	total := be.Uint32(buf)
	ndim := uint32(buf[5])<<16 | uint32(buf[6])<<8 | uint32(buf[7])
	if ndim > MaxNdim || total != 8+8*ndim || int(total) > len(buf) || int(buf[4]) >= len(npioDescr) {
		return false
	}
	for i := range int(ndim) {
		if be.Uint64(buf[8+8*i:]) > 1<<62 {
			return false
		}
	}
	return true
}
