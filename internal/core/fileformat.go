package core

import (
	"encoding/binary"
	"syscall"
)

// Array files on disk (docs/FORMAT.md, "Array files"): cdxcore's npio format and numpy's .npy
// (versions 1, 2 and 3). Decoding and encoding of their headers, without allocating.

// File formats.
const (
	FormatNpio = 1
	FormatNpy  = 2
)

// MaxFileHeader bounds the header EncodeFileHeader writes for an array Layout accepts (a descriptor
// of MaxDescr bytes, 64 dimensions whose nonzero ones multiply to at most 2**63-1): the C ABI's
// NPSHM_MAX_FILE_HEADER. It fits in a Scratch's Header and a FileScratch's File.
const MaxFileHeader = 66048

// FormatOf is the format of a file written to path (without its NUL): .npy if the path ends in
// ".npy", else npio. This is the one place that rule is written (its twin is fileformat.c's).
func FormatOf(path []byte) int {
	if n := len(path); n >= 4 && string(path[n-4:]) == ".npy" {
		return FormatNpy
	}
	return FormatNpio
}

// EncodeFileHeader writes the header of an array record in the given format into buf (capacity at
// least MaxHeaderLen, which holds any header of an array Layout accepts) and returns its length.
func EncodeFileHeader(buf []byte, format int, descr []byte, shape []int64, fortran bool) (int, Status) {
	switch format {
	case FormatNpio:
		return EncodeNpioHeader(buf, descr, shape, fortran)
	case FormatNpy:
		if n := EncodeNpyHeader(buf, descr, shape, fortran); n > 0 {
			return n, Status{}
		}
		return 0, fail(ErrInvalid, MsgDtypeDescriptorTooLongNpyHeader)
	}
	return 0, fail(ErrInvalid, MsgUnknownFileFormat)
}

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// npioMaxHeader is the longest npio header a reader accepts: 64 dimensions.
const npioMaxHeader = 8 + 8*MaxNdim

// NpioCode returns the npio dtype code of a canonical descriptor, or -1 if npio cannot store it.
func NpioCode(descr []byte) int {
	for i, d := range npioDescr {
		if string(descr) == d {
			return i
		}
	}
	return -1
}

// FileHeader is the decoded header of an array file.
type FileHeader struct {
	Format     int
	Ndim       int
	Shape      [MaxNdim]int64
	Descr      []byte // the canonical descriptor
	Itemsize   uint64
	Fortran    bool
	HeaderLen  uint64 // bytes before the data, counted from the start of the record
	DataNbytes uint64
}

// Truncated reports whether st is the refusal of a file that ends too early: a FORMAT status with
// errno ENODATA (Python raises EOFError for it, and ValueError for other FORMAT statuses).
func Truncated(st Status) bool { return st.Code == ErrFormat && st.Errno == syscall.ENODATA }

func truncated(msg string) Status { return Status{Code: ErrFormat, Errno: syscall.ENODATA, Msg: msg} }

// DecodeFileHeader decodes the header of the array record at the start of buf: buf holds the first
// min(avail, len(buf)) bytes of a record that has avail bytes up to the end of the file. The
// format is that of the first bytes: .npy if they are numpy's magic, else npio. canon (capacity
// MaxDescr) receives the canonical descriptor, and fh.Descr points into it.
func DecodeFileHeader(buf []byte, avail uint64, canon []byte, fh *FileHeader) Status {
	if uint64(len(buf)) > avail {
		buf = buf[:avail]
	}
	n := min(len(buf), len(npyMagic))
	if string(buf[:n]) == npyMagic[:n] && (n == len(npyMagic) || avail < uint64(len(npyMagic))) {
		if n < len(npyMagic) {
			return truncated(MsgFileEndsInsideArraySHeader)
		}
		return decodeNpy(buf, avail, canon, fh)
	}
	return decodeNpio(buf, avail, canon, fh)
}

func decodeNpio(buf []byte, avail uint64, canon []byte, fh *FileHeader) Status {
	be := binary.BigEndian
	*fh = FileHeader{Format: FormatNpio}
	if avail < 4 {
		return truncated(MsgFileEndsInsideArraySHeader)
	}
	if len(buf) < 4 {
		return fail(ErrFormat, MsgNpioHeaderLongerNpshmReads)
	}
	total := be.Uint32(buf)
	if total < 8 || total%8 != 0 {
		return failNum(ErrFormat, MsgNotNpioOrNpyBadHeaderLength, int64(total))
	}
	if total > npioMaxHeader {
		return failNum(ErrFormat, MsgNpioHeaderMore64DimensionsHeader, int64(total))
	}
	if avail < uint64(total) || len(buf) < int(total) {
		return truncated(MsgFileEndsInsideArraySHeader)
	}
	code := int(buf[4])
	ndim := int(buf[5])<<16 | int(buf[6])<<8 | int(buf[7])
	if uint64(total) != 8+8*uint64(ndim) {
		return fail(ErrFormat, MsgCorruptNpioHeaderLengthMismatch)
	}
	if code >= len(npioDescr) {
		return failNum(ErrFormat, MsgCorruptNpioHeaderUnknownDtypeCode, int64(code))
	}
	fh.Ndim = ndim
	for i := 0; i < ndim; i++ {
		d := be.Uint64(buf[8+8*i:])
		if d > 1<<62 {
			return fail(ErrFormat, MsgCorruptNpioHeaderDimensionTooLarge)
		}
		fh.Shape[i] = int64(d)
	}
	fh.Descr = append(canon[:0], npioDescr[code]...)
	_, size, _ := simpleSize(fh.Descr)
	fh.Itemsize = uint64(size)
	fh.HeaderLen = uint64(total)
	return finishFileHeader(fh, avail)
}

// simpleSize is the item size of one of npioDescr.
func simpleSize(d []byte) (kind byte, size int64, ok bool) {
	v, ok := parseDecimal(trimUnit(d[2:]))
	return d[1], v, ok
}

func trimUnit(d []byte) []byte {
	for i, c := range d {
		if c == '[' {
			return d[:i]
		}
	}
	return d
}

// finishFileHeader computes the data size and checks that the file holds all of it.
func finishFileHeader(fh *FileHeader, avail uint64) Status {
	nbytes, st := shapeBytes(fh.Shape[:fh.Ndim], fh.Itemsize)
	if !st.Ok() {
		return fail(ErrFormat, MsgCorruptHeaderSizeOverflows)
	}
	fh.DataNbytes = nbytes
	if avail-fh.HeaderLen < nbytes {
		return truncated(MsgFileShorterArrayHeaderDescribes)
	}
	return Status{}
}

func decodeNpy(buf []byte, avail uint64, canon []byte, fh *FileHeader) Status {
	le := binary.LittleEndian
	*fh = FileHeader{Format: FormatNpy}
	if avail < 10 || len(buf) < 10 {
		return truncated(MsgFileEndsInsideArraySHeader)
	}
	var hlen, pre uint64
	switch {
	case buf[6] == 1 && buf[7] == 0:
		hlen, pre = uint64(le.Uint16(buf[8:])), 10
	case (buf[6] == 2 || buf[6] == 3) && buf[7] == 0:
		if avail < 12 || len(buf) < 12 {
			return truncated(MsgFileEndsInsideArraySHeader)
		}
		hlen, pre = uint64(le.Uint32(buf[8:])), 12
	default:
		return failNum(ErrFormat, MsgUnsupportedNpyFormatVersion, int64(buf[6])*1000+int64(buf[7]))
	}
	if avail < pre+hlen {
		return truncated(MsgFileEndsInsideArraySHeader)
	}
	if uint64(len(buf)) < pre+hlen {
		return failNum(ErrFormat, MsgNpyHeaderLongerNpshmReads, int64(hlen))
	}
	if st := parseNpyDict(buf[pre:pre+hlen], canon, fh); !st.Ok() {
		return st
	}
	fh.HeaderLen = pre + hlen
	return finishFileHeader(fh, avail)
}

// npyParser reads the Python dict literal of a .npy header.
type npyParser struct {
	b   []byte
	pos int
}

func (p *npyParser) space() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *npyParser) peek() byte {
	if p.pos < len(p.b) {
		return p.b[p.pos]
	}
	return 0
}

func (p *npyParser) eat(c byte) bool {
	p.space()
	if p.peek() != c {
		return false
	}
	p.pos++
	return true
}

// str reads a quoted string without escapes and returns its contents.
func (p *npyParser) str() ([]byte, bool) {
	p.space()
	q := p.peek()
	if q != '\'' && q != '"' {
		return nil, false
	}
	start := p.pos + 1
	for i := start; i < len(p.b); i++ {
		switch p.b[i] {
		case '\\', '\n':
			return nil, false
		case q:
			p.pos = i + 1
			return p.b[start:i], true
		}
	}
	return nil, false
}

// skipList moves past a bracketed literal ([...] or (...)), honouring nesting and quoted strings
// with escapes, and returns its text.
func (p *npyParser) skipList() ([]byte, bool) {
	start := p.pos
	depth := 0
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		switch c {
		case '[', '(':
			depth++
			if depth > maxDtypeDepth*2+4 {
				return nil, false
			}
		case ']', ')':
			depth--
			if depth == 0 {
				p.pos++
				return p.b[start:p.pos], true
			}
		case '\'', '"':
			i := p.pos + 1
			for ; i < len(p.b) && p.b[i] != c; i++ {
				if p.b[i] == '\\' {
					i++
				}
			}
			if i >= len(p.b) {
				return nil, false
			}
			p.pos = i
		}
		p.pos++
	}
	return nil, false
}

func (p *npyParser) word(w string) bool {
	p.space()
	if len(p.b)-p.pos < len(w) || string(p.b[p.pos:p.pos+len(w)]) != w {
		return false
	}
	end := p.pos + len(w)
	if end < len(p.b) && (isAlnum(p.b[end]) || p.b[end] == '_') {
		return false
	}
	p.pos = end
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// shape reads a tuple of non-negative ints into fh.
func (p *npyParser) shape(fh *FileHeader) Status {
	bad := fail(ErrFormat, MsgCorruptNpyHeaderShapeNotTuple)
	if !p.eat('(') {
		return bad
	}
	n := 0
	comma := false
	for {
		p.space()
		if p.peek() == ')' {
			p.pos++
			break
		}
		if n > 0 && !comma {
			return bad
		}
		start := p.pos
		var v int64
		for p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
			if v > (1<<62)/10 {
				return fail(ErrFormat, MsgCorruptNpyHeaderDimensionTooLarge)
			}
			v = v*10 + int64(p.b[p.pos]-'0')
			p.pos++
		}
		digits := p.pos - start
		if digits == 0 || (digits > 1 && p.b[start] == '0') {
			return bad
		}
		if p.peek() == 'L' { // Python 2 longs in old version 1 files
			p.pos++
		}
		if n == MaxNdim {
			return fail(ErrFormat, MsgNpyHeaderMore64Dimensions)
		}
		fh.Shape[n] = v
		n++
		comma = p.eat(',')
	}
	if n == 1 && !comma {
		return bad // "(3)" is an int, not a tuple
	}
	fh.Ndim = n
	return Status{}
}

// parseNpyDict parses "{'descr': ..., 'fortran_order': ..., 'shape': (...), }".
func parseNpyDict(b []byte, canon []byte, fh *FileHeader) Status {
	p := npyParser{b: b}
	bad := fail(ErrFormat, MsgCorruptNpyHeaderNotDict)
	if !p.eat('{') {
		return bad
	}
	var seen [3]bool
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return bad
		}
		p.space()
		switch string(key) {
		case "descr":
			if seen[0] {
				return bad
			}
			seen[0] = true
			var text []byte
			if c := p.peek(); c == '[' {
				if text, ok = p.skipList(); !ok {
					return bad
				}
			} else if text, ok = p.str(); !ok {
				return bad
			}
			if isObjectDtype(text) || containsObject(text) {
				return fail(ErrFormat, MsgNpyFileHoldsPythonObjectsWhich)
			}
			d, size, st := NormalizeDtype(text, canon[:0:MaxDescr])
			if !st.Ok() {
				return fail(ErrFormat, MsgNpyHeaderUnsupportedDtype)
			}
			fh.Descr, fh.Itemsize = d, uint64(size)
		case "fortran_order":
			if seen[1] {
				return bad
			}
			seen[1] = true
			switch {
			case p.word("True"):
				fh.Fortran = true
			case p.word("False"):
				fh.Fortran = false
			default:
				return bad
			}
		case "shape":
			if seen[2] {
				return bad
			}
			seen[2] = true
			if st := p.shape(fh); !st.Ok() {
				return st
			}
		default:
			return bad
		}
		if !p.eat(',') {
			if !p.eat('}') {
				return bad
			}
			break
		}
	}
	p.space()
	if p.pos != len(p.b) || !seen[0] || !seen[1] || !seen[2] {
		return bad
	}
	return Status{}
}

// containsObject reports whether a structured descriptor names the object kind anywhere.
func containsObject(text []byte) bool {
	for i := 0; i+1 < len(text); i++ {
		if text[i] == '\'' || text[i] == '"' {
			j := i + 1
			for j < len(text) && text[j] != text[i] {
				j++
			}
			if j < len(text) && isObjectDtype(text[i+1:j]) {
				return true
			}
			i = j
		}
	}
	return false
}

// Growth room numpy leaves after a .npy header (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS).
const npyGrowthDigits = 21

// EncodeNpyHeader writes the .npy header of an array into buf exactly as numpy.save writes it
// (the oldest version that can hold it, the dict in sorted key order, growth room and padding to a
// multiple of 64). It returns the header's length, or 0 if buf is too small.
func EncodeNpyHeader(buf []byte, descr []byte, shape []int64, fortran bool) int {
	w := boundedWriter{buf: buf[:12:len(buf)]} // room for the preamble, written last
	w.str(MsgNpyDescrKey)
	if len(descr) > 0 && descr[0] == '[' {
		w.bytes(descr)
	} else {
		w.str("'")
		w.bytes(descr)
		w.str("'")
	}
	w.str(MsgNpyFortranOrderKey)
	if fortran {
		w.str("True")
	} else {
		w.str("False")
	}
	w.str(MsgNpyShapeKey)
	for i, d := range shape {
		if i > 0 {
			w.str(", ")
		}
		w.int(d)
	}
	if len(shape) == 1 {
		w.str(",")
	}
	w.str("), }")
	if len(shape) > 0 {
		d := shape[0]
		if fortran {
			d = shape[len(shape)-1]
		}
		for range npyGrowthDigits - decimalLen(d) {
			w.str(" ")
		}
	}
	text := len(w.buf) - 12
	ascii := true
	for _, c := range w.buf[12:] {
		if c >= 0x80 {
			ascii = false
		}
	}
	major, pre := byte(1), 10
	hlen := text + 1
	if !ascii || hlen+64-(10+hlen)%64 > 65535 {
		major, pre = 2, 12
		if !ascii {
			major = 3
		}
	}
	pad := 64 - (pre+hlen)%64
	total := pre + hlen + pad
	if total > len(buf) || len(w.buf) != 12+text {
		return 0
	}
	copy(buf[pre:], buf[12:12+text]) // move the text behind the real preamble
	for i := pre + text; i < total-1; i++ {
		buf[i] = ' '
	}
	buf[total-1] = '\n'
	copy(buf, npyMagic)
	buf[6], buf[7] = major, 0
	if major == 1 {
		binary.LittleEndian.PutUint16(buf[8:], uint16(total-pre))
	} else {
		binary.LittleEndian.PutUint32(buf[8:], uint32(total-pre))
	}
	return total
}

func decimalLen(v int64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// EncodeNpioHeader writes the npio header of an array into buf (at least 8+8*len(shape) bytes) and
// returns its length; INVALID if npio cannot hold the array.
func EncodeNpioHeader(buf []byte, descr []byte, shape []int64, fortran bool) (int, Status) {
	code := NpioCode(descr)
	if code < 0 {
		return 0, fail(ErrInvalid, MsgNpioCannotStoreThisDtypeStores)
	}
	if fortran {
		big := 0
		for _, d := range shape {
			if d > 1 {
				big++
			}
		}
		if big > 1 {
			return 0, fail(ErrInvalid, MsgNpioStoresCOrderOnlyWrite)
		}
	}
	be := binary.BigEndian
	total := 8 + 8*len(shape)
	be.PutUint32(buf, uint32(total))
	buf[4] = byte(code)
	buf[5], buf[6], buf[7] = 0, 0, byte(len(shape))
	for i, d := range shape {
		be.PutUint64(buf[8+8*i:], uint64(d))
	}
	return total, Status{}
}
