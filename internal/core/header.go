package core

import "encoding/binary"

// Segment header, version 1 (docs/FORMAT.md, "Segment layout").

// Format constants.
const (
	Magic          = "NPSHMARR"
	Version        = 1
	MaxNdim        = 64
	fixedHeaderLen = 64
	// FlagFortran marks data laid out in Fortran order.
	FlagFortran = 1
	// FlagUnreserved marks an array created without its memory reserved (NPSHM_NO_RESERVE).
	FlagUnreserved = 2
	// dataAlign is the alignment writers give the data: a page.
	dataAlign = 4096
	// headProbe is how much of a segment a reader reads first (then more if the header says it is
	// longer, and SharedArray's block at the end): a usual npshm header, or the longest cdxcore
	// header (8 + 8*MaxNdim bytes), in one small read rather than a page (docs/FORMAT.md,
	// "Telling the formats apart").
	headProbe = 1024
	// minDataAlign is the alignment readers demand.
	minDataAlign = 64
	// MaxHeaderLen bounds the header with its checksum.
	MaxHeaderLen = fixedHeaderLen + 8*MaxNdim + MaxDescr + 4
	// maxNbytes bounds an array's data so that offsets never overflow.
	maxNbytes = 1 << 56
	// creatorPIDOffset is where the header holds the creator's pid (the reaper of Python reads it).
	creatorPIDOffset = 48
	// maxIntp is numpy's bound on an array's size in bytes, counting only its nonzero dimensions.
	maxIntp = 1<<63 - 1
)

// headProbe must hold the longest cdxcore header and npshm's fixed header with its checksum, and
// fit before SharedArray's block in a Scratch's Header (peers.go): a build error otherwise.
const (
	_ = uint(headProbe - (8 + 8*MaxNdim))
	_ = uint(headProbe - (fixedHeaderLen + 4))
	_ = uint(dataAlign - headProbe)
)

// Header is a decoded segment header. Descr points into the buffer it was decoded from or will be
// encoded from.
type Header struct {
	Flags      uint16
	HeaderLen  uint32
	DataOffset uint64
	DataNbytes uint64
	Itemsize   uint64
	Ndim       int
	CreatorPID uint32
	CreatedNs  int64
	Shape      [MaxNdim]int64
	Descr      []byte
	// Format is the segment's format: SegNpshm, or a peer's (peers.go). A peer's segment has no
	// creator or creation time (0), and HeaderLen 0.
	Format uint32
	// Trailer is what follows the data (a SharedArray segment's metadata block and any gap before
	// it), and HeaderAt where a peer's header starts (SharedArray's: at the end).
	Trailer  uint64
	HeaderAt uint64
}

// Fortran reports whether the data is in Fortran order.
func (h *Header) Fortran() bool { return h.Flags&FlagFortran != 0 }

// SegmentSize is the length of a segment holding this header and its data.
func (h *Header) SegmentSize() uint64 { return h.DataOffset + h.DataNbytes + h.Trailer }

// Layout fills HeaderLen, DataNbytes and DataOffset from Ndim, Shape, Itemsize and Descr, checking
// that the sizes are valid and do not overflow.
func (h *Header) Layout() Status {
	if h.Ndim < 0 || h.Ndim > MaxNdim {
		return failNum(ErrInvalid, MsgNdimMustBetween064, int64(h.Ndim))
	}
	if len(h.Descr) == 0 || len(h.Descr) > MaxDescr {
		return fail(ErrInvalid, "dtype descriptor is empty or too long")
	}
	nbytes, st := shapeBytes(h.Shape[:h.Ndim], h.Itemsize)
	if !st.Ok() {
		return st
	}
	h.DataNbytes = nbytes
	h.HeaderLen = uint32(fixedHeaderLen + 8*h.Ndim + len(h.Descr))
	h.DataOffset = (uint64(h.HeaderLen) + 4 + dataAlign - 1) / dataAlign * dataAlign
	return Status{}
}

// Describe fills h for an array of the given shape and dtype (any spelling NormalizeDtype takes,
// canonicalised into descrBuf, of capacity MaxDescr), as Create does before it creates anything:
// the checks of ndim, dtype and shape, then Layout.
func (h *Header) Describe(shape []int64, dtype []byte, fortran bool, descrBuf []byte) Status {
	if len(shape) > MaxNdim {
		return failNum(ErrInvalid, MsgNdimMustBetween064, int64(len(shape)))
	}
	descr, itemsize, st := NormalizeDtype(dtype, descrBuf)
	if !st.Ok() {
		return st
	}
	*h = Header{Ndim: len(shape), Itemsize: uint64(itemsize), Descr: descr}
	copy(h.Shape[:], shape)
	if fortran {
		h.Flags = FlagFortran
	}
	return h.Layout()
}

// shapeBytes multiplies out a shape by numpy's rule (PyArray_NewFromDescr): no dimension is
// negative, and itemsize times the product of the nonzero dimensions fits in a signed 64-bit
// integer, even when another dimension is 0 (numpy refuses (2**62, 0) of int64, though it holds no
// byte). An array that is not empty must also stay within maxNbytes. The refusals name the shape.
func shapeBytes(shape []int64, itemsize uint64) (uint64, Status) {
	for _, d := range shape {
		if d < 0 {
			return 0, failNum(ErrInvalid, MsgNegativeDimension, d)
		}
	}
	n, zero := itemsize, itemsize == 0
	for _, d := range shape {
		if d == 0 {
			zero = true
			continue
		}
		if n != 0 && uint64(d) > maxIntp/n {
			return 0, failShape(ErrInvalid, MsgArrayTooLargeForNumpy, shape)
		}
		n *= uint64(d)
	}
	if zero {
		return 0, Status{}
	}
	if n > maxNbytes {
		return 0, failShape(ErrInvalid, MsgArrayTooLargeOver2Pow56, shape)
	}
	return n, Status{}
}

// Encode writes the header and its checksum into buf, which must hold HeaderLen+4 bytes. Layout
// must have been called.
func (h *Header) Encode(buf []byte) int {
	le := binary.LittleEndian
	copy(buf[0:8], Magic)
	le.PutUint16(buf[8:], Version)
	le.PutUint16(buf[10:], h.Flags)
	le.PutUint32(buf[12:], h.HeaderLen)
	le.PutUint64(buf[16:], h.DataOffset)
	le.PutUint64(buf[24:], h.DataNbytes)
	le.PutUint64(buf[32:], h.Itemsize)
	le.PutUint32(buf[40:], uint32(h.Ndim))
	le.PutUint32(buf[44:], uint32(len(h.Descr)))
	le.PutUint32(buf[creatorPIDOffset:], h.CreatorPID)
	le.PutUint32(buf[52:], 0)
	le.PutUint64(buf[56:], uint64(h.CreatedNs))
	off := fixedHeaderLen
	for _, d := range h.Shape[:h.Ndim] {
		le.PutUint64(buf[off:], uint64(d))
		off += 8
	}
	off += copy(buf[off:], h.Descr)
	le.PutUint32(buf[off:], crc32IEEE(buf[:off]))
	return off + 4
}

// HeaderNeed returns how many bytes of a segment DecodeHeader needs, judging from its first 64
// bytes, or 0 if those are not an npshm header.
func HeaderNeed(prefix []byte) int {
	if len(prefix) < fixedHeaderLen || string(prefix[:8]) != Magic {
		return 0
	}
	n := binary.LittleEndian.Uint32(prefix[12:])
	if n < fixedHeaderLen || n > MaxHeaderLen-4 {
		return 0
	}
	return int(n) + 4
}

// Decode validates the header at the start of buf (of a segment segSize bytes long) and fills h.
// descrScratch (capacity MaxDescr) is used to check that the descriptor is canonical.
func (h *Header) Decode(buf []byte, segSize uint64, descrScratch []byte) Status {
	le := binary.LittleEndian
	h.Format, h.Trailer, h.HeaderAt = SegNpshm, 0, 0
	if len(buf) < fixedHeaderLen+4 || segSize < fixedHeaderLen+4 {
		return fail(ErrFormat, MsgNotArraySegmentTooShort)
	}
	if string(buf[:8]) != Magic {
		return fail(ErrFormat, MsgNotArrayBadMagic)
	}
	if v := le.Uint16(buf[8:]); v != Version {
		return failNum(ErrFormat, MsgUnsupportedNpshmFormatVersion, int64(v))
	}
	h.Flags = le.Uint16(buf[10:])
	if h.Flags&^(FlagFortran|FlagUnreserved) != 0 {
		return failNum(ErrFormat, MsgUnknownHeaderFlags, int64(h.Flags))
	}
	h.HeaderLen = le.Uint32(buf[12:])
	ndim := le.Uint32(buf[40:])
	descrLen := le.Uint32(buf[44:])
	if ndim > MaxNdim {
		return failNum(ErrFormat, MsgCorruptHeaderNdimTooLarge, int64(ndim))
	}
	if descrLen == 0 || descrLen > MaxDescr {
		return failNum(ErrFormat, MsgCorruptHeaderBadDescriptorLength, int64(descrLen))
	}
	if uint64(h.HeaderLen) != fixedHeaderLen+8*uint64(ndim)+uint64(descrLen) {
		return fail(ErrFormat, MsgCorruptHeaderInconsistentHeaderLength)
	}
	end := int(h.HeaderLen)
	if len(buf) < end+4 || segSize < uint64(end)+4 {
		return fail(ErrFormat, MsgCorruptHeaderSegmentShorterHeader)
	}
	if crc32IEEE(buf[:end]) != le.Uint32(buf[end:]) {
		return fail(ErrFormat, MsgCorruptHeaderChecksumMismatch)
	}
	h.DataOffset = le.Uint64(buf[16:])
	h.DataNbytes = le.Uint64(buf[24:])
	h.Itemsize = le.Uint64(buf[32:])
	h.Ndim = int(ndim)
	h.CreatorPID = le.Uint32(buf[creatorPIDOffset:])
	h.CreatedNs = int64(le.Uint64(buf[56:]))
	off := fixedHeaderLen
	for i := 0; i < h.Ndim; i++ {
		h.Shape[i] = int64(le.Uint64(buf[off:]))
		off += 8
	}
	h.Descr = buf[off:end]
	itemsize, st := DescrItemsize(h.Descr, descrScratch)
	if !st.Ok() {
		return st
	}
	if uint64(itemsize) != h.Itemsize {
		return fail(ErrFormat, MsgCorruptHeaderItemsizeMismatch)
	}
	nbytes, st := shapeBytes(h.Shape[:h.Ndim], h.Itemsize)
	if !st.Ok() {
		return fail(ErrFormat, MsgCorruptHeaderBadShape)
	}
	if nbytes != h.DataNbytes {
		return fail(ErrFormat, MsgCorruptHeaderDataSizeMismatch)
	}
	if h.DataOffset%minDataAlign != 0 || h.DataOffset < uint64(end)+4 || h.DataOffset > maxNbytes {
		return fail(ErrFormat, MsgCorruptHeaderBadDataOffset)
	}
	if segSize < h.DataOffset+h.DataNbytes {
		return fail(ErrFormat, MsgCorruptSegmentShorterArrayClaimsHold)
	}
	return Status{}
}
