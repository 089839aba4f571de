package core

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// dtypeCase is one spelling and what NormalizeDtype must make of it.
type dtypeCase struct {
	in   string
	want string // the canonical descriptor; "" if the spelling is refused (ErrInvalid)
	size int64
	// lenient marks spellings numpy itself refuses but npshm accepts (old aliases, surrounding
	// blanks), or refuses on purpose although numpy accepts them (objects, empty strings): the
	// numpy cross-check skips them.
	lenient bool
}

// dtypeAccepted lists every spelling of docs/FORMAT.md, "Dtype descriptors", with its canonical
// descriptor: numpy's dtype.str, or for structured dtypes the repr of dtype_to_descr (checked
// against numpy by TestNormalizeDtypeMatchesNumpy).
var dtypeAccepted = []dtypeCase{
	// numpy names
	{in: "bool", want: "|b1", size: 1},
	{in: "bool_", want: "|b1", size: 1},
	{in: "bool8", want: "|b1", size: 1, lenient: true},
	{in: "int8", want: "|i1", size: 1},
	{in: "int16", want: "<i2", size: 2},
	{in: "int32", want: "<i4", size: 4},
	{in: "int64", want: "<i8", size: 8},
	{in: "uint8", want: "|u1", size: 1},
	{in: "uint16", want: "<u2", size: 2},
	{in: "uint32", want: "<u4", size: 4},
	{in: "uint64", want: "<u8", size: 8},
	{in: "float16", want: "<f2", size: 2},
	{in: "float32", want: "<f4", size: 4},
	{in: "float64", want: "<f8", size: 8},
	{in: "float128", want: "<f16", size: 16},
	{in: "longdouble", want: "<f16", size: 16},
	{in: "complex64", want: "<c8", size: 8},
	{in: "complex128", want: "<c16", size: 16},
	{in: "complex256", want: "<c32", size: 32},
	{in: "clongdouble", want: "<c32", size: 32},
	{in: "int", want: "<i8", size: 8},
	{in: "int_", want: "<i8", size: 8},
	{in: "intp", want: "<i8", size: 8},
	{in: "uint", want: "<u8", size: 8},
	{in: "uintp", want: "<u8", size: 8},
	{in: "long", want: "<i8", size: 8},
	{in: "ulong", want: "<u8", size: 8},
	{in: "longlong", want: "<i8", size: 8},
	{in: "ulonglong", want: "<u8", size: 8},
	{in: "byte", want: "|i1", size: 1},
	{in: "ubyte", want: "|u1", size: 1},
	{in: "short", want: "<i2", size: 2},
	{in: "ushort", want: "<u2", size: 2},
	{in: "intc", want: "<i4", size: 4},
	{in: "uintc", want: "<u4", size: 4},
	{in: "half", want: "<f2", size: 2},
	{in: "single", want: "<f4", size: 4},
	{in: "double", want: "<f8", size: 8},
	{in: "float", want: "<f8", size: 8},
	{in: "float_", want: "<f8", size: 8, lenient: true},
	{in: "complex", want: "<c16", size: 16},
	{in: "complex_", want: "<c16", size: 16, lenient: true},
	{in: "csingle", want: "<c8", size: 8},
	{in: "cdouble", want: "<c16", size: 16},
	{in: "datetime64", want: "<M8", size: 8},
	{in: "datetime64[ns]", want: "<M8[ns]", size: 8},
	{in: "datetime64[10s]", want: "<M8[10s]", size: 8},
	{in: "datetime64[1s]", want: "<M8[s]", size: 8},
	{in: "timedelta64", want: "<m8", size: 8},
	{in: "timedelta64[s]", want: "<m8[s]", size: 8},
	{in: "timedelta64[1000as]", want: "<m8[1000as]", size: 8},
	// numpy character codes
	{in: "?", want: "|b1", size: 1},
	{in: "b", want: "|i1", size: 1},
	{in: "B", want: "|u1", size: 1},
	{in: "h", want: "<i2", size: 2},
	{in: "H", want: "<u2", size: 2},
	{in: "i", want: "<i4", size: 4},
	{in: "I", want: "<u4", size: 4},
	{in: "l", want: "<i8", size: 8},
	{in: "L", want: "<u8", size: 8},
	{in: "q", want: "<i8", size: 8},
	{in: "Q", want: "<u8", size: 8},
	{in: "p", want: "<i8", size: 8},
	{in: "P", want: "<u8", size: 8},
	{in: "e", want: "<f2", size: 2},
	{in: "f", want: "<f4", size: 4},
	{in: "d", want: "<f8", size: 8},
	{in: "g", want: "<f16", size: 16},
	{in: "F", want: "<c8", size: 8},
	{in: "D", want: "<c16", size: 16},
	{in: "G", want: "<c32", size: 32},
	{in: "M", want: "<M8", size: 8},
	{in: "m", want: "<m8", size: 8},
	// kind and size
	{in: "b1", want: "|b1", size: 1},
	{in: "i1", want: "|i1", size: 1},
	{in: "i2", want: "<i2", size: 2},
	{in: "i4", want: "<i4", size: 4},
	{in: "i8", want: "<i8", size: 8},
	{in: "u1", want: "|u1", size: 1},
	{in: "u2", want: "<u2", size: 2},
	{in: "u4", want: "<u4", size: 4},
	{in: "u8", want: "<u8", size: 8},
	{in: "f2", want: "<f2", size: 2},
	{in: "f4", want: "<f4", size: 4},
	{in: "f8", want: "<f8", size: 8},
	{in: "f16", want: "<f16", size: 16},
	{in: "c8", want: "<c8", size: 8},
	{in: "c16", want: "<c16", size: 16},
	{in: "c32", want: "<c32", size: 32},
	{in: "S7", want: "|S7", size: 7},
	{in: "S1", want: "|S1", size: 1},
	{in: "a5", want: "|S5", size: 5},
	{in: "U3", want: "<U3", size: 12},
	{in: "U1", want: "<U1", size: 4},
	{in: "V16", want: "|V16", size: 16},
	{in: "V1", want: "|V1", size: 1},
	{in: "M8", want: "<M8", size: 8},
	{in: "m8", want: "<m8", size: 8},
	{in: "M8[10s]", want: "<M8[10s]", size: 8},
	{in: "M8[1W]", want: "<M8[W]", size: 8},
	{in: "M8[999999999Y]", want: "<M8[999999999Y]", size: 8},
	{in: "m8[s]", want: "<m8[s]", size: 8},
	// byte orders
	{in: "<f8", want: "<f8", size: 8},
	{in: ">f8", want: ">f8", size: 8},
	{in: ">i4", want: ">i4", size: 4},
	{in: "<i4", want: "<i4", size: 4},
	{in: ">i2", want: ">i2", size: 2},
	{in: "=f4", want: "<f4", size: 4},
	{in: "=i8", want: "<i8", size: 8},
	{in: "|f8", want: "<f8", size: 8},
	{in: ">u1", want: "|u1", size: 1},
	{in: "<u1", want: "|u1", size: 1},
	{in: "|u1", want: "|u1", size: 1},
	{in: ">b1", want: "|b1", size: 1},
	{in: "<b1", want: "|b1", size: 1},
	{in: "|b1", want: "|b1", size: 1},
	{in: "<S5", want: "|S5", size: 5},
	{in: ">S5", want: "|S5", size: 5},
	{in: "|S5", want: "|S5", size: 5},
	{in: "<a5", want: "|S5", size: 5},
	{in: "<U3", want: "<U3", size: 12},
	{in: ">U3", want: ">U3", size: 12},
	{in: "|U3", want: "<U3", size: 12},
	{in: "=U3", want: "<U3", size: 12},
	{in: "<V16", want: "|V16", size: 16},
	{in: ">V16", want: "|V16", size: 16},
	{in: "|V16", want: "|V16", size: 16},
	{in: "<c16", want: "<c16", size: 16},
	{in: ">c8", want: ">c8", size: 8},
	{in: "<f2", want: "<f2", size: 2},
	{in: "<M8", want: "<M8", size: 8},
	{in: ">M8", want: ">M8", size: 8},
	{in: "<M8[ns]", want: "<M8[ns]", size: 8},
	{in: ">M8[ns]", want: ">M8[ns]", size: 8},
	{in: "<m8[s]", want: "<m8[s]", size: 8},
	{in: "=m8[1ms]", want: "<m8[ms]", size: 8},
	// surrounding blanks are tolerated (numpy refuses them)
	{in: " f8", want: "<f8", size: 8, lenient: true},
	{in: "f8\n", want: "<f8", size: 8, lenient: true},
	{in: "\t<i4 ", want: "<i4", size: 4, lenient: true},

	// structured
	{in: "[('x', '<f4')]", want: "[('x', '<f4')]", size: 4},
	{in: "[('x','<f4'),('y','<i8',(3,))]", want: "[('x', '<f4'), ('y', '<i8', (3,))]", size: 28},
	{in: "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]",
		want: "[('x', '<f4'), ('y', '<i8', (3,)), ('', '|V4')]", size: 32},
	{in: "[ ( 'x' , '<f4' ) , ( 'y' , '<i8' , ( 3 , ) ) ]", want: "[('x', '<f4'), ('y', '<i8', (3,))]", size: 28},
	{in: "[\n\t('x',\t'<f4'),\n\t('y', '<i8'),\n]", want: "[('x', '<f4'), ('y', '<i8')]", size: 12},
	{in: "  [('x', '<f4')]  ", want: "[('x', '<f4')]", size: 4, lenient: true},
	{in: "[('x', '<f4'),]", want: "[('x', '<f4')]", size: 4},
	{in: "[('x', 'f4')]", want: "[('x', '<f4')]", size: 4},
	{in: "[('x', 'float32'), ('y', '?')]", want: "[('x', '<f4'), ('y', '|b1')]", size: 5},
	{in: `[("x", "<f4")]`, want: "[('x', '<f4')]", size: 4},
	{in: `[('x', "<f4")]`, want: "[('x', '<f4')]", size: 4},
	{in: `[("it's", '<f4')]`, want: `[("it's", '<f4')]`, size: 4},
	{in: `[('it\'s', '<f4')]`, want: `[("it's", '<f4')]`, size: 4},
	{in: `[('say "hi"', '<f4')]`, want: `[('say "hi"', '<f4')]`, size: 4},
	{in: `[("say \"hi\"", '<f4')]`, want: `[('say "hi"', '<f4')]`, size: 4},
	{in: `[('both \' and "', '<f4')]`, want: `[('both \' and "', '<f4')]`, size: 4},
	{in: `[('a\\b', '<f4')]`, want: `[('a\\b', '<f4')]`, size: 4},
	{in: `[('a\tb', '<f4')]`, want: `[('a\tb', '<f4')]`, size: 4},
	{in: "[('a\tb', '<f4')]", want: `[('a\tb', '<f4')]`, size: 4},
	{in: `[('a\x01\x41\x7F', '<f4')]`, want: `[('a\x01A\x7f', '<f4')]`, size: 4},
	{in: "[('a b', '<f4')]", want: "[('a b', '<f4')]", size: 4},
	{in: "[('x', '<f8', 3)]", want: "[('x', '<f8', (3,))]", size: 24},
	{in: "[('x', '<f8', (3))]", want: "[('x', '<f8', (3,))]", size: 24},
	{in: "[('x', '<f8', (2,3))]", want: "[('x', '<f8', (2, 3))]", size: 48},
	{in: "[('x', '<f8', (2, 3,))]", want: "[('x', '<f8', (2, 3))]", size: 48},
	{in: "[('x', '<f8', (1,))]", want: "[('x', '<f8', (1,))]", size: 8},
	{in: "[('x', '<f8', (1, 1))]", want: "[('x', '<f8', (1, 1))]", size: 8},
	{in: "[('x', '<f8', ())]", want: "[('x', '<f8')]", size: 8},
	{in: "[('x', '<f8', (0, 3))]", want: "[('x', '<f8', (0, 3))]", size: 0},
	{in: "[('x', '|b1', (2,2)), ('y', '>i1')]", want: "[('x', '|b1', (2, 2)), ('y', '|i1')]", size: 5},
	{in: "[('t', '<M8[ns]', (2,)), ('d', 'timedelta64[1s]')]", want: "[('t', '<M8[ns]', (2,)), ('d', '<m8[s]')]", size: 24},
	{in: "[('s', 'S5'), ('u', 'U2'), ('v', 'V3')]", want: "[('s', '|S5'), ('u', '<U2'), ('v', '|V3')]", size: 16},
	{in: "[(('title', 'x'), '<f4')]", want: "[(('title', 'x'), '<f4')]", size: 4},
	{in: `[(("T", 'x'), 'f4'), ('y', 'i2')]`, want: "[(('T', 'x'), '<f4'), ('y', '<i2')]", size: 6},
	{in: "[(( 't' , 'x' ) , '<f4')]", want: "[(('t', 'x'), '<f4')]", size: 4},
	{in: "[('a', [('b', '<f4'), ('c', '|u1')])]", want: "[('a', [('b', '<f4'), ('c', '|u1')])]", size: 5},
	{in: "[('a', [('b', [('c', 'i4')])], (2,))]", want: "[('a', [('b', [('c', '<i4')])], (2,))]", size: 8},
	{in: "[('a', [('b', '<f4')], (2, 3))]", want: "[('a', [('b', '<f4')], (2, 3))]", size: 24},
	{in: "[('', [('a', '<f4')])]", want: "[('', [('a', '<f4')])]", size: 4},
	{in: "[('x', [])]", want: "[('x', [])]", size: 0},
	{in: "[]", want: "[]", size: 0},
	// padding: an unnamed void field; runs of padding merge, as numpy describes a gap
	{in: "[('', '|V4'), ('x', '<f4')]", want: "[('', '|V4'), ('x', '<f4')]", size: 8},
	{in: "[('', 'V4')]", want: "[('', '|V4')]", size: 4},
	{in: "[('x', '<f4'), ('', '|V2'), ('', '|V2', 2), ('y', '|u1')]", want: "[('x', '<f4'), ('', '|V6'), ('y', '|u1')]", size: 11},
	{in: "[('', '|V4', (2,))]", want: "[('', '|V8')]", size: 8},
	{in: "[('a', [('', '|V2'), ('', '|V2')])]", want: "[('a', [('', '|V4')])]", size: 4},
	{in: "[('', '|V4'), ('', '<f4')]", want: "[('', '|V4'), ('', '<f4')]", size: 8},
	{in: "[('x', '<f4'), ('', '|S4')]", want: "[('x', '<f4'), ('', '|S4')]", size: 8},
	{in: "[(('t', ''), '|V4')]", want: "[(('t', ''), '|V4')]", size: 4},
	// numpy takes any unnamed sub-array for padding, and drops padding of zero bytes
	{in: "[('', '<f4', 2)]", want: "[('', '|V8')]", size: 8},
	{in: "[('', '<f4', ())]", want: "[('', '<f4')]", size: 4},
	{in: "[('a', [('', '>i2', 3)])]", want: "[('a', [('', '|V6')])]", size: 6},
	{in: "[('', 'U2', (3, 2, 2,)), ('x', 'int')]", want: "[('', '|V96'), ('x', '<i8')]", size: 104},
	{in: "[('', [('a', '<f4')], (2,))]", want: "[('', '|V8')]", size: 8},
	{in: "[('', '|V4', (0,))]", want: "[]", size: 0},
	{in: "[('', '<i8', (0,)), ('x', 'u1')]", want: "[('x', '|u1')]", size: 1},
	{in: "[('x', 'u1'), ('', 'V4', (3, 0)), ('y', 'u1')]", want: "[('x', '|u1'), ('y', '|u1')]", size: 2},
	{in: "[('x', '<f4'), ('', 'V4', 0), ('', 'V2'), ('', 'V2', (0,)), ('', 'i2', 1), ('y', 'u1')]", want: "[('x', '<f4'), ('', '|V4'), ('y', '|u1')]", size: 9},
	{in: "[('', [], (2,)), ('', [])]", want: "[('', [])]", size: 0},
	// numpy's largest items: a dtype's size fits in a C int
	{in: "S2147483647", want: "|S2147483647", size: 2147483647},
	{in: "V2147483647", want: "|V2147483647", size: 2147483647},
	{in: "U536870911", want: "<U536870911", size: 2147483644},
	{in: "[('a', 'S1073741823', (2,))]", want: "[('a', '|S1073741823', (2,))]", size: 2147483646},
}

// dtypeRefused lists spellings NormalizeDtype must refuse with ErrInvalid.
var dtypeRefused = []dtypeCase{
	// objects, in every spelling and inside structured dtypes
	{in: "O"}, {in: "|O"}, {in: "<O"}, {in: ">O"}, {in: "=O"}, {in: "O8"}, {in: "|O8"}, {in: "<O8"},
	{in: ">O8"}, {in: "object"}, {in: "object_"}, {in: "object0"},
	{in: "[('x', 'O')]", lenient: true}, {in: "[('x', '|O')]", lenient: true},
	{in: "[('x', '<f4'), ('y', 'object')]", lenient: true},
	{in: "[('x', [('y', '|O8')])]", lenient: true},
	{in: "[('x', [('y', 'O')], (2,))]", lenient: true},
	// strings, unicode and void need a size
	{in: "S", lenient: true}, {in: "S0", lenient: true}, {in: "U", lenient: true},
	{in: "U0", lenient: true}, {in: "V", lenient: true}, {in: "V0", lenient: true},
	{in: "a0", lenient: true}, {in: "|S0", lenient: true},
	{in: "[('x', '|S0')]", lenient: true},
	// sizes numpy does not have
	{in: "i3"}, {in: "i16"}, {in: "u3"}, {in: "u0"}, {in: "f1"}, {in: "f3"}, {in: "f12"}, {in: "f0"},
	{in: "c4"}, {in: "c2"}, {in: "b2"}, {in: "b0"}, {in: "M4"}, {in: "m4"}, {in: "M16"}, {in: ">M4[s]"},
	{in: "int128"}, {in: "uint128"}, {in: "float96"}, {in: "float8"}, {in: "complex512"},
	{in: "S1234567890123"}, {in: "i0000000000008", lenient: true},
	// items numpy cannot hold: 2**31 bytes or more (numpy miscounts a structured dtype of that size
	// as negative, so it "accepts" that one)
	{in: "S2147483648"}, {in: "V2147483648"}, {in: "U536870912"}, {in: "S999999999999"},
	{in: "[('a', 'S1073741824', (2,))]"}, {in: "[('a', 'S2147483640'), ('b', 'S8')]", lenient: true},
	// datetime units
	{in: "M8[xs]"}, {in: "M8[]"}, {in: "M8[ns"}, {in: "M8ns]"}, {in: "M8ns"}, {in: "datetime64[]"},
	{in: "datetime64[fortnight]"}, {in: "timedelta64[S]"}, {in: "M8[NS]"}, {in: "M8[10]"},
	{in: "M8[ns][s]"}, {in: "M8[-1s]"}, {in: "M8[1.5s]"}, {in: "M8[ 1s]", lenient: true},
	{in: "M8[0s]", lenient: true}, {in: "M8[01s]", lenient: true}, {in: "M8[1000000000s]", lenient: true},
	{in: "M8[generic]", lenient: true}, {in: "datetime64ns"}, {in: "datetime32"},
	// unknown names and codes
	{in: ""}, {in: " "}, {in: "x"}, {in: "ff8"}, {in: "Float64"}, {in: "FLOAT"}, {in: "bytes7"},
	{in: "str3"}, {in: "str", lenient: true}, {in: "<"}, {in: ">"}, {in: "|"}, {in: "="}, {in: "<<f8"}, {in: "<f8<"},
	{in: "<f", lenient: true}, {in: ">i", lenient: true}, {in: "=d", lenient: true},
	{in: "8f", lenient: true}, {in: "3f8", lenient: true}, {in: "(3,)f8", lenient: true}, {in: "f8,i4", lenient: true}, {in: "f8, i4", lenient: true}, {in: "f8 i4"},
	{in: "f-8"}, {in: "f+8", lenient: true}, {in: "f 8", lenient: true}, {in: "f\x008"}, {in: "\x00", lenient: true}, {in: "f8\x00"},
	// quotes belong inside structured dtypes
	{in: "'<f8'"}, {in: `"<f8"`}, {in: " 'f8'"},
	// unterminated strings
	{in: "'<f8"}, {in: "[('x', '<f4"}, {in: "[('x"}, {in: "[('x', '<f4)]"}, {in: "[(\"x', '<f4')]"},
	{in: `[('x\', '<f4')]`},
	// structured syntax
	{in: "["}, {in: "]"}, {in: "[("}, {in: "[()]"}, {in: "[('x')]"}, {in: "[('x',)]"},
	{in: "[('x', '<f4')"}, {in: "[('x', '<f4'))]"}, {in: "[x]"}, {in: "[(x, '<f4')]"},
	{in: "[(b'x', '<f4')]"}, {in: "[('x', <f4)]"}, {in: "[('x' '<f4')]"}, {in: "[('x', '<f4') ('y', '<f4')]"},
	{in: "[('x', '<f4'),,]"}, {in: "[,]"}, {in: "[('x', '<f4', 'a')]"}, {in: "[('x', '<f4', (3.0,))]"},
	{in: "[('x', '<f4', (-1,))]"}, {in: "[('x', '<f4', -1)]"}, {in: "[('x', '<f4', (3,,))]"},
	{in: "[('x', '<f4', (,))]"}, {in: "[('x', '<f4', (3 4))]"}, {in: "[('x', '<f4', (3,), 4)]"},
	{in: "[(('t',), '<f4')]"}, {in: "[(('t', 'x', 'y'), '<f4')]"}, {in: "[(('t' 'x'), '<f4')]", lenient: true},
	{in: "[('x', 'i3')]"}, {in: "[('x', 'M8[xs]')]"}, {in: "[('x', '')]"}, {in: "[('x', ' <f4')]"},
	{in: `[('\q', '<f4')]`, lenient: true}, {in: `[('\x80', '<f4')]`, lenient: true}, {in: `[('\x4', '<f4')]`}, {in: `[('\u0041', '<f4')]`, lenient: true},
	{in: `[('\`}, {in: "[('x', '<f4', (99999999999999,))]"}, {in: "[('x', 'S999999999999', (999999999,))]"},
	{in: "[('x', '<f4'), ('y', '<f4')] x"}, {in: "[('x', '<f4')]]"}, {in: "[('x', '<f4')][]"},
	// trailing garbage
	{in: "f8 x"}, {in: "<f8)"}, {in: "<f8x"}, {in: "float64 " + "\x01"}, {in: "float64;"},
}

func normalize(t testing.TB, in string) ([]byte, int64, Status) {
	t.Helper()
	out := make([]byte, 0, MaxDescr)
	return NormalizeDtype([]byte(in), out)
}

func TestNormalizeDtype(t *testing.T) {
	for _, c := range dtypeAccepted {
		got, size, st := normalize(t, c.in)
		if !st.Ok() {
			t.Errorf("NormalizeDtype(%q) = %v %q, want %q", c.in, st.Code, st.Msg, c.want)
			continue
		}
		if string(got) != c.want || size != c.size {
			t.Errorf("NormalizeDtype(%q) = %q, %d; want %q, %d", c.in, got, size, c.want, c.size)
		}
	}
}

func TestNormalizeDtypeRefused(t *testing.T) {
	for _, c := range dtypeRefused {
		got, size, st := normalize(t, c.in)
		if st.Code != ErrInvalid {
			t.Errorf("NormalizeDtype(%q) = %q, %d, %v; want NPSHM_ERR_INVALID", c.in, got, size, st.Code)
		}
		if st.Msg == "" {
			t.Errorf("NormalizeDtype(%q): refused without a message", c.in)
		}
	}
}

// The canonical descriptor is a fixed point, and is what Decode accepts; anything else is not.
func TestNormalizeDtypeFixedPoint(t *testing.T) {
	for _, c := range dtypeAccepted {
		again, size, st := normalize(t, c.want)
		if !st.Ok() || string(again) != c.want || size != c.size {
			t.Errorf("NormalizeDtype(%q) = %q, %d, %v; want itself, %d", c.want, again, size, st.Code, c.size)
		}
		scratch := make([]byte, 0, MaxDescr)
		if got, st := DescrItemsize([]byte(c.want), scratch); !st.Ok() || got != c.size {
			t.Errorf("DescrItemsize(%q) = %d, %v; want %d", c.want, got, st.Code, c.size)
		}
		if c.in != c.want {
			if _, st := DescrItemsize([]byte(c.in), scratch); st.Code != ErrFormat {
				t.Errorf("DescrItemsize(%q) (not canonical) = %v, want NPSHM_ERR_FORMAT", c.in, st.Code)
			}
		}
	}
	for _, c := range dtypeRefused {
		if _, st := DescrItemsize([]byte(c.in), make([]byte, 0, MaxDescr)); st.Code != ErrFormat {
			t.Errorf("DescrItemsize(%q) = %v, want NPSHM_ERR_FORMAT", c.in, st.Code)
		}
	}
}

// nested returns a structured dtype of the given depth: [('a', [('a', ... '<f4' ...)])].
func nested(depth int) string {
	return strings.Repeat("[('a', ", depth) + "'<f4'" + strings.Repeat(")]", depth)
}

func TestNormalizeDtypeNesting(t *testing.T) {
	for _, c := range []struct {
		depth int
		ok    bool
	}{{1, true}, {2, true}, {15, true}, {maxDtypeDepth, true}, {maxDtypeDepth + 1, false}, {100, false}, {10000, false}} {
		in := nested(c.depth)
		got, size, st := normalize(t, in)
		if c.ok {
			if !st.Ok() || string(got) != in || size != 4 {
				t.Errorf("depth %d: got %q, %d, %v; want itself, 4", c.depth, got, size, st.Code)
			}
		} else if st.Code != ErrInvalid {
			t.Errorf("depth %d: got %v, want NPSHM_ERR_INVALID", c.depth, st.Code)
		}
	}
	// Deep nesting of sub-array shapes or unbalanced brackets does not recurse either.
	for _, in := range []string{strings.Repeat("[", 100000), strings.Repeat("[('a', ", 100000)} {
		if _, _, st := normalize(t, in); st.Code != ErrInvalid {
			t.Errorf("%d bytes of nesting: got %v, want NPSHM_ERR_INVALID", len(in), st.Code)
		}
	}
}

// longName returns a structured dtype whose canonical spelling is n bytes long.
func longName(n int) string {
	const frame = len("[('") + len("', '|b1')]")
	return "[('" + strings.Repeat("n", n-frame) + "', '?')]"
}

func TestNormalizeDtypeTooLong(t *testing.T) {
	for _, c := range []struct {
		canonLen int
		ok       bool
	}{{100, true}, {MaxDescr - 1, true}, {MaxDescr, true}, {MaxDescr + 1, false}, {3 * MaxDescr, false}} {
		got, size, st := normalize(t, longName(c.canonLen))
		if c.ok != st.Ok() || (c.ok && (len(got) != c.canonLen || size != 1)) {
			t.Errorf("canonical length %d: got %d bytes, size %d, %v; want ok=%v", c.canonLen, len(got), size, st.Code, c.ok)
		}
		if !c.ok && st.Code != ErrInvalid {
			t.Errorf("canonical length %d: got %v, want NPSHM_ERR_INVALID", c.canonLen, st.Code)
		}
	}
	// Many short fields that grow past the limit only once normalised ('?' is '|b1').
	fields := strings.Repeat("('a','?'),", MaxDescr/10)
	if _, _, st := normalize(t, "["+fields+"]"); st.Code != ErrInvalid {
		t.Errorf("%d fields: got %v, want NPSHM_ERR_INVALID", MaxDescr/10, st.Code)
	}
	// A smaller output buffer is never overrun.
	out := make([]byte, 0, 3)
	if d, _, st := NormalizeDtype([]byte("<f8"), out); !st.Ok() || string(d) != "<f8" {
		t.Errorf("3-byte buffer, <f8: got %q, %v", d, st.Code)
	}
	for _, in := range []string{"<c16", "datetime64[ns]", "[('x', '<f4')]"} {
		if d, _, st := NormalizeDtype([]byte(in), out); st.Code != ErrInvalid {
			t.Errorf("3-byte buffer, %q: got %q, %v; want NPSHM_ERR_INVALID", in, d, st.Code)
		}
	}
}

// Regression: an empty sub-array shape after output that did not fit used to clear the overflow
// flag, so that a mangled descriptor ("[(, '|b1')]") came back as success.
func TestNormalizeDtypeOverflowNotHidden(t *testing.T) {
	for _, in := range []string{
		"[('" + strings.Repeat("a", MaxDescr-1) + "', '?', ())]",
		"[('" + strings.Repeat("a", MaxDescr-20) + "', '?'), ('b', '?', ())]",
		"[('" + strings.Repeat("a", MaxDescr-1) + "', '?', 3)]",
	} {
		got, _, st := normalize(t, in)
		if st.Code != ErrInvalid {
			t.Errorf("%d-byte name: got %q (%d bytes), %v; want NPSHM_ERR_INVALID", len(in), got[:min(len(got), 40)], len(got), st.Code)
		}
	}
}

// TestNormalizeDtypeMatchesNumpy checks the canonical spellings against numpy itself: numpy's
// dtype.str, or for structured dtypes the repr of dtype_to_descr(descr_to_dtype(list)). It needs
// a Python with numpy: $NPSHM_TEST_PYTHON, else python3 if it has numpy.
func TestNormalizeDtypeMatchesNumpy(t *testing.T) {
	python := pythonWithNumpy(t)
	var ins []string
	for _, c := range dtypeAccepted {
		if !c.lenient {
			ins = append(ins, c.in, c.want)
		}
	}
	var refused []string
	for _, c := range dtypeRefused {
		if !c.lenient {
			refused = append(refused, c.in)
		}
	}
	res := numpyCanonical(t, python, append(ins, refused...))
	for i, in := range ins {
		want, _, _ := normalize(t, in)
		r := res[i]
		if !r.OK || r.Descr != string(want) {
			t.Errorf("%q: numpy says %q (%s), npshm %q", in, r.Descr, r.Err, want)
		}
	}
	for i, in := range refused {
		if r := res[len(ins)+i]; r.OK {
			t.Errorf("%q: npshm refuses it, but numpy accepts it as %q (mark it lenient if on purpose)", in, r.Descr)
		}
	}
}

type numpyResult struct {
	OK       bool   `json:"ok"`
	Descr    string `json:"descr"`
	Itemsize int64  `json:"itemsize"`
	Err      string `json:"err"`
}

const numpyScript = `
import ast, json, sys, warnings
import numpy as np
from numpy.lib import format as F
warnings.simplefilter("ignore")
out = []
for s in json.load(sys.stdin):
    try:
        if s.lstrip().startswith("["):
            dt = F.descr_to_dtype(ast.literal_eval(s))
        else:
            dt = np.dtype(s)
        d = F.dtype_to_descr(dt)
        out.append({"ok": not dt.hasobject, "descr": repr(d) if isinstance(d, list) else d,
                    "itemsize": dt.itemsize, "err": "object" if dt.hasobject else ""})
    except Exception as e:
        out.append({"ok": False, "descr": "", "itemsize": 0, "err": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`

func pythonWithNumpy(t *testing.T) string {
	t.Helper()
	python := os.Getenv("NPSHM_TEST_PYTHON")
	if python == "" {
		python = "python3"
	}
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("no numpy (%s: %v); set NPSHM_TEST_PYTHON to a Python that has it", python, err)
	}
	return python
}

func numpyCanonical(t *testing.T, python string, ins []string) []numpyResult {
	t.Helper()
	in, _ := json.Marshal(ins)
	cmd := exec.Command(python, "-c", numpyScript)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("numpy script: %v", err)
	}
	var res []numpyResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(ins) {
		t.Fatalf("numpy script output: %v (%d results for %d inputs)", err, len(res), len(ins))
	}
	return res
}
