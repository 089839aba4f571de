package core

// CRC-32 with the IEEE polynomial (zlib's, and hash/crc32's ChecksumIEEE). A local table keeps it
// free of the lazy, allocating initialisation of hash/crc32, which a forked child could not run.

var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i)
		for range 8 {
			if c&1 != 0 {
				c = 0xedb88320 ^ c>>1
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc32IEEE(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c = crcTable[byte(c)^x] ^ c>>8
	}
	return ^c
}
