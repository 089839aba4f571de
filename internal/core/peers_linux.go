package core

import "encoding/binary"

// readPeerHeader recognises a peer's segment in the open fd of size bytes, whose first n bytes are
// in s.Header (n <= dataAlign: there was no npshm magic), and decodes it into s.Hdr (its
// descriptor in s.Header at peerDescrAt). ok is false, with no error,
// when the segment is none of the peers'.
func readPeerHeader(s *Scratch, fd int, n int, size uint64) (ok bool, st Status) {
	h := &s.Hdr
	for _, metaLen := range [...]uint64{saMetaLen, saMetaLenNp1} {
		if size < metaLen {
			continue
		}
		tail := s.Header[dataAlign : dataAlign+saMetaLen] // past the n <= dataAlign bytes read
		got, errno := sysPreadAt(fd, tail[:metaLen], int64(size-metaLen))
		if errno != 0 {
			return false, sysFail(errno, MsgCannotReadArraySHeader)
		}
		if uint64(got) == metaLen && string(tail[:16]) == saMagic {
			return true, decodeSharedArray(h, tail[:metaLen], size, s)
		}
	}
	if cdxcoreHeader(s.Header[:n]) {
		return true, decodeCdxcore(h, s.Header[:n], size, s)
	}
	return false, Status{}
}

// decodeSharedArray decodes SharedArray's metadata block meta, found at the end of a segment of
// size bytes.
func decodeSharedArray(h *Header, meta []byte, size uint64, s *Scratch) Status {
	le := binary.LittleEndian
	maxDims := (len(meta) - saFixed) / 8
	*h = Header{Format: SegSharedArray}
	nbytes := le.Uint64(meta[16:])
	typenum := int32(le.Uint32(meta[24:]))
	itemsize := int32(le.Uint32(meta[28:]))
	ndim := int32(le.Uint32(meta[32:]))
	if ndim < 0 || int(ndim) > maxDims || ndim > MaxNdim {
		return failNum(ErrFormat, MsgCorruptSharedArrayBadNdim, int64(ndim))
	}
	descr, ok := saDescr(typenum, itemsize, s.Header[peerDescrAt:peerDescrAt:peerDescrAt+64])
	if !ok {
		return failNum(ErrFormat, MsgSharedArrayTypeNpshmCannotTake, int64(typenum))
	}
	h.Ndim = int(ndim)
	for i := range h.Ndim {
		h.Shape[i] = int64(le.Uint64(meta[saFixed+8*i:]))
	}
	h.Descr, h.Itemsize = descr, uint64(itemsize)
	n, st := shapeBytes(h.Shape[:h.Ndim], h.Itemsize)
	if !st.Ok() {
		return failShape(ErrFormat, MsgCorruptSharedArrayBadShape, h.Shape[:h.Ndim])
	}
	if n != nbytes {
		return failNum(ErrFormat, MsgCorruptSharedArraySizeField, int64(nbytes))
	}
	if size-uint64(len(meta)) < n {
		return sizeMismatch(s, MsgCorruptSharedArrayDescribes, n+uint64(len(meta)), size)
	}
	h.DataOffset, h.DataNbytes = 0, n
	h.HeaderAt = size - uint64(len(meta))
	h.Trailer = size - n
	return Status{}
}

// decodeCdxcore decodes the cdxcore header at the start of buf (cdxcoreHeader said yes) of a
// segment of size bytes, which must be exactly the header rounded up to 64 plus the data.
func decodeCdxcore(h *Header, buf []byte, size uint64, s *Scratch) Status {
	be := binary.BigEndian
	*h = Header{Format: SegCdxcore}
	total := be.Uint32(buf)
	h.Ndim = int(buf[7])
	for i := range h.Ndim {
		h.Shape[i] = int64(be.Uint64(buf[8+8*i:]))
	}
	h.Descr = append(s.Header[peerDescrAt:peerDescrAt:peerDescrAt+64], npioDescr[buf[4]]...)
	_, itemsize, _ := simpleSize(h.Descr)
	h.Itemsize = uint64(itemsize)
	n, st := shapeBytes(h.Shape[:h.Ndim], h.Itemsize)
	if !st.Ok() {
		return failShape(ErrFormat, MsgCorruptCdxcoreBadShape, h.Shape[:h.Ndim])
	}
	h.DataOffset = (uint64(total) + cdxcoreAlign - 1) / cdxcoreAlign * cdxcoreAlign
	h.DataNbytes = n
	if size != h.DataOffset+n {
		return sizeMismatch(s, MsgCorruptCdxcoreDescribes, h.DataOffset+n, size)
	}
	return Status{}
}

// sizeMismatch is the refusal of a peer's segment whose size disagrees with its header, naming both
// sizes (the first in s.Proc, which attach does not otherwise use).
func sizeMismatch(s *Scratch, msg string, need, size uint64) Status {
	return Status{Code: ErrFormat, Msg: msg, Path: appendUint(s.Proc[:0], need),
		Msg2: MsgBytesSegmentHolds, Num: int64(size), HasNum: true}
}
