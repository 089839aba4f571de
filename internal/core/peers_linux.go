package core

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
			return false, sysFail(errno, "cannot read the array's header")
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
