package core

// Dtype descriptors (docs/FORMAT.md, "Dtype descriptors"): parsing, validation and normalisation to
// the canonical .npy spelling, without allocating.

// MaxDescr is the longest descriptor a segment may hold.
const MaxDescr = 65536

// maxDtypeDepth bounds the nesting of structured dtypes, so that hostile input cannot recurse deeply.
const maxDtypeDepth = 16

// maxItemsize bounds an element's size as numpy does: a dtype's size must fit in a C int (numpy
// refuses "S2147483648", and miscounts a structured dtype of 2**31 bytes as negative).
const maxItemsize = 1<<31 - 1

// NormalizeDtype parses a numpy dtype name or descriptor and writes the canonical descriptor into
// out (which should have capacity MaxDescr). It returns the descriptor and the item size.
func NormalizeDtype(in []byte, out []byte) ([]byte, int64, Status) {
	p := dtypeParser{in: in, out: out[:0]}
	p.skipSpace()
	if c := p.peek(); c == '\'' || c == '"' {
		// Quotes belong to a structured dtype's fields; numpy refuses "'<f8'" as well.
		return nil, 0, fail(ErrInvalid, MsgDtypeQuotedOnlyInsideStructuredDtype)
	}
	size, st := p.parseAny(0)
	if !st.Ok() {
		return nil, 0, st
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return nil, 0, failNum(ErrInvalid, MsgUnexpectedTextDtypeOffset, int64(p.pos))
	}
	if p.overflow {
		return nil, 0, fail(ErrInvalid, MsgDtypeDescriptorTooLong)
	}
	return p.out, size, Status{}
}

// DescrItemsize validates a stored descriptor and returns its item size. The descriptor must already
// be canonical: anything NormalizeDtype would spell differently is refused.
func DescrItemsize(descr []byte, scratch []byte) (int64, Status) {
	canon, size, st := NormalizeDtype(descr, scratch)
	if !st.Ok() {
		return 0, fail(ErrFormat, MsgSegmentHoldsInvalidDtypeDescriptor)
	}
	if string(canon) != string(descr) {
		return 0, fail(ErrFormat, MsgSegmentHoldsNonCanonicalDtypeDescriptor)
	}
	return size, Status{}
}

type dtypeParser struct {
	in       []byte
	pos      int
	out      []byte
	overflow bool
	lastKind byte // kind of the dtype parsed last: a simple kind, or '[' for a structured one
}

func (p *dtypeParser) emit(s string) {
	if len(p.out)+len(s) > cap(p.out) {
		p.overflow = true
		return
	}
	p.out = append(p.out, s...)
}

func (p *dtypeParser) emitBytes(b []byte) {
	if len(p.out)+len(b) > cap(p.out) {
		p.overflow = true
		return
	}
	p.out = append(p.out, b...)
}

func (p *dtypeParser) emitByte(c byte) {
	if len(p.out) >= cap(p.out) {
		p.overflow = true
		return
	}
	p.out = append(p.out, c)
}

func (p *dtypeParser) emitInt(v int64) {
	var digits [20]byte
	p.emitBytes(appendUint(digits[:0], uint64(v)))
}

func (p *dtypeParser) skipSpace() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t' || p.in[p.pos] == '\n') {
		p.pos++
	}
}

func (p *dtypeParser) peek() byte {
	if p.pos < len(p.in) {
		return p.in[p.pos]
	}
	return 0
}

func (p *dtypeParser) expect(c byte) bool {
	p.skipSpace()
	if p.peek() != c {
		return false
	}
	p.pos++
	return true
}

func (p *dtypeParser) parseAny(depth int) (int64, Status) {
	if depth > maxDtypeDepth {
		return 0, fail(ErrInvalid, MsgStructuredDtypeNestedTooDeeply)
	}
	switch p.peek() {
	case '[':
		return p.parseStruct(depth)
	case '\'', '"':
		// A quoted simple descriptor, as inside a structured field.
		q := p.in[p.pos]
		end := p.pos + 1
		for end < len(p.in) && p.in[end] != q {
			end++
		}
		if end >= len(p.in) {
			return 0, fail(ErrInvalid, MsgUnterminatedStringDtype)
		}
		p.emitByte('\'')
		size, st := p.simple(p.in[p.pos+1 : end])
		p.emitByte('\'')
		p.pos = end + 1
		return size, st
	}
	end := p.pos
	for end < len(p.in) && p.in[end] != ' ' && p.in[end] != '\t' && p.in[end] != '\n' {
		end++
	}
	// Inside a structured dtype an unquoted type is taken, and written quoted as numpy writes it.
	if depth > 0 {
		p.emitByte('\'')
	}
	size, st := p.simple(p.in[p.pos:end])
	if depth > 0 {
		p.emitByte('\'')
	}
	p.pos = end
	return size, st
}

// parseStruct parses "[('name', descr[, shape]), ...]" and emits it in Python's repr spelling.
// Padding is emitted as numpy spells it (numpy.lib.format.descr_to_dtype, then dtype_to_descr):
// one unnamed |Vn field for each run of padding fields, and none for padding of zero bytes.
func (p *dtypeParser) parseStruct(depth int) (int64, Status) {
	p.pos++ // '['
	p.emitByte('[')
	var total int64
	first := true
	fields := 0                       // fields in the output so far
	padStart, padSize := -1, int64(0) // the padding field emitted last, if the last one is padding
	for {
		p.skipSpace()
		if p.peek() == ']' {
			p.pos++
			break
		}
		if !first {
			if !p.expect(',') {
				return 0, fail(ErrInvalid, MsgExpectedCommaBetweenFields)
			}
			p.skipSpace()
			if p.peek() == ']' { // trailing comma
				p.pos++
				break
			}
		}
		first = false
		sepStart := len(p.out)
		if fields > 0 {
			p.emit(", ")
		}
		fieldStart := len(p.out)
		size, pad, st := p.parseField(depth)
		if !st.Ok() {
			return 0, st
		}
		total += size
		if total > maxItemsize {
			return 0, fail(ErrInvalid, MsgStructuredDtypeTooLarge)
		}
		if !pad {
			padStart = -1
			fields++
			continue
		}
		if size == 0 { // no bytes: no field
			if sepStart <= len(p.out) {
				p.out = p.out[:sepStart]
			}
			continue
		}
		if padStart >= 0 {
			// Merge with the padding before: numpy describes a gap as one void field.
			fieldStart, size = padStart, size+padSize
		} else {
			fields++
		}
		if fieldStart <= len(p.out) {
			p.out = p.out[:fieldStart]
		}
		p.emit(MsgPaddingFieldStart)
		p.emitInt(size)
		p.emit("')")
		padStart, padSize = fieldStart, size
	}
	p.emitByte(']')
	p.lastKind = '['
	return total, Status{}
}

// parseField parses one field and reports whether it is padding, as numpy.lib.format.descr_to_dtype
// decides: an empty name and a void type, that is a plain void or any sub-array.
func (p *dtypeParser) parseField(depth int) (int64, bool, Status) {
	if !p.expect('(') {
		return 0, false, fail(ErrInvalid, MsgExpectedParenOpeningField)
	}
	p.emitByte('(')
	p.skipSpace()
	// The field name: a string, or a (title, name) pair of strings.
	unnamed := false
	if p.peek() == '(' {
		p.pos++
		p.emitByte('(')
		p.skipSpace()
		if _, st := p.copyString(); !st.Ok() {
			return 0, false, st
		}
		if !p.expect(',') {
			return 0, false, fail(ErrInvalid, MsgExpectedCommaInTitleName)
		}
		p.emit(", ")
		p.skipSpace()
		if _, st := p.copyString(); !st.Ok() {
			return 0, false, st
		}
		if !p.expect(')') {
			return 0, false, fail(ErrInvalid, MsgExpectedParenAfterTitleName)
		}
		p.emitByte(')')
	} else {
		empty, st := p.copyString()
		if !st.Ok() {
			return 0, false, st
		}
		unnamed = empty
	}
	if !p.expect(',') {
		return 0, false, fail(ErrInvalid, MsgExpectedCommaAfterFieldName)
	}
	p.emit(", ")
	p.skipSpace()
	size, st := p.parseAny(depth + 1)
	if !st.Ok() {
		return 0, false, st
	}
	void := p.lastKind == 'V'
	p.skipSpace()
	if p.peek() == ',' {
		p.pos++
		p.skipSpace()
		if p.peek() != ')' {
			count, shaped, st := p.parseSubShape()
			if !st.Ok() {
				return 0, false, st
			}
			void = void || shaped
			if count != 0 && size > maxItemsize/count {
				return 0, false, fail(ErrInvalid, MsgStructuredDtypeFieldTooLarge)
			}
			size *= count
		}
	}
	if !p.expect(')') {
		return 0, false, fail(ErrInvalid, MsgExpectedParenClosingField)
	}
	p.emitByte(')')
	return size, unnamed && void, Status{}
}

// parseSubShape parses "(d1, d2, ...)" or a bare integer and returns the element count, and whether
// it makes a sub-array. It emits the tuple as Python's repr does; an empty tuple means a plain
// field, so nothing is emitted.
func (p *dtypeParser) parseSubShape() (int64, bool, Status) {
	if p.peek() != '(' {
		n, ok := p.parseUint()
		if !ok {
			return 0, false, fail(ErrInvalid, MsgExpectedSubArrayShapeStructuredDtype)
		}
		p.emit(", (")
		p.emitInt(n)
		p.emit(",)")
		return n, true, Status{}
	}
	p.pos++
	count := int64(1)
	dims := 0
	start, overflow := len(p.out), p.overflow
	p.emit(", (")
	for {
		p.skipSpace()
		if p.peek() == ')' {
			p.pos++
			break
		}
		if dims > 0 {
			if !p.expect(',') {
				return 0, false, fail(ErrInvalid, MsgExpectedCommaInSubArrayShape)
			}
			p.skipSpace()
			if p.peek() == ')' {
				p.pos++
				break
			}
			p.emit(", ")
		}
		n, ok := p.parseUint()
		if !ok {
			return 0, false, fail(ErrInvalid, MsgBadSubArrayDimensionStructuredDtype)
		}
		p.emitInt(n)
		dims++
		if dims > MaxNdim {
			return 0, false, fail(ErrInvalid, MsgSubArrayShapeHasTooMany)
		}
		if n != 0 && count > maxItemsize/n {
			return 0, false, fail(ErrInvalid, MsgSubArrayShapeTooLarge)
		}
		count *= n
	}
	switch dims {
	case 0: // an empty shape: take back the ", (" and whether it overflowed
		p.out = p.out[:start]
		p.overflow = overflow
	case 1:
		p.emit(",)")
	default:
		p.emitByte(')')
	}
	return count, dims > 0, Status{}
}

func (p *dtypeParser) parseUint() (int64, bool) {
	start := p.pos
	var n int64
	for p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
		n = n*10 + int64(p.in[p.pos]-'0')
		if n > maxItemsize {
			return 0, false
		}
		p.pos++
	}
	return n, p.pos > start
}

// copyString reads a Python string literal (a field name or title) and emits it as Python's repr
// spells it: in single quotes unless the value holds a single quote and no double quote, with
// backslash escapes for that quote, the backslash, and control characters. The escapes read are
// \\ \' \" \t \n \r and \xHH below \x80. It reports whether the string is empty.
func (p *dtypeParser) copyString() (bool, Status) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return false, fail(ErrInvalid, "expected a quoted field name in a structured dtype")
	}
	single, double := false, false
	end := p.pos + 1
	for {
		if end >= len(p.in) {
			return false, fail(ErrInvalid, MsgUnterminatedFieldNameStructuredDtype)
		}
		if p.in[end] == q {
			break
		}
		c, next, ok := stringChar(p.in, end)
		if !ok {
			return false, fail(ErrInvalid, MsgUnsupportedEscapeStructuredDtypeFieldName)
		}
		single = single || c == '\''
		double = double || c == '"'
		end = next
	}
	quote := byte('\'')
	if single && !double {
		quote = '"'
	}
	p.emitByte(quote)
	for i := p.pos + 1; i < end; {
		c, next, _ := stringChar(p.in, i)
		i = next
		switch {
		case c == '\\' || c == quote:
			p.emitByte('\\')
			p.emitByte(c)
		case c == '\t':
			p.emit(`\t`)
		case c == '\n':
			p.emit(`\n`)
		case c == '\r':
			p.emit(`\r`)
		case c < 0x20 || c == 0x7f:
			const hex = "0123456789abcdef"
			p.emit(`\x`)
			p.emitByte(hex[c>>4])
			p.emitByte(hex[c&15])
		default:
			p.emitByte(c)
		}
	}
	p.emitByte(quote)
	empty := end == p.pos+1
	p.pos = end + 1
	return empty, Status{}
}

// stringChar decodes the character of a string literal at in[i], a byte or an escape, and returns
// it with the index after it; ok is false for an escape it does not know.
func stringChar(in []byte, i int) (c byte, next int, ok bool) {
	if in[i] != '\\' {
		return in[i], i + 1, true
	}
	if i+1 >= len(in) {
		return 0, 0, false
	}
	switch in[i+1] {
	case '\\', '\'', '"':
		return in[i+1], i + 2, true
	case 't':
		return '\t', i + 2, true
	case 'n':
		return '\n', i + 2, true
	case 'r':
		return '\r', i + 2, true
	case 'x':
		if i+3 < len(in) {
			hi, lo := hexDigit(in[i+2]), hexDigit(in[i+3])
			if hi < 8 && lo < 16 {
				return byte(hi<<4 | lo), i + 4, true
			}
		}
	}
	return 0, 0, false
}

// hexDigit returns the value of a hexadecimal digit, or 16 if c is none.
func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 16
}

// simple parses one non-structured dtype spelling and emits its canonical descriptor.
func (p *dtypeParser) simple(s []byte) (int64, Status) {
	spelled := s
	if len(s) == 0 {
		return 0, fail(ErrInvalid, MsgEmptyDtype)
	}
	if isObjectDtype(s) {
		return 0, fail(ErrInvalid, MsgObjectDtypesCannotSharedBetweenProcesses)
	}
	if unit, ok := cutPrefix(s, "datetime64"); ok {
		return p.datetime('<', 'M', unit)
	}
	if unit, ok := cutPrefix(s, "timedelta64"); ok {
		return p.datetime('<', 'm', unit)
	}
	if kind, size, ok := lookupAlias(s); ok {
		return p.emitSimple('<', kind, size, nil)
	}
	order := byte('<')
	explicitOrder := false
	switch s[0] {
	case '<', '=':
		s = s[1:]
		explicitOrder = true
	case '>':
		order = '>'
		s = s[1:]
		explicitOrder = true
	case '|':
		s = s[1:]
		explicitOrder = true
	}
	if len(s) == 0 {
		return 0, failValue(ErrInvalid, MsgDtypeHasByteOrderButType, spelled)
	}
	kind := s[0]
	rest := s[1:]
	if len(rest) == 0 && !explicitOrder {
		if k, size, ok := charCode(kind); ok {
			return p.emitSimple(order, k, size, nil)
		}
	}
	if kind == 'M' || kind == 'm' {
		if len(rest) == 0 || rest[0] != '8' {
			return 0, fail(ErrInvalid, MsgDatetime64Timedelta64DtypesMustHaveSize)
		}
		return p.datetime(order, kind, rest[1:])
	}
	size, ok := parseDecimal(rest)
	if !ok {
		return 0, failValue(ErrInvalid, MsgUnknownDtype, spelled)
	}
	switch kind {
	case 'b':
		if size != 1 {
			return 0, fail(ErrInvalid, MsgBoolDtypeMustHaveSize1)
		}
	case 'i', 'u':
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return 0, failNum(ErrInvalid, MsgIntegerDtypeSizeMust12, size)
		}
	case 'f':
		if size != 2 && size != 4 && size != 8 && size != 16 {
			return 0, failNum(ErrInvalid, MsgFloatDtypeSizeMust24, size)
		}
	case 'c':
		if size != 8 && size != 16 && size != 32 {
			return 0, failNum(ErrInvalid, MsgComplexDtypeSizeMust816, size)
		}
	case 'S', 'a', 'V':
		if size == 0 {
			return 0, fail(ErrInvalid, MsgStringVoidDtypesNeedSizeE)
		}
		if size > maxItemsize {
			return 0, fail(ErrInvalid, MsgStringVoidDtypesHoldMost2147483647)
		}
		if kind == 'a' {
			kind = 'S'
		}
	case 'U':
		if size == 0 {
			return 0, fail(ErrInvalid, MsgUnicodeDtypesNeedLengthEG)
		}
		if size > maxItemsize/4 {
			return 0, fail(ErrInvalid, MsgUnicodeDtypeTooLong)
		}
		return p.emitSimple(order, kind, size, nil)
	default:
		return 0, failValue(ErrInvalid, MsgUnknownDtype, spelled)
	}
	return p.emitSimple(order, kind, size, nil)
}

// emitSimple emits order+kind+size[unit] as numpy's dtype.str does and returns the item size. For
// 'U' the size given is the character count.
func (p *dtypeParser) emitSimple(order, kind byte, size int64, unit []byte) (int64, Status) {
	itemsize := size
	if kind == 'U' {
		itemsize = 4 * size
	}
	if itemsize == 1 || kind == 'S' || kind == 'V' {
		order = '|'
	}
	p.emitByte(order)
	p.emitByte(kind)
	p.emitInt(size)
	p.emitBytes(unit)
	p.lastKind = kind
	return itemsize, Status{}
}

func parseDecimal(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func isObjectDtype(s []byte) bool {
	for _, o := range objectDtypes {
		if string(s) == o {
			return true
		}
	}
	return false
}

// charCode maps numpy's one-character type codes (as on 64-bit Linux) to kind and size.
func charCode(c byte) (kind byte, size int64, ok bool) {
	for _, t := range dtypeCharCodes {
		if t.code == c {
			return t.kind, t.size, true
		}
	}
	return 0, 0, false
}

// lookupAlias maps numpy's type names to kind and size.
func lookupAlias(s []byte) (kind byte, size int64, ok bool) {
	for _, t := range dtypeAliases {
		if string(s) == t.name {
			return t.kind, t.size, true
		}
	}
	return 0, 0, false
}

func cutPrefix(s []byte, prefix string) ([]byte, bool) {
	if len(s) < len(prefix) || string(s[:len(prefix)]) != prefix {
		return nil, false
	}
	return s[len(prefix):], true
}

// datetime emits a datetime64 ('M') or timedelta64 ('m') descriptor with an optional "[unit]".
func (p *dtypeParser) datetime(order, kind byte, unit []byte) (int64, Status) {
	if len(unit) > 0 && !validDatetimeUnit(unit) {
		return 0, failValue(ErrInvalid, MsgUnknownDatetime64Timedelta64Unit, unit)
	}
	if len(unit) > 2 && unit[1] == '1' && (unit[2] < '0' || unit[2] > '9') {
		// numpy drops a multiplier of 1: "M8[1s]" is "<M8[s]".
		size, st := p.emitSimple(order, kind, 8, nil)
		p.emitByte('[')
		p.emitBytes(unit[2:])
		return size, st
	}
	return p.emitSimple(order, kind, 8, unit)
}

// validDatetimeUnit accepts "[unit]" or "[Nunit]" with numpy's units.
func validDatetimeUnit(u []byte) bool {
	if len(u) < 3 || u[0] != '[' || u[len(u)-1] != ']' {
		return false
	}
	u = u[1 : len(u)-1]
	i := 0
	for i < len(u) && u[i] >= '0' && u[i] <= '9' {
		i++
	}
	if i > 9 || (i > 0 && u[0] == '0') {
		return false
	}
	for _, unit := range datetimeUnits {
		if string(u[i:]) == unit {
			return true
		}
	}
	return false
}
