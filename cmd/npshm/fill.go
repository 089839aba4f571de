package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// encodeFill turns the --fill value x into the bytes of one element of the canonical simple
// descriptor descr, in its byte order: the pattern npshm.FillBytes repeats.
func encodeFill(x, descr string) ([]byte, error) {
	if len(descr) < 3 || descr[0] == '[' {
		return nil, fmt.Errorf("structured dtypes such as %s take no fill value", descr)
	}
	order, kind := descr[0], descr[1]
	sizeText, unit, _ := strings.Cut(descr[2:], "[")
	size, err := strconv.Atoi(sizeText)
	if err != nil {
		return nil, fmt.Errorf("dtype %s takes no fill value", descr)
	}
	var b []byte
	switch kind {
	case 'b':
		switch strings.ToLower(x) {
		case "true", "1":
			b = []byte{1}
		case "false", "0":
			b = []byte{0}
		default:
			return nil, errors.New("true or false is expected for a bool")
		}
	case 'i', 'u':
		b, err = encodeInt(x, kind, size)
	case 'f':
		b, err = encodeFloat(x, size)
	case 'c':
		b, err = encodeComplex(x, size)
	case 'M', 'm':
		if strings.EqualFold(x, "nat") {
			b = binary.LittleEndian.AppendUint64(nil, 1<<63)
			break
		}
		var v int64
		v, err = strconv.ParseInt(x, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("a whole number of %s or NaT is expected for %s", unitName(unit), descr)
		}
		b = binary.LittleEndian.AppendUint64(nil, uint64(v))
	case 'S':
		if len(x) > size {
			return nil, fmt.Errorf("%d bytes do not fit in %s", len(x), descr)
		}
		return append([]byte(x), make([]byte, size-len(x))...), nil
	case 'U': // size counts characters of 4 bytes
		if !utf8.ValidString(x) {
			return nil, errors.New("not valid UTF-8")
		}
		if utf8.RuneCountInString(x) > size {
			return nil, fmt.Errorf("%d characters do not fit in %s", utf8.RuneCountInString(x), descr)
		}
		for _, r := range x {
			if order == '>' {
				b = binary.BigEndian.AppendUint32(b, uint32(r))
			} else {
				b = binary.LittleEndian.AppendUint32(b, uint32(r))
			}
		}
		return append(b, make([]byte, 4*size-len(b))...), nil
	default:
		return nil, fmt.Errorf("dtype %s takes no fill value", descr)
	}
	if err != nil {
		return nil, err
	}
	if order == '>' {
		reverseParts(b, kind)
	}
	return b, nil
}

func encodeInt(x string, kind byte, size int) ([]byte, error) {
	if size != 1 && size != 2 && size != 4 && size != 8 {
		return nil, fmt.Errorf("integers of %d bytes take no fill value", size)
	}
	var u uint64
	if kind == 'i' {
		v, err := strconv.ParseInt(x, 0, size*8)
		if err != nil {
			return nil, numErr(err, fmt.Sprintf("int%d", size*8))
		}
		u = uint64(v)
	} else {
		v, err := strconv.ParseUint(x, 0, size*8)
		if err != nil {
			return nil, numErr(err, fmt.Sprintf("uint%d", size*8))
		}
		u = v
	}
	return binary.LittleEndian.AppendUint64(nil, u)[:size], nil
}

func encodeFloat(x string, size int) ([]byte, error) {
	switch size {
	case 2, 4, 8:
	default:
		return nil, fmt.Errorf("floats of %d bytes take no fill value", size)
	}
	bits := 64 // float16 is rounded once, from the exact float64
	if size == 4 {
		bits = 32
	}
	v, err := strconv.ParseFloat(x, bits)
	if err != nil {
		return nil, numErr(err, fmt.Sprintf("float%d", size*8))
	}
	switch size {
	case 2:
		h, ok := float16(v)
		if !ok {
			return nil, fmt.Errorf("out of range for float16")
		}
		return binary.LittleEndian.AppendUint16(nil, h), nil
	case 4:
		return binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(v))), nil
	}
	return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)), nil
}

func encodeComplex(x string, size int) ([]byte, error) {
	if size != 8 && size != 16 {
		return nil, fmt.Errorf("complex numbers of %d bytes take no fill value", size)
	}
	// numpy and Python write the imaginary unit j; Go reads i.
	v, err := strconv.ParseComplex(strings.NewReplacer("j", "i", "J", "i").Replace(x), size*8)
	if err != nil {
		return nil, numErr(err, fmt.Sprintf("complex%d", size*8))
	}
	if size == 8 {
		b := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(real(v))))
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(imag(v)))), nil
	}
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(real(v)))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(imag(v))), nil
}

func numErr(err error, typ string) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("out of range for %s", typ)
	}
	return fmt.Errorf("not a number of type %s", typ)
}

// float16 converts to IEEE half precision, rounding to nearest even; ok is false if v is finite
// but too large for it.
func float16(v float64) (h uint16, ok bool) {
	b := math.Float64bits(v)
	sign := uint16(b>>48) & 0x8000
	exp := int(b>>52&0x7ff) - 1023 + 15
	mant := b & (1<<52 - 1)
	switch {
	case math.IsNaN(v):
		return sign | 0x7e00, true
	case math.IsInf(v, 0):
		return sign | 0x7c00, true
	case exp >= 31:
		return 0, false
	case exp <= 0: // a subnormal half, or zero
		if exp < -10 {
			return sign, true
		}
		mant |= 1 << 52
		shift := uint(43 - exp)
		half := mant >> shift
		if rem, mid := mant&(1<<shift-1), uint64(1)<<(shift-1); rem > mid || rem == mid && half&1 == 1 {
			half++
		}
		return sign | uint16(half), true
	}
	half := uint64(exp)<<10 | mant>>42
	if rem, mid := mant&(1<<42-1), uint64(1)<<41; rem > mid || rem == mid && half&1 == 1 {
		half++ // may carry into the exponent, up to infinity
	}
	if half >= 0x7c00 {
		return 0, false
	}
	return sign | uint16(half), true
}

// reverseParts turns a little-endian element into big-endian: each number of it reversed (both
// halves of a complex number).
func reverseParts(b []byte, kind byte) {
	parts := 1
	if kind == 'c' {
		parts = 2
	}
	n := len(b) / parts
	for p := 0; p < parts; p++ {
		s := b[p*n : (p+1)*n]
		for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
			s[i], s[j] = s[j], s[i]
		}
	}
}

func unitName(unit string) string {
	if unit == "" {
		return "units"
	}
	return strings.TrimSuffix(unit, "]")
}
