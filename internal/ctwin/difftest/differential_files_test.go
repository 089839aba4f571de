//go:build linux && cgo

package difftest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/npshm/npshm/internal/core"
)

// The C twin's array files (internal/ctwin) against the Go core's (internal/core/fileformat.go,
// load_linux.go): the same decoding of every file vector and of fuzzed headers, the same lock file
// names, the same .npy headers, and identical arrays loaded from the same files.

const filesDir = "../../../tests/vectors/files"

func fileVectors(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(filesDir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			out = append(out, strings.Fields(l)[0])
		}
	}
	return out
}

// compareDecoders decodes buf with both and fails on any difference.
func compareDecoders(t *testing.T, what string, buf []byte, avail uint64) {
	var gh, ch core.FileHeader
	st := core.DecodeFileHeader(buf, avail, make([]byte, 0, core.MaxDescr), &gh)
	code, msg, eof := CDecodeFileHeader(buf, avail, &ch, make([]byte, core.MaxDescr+1))
	if int(st.Code) != code || (code != 0 && (msg != st.Msg || eof != core.Truncated(st))) {
		t.Fatalf("%s: Go %v %q (eof %v), C %d %q (eof %v)", what, st.Code, st.Msg, core.Truncated(st), code, msg, eof)
	}
	if code != 0 {
		return
	}
	if gh.Format != ch.Format || gh.Ndim != ch.Ndim || gh.Shape != ch.Shape || !bytes.Equal(gh.Descr, ch.Descr) ||
		gh.Itemsize != ch.Itemsize || gh.Fortran != ch.Fortran || gh.HeaderLen != ch.HeaderLen || gh.DataNbytes != ch.DataNbytes {
		t.Fatalf("%s: Go %+v %q, C %+v %q", what, gh, gh.Descr, ch, ch.Descr)
	}
}

func TestCDecodeFileHeaderMatchesGo(t *testing.T) {
	for _, f := range fileVectors(t) {
		raw, err := os.ReadFile(filepath.Join(filesDir, f))
		if err != nil {
			t.Fatal(err)
		}
		compareDecoders(t, f, raw, uint64(len(raw)))
		for n := 0; n < min(len(raw), 200); n++ {
			compareDecoders(t, fmt.Sprintf("%s[:%d]", f, n), raw[:n], uint64(n))
		}
	}
}

func FuzzCFileHeaderMatchesGo(f *testing.F) {
	for _, v := range fileVectors(f) {
		raw, _ := os.ReadFile(filepath.Join(filesDir, v))
		f.Add(raw[:min(len(raw), 512)], uint64(len(raw)))
	}
	// What fuzzing found in the core's decoder (internal/core/testdata/fuzz/FuzzDecodeFileHeader):
	// a buffer holding fewer bytes (1) than the file has (5).
	f.Add([]byte("0"), uint64(5))
	f.Fuzz(func(t *testing.T, buf []byte, avail uint64) {
		compareDecoders(t, "fuzz", buf, avail)
	})
}

func TestCLockPathMatchesGo(t *testing.T) {
	buf := make([]byte, 0, core.MaxPath+320)
	s := new(core.Scratch)
	for _, name := range []string{"x", "/x", "shm://x", "file://d/e/f.seg", "file://f.seg", "file:///abs/f",
		strings.Repeat("a", 243), strings.Repeat("b", 244), strings.Repeat("c", 255)} {
		tg, st := core.ResolveName([]byte(name), s.Path[:0:len(s.Path)])
		if !st.Ok() {
			t.Fatal(st.Msg)
		}
		g := core.LockPath(tg, buf)
		c, ok := CLockPath(name)
		if !ok || string(g) != c+"\x00" {
			t.Errorf("%.30s: Go %q, C %q", name, g, c)
		}
	}
}

func TestCEncodeNpyHeaderMatchesGo(t *testing.T) {
	buf := make([]byte, core.MaxHeaderLen)
	for _, c := range []struct {
		descr   string
		shape   []int64
		fortran bool
	}{
		{"<f8", nil, false}, {"|u1", []int64{7}, false}, {"<f4", []int64{3, 5}, true},
		{"[('x', '<f4'), ('y', '<i8', (3,))]", []int64{12345678901, 2}, false},
		{"[('\xc3\xa9', '<f8')]", []int64{2}, false},
	} {
		n := core.EncodeNpyHeader(buf, []byte(c.descr), c.shape, c.fortran)
		if got := CEncodeNpyHeader(c.descr, c.shape, c.fortran); !bytes.Equal(got, buf[:n]) {
			t.Errorf("%s: Go %q, C %q", c.descr, buf[:n], got)
		}
	}
}

var diffCounter atomic.Int64

// Loading the same file with the Go core and with the C path gives the same array.
func TestCReadFileMatchesGo(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, fs := new(core.Scratch), new(core.FileScratch)
	for _, f := range fileVectors(t) {
		path := filepath.Join(filesDir, f)
		gname := fmt.Sprintf("npshm-gotest-cfiles-%d-%d", os.Getpid(), diffCounter.Add(1))
		cname := gname + "-c"
		t.Cleanup(func() { os.Remove("/dev/shm/" + gname); os.Remove("/dev/shm/" + cname) })
		m, _, _, st := core.Load(s, fs, append([]byte(path), 0), []byte(gname), &core.LoadOptions{})
		ch, cdata, attached, rc := CReadFile(path, cname, 0)
		if int(st.Code) != rc {
			t.Fatalf("%s: Go %v %s, C %d %s", f, st.Code, st.Msg, rc, LastError())
		}
		if rc != 0 {
			msg := LastError()
			want := string(st.AppendMessage(make([]byte, 0, 1024), "npshm_read_file", []byte(cname)))
			if msg != want {
				t.Errorf("%s: C says %q, Go %q", f, msg, want)
			}
			continue
		}
		gh := s.Hdr
		gdata := m.Bytes()[gh.DataOffset : gh.DataOffset+gh.DataNbytes]
		if attached || gh.Ndim != ch.Ndim || gh.Shape != ch.Shape || !bytes.Equal(gh.Descr, ch.Descr) ||
			gh.Fortran() != ch.Fortran() || !bytes.Equal(gdata, cdata) {
			t.Errorf("%s: the C path loaded another array", f)
		}
		// Each attaches the other's.
		if _, _, att, rc := CReadFile(path, gname, 0); rc != 0 || !att {
			t.Errorf("%s: C path did not attach the Go core's array: %d", f, rc)
		}
		m2, _, res, st := core.Load(s, fs, append([]byte(path), 0), []byte(cname), &core.LoadOptions{})
		if !st.Ok() || !res.Attached {
			t.Errorf("%s: Go core did not attach the C path's array: %s", f, st.Msg)
		}
		core.Unmap(m2)
		core.Unmap(m)
	}
}
