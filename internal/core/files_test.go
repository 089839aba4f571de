//go:build linux

package core

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Array files: the decoders and encoders on the shared vectors of tests/vectors/files, loads into
// /dev/shm, the lock protocol, errors, cancellation and writing.

const filesDir = "../../tests/vectors/files"

// FileVector is one line of tests/vectors/files/MANIFEST.
type FileVector struct {
	File     string
	OK       bool
	Format   int
	Ndim     int
	Shape    []int64
	Itemsize uint64
	Nbytes   uint64
	Fortran  bool
	CRC      uint32
	Descr    string
	EOF      bool // ERR: a truncated file, not a corrupt one
}

func readFileVectors(t testing.TB) []FileVector {
	t.Helper()
	f, err := os.Open(filepath.Join(filesDir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []FileVector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.SplitN(line, " ", 10)
		v := FileVector{File: fields[0], OK: fields[1] == "OK"}
		if !v.OK {
			v.EOF = fields[3] == "EOF"
			out = append(out, v)
			continue
		}
		v.Format = FormatNpio
		if fields[2] == "npy" {
			v.Format = FormatNpy
		}
		v.Ndim, _ = strconv.Atoi(fields[3])
		if fields[4] != "-" {
			for _, d := range strings.Split(fields[4], ",") {
				n, _ := strconv.ParseInt(d, 10, 64)
				v.Shape = append(v.Shape, n)
			}
		}
		v.Itemsize, _ = strconv.ParseUint(fields[5], 10, 64)
		v.Nbytes, _ = strconv.ParseUint(fields[6], 10, 64)
		v.Fortran = fields[7] == "1"
		c, _ := strconv.ParseUint(fields[8], 16, 32)
		v.CRC = uint32(c)
		v.Descr = fields[9]
		out = append(out, v)
	}
	if len(out) < 40 {
		t.Fatalf("only %d file vectors", len(out))
	}
	return out
}

func checkFileHeader(t *testing.T, v FileVector, fh *FileHeader) {
	t.Helper()
	if fh.Format != v.Format || fh.Ndim != v.Ndim || fh.Itemsize != v.Itemsize || fh.DataNbytes != v.Nbytes ||
		fh.Fortran != v.Fortran || string(fh.Descr) != v.Descr {
		t.Fatalf("%s: decoded %+v descr %q, want %+v", v.File, *fh, fh.Descr, v)
	}
	for i, d := range v.Shape {
		if fh.Shape[i] != d {
			t.Fatalf("%s: shape %v, want %v", v.File, fh.Shape[:fh.Ndim], v.Shape)
		}
	}
}

func TestFileVectorsDecode(t *testing.T) {
	for _, v := range readFileVectors(t) {
		raw, err := os.ReadFile(filepath.Join(filesDir, v.File))
		if err != nil {
			t.Fatal(err)
		}
		var fh FileHeader
		canon := make([]byte, 0, MaxDescr)
		st := DecodeFileHeader(raw, uint64(len(raw)), canon, &fh)
		if !v.OK {
			if st.Code != ErrFormat || Truncated(st) != v.EOF {
				t.Errorf("%s: got %v %q errno %v, want FORMAT (EOF %v)", v.File, st.Code, st.Msg, st.Errno, v.EOF)
			}
			continue
		}
		if !st.Ok() {
			t.Fatalf("%s: %v %s", v.File, st.Code, st.Msg)
		}
		checkFileHeader(t, v, &fh)
		if got := crc32.ChecksumIEEE(raw[fh.HeaderLen : fh.HeaderLen+fh.DataNbytes]); got != v.CRC {
			t.Errorf("%s: data crc %08x, want %08x", v.File, got, v.CRC)
		}
		// Every prefix of the header is a truncated file.
		for n := 0; n < int(fh.HeaderLen); n++ {
			st := DecodeFileHeader(raw[:n], uint64(n), canon, &fh)
			if !Truncated(st) {
				t.Fatalf("%s cut to %d bytes: %v %q, want a truncated file", v.File, n, st.Code, st.Msg)
			}
		}
	}
}

// The encoders write the bytes numpy.save and cdxcore.npio.to_file write.
func TestFileHeadersMatchWriters(t *testing.T) {
	buf := make([]byte, MaxHeaderLen)
	for _, v := range readFileVectors(t) {
		if !v.OK || v.File == "npy_v2.npy" || v.File == "npy_v3.npy" {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(filesDir, v.File))
		var fh FileHeader
		if st := DecodeFileHeader(raw, uint64(len(raw)), make([]byte, 0, MaxDescr), &fh); !st.Ok() {
			t.Fatal(st.Msg)
		}
		var n int
		if v.Format == FormatNpy {
			n = EncodeNpyHeader(buf, fh.Descr, fh.Shape[:fh.Ndim], fh.Fortran)
		} else {
			var st Status
			n, st = EncodeNpioHeader(buf, fh.Descr, fh.Shape[:fh.Ndim], false)
			if !st.Ok() {
				t.Fatal(st.Msg)
			}
		}
		if !bytes.Equal(buf[:n], raw[:fh.HeaderLen]) {
			t.Errorf("%s: encoded\n%q\nwant\n%q", v.File, buf[:n], raw[:fh.HeaderLen])
		}
	}
}

func TestNpyHeaderVersions(t *testing.T) {
	buf := make([]byte, MaxHeaderLen)
	long := "[" + strings.Repeat("('"+strings.Repeat("n", 200)+"', '<f8'), ", 0) + "('x', '<f8')]"
	huge := "[('x', '<f8')"
	for i := 0; len(huge) < 65505; i++ {
		huge += fmt.Sprintf(", ('%08d', '<f8')", i)
	}
	huge += "]"
	if len(huge) > MaxDescr || len(huge) < 65500 {
		t.Fatalf("huge descriptor has %d bytes", len(huge))
	}
	for _, c := range []struct {
		descr string
		major byte
	}{{"<f8", 1}, {long, 1}, {huge, 2}, {"[('\xc3\xa9', '<f8')]", 3}} {
		n := EncodeNpyHeader(buf, []byte(c.descr), []int64{2}, false)
		if n == 0 || n%64 != 0 || buf[6] != c.major || buf[n-1] != '\n' {
			t.Fatalf("%.40s: length %d version %d", c.descr, n, buf[6])
		}
		var fh FileHeader
		if st := DecodeFileHeader(buf[:n], uint64(n)+1<<20, make([]byte, 0, MaxDescr), &fh); !st.Ok() || string(fh.Descr) != c.descr {
			t.Fatalf("%.40s: read back %v %s %.40q", c.descr, st.Code, st.Msg, fh.Descr)
		}
	}
}

func TestNpyHeaderRefusals(t *testing.T) {
	good := "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
	for _, c := range []struct{ dict, what string }{
		{good, ""},
		{"{'shape': (3,), 'descr': '<f8', 'fortran_order': False}", ""},
		{`{"descr": "<f8", "fortran_order": True, "shape": (3L, 2L)}`, ""},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", "int, not tuple"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': [3], }", "list"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }", "negative"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (03,), }", "leading zero"},
		{"{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }", "fortran_order not a bool"},
		{"{'descr': '<f8', 'fortran_order': False, }", "no shape"},
		{"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", "key twice"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", "unknown key"},
		{"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "object"},
		{"{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (3,), }", "object field"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } x", "trailing text"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", "huge"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", "overflow"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 0), }", "numpy refuses (2**62, 0) of 8 bytes"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,), }", "a float dimension"},
		{"{'descr': '<f8', 'fortran_order': 'yes', 'shape': (3,), }", "fortran_order a string"},
		{"{'descr': '<f8', 'fortran_order': False, 'fortran_order': True, 'shape': (3,), }", "fortran_order twice"},
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }", "shape twice"},
	} {
		hdr := []byte("\x93NUMPY\x01\x00\x00\x00" + c.dict + "\n")
		hdr[8] = byte(len(c.dict) + 1)
		var fh FileHeader
		st := DecodeFileHeader(hdr, uint64(len(hdr))+1<<20, make([]byte, 0, MaxDescr), &fh)
		if c.what == "" && !st.Ok() {
			t.Errorf("%s: %v %s", c.dict, st.Code, st.Msg)
		}
		if c.what != "" && (st.Code != ErrFormat || Truncated(st)) {
			t.Errorf("%s (%s): got %v %s, want FORMAT", c.dict, c.what, st.Code, st.Msg)
		}
	}
}

func TestNpioEncodeRefusals(t *testing.T) {
	buf := make([]byte, 1024)
	for _, d := range []string{"|u1", ">i4", "<M8[ns]", "|S3", "[('a', '<f8')]"} {
		if _, st := EncodeNpioHeader(buf, []byte(d), []int64{2}, false); st.Code != ErrInvalid {
			t.Errorf("%s: %v", d, st.Code)
		}
	}
	if _, st := EncodeNpioHeader(buf, []byte("<f8"), []int64{2, 3}, true); st.Code != ErrInvalid {
		t.Errorf("fortran 2x3: %v", st.Code)
	}
	if _, st := EncodeNpioHeader(buf, []byte("<f8"), []int64{1, 3}, true); !st.Ok() {
		t.Errorf("fortran 1x3: %v", st.Code)
	}
}

// The longest header of an array the core accepts fits in MaxFileHeader (NPSHM_MAX_FILE_HEADER):
// a descriptor of MaxDescr bytes and 64 dimensions with as many digits as numpy's size rule allows.
func TestMaxFileHeader(t *testing.T) {
	descr := "[('" + strings.Repeat("n", MaxDescr-13) + "', '|b1')]"
	shape := []int64{0}
	for i := 0; i < 63; i++ {
		shape = append(shape, map[bool]int64{true: 10, false: 1}[i < 18])
	}
	var h Header
	if st := h.Describe(shape, []byte(descr), false, make([]byte, 0, MaxDescr)); !st.Ok() || len(h.Descr) != MaxDescr {
		t.Fatalf("Describe: %v %s, descriptor of %d bytes", st.Code, st.Msg, len(h.Descr))
	}
	buf := make([]byte, MaxHeaderLen)
	for _, fortran := range []bool{false, true} {
		n, st := EncodeFileHeader(buf, FormatNpy, h.Descr, h.Shape[:h.Ndim], fortran)
		if !st.Ok() || n > MaxFileHeader || MaxFileHeader > MaxHeaderLen {
			t.Errorf("the longest .npy header has %d bytes (%v %s); MaxFileHeader %d, MaxHeaderLen %d", n, st.Code,
				st.Msg, MaxFileHeader, MaxHeaderLen)
		}
	}
	shape[0] = 1 << 62 // 2**62 * 10**18 overflows: refused
	if st := h.Describe(shape, []byte("?"), false, make([]byte, 0, MaxDescr)); st.Code != ErrInvalid {
		t.Errorf("Describe of an overflowing shape: %v", st.Code)
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]int{"a.npy": FormatNpy, "/d/x.npy": FormatNpy, ".npy": FormatNpy,
		"a.npio": FormatNpio, "a.NPY": FormatNpio, "a.npy.gz": FormatNpio, "npy": FormatNpio, "": FormatNpio} {
		if got := FormatOf([]byte(path)); got != want {
			t.Errorf("FormatOf(%q) = %d, want %d", path, got, want)
		}
	}
}

// testAlloc is the AllocFunc of the ReadFileData tests: a is a *allocRecord.
type allocRecord struct {
	calls int
	rc    int32
	fh    FileHeader
	buf   []byte
}

func testAlloc(fh *FileHeader, a, _ unsafe.Pointer) (unsafe.Pointer, int32) {
	r := (*allocRecord)(a)
	r.calls++
	r.fh = *fh
	if r.rc != 0 {
		return nil, r.rc
	}
	if uint64(cap(r.buf)) < fh.DataNbytes+1 {
		r.buf = make([]byte, fh.DataNbytes+1)
	}
	r.buf = r.buf[:fh.DataNbytes]
	return unsafe.Pointer(unsafe.SliceData(r.buf)), 0
}

// ReadFileData reads every vector as Load does, and refuses the damaged ones before asking for memory.
func TestReadFileDataVectors(t *testing.T) {
	fs := new(FileScratch)
	for _, mode := range []FillMode{FillSerial, FillGoroutines} {
		for _, v := range readFileVectors(t) {
			var r allocRecord
			path := filepath.Join(filesDir, v.File)
			end, st := ReadFileData(fs, cpath(path), 0, testAlloc, unsafe.Pointer(&r), nil, mode)
			if !v.OK {
				if st.Code != ErrFormat || Truncated(st) != v.EOF || r.calls != 0 || end != 0 {
					t.Errorf("%s: %v %s, %d allocs, end %d", v.File, st.Code, st.Msg, r.calls, end)
				}
				continue
			}
			if !st.Ok() || r.calls != 1 {
				t.Fatalf("%s: %v %s, %d allocs", v.File, st.Code, st.Msg, r.calls)
			}
			checkFileHeader(t, v, &r.fh)
			if got := crc32.ChecksumIEEE(r.buf); got != v.CRC {
				t.Errorf("%s: data crc %08x, want %08x", v.File, got, v.CRC)
			}
			if raw, _ := os.ReadFile(path); end != uint64(len(raw)) {
				t.Errorf("%s: end %d, want %d", v.File, end, len(raw))
			}
		}
	}
}

func TestReadFileDataRecordsAndRefusals(t *testing.T) {
	fs := new(FileScratch)
	dir := t.TempDir()
	// Two records one after the other, read from their offsets.
	s := new(Scratch)
	var two []byte
	for _, n := range []int64{3, 5} {
		var h Header
		if st := h.Describe([]int64{n}, []byte("int32"), false, make([]byte, 0, MaxDescr)); !st.Ok() {
			t.Fatal(st.Msg)
		}
		hl, _ := EncodeFileHeader(s.Header[:], FormatNpio, h.Descr, h.Shape[:1], false)
		two = append(two, s.Header[:hl]...)
		for i := int64(0); i < n; i++ {
			two = append(two, byte(10*n+i), 0, 0, 0)
		}
	}
	path := filepath.Join(dir, "two.npio")
	os.WriteFile(path, two, 0o644)
	var r allocRecord
	end, st := ReadFileData(fs, cpath(path), 0, testAlloc, unsafe.Pointer(&r), nil, FillSerial)
	if !st.Ok() || end != 8+8+12 || r.buf[8] != 32 {
		t.Fatalf("first record: %v %s end %d %v", st.Code, st.Msg, end, r.buf)
	}
	end, st = ReadFileData(fs, cpath(path), end, testAlloc, unsafe.Pointer(&r), nil, FillSerial)
	if !st.Ok() || end != uint64(len(two)) || r.buf[16] != 54 || r.fh.Shape[0] != 5 {
		t.Fatalf("second record: %v %s end %d %v", st.Code, st.Msg, end, r.buf)
	}
	// An npio header claiming 1 TiB in a small file: truncated, and no memory asked for.
	huge := append([]byte{0, 0, 0, 16, 1, 0, 0, 1}, 0, 0, 1, 0, 0, 0, 0, 0)
	path = filepath.Join(dir, "huge.npio")
	os.WriteFile(path, append(huge, 1, 2, 3), 0o644)
	r = allocRecord{}
	if _, st := ReadFileData(fs, cpath(path), 0, testAlloc, unsafe.Pointer(&r), nil, FillSerial); !Truncated(st) || r.calls != 0 {
		t.Errorf("1 TiB claimed: %v %q, %d allocs", st.Code, st.Msg, r.calls)
	}
	// The alloc function's refusal is the result; a missing file is NOT_FOUND.
	r = allocRecord{rc: 7}
	if _, st := ReadFileData(fs, cpath(filepath.Join(filesDir, "npy_f8_2d.npy")), 0, testAlloc, unsafe.Pointer(&r), nil, FillSerial); st.Code != 7 {
		t.Errorf("refused by alloc: %v", st.Code)
	}
	if _, st := ReadFileData(fs, cpath(filepath.Join(dir, "missing")), 0, testAlloc, unsafe.Pointer(&r), nil, FillSerial); st.Code != ErrNotFound {
		t.Errorf("missing file: %v", st.Code)
	}
	vector := cpath(filepath.Join(filesDir, "npy_f8_2d.npy"))
	noAllocs(t, "ReadFileData", func() {
		r = allocRecord{buf: r.buf}
		if _, st := ReadFileData(fs, vector, 0, testAlloc, unsafe.Pointer(&r), nil, FillSerial); !st.Ok() {
			t.Fatal(st.Msg)
		}
	})
}

func cpath(p string) []byte { return append([]byte(p), 0) }

// lockLeftovers lists lock files of the test's names.
func checkNoLockFiles(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat("/dev/shm/" + LockPrefix + name); err == nil {
		t.Errorf("lock file of %s left behind", name)
	}
	checkNoLeftovers(t, "/dev/shm")
}

func load(t *testing.T, path, name string, opt LoadOptions) (Mapping, *Scratch, LoadResult, Status) {
	t.Helper()
	s, fs := new(Scratch), new(FileScratch)
	m, _, res, st := Load(s, fs, cpath(path), []byte(name), &opt)
	if st.Ok() {
		t.Cleanup(func() { Unmap(m) })
	}
	return m, s, res, st
}

func TestLoadVectors(t *testing.T) {
	for _, mode := range []FillMode{FillSerial, FillGoroutines} {
		for _, v := range readFileVectors(t) {
			name := testName(t)
			m, s, res, st := load(t, filepath.Join(filesDir, v.File), name, LoadOptions{Fill: mode})
			if !v.OK {
				if st.Code != ErrFormat || Truncated(st) != v.EOF {
					t.Errorf("%s: %v %s", v.File, st.Code, st.Msg)
				}
				if _, err := os.Stat("/dev/shm/" + name); err == nil {
					t.Errorf("%s: refused, but an array was left", v.File)
				}
				checkNoLockFiles(t, name)
				continue
			}
			if !st.Ok() || res.Attached {
				t.Fatalf("%s: %v %s attached %v", v.File, st.Code, st.Msg, res.Attached)
			}
			h := &s.Hdr
			fh := FileHeader{Format: v.Format, Ndim: h.Ndim, Shape: h.Shape, Descr: h.Descr, Itemsize: h.Itemsize,
				Fortran: h.Fortran(), DataNbytes: h.DataNbytes}
			checkFileHeader(t, v, &fh)
			data := m.Bytes()[h.DataOffset : h.DataOffset+h.DataNbytes]
			if got := crc32.ChecksumIEEE(data); got != v.CRC {
				t.Errorf("%s: loaded data crc %08x, want %08x", v.File, got, v.CRC)
			}
			raw, _ := os.ReadFile(filepath.Join(filesDir, v.File))
			if res.End != uint64(len(raw)) {
				t.Errorf("%s: end %d, want %d", v.File, res.End, len(raw))
			}
			checkNoLockFiles(t, name)
			// A second load attaches.
			m2, _, res, st := load(t, filepath.Join(filesDir, v.File), name, LoadOptions{ReadOnly: true})
			if !st.Ok() || !res.Attached || !m2.ReadOnly {
				t.Fatalf("%s: second load %v %s attached %v", v.File, st.Code, st.Msg, res.Attached)
			}
		}
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.npio")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// npioFile makes an npio file of float64 values 0, 1, 2... of the given length.
func npioFile(t *testing.T, n int) string {
	t.Helper()
	buf := make([]byte, 16+8*n)
	EncodeNpioHeader(buf, []byte("<f8"), []int64{int64(n)}, false)
	for i := range n {
		*(*float64)(unsafe.Pointer(&buf[16+8*i])) = float64(i)
	}
	return writeTemp(t, buf)
}

func TestLoadErrors(t *testing.T) {
	path := npioFile(t, 1000)
	name := testName(t)
	check := func(what string, st Status, code Code) {
		t.Helper()
		if st.Code != code {
			t.Errorf("%s: got %v %s, want %v", what, st.Code, st.Msg, code)
		}
		if _, err := os.Stat("/dev/shm/" + name); err == nil && code != OK {
			t.Errorf("%s: an array was left", what)
		}
		checkNoLockFiles(t, name)
	}
	_, _, _, st := load(t, filepath.Join(t.TempDir(), "missing.npio"), name, LoadOptions{})
	check("missing file", st, ErrNotFound)
	_, _, _, st = load(t, t.TempDir(), name, LoadOptions{})
	check("directory", st, ErrInvalid)
	_, _, _, st = load(t, path, name, LoadOptions{ExpectShape: true, Shape: []int64{999}})
	check("shape mismatch", st, ErrMismatch)
	_, _, _, st = load(t, path, name, LoadOptions{ExpectDtype: []byte("float32")})
	check("dtype mismatch", st, ErrMismatch)
	_, _, _, st = load(t, path, name, LoadOptions{ExpectDtype: []byte("nonsense")})
	check("bad dtype", st, ErrInvalid)
	_, _, _, st = load(t, path, "a/b", LoadOptions{})
	if st.Code != ErrInvalid {
		t.Errorf("bad name: %v", st.Code)
	}
	var one int32 = 1
	_, _, _, st = load(t, path, name, LoadOptions{Cancel: unsafe.Pointer(&one)})
	check("cancelled", st, ErrIO)
	if st.Errno != unix.EINTR {
		t.Errorf("cancelled: errno %v", st.Errno)
	}
	// With both expectations the file is not read when the array exists.
	_, _, _, st = load(t, path, name, LoadOptions{ExpectShape: true, Shape: []int64{1000}, ExpectDtype: []byte("<f8")})
	check("expected", st, OK)
	_, _, res, st := load(t, filepath.Join(t.TempDir(), "gone"), name, LoadOptions{ExpectShape: true, Shape: []int64{1000}, ExpectDtype: []byte("<f8")})
	if !st.Ok() || !res.Attached || res.End != 0 {
		t.Errorf("attach without the file: %v %s %+v", st.Code, st.Msg, res)
	}
	// An existing array must match the file, or the expectations.
	_, _, _, st = load(t, npioFile(t, 10), name, LoadOptions{})
	if st.Code != ErrMismatch {
		t.Errorf("existing array of another shape: %v", st.Code)
	}
	_, _, _, st = load(t, path, name, LoadOptions{Exclusive: true})
	if st.Code != ErrExists {
		t.Errorf("exclusive: %v", st.Code)
	}
	Delete(new(Scratch), []byte(name))
	m, _, res, st := load(t, path, name, LoadOptions{Exclusive: true, HasMode: true, Mode: 0o640})
	if !st.Ok() || res.Attached {
		t.Fatalf("exclusive load: %v %s", st.Code, st.Msg)
	}
	if fi, _ := os.Stat("/dev/shm/" + name); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	Unmap(m)
}

// Of many loaders at once exactly one reads the file; the others attach the complete array.
func TestLoadConcurrent(t *testing.T) {
	const n = 1 << 20
	path := npioFile(t, n)
	for round := range 5 {
		name := testName(t)
		var loaded atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, fs := new(Scratch), new(FileScratch)
				m, _, res, st := Load(s, fs, cpath(path), []byte(name), &LoadOptions{Fill: FillGoroutines})
				if !st.Ok() {
					t.Errorf("round %d: %v %s", round, st.Code, st.Msg)
					return
				}
				defer Unmap(m)
				if !res.Attached {
					loaded.Add(1)
				}
				vals := unsafe.Slice((*float64)(unsafe.Add(m.Ptr(), s.Hdr.DataOffset)), n)
				for i := n - 1; i >= 0; i -= 4093 {
					if vals[i] != float64(i) {
						t.Errorf("round %d: element %d is %v: attached a partly filled array", round, i, vals[i])
						return
					}
				}
			}()
		}
		wg.Wait()
		if loaded.Load() != 1 {
			t.Errorf("round %d: %d loaders read the file, want 1", round, loaded.Load())
		}
		checkNoLockFiles(t, name)
	}
}

// A lock file left by a dead loader does not stop the next one.
func TestLoadStaleLock(t *testing.T) {
	path := npioFile(t, 10)
	name := testName(t)
	lock := "/dev/shm/" + LockPrefix + name
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, res, st := load(t, path, name, LoadOptions{})
	if !st.Ok() || res.Attached {
		t.Fatalf("%v %s", st.Code, st.Msg)
	}
	checkNoLockFiles(t, name)
}

func TestLockPath(t *testing.T) {
	s := new(Scratch)
	buf := make([]byte, 0, MaxPath+320)
	for _, c := range []struct{ name, want string }{
		{"x", "/dev/shm/.npshm-lock-x"},
		{"file://d/e/f.seg", "d/e/.npshm-lock-f.seg"},
		{"file://f.seg", ".npshm-lock-f.seg"},
		{strings.Repeat("a", 243), "/dev/shm/.npshm-lock-" + strings.Repeat("a", 243)},
		{strings.Repeat("a", 244), "/dev/shm/.npshm-lock-" + strings.Repeat("a", 200) + "~32328a6cbf27a409"},
	} {
		tg, st := ResolveName([]byte(c.name), s.Path[:0:len(s.Path)])
		if !st.Ok() {
			t.Fatal(st.Msg)
		}
		got := LockPath(tg, buf)
		if string(got) != c.want+"\x00" {
			t.Errorf("%.20s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	s, fs := new(Scratch), new(FileScratch)
	dir := t.TempDir()
	for _, v := range readFileVectors(t) {
		if !v.OK {
			continue
		}
		name := testName(t)
		m, _, _, st := Load(s, fs, cpath(filepath.Join(filesDir, v.File)), []byte(name), &LoadOptions{})
		if !st.Ok() {
			t.Fatal(st.Msg)
		}
		h := s.Hdr
		data := unsafe.Add(m.Ptr(), h.DataOffset)
		raw, _ := os.ReadFile(filepath.Join(filesDir, v.File))
		for _, format := range []int{FormatNpio, FormatNpy} {
			out := filepath.Join(dir, "out")
			st := WriteFile(s, fs, cpath(out), &h, data, format)
			if format == FormatNpio && NpioCode(h.Descr) < 0 || format == FormatNpio && v.Fortran {
				if st.Code != ErrInvalid {
					t.Errorf("%s as npio: %v", v.File, st.Code)
				}
				continue
			}
			if !st.Ok() {
				t.Fatalf("%s: %v %s", v.File, st.Code, st.Msg)
			}
			got, _ := os.ReadFile(out)
			if format == v.Format && v.File != "npy_v2.npy" && v.File != "npy_v3.npy" && !bytes.Equal(got, raw) {
				t.Errorf("%s: written file differs from the original", v.File)
			}
			var fh FileHeader
			if st := DecodeFileHeader(got, uint64(len(got)), make([]byte, 0, MaxDescr), &fh); !st.Ok() {
				t.Fatalf("%s: %s", v.File, st.Msg)
			}
			if crc32.ChecksumIEEE(got[fh.HeaderLen:]) != v.CRC {
				t.Errorf("%s: written data differs", v.File)
			}
		}
		Unmap(m)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*npshm-tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
	if st := WriteFile(s, fs, cpath(filepath.Join(dir, "missing", "x.npy")), &Header{Descr: []byte("<f8"), Itemsize: 8}, nil, FormatNpy); st.Code != ErrNotFound {
		t.Errorf("missing directory: %v", st.Code)
	}
}

func TestLoadZeroAllocs(t *testing.T) {
	creationModes(t, func(t *testing.T) {
		s, fs := new(Scratch), new(FileScratch)
		path := cpath(npioFile(t, 5000))
		missing := cpath(filepath.Join(t.TempDir(), "missing"))
		name := []byte(testName(t))
		out := cpath(filepath.Join(t.TempDir(), "out.npy"))
		expect := []byte("float64")
		shape := []int64{5000}
		noAllocs(t, "Load+Delete", func() {
			m, _, _, st := Load(s, fs, path, name, &LoadOptions{ExpectDtype: expect, ExpectShape: true, Shape: shape})
			if !st.Ok() {
				t.Fatal(st.Msg)
			}
			Unmap(m)
			Delete(s, name)
		})
		m, _, _, _ := Load(s, fs, path, name, &LoadOptions{})
		h := s.Hdr
		noAllocs(t, "Load attaching", func() {
			m, _, _, st := Load(s, fs, path, name, &LoadOptions{ReadOnly: true})
			if !st.Ok() {
				t.Fatal(st.Msg)
			}
			Unmap(m)
		})
		int8 := []byte("int8")
		noAllocs(t, "Load failing", func() {
			Load(s, fs, missing, name, &LoadOptions{Exclusive: true})
			Load(s, fs, path, name, &LoadOptions{ExpectDtype: int8})
		})
		noAllocs(t, "WriteFile", func() {
			if st := WriteFile(s, fs, out, &h, unsafe.Add(m.Ptr(), h.DataOffset), FormatNpy); !st.Ok() {
				t.Fatal(st.Msg)
			}
		})
		Unmap(m)
		Delete(s, name)
	})
}

// FuzzDecodeFileHeader: hostile file headers never crash the decoder, and what it accepts is
// consistent.
func FuzzDecodeFileHeader(f *testing.F) {
	for _, v := range readFileVectors(f) {
		raw, _ := os.ReadFile(filepath.Join(filesDir, v.File))
		f.Add(raw[:min(len(raw), 512)], uint64(len(raw)))
	}
	canon := make([]byte, 0, MaxDescr)
	f.Fuzz(func(t *testing.T, buf []byte, avail uint64) {
		var fh FileHeader
		st := DecodeFileHeader(buf, avail, canon, &fh)
		if !st.Ok() {
			if st.Code != ErrFormat {
				t.Fatalf("refused with %v", st.Code)
			}
			return
		}
		if fh.HeaderLen > avail || fh.HeaderLen > uint64(len(buf)) || avail-fh.HeaderLen < fh.DataNbytes {
			t.Fatalf("accepted an impossible record: %+v in %d bytes", fh, avail)
		}
		if _, _, st := NormalizeDtype(fh.Descr, make([]byte, 0, MaxDescr)); !st.Ok() {
			t.Fatalf("accepted an invalid descriptor %q", fh.Descr)
		}
	})
}
