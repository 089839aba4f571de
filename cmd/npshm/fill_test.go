package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestEncodeFill(t *testing.T) {
	tests := []struct {
		x, descr string
		want     []byte // nil: an error containing err
		err      string
	}{
		{"true", "|b1", []byte{1}, ""},
		{"False", "|b1", []byte{0}, ""},
		{"yes", "|b1", nil, "true or false"},
		{"-1", "|i1", []byte{0xff}, ""},
		{"128", "|i1", nil, "out of range for int8"},
		{"0x7fff", "<i2", []byte{0xff, 0x7f}, ""},
		{"1", ">i4", []byte{0, 0, 0, 1}, ""},
		{"-1", "<u8", nil, "not a number of type uint64"},
		{"65535", "<u2", []byte{0xff, 0xff}, ""},
		{"1.5", "<f8", []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}, ""},
		{"1.5", ">f4", []byte{0x3f, 0xc0, 0, 0}, ""},
		{"1e39", "<f4", nil, "out of range for float32"},
		{"1", "<f2", []byte{0x00, 0x3c}, ""},
		{"-2", "<f2", []byte{0x00, 0xc0}, ""},
		{"65504", "<f2", []byte{0xff, 0x7b}, ""},
		{"65520", "<f2", nil, "out of range for float16"},
		{"6e-8", "<f2", []byte{0x01, 0x00}, ""}, // the smallest subnormal, 2^-24
		{"1e-9", "<f2", []byte{0x00, 0x00}, ""},
		{"0.1", "<f2", []byte{0x66, 0x2e}, ""}, // numpy: np.float16(0.1).view(np.uint16) == 0x2e66
		{"inf", "<f2", []byte{0x00, 0x7c}, ""},
		{"nan", "<f2", []byte{0x00, 0x7e}, ""},
		{"1+2j", "<c8", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}, ""},
		{"1+2j", ">c8", []byte{0x3f, 0x80, 0, 0, 0x40, 0, 0, 0}, ""},
		{"2j", "<c16", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40}, ""},
		{"x", "<c16", nil, "not a number of type complex128"},
		{"NaT", "<M8[ns]", []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, ""},
		{"86400", "<m8[s]", []byte{0x80, 0x51, 1, 0, 0, 0, 0, 0}, ""},
		{"2020-01-01", "<M8[D]", nil, "a whole number of D or NaT"},
		{"ab", "|S3", []byte{'a', 'b', 0}, ""},
		{"abcd", "|S3", nil, "4 bytes do not fit in |S3"},
		{"é", "<U2", []byte{0xe9, 0, 0, 0, 0, 0, 0, 0}, ""},
		{"é", ">U1", []byte{0, 0, 0, 0xe9}, ""},
		{"abc", "<U2", nil, "3 characters do not fit in <U2"},
		{"1", "|V8", nil, "dtype |V8 takes no fill value"},
		{"1", "[('x', '<f4')]", nil, "structured"},
		{"1", "<f16", nil, "floats of 16 bytes"},
	}
	for _, tt := range tests {
		got, err := encodeFill(tt.x, tt.descr)
		if tt.want == nil {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("encodeFill(%q, %s) = % x, %v; want an error with %q", tt.x, tt.descr, got, err, tt.err)
			}
		} else if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("encodeFill(%q, %s) = % x, %v; want % x", tt.x, tt.descr, got, err, tt.want)
		}
	}
}

func TestParseShape(t *testing.T) {
	tests := []struct {
		in   string
		want []int // nil: an error
	}{
		{"10,3", []int{10, 3}}, {"(10, 3)", []int{10, 3}}, {"[10,3]", []int{10, 3}}, {" 7 ", []int{7}},
		{"(7,)", []int{7}}, {"7,", []int{7}}, {"()", []int{}}, {"[]", []int{}}, {"0", []int{0}},
		{"", nil}, {" ", nil}, {",", nil}, {"(", nil}, {"(3", nil}, {"3)", nil}, {"3,,4", nil}, {"3 4", nil},
		{"+3", nil}, {"3.0", nil}, {"1e3", nil}, {"0x10", nil}, {"-0", nil},
	}
	for _, tt := range tests {
		got, err := parseShape(tt.in)
		if (tt.want == nil) != (err != nil) || len(got) != len(tt.want) {
			t.Errorf("parseShape(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseShape(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}
