//go:build linux

package core

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The C twin's copy of spec.go, generated: `go generate ./internal/core` rewrites it, and this test
// fails when it is stale (or edited by hand).
func TestSpecGenerated(t *testing.T) {
	h, c := specC(t)
	for _, f := range []struct {
		path string
		text []byte
	}{{"../ctwin/spec.h", h}, {"../ctwin/spec.c", c}, {"../../python/npshm/_constants.py", specPython(t)}} {
		if *update {
			if err := os.WriteFile(f.path, f.text, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(old, f.text) {
			t.Errorf("%s is stale or was edited by hand: run `go generate ./internal/core`", f.path)
		}
	}
}

// specConstant is a constant of the core the C twin uses, under its C name.
type specConstant struct {
	name  string
	value any // an integer (int64 or uint64) or a string
	doc   string
}

// specConstants lists the core's constants the C twin uses, in the order spec.h defines them.
var specConstants = []specConstant{
	{"MAGIC", Magic, "the first bytes of a segment"},
	{"FORMAT_VERSION", int64(Version), "the segment format's version"},
	{"FIXED_HEADER", int64(fixedHeaderLen), "the fixed part of a segment header"},
	{"CREATOR_PID_OFFSET", int64(creatorPIDOffset), "where the header holds the creator's pid"},
	{"FLAG_FORTRAN", int64(FlagFortran), "header flag: the data is in Fortran order"},
	{"FLAG_UNRESERVED", int64(FlagUnreserved), "header flag: created unreserved (NPSHM_NO_RESERVE)"},
	{"DATA_ALIGN", int64(dataAlign), "the alignment writers give the data"},
	{"MIN_DATA_ALIGN", int64(minDataAlign), "the alignment readers demand"},
	{"HEAD_PROBE", int64(headProbe), "how much of a segment a reader reads first"},
	{"MAX_DESCR", int64(MaxDescr), "the longest descriptor a segment may hold"},
	{"MAX_HEADER", int64(MaxHeaderLen), "the longest segment header, with its checksum"},
	{"MAX_NBYTES", uint64(maxNbytes), "the most data bytes an array may have"},
	{"MAX_ITEMSIZE", int64(maxItemsize), "numpy's: a dtype's size fits in a C int"},
	{"MAX_DEPTH", int64(maxDtypeDepth), "the deepest nesting of structured dtypes"},
	{"SHM_DIR", shmDir, "where shm names live, unless NPSHM_DIR or npshm_set_dir say otherwise"},
	{"DIR_ENV", DirEnv, "the environment variable that names the directory of shm names"},
	{"MAX_DIR", int64(MaxDir), "the longest directory of shm names"},
	{"HUGE_ALIGN", int64(HugeAlign), "the data alignment on a huge-page mount: a PMD huge page"},
	{"POPULATE_CHUNK", int64(populateChunk), "the bytes populated per madvise call of a create"},
	{"FILE_PREFIX", filePrefix, "starts the names of file:// arrays"},
	{"SHM_PREFIX", shmPrefix, "may start a shm name"},
	{"PERM_BITS", int64(permBits), "the mode bits an array may have"},
	{"MAX_SHM_NAME", int64(maxShmName), "the longest shm name"},
	{"MAX_PATH_LEN", int64(MaxPath), "the longest file:// path"},
	{"TEMP_PREFIX", TempPrefix, "starts the names of creations in progress"},
	{"LOCK_PREFIX", LockPrefix, "starts the names of load lock files"},
	{"RESERVED_PREFIX", reservedPrefix, "starts every name npshm gives its own files"},
	{"PAGE", int64(pageSize), "the page size sparse segments are judged by"},
	{"NPY_MAGIC", npyMagic, "the first bytes of a .npy file"},
	{"NPIO_MAX_HEADER", int64(npioMaxHeader), "the longest npio header a reader accepts"},
	{"GROWTH_DIGITS", int64(npyGrowthDigits), "the width numpy pads a .npy shape's first size to"},
	{"MAX_NAME_ARG", int64(MaxNameArg), "the longest name argument: \"file://\" and a path"},
	{"MAX_DTYPE_ARG", int64(MaxDtypeArg), "the longest dtype argument"},
	{"MODE_BITS", uint32(ModeMask), "the mode of NPSHM_MODE(perm)"},
	{"MODE_SHIFT", int64(ModeShift), "where NPSHM_MODE puts the mode"},
	{"CREATE_FLAGS", uint32(CreateFlags), "the flags create takes"},
	{"ATTACH_FLAGS", uint32(AttachFlags), "the flags attach takes"},
	{"READ_FLAGS", uint32(ReadFlags), "the flags read_file takes"},
	{"DATA_FLAGS", uint32(DataFlags), "the flags write_file_data takes"},
	{"FORMAT_FLAGS", uint32(FormatFlags), "the segment formats create takes (NPSHM_FORMAT_*)"},
	{"SA_MAGIC", saMagic, "SharedArray's magic (16 bytes with the NULs)"},
	{"SA_FIXED", int64(saFixed), "SharedArray's block before its dims"},
	{"SA_META_LEN", int64(saMetaLen), "SharedArray's block with numpy 2's 64 dims"},
	{"SA_META_LEN_NP1", int64(saMetaLenNp1), "SharedArray's block with numpy 1's 32 dims"},
	{"SA_STRING", int64(saTypeString), "numpy's NPY_STRING"},
	{"SA_UNICODE", int64(saTypeUnicode), "numpy's NPY_UNICODE"},
	{"SA_VOID", int64(saTypeVoid), "numpy's NPY_VOID"},
	{"CDXCORE_ALIGN", int64(cdxcoreAlign), "where cdxcore's data starts: the header rounded up to this"},
	{"PEER_DESCR_AT", int64(peerDescrAt), "where a peer's descriptor goes in the header buffer"},
}

// cstr is s as a C string literal.
func cstr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func cstrs(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = cstr(s)
	}
	return wrap(q)
}

// wrap joins items with ", " into lines of at most 100 columns, indented by 4.
func wrap(items []string) string {
	var b strings.Builder
	line := "   "
	for i, it := range items {
		sep := ","
		if i == len(items)-1 {
			sep = ""
		}
		if len(line)+1+len(it)+len(sep) > 100 {
			b.WriteString(line + "\n")
			line = "   "
		}
		line += " " + it + sep
	}
	b.WriteString(line + "\n")
	return b.String()
}

const specBanner = "/* Generated by `go generate ./internal/core` from internal/core/spec.go and spec_linux_test.go:\n" +
	" * do not edit. TestSpecGenerated fails when this file is stale. */\n"

// specC writes spec.h and spec.c.
func specC(t *testing.T) (h, c []byte) {
	var hb, cb bytes.Buffer
	hb.WriteString(specBanner)
	hb.WriteString("#ifndef NPSHM_CTWIN_SPEC_H\n#define NPSHM_CTWIN_SPEC_H\n\n#include <errno.h>\n\n")
	hb.WriteString("/* ---- limits and format constants (docs/FORMAT.md) ---- */\n\n")
	for _, k := range specConstants {
		var v string
		switch x := k.value.(type) {
		case string:
			v = cstr(x)
		case int64:
			v = fmt.Sprint(x)
		case uint64:
			v = fmt.Sprintf("%dULL", x)
		case uint32:
			v = fmt.Sprintf("%#xu", x)
		default:
			t.Fatalf("%s: %T", k.name, x)
		}
		fmt.Fprintf(&hb, "#define %s %s /* %s */\n", k.name, v, k.doc)
	}
	hb.WriteString("\n/* ---- tables ---- */\n\n")
	fmt.Fprintf(&hb, "/* The names of the status codes, indexed by -code, and of any other value. */\n")
	fmt.Fprintf(&hb, "#define STATUS_NAMES %d\nextern const char *const npshm__status_names[STATUS_NAMES];\n", len(codeNames))
	fmt.Fprintf(&hb, "#define UNKNOWN_STATUS_NAME %s\n\n", cstr(unknownCodeName))
	hb.WriteString("/* The status code of a failed system call's errno. */\nstatic inline int npshm__code_of_errno(int errnum) {\n    switch (errnum) {\n")
	for _, e := range errnoCodes {
		fmt.Fprintf(&hb, "    case %s: return %s;\n", unix.ErrnoName(e.errno), e.code)
	}
	fmt.Fprintf(&hb, "    }\n    return %s;\n}\n\n", ErrIO)
	hb.WriteString("/* The status code of msync's, mlock's or munlock's errno. */\n" +
		"static inline int npshm__mem_code_of_errno(int errnum) {\n    switch (errnum) {\n")
	for _, e := range memErrnoCodes {
		fmt.Fprintf(&hb, "    case %s: return %s;\n", unix.ErrnoName(e.errno), e.code)
	}
	fmt.Fprintf(&hb, "    }\n    return %s;\n}\n\n", ErrIO)
	hb.WriteString("/* A simple dtype's kind and size, by name or by numpy's one-character code. */\n")
	hb.WriteString("typedef struct dtype_kind {\n    const char *name;\n    char kind;\n    int size;\n} dtype_kind;\n")
	fmt.Fprintf(&hb, "#define DTYPE_ALIASES %d\nextern const dtype_kind npshm__dtype_aliases[DTYPE_ALIASES];\n", len(dtypeAliases))
	fmt.Fprintf(&hb, "#define DTYPE_CHAR_CODES %d\nextern const dtype_kind npshm__dtype_char_codes[DTYPE_CHAR_CODES];\n", len(dtypeCharCodes))
	hb.WriteString("/* The spellings of numpy's object dtype. */\n")
	fmt.Fprintf(&hb, "#define OBJECT_DTYPES %d\nextern const char *const npshm__object_dtypes[OBJECT_DTYPES];\n", len(objectDtypes))
	hb.WriteString("/* numpy's units of datetime64 and timedelta64. */\n")
	fmt.Fprintf(&hb, "#define DATETIME_UNITS %d\nextern const char *const npshm__datetime_units[DATETIME_UNITS];\n", len(datetimeUnits))
	hb.WriteString("/* npio's dtype codes: the canonical descriptor and item size of each. */\n")
	fmt.Fprintf(&hb, "#define NPIO_CODES %d\nextern const char *const npshm__npio_descr[NPIO_CODES];\nextern const int npshm__npio_size[NPIO_CODES];\n", len(npioDescr))
	hb.WriteString("/* SharedArray's numpy type numbers of fixed-size types, with their size and descriptor. */\n")
	hb.WriteString("typedef struct sa_type {\n    int num, size;\n    const char *descr;\n} sa_type;\n")
	fmt.Fprintf(&hb, "#define SA_TYPES %d\nextern const sa_type npshm__sa_types[SA_TYPES];\n", len(saTypes))
	hb.WriteString("/* The values of NPSHM_TEST_PAUSE, indexed by point. */\n")
	fmt.Fprintf(&hb, "#define PAUSE_POINTS %d\nextern const char *const npshm__pause_names[PAUSE_POINTS];\n", len(pauseNames))
	hb.WriteString("\n/* ---- messages (internal/core/messages.go) ---- */\n\n")
	for _, m := range specMessages(t) {
		fmt.Fprintf(&hb, "#define %s %s\n", m[0], cstr(m[1]))
	}
	hb.WriteString("\n#endif\n")

	cb.WriteString(specBanner)
	cb.WriteString("#include \"ctwin.h\"\n\n")
	fmt.Fprintf(&cb, "const char *const npshm__status_names[STATUS_NAMES] = {\n%s};\n\n", cstrs(codeNames[:]))
	kinds := func(items []string) string { return wrap(items) }
	var al, cc []string
	for _, a := range dtypeAliases {
		al = append(al, fmt.Sprintf("{%s, '%c', %d}", cstr(a.name), a.kind, a.size))
	}
	for _, a := range dtypeCharCodes {
		cc = append(cc, fmt.Sprintf("{%s, '%c', %d}", cstr(string(a.code)), a.kind, a.size))
	}
	fmt.Fprintf(&cb, "const dtype_kind npshm__dtype_aliases[DTYPE_ALIASES] = {\n%s};\n\n", kinds(al))
	fmt.Fprintf(&cb, "const dtype_kind npshm__dtype_char_codes[DTYPE_CHAR_CODES] = {\n%s};\n\n", kinds(cc))
	fmt.Fprintf(&cb, "const char *const npshm__object_dtypes[OBJECT_DTYPES] = {\n%s};\n\n", cstrs(objectDtypes[:]))
	fmt.Fprintf(&cb, "const char *const npshm__datetime_units[DATETIME_UNITS] = {\n%s};\n\n", cstrs(datetimeUnits[:]))
	fmt.Fprintf(&cb, "const char *const npshm__npio_descr[NPIO_CODES] = {\n%s};\n\n", cstrs(npioDescr[:]))
	var sizes []string
	out := make([]byte, MaxDescr)
	for _, d := range npioDescr {
		_, size, st := NormalizeDtype([]byte(d), out)
		if !st.Ok() {
			t.Fatalf("npio descriptor %s: %s", d, st.Msg)
		}
		sizes = append(sizes, fmt.Sprint(size))
	}
	fmt.Fprintf(&cb, "const int npshm__npio_size[NPIO_CODES] = {\n%s};\n\n", wrap(sizes))
	var sat []string
	for _, x := range saTypes {
		sat = append(sat, fmt.Sprintf("{%d, %d, %s}", x.num, x.size, cstr(x.descr)))
	}
	fmt.Fprintf(&cb, "const sa_type npshm__sa_types[SA_TYPES] = {\n%s};\n\n", wrap(sat))
	fmt.Fprintf(&cb, "const char *const npshm__pause_names[PAUSE_POINTS] = {\n%s};\n", cstrs(pauseNames[:]))
	return hb.Bytes(), cb.Bytes()
}

// specMessages reads the constants of messages.go: their C names (MsgFooBar is MSG_FOO_BAR) and
// texts, in the file's order.
func specMessages(t *testing.T) [][2]string {
	f, err := parser.ParseFile(token.NewFileSet(), "messages.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	words := regexp.MustCompile(`([a-z0-9])([A-Z])`)
	var out [][2]string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			for i, id := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("messages.go: %s is not a string literal", id.Name)
				}
				text, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, [2]string{strings.ToUpper(words.ReplaceAllString(id.Name, "${1}_${2}")), text})
			}
		}
	}
	return out
}

// specPython writes python/npshm/_constants.py: what the Python package needs of the spec without
// going through the library (its reaper runs without npshm; its name checks run before any call).
func specPython(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteString(`"""Constants of the npshm format that the Python package uses directly.

Generated by ` + "`go generate ./internal/core`" + ` from internal/core (spec_linux_test.go): do not edit.
TestSpecGenerated fails when this file is stale. Standard library only: the reaper loads it.
"""

`)
	py := map[string]bool{"MAGIC": true, "FIXED_HEADER": true, "CREATOR_PID_OFFSET": true, "SHM_DIR": true,
		"FILE_PREFIX": true, "SHM_PREFIX": true, "MAX_SHM_NAME": true, "PERM_BITS": true}
	for _, k := range specConstants {
		if !py[k.name] {
			continue
		}
		delete(py, k.name)
		switch x := k.value.(type) {
		case string:
			if k.name == "MAGIC" {
				fmt.Fprintf(&b, "%s = b%s  # %s\n", k.name, strconv.Quote(x), k.doc)
			} else {
				fmt.Fprintf(&b, "%s = %s  # %s\n", k.name, strconv.Quote(x), k.doc)
			}
		case int64:
			if k.name == "PERM_BITS" {
				fmt.Fprintf(&b, "%s = 0o%o  # %s\n", k.name, x, k.doc)
			} else {
				fmt.Fprintf(&b, "%s = %d  # %s\n", k.name, x, k.doc)
			}
		}
	}
	if len(py) != 0 {
		t.Fatalf("not in specConstants: %v", py)
	}
	fmt.Fprintf(&b, "MSG_BAD_MODE = %s\n", strconv.Quote(MsgModeMustHoldPermissionBitsOnly))
	fmt.Fprintf(&b, "MSG_DIR_REMOVED = %s  # ends the message of a chosen directory removed since\n",
		strconv.Quote(MsgWasRemovedSetDirAgain))
	b.WriteString("\n__all__ = [\n")
	for _, k := range specConstants {
		if strings.Contains(b.String(), "\n"+k.name+" = ") {
			fmt.Fprintf(&b, "    %q,\n", k.name)
		}
	}
	b.WriteString("    \"MSG_BAD_MODE\",\n    \"MSG_DIR_REMOVED\",\n]\n")
	return b.Bytes()
}
