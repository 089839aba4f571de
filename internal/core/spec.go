package core

import "syscall"

// The one source of every constant and table the C twin shares with the core: the limits and
// format constants (declared beside the code that uses them, and listed in specConstants), and the
// tables below. `go generate ./internal/core` writes them for C, into internal/ctwin/spec.h and
// spec.c; TestSpecGenerated fails when those files are stale, and TestConstantsMatchHeader
// (internal/capi) when the hand-documented public header include/npshm.h disagrees. Python takes
// its constants from the C header through its extension (python/npshm/_native.c), so it has no
// copy to keep.
//
//go:generate go test -run TestSpecGenerated -args -update

// codeNames names the status codes as include/npshm.h does, indexed by -code.
var codeNames = [...]string{"NPSHM_OK", "NPSHM_ERR_EXISTS", "NPSHM_ERR_NOT_FOUND", "NPSHM_ERR_INVALID",
	"NPSHM_ERR_NO_SPACE", "NPSHM_ERR_FORMAT", "NPSHM_ERR_MISMATCH", "NPSHM_ERR_PERMISSION", "NPSHM_ERR_IO"}

// unknownCodeName is the name of any other value.
const unknownCodeName = "unknown npshm status"

// errnoCodes maps the errnos of failed system calls to status codes; any other errno is ErrIO.
var errnoCodes = [...]struct {
	errno syscall.Errno
	code  Code
}{
	{syscall.EEXIST, ErrExists},
	{syscall.ENOENT, ErrNotFound}, {syscall.ENOTDIR, ErrNotFound},
	{syscall.ENOSPC, ErrNoSpace}, {syscall.EDQUOT, ErrNoSpace},
	{syscall.EACCES, ErrPermission}, {syscall.EPERM, ErrPermission}, {syscall.EROFS, ErrPermission},
	{syscall.ENAMETOOLONG, ErrInvalid}, {syscall.EISDIR, ErrInvalid},
}

// memErrnoCodes maps the errnos of msync, mlock and munlock to status codes; any other is ErrIO.
var memErrnoCodes = [...]struct {
	errno syscall.Errno
	code  Code
}{
	{syscall.EACCES, ErrPermission}, {syscall.EPERM, ErrPermission},
	{syscall.ENOMEM, ErrNoSpace}, {syscall.EAGAIN, ErrNoSpace},
	{syscall.EINVAL, ErrInvalid},
}

// codeOfErrno is the status code of a failed system call's errno.
func codeOfErrno(errno syscall.Errno) Code {
	for _, e := range errnoCodes {
		if e.errno == errno {
			return e.code
		}
	}
	return ErrIO
}

// dtypeKind is a simple dtype's kind and size.
type dtypeKind struct {
	kind byte
	size int64
}

// dtypeCharCodes maps numpy's one-character type codes (as on 64-bit Linux) to kind and size.
var dtypeCharCodes = [...]struct {
	code byte
	dtypeKind
}{
	{'?', dtypeKind{'b', 1}}, {'b', dtypeKind{'i', 1}}, {'B', dtypeKind{'u', 1}},
	{'h', dtypeKind{'i', 2}}, {'H', dtypeKind{'u', 2}}, {'i', dtypeKind{'i', 4}},
	{'I', dtypeKind{'u', 4}}, {'l', dtypeKind{'i', 8}}, {'q', dtypeKind{'i', 8}},
	{'p', dtypeKind{'i', 8}}, {'L', dtypeKind{'u', 8}}, {'Q', dtypeKind{'u', 8}},
	{'P', dtypeKind{'u', 8}}, {'e', dtypeKind{'f', 2}}, {'f', dtypeKind{'f', 4}},
	{'d', dtypeKind{'f', 8}}, {'g', dtypeKind{'f', 16}}, {'F', dtypeKind{'c', 8}},
	{'D', dtypeKind{'c', 16}}, {'G', dtypeKind{'c', 32}}, {'M', dtypeKind{'M', 8}},
	{'m', dtypeKind{'m', 8}},
}

// dtypeAliases maps numpy's type names to kind and size.
var dtypeAliases = [...]struct {
	name string
	dtypeKind
}{
	{"bool", dtypeKind{'b', 1}}, {"bool_", dtypeKind{'b', 1}}, {"bool8", dtypeKind{'b', 1}},
	{"int8", dtypeKind{'i', 1}}, {"byte", dtypeKind{'i', 1}},
	{"int16", dtypeKind{'i', 2}}, {"short", dtypeKind{'i', 2}},
	{"int32", dtypeKind{'i', 4}}, {"intc", dtypeKind{'i', 4}},
	{"int64", dtypeKind{'i', 8}}, {"int", dtypeKind{'i', 8}}, {"int_", dtypeKind{'i', 8}},
	{"intp", dtypeKind{'i', 8}}, {"long", dtypeKind{'i', 8}}, {"longlong", dtypeKind{'i', 8}},
	{"uint8", dtypeKind{'u', 1}}, {"ubyte", dtypeKind{'u', 1}},
	{"uint16", dtypeKind{'u', 2}}, {"ushort", dtypeKind{'u', 2}},
	{"uint32", dtypeKind{'u', 4}}, {"uintc", dtypeKind{'u', 4}},
	{"uint64", dtypeKind{'u', 8}}, {"uint", dtypeKind{'u', 8}}, {"uintp", dtypeKind{'u', 8}},
	{"ulong", dtypeKind{'u', 8}}, {"ulonglong", dtypeKind{'u', 8}},
	{"float16", dtypeKind{'f', 2}}, {"half", dtypeKind{'f', 2}},
	{"float32", dtypeKind{'f', 4}}, {"single", dtypeKind{'f', 4}},
	{"float64", dtypeKind{'f', 8}}, {"float", dtypeKind{'f', 8}}, {"double", dtypeKind{'f', 8}},
	{"float_", dtypeKind{'f', 8}},
	{"float128", dtypeKind{'f', 16}}, {"longdouble", dtypeKind{'f', 16}},
	{"complex64", dtypeKind{'c', 8}}, {"csingle", dtypeKind{'c', 8}},
	{"complex128", dtypeKind{'c', 16}}, {"complex", dtypeKind{'c', 16}},
	{"cdouble", dtypeKind{'c', 16}}, {"complex_", dtypeKind{'c', 16}},
	{"complex256", dtypeKind{'c', 32}}, {"clongdouble", dtypeKind{'c', 32}},
}

// objectDtypes are the spellings of numpy's object dtype, which no segment or file may hold.
var objectDtypes = [...]string{"O", "|O", "<O", ">O", "=O", "O8", "|O8", "<O8", ">O8", "object",
	"object_", "object0"}

// datetimeUnits are numpy's units of datetime64 and timedelta64.
var datetimeUnits = [...]string{"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"}

// npioDescr maps an npio dtype code to its canonical descriptor. npio stores datetime64 and
// timedelta64 without a unit: they read as the generic unit, which is the dtype cdxcore's own
// header decoder gives them.
var npioDescr = [...]string{"|b1", "|i1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "<f2", "<f4",
	"<f8", "<c8", "<c16", "<M8", "<m8"}

// saTypes maps numpy's type numbers of fixed-size types to canonical descriptors. The first entry of
// a descriptor is the number a writer stores (numpy's own for int64 and uint64 on LP64 Linux: NPY_LONG,
// NPY_ULONG).
var saTypes = [...]struct {
	num, size int32
	descr     string
}{
	{0, 1, "|b1"}, {1, 1, "|i1"}, {2, 1, "|u1"}, {3, 2, "<i2"}, {4, 2, "<u2"}, {5, 4, "<i4"}, {6, 4, "<u4"},
	{7, 8, "<i8"}, {8, 8, "<u8"}, {9, 8, "<i8"}, {10, 8, "<u8"}, {11, 4, "<f4"}, {12, 8, "<f8"},
	{14, 8, "<c8"}, {15, 16, "<c16"}, {21, 8, "<M8"}, {22, 8, "<m8"}, {23, 2, "<f2"},
}

// pauseNames are the values of NPSHM_TEST_PAUSE, indexed by point (testhook_linux.go).
var pauseNames = [...]string{"", "create-publish", "replace-rename", "load", "write"}

// The flags of the C ABI, as include/npshm.h defines them (TestConstantsMatchHeader in
// internal/capi checks the hand-documented header), and the sets each function takes.
const (
	FlagReadOnly      = 0x1
	FlagReplace       = 0x2
	FlagFortranArg    = 0x4 // NPSHM_FORTRAN (FlagFortran is the segment header's flag)
	FlagExclusive     = 0x10
	FlagNpy           = 0x20
	FlagNpio          = 0x40
	FlagAcceptForeign = 0x80
	FlagNoReserve     = 0x400
	FlagHasMode       = 0x8000
	// NPSHM_FORMAT_*: a create's segment format (peers.go), the values of Header.Format.
	FlagFormatSharedArray = SegSharedArray
	FlagFormatCdxcore     = SegCdxcore
	FormatFlags           = FlagFormatSharedArray | FlagFormatCdxcore
	ModeShift             = 16
	ModeMask              = 0xffff << ModeShift // NPSHM_MODE passes every bit up to 0177777, for CheckMode to refuse
	CreateFlags           = FlagReplace | FlagFortranArg | FlagNoReserve | FlagHasMode | FormatFlags | ModeMask
	AttachFlags           = FlagReadOnly
	ReadFlags             = FlagReadOnly | FlagExclusive | FlagAcceptForeign | FlagHasMode | ModeMask
	DataFlags             = FlagFortranArg | FlagNpy | FlagNpio
)

// The longest string arguments the C ABI takes: a name ("file://" and a path) and a dtype.
const (
	MaxNameArg  = len(filePrefix) + MaxPath + 1
	MaxDtypeArg = 2 * MaxDescr
)
