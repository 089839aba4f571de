/* The C path: docs/FORMAT.md implemented in C for processes made by fork(), where the Go runtime
 * cannot be entered (docs/DESIGN.md, "Fork"). It follows internal/core rule for rule, with the same
 * status codes and messages; the differential tests (internal/ctwin/difftest, the shared vectors,
 * and the contract tests run in a forked child) keep the two equal. Only libc and system calls. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "npshm.h"
#include "npshm_shim.h"
#include "ctwin.h"

/* ---- fork detection ---- */

static atomic_int forked;
static void on_fork_child(void) { atomic_store(&forked, 1); }
__attribute__((constructor)) static void register_fork_handler(void) {
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}
int npshm__in_forked_child(void) { return atomic_load_explicit(&forked, memory_order_relaxed); }

/* ---- crash-test hook (internal/core/testhook.go): NPSHM_TEST_PAUSE, read once at load ---- */

enum { PAUSE_NONE, PAUSE_CREATE_PUBLISH, PAUSE_REPLACE_RENAME, PAUSE_LOAD };
static int pause_at;
__attribute__((constructor)) static void read_pause_point(void) {
    static const char *const names[] = {"", "create-publish", "replace-rename", "load"};
    const char *v = getenv("NPSHM_TEST_PAUSE");
    for (int i = 1; v != NULL && i < (int)(sizeof names / sizeof *names); i++)
        if (strcmp(v, names[i]) == 0) pause_at = i;
}
/* Stops the process with SIGSTOP if NPSHM_TEST_PAUSE named this point. */
static void test_pause(int point) {
    if (__builtin_expect(pause_at == point, 0)) kill(getpid(), SIGSTOP);
}

/* ---- limits and format constants (more in ctwin.h) ---- */

#define MIN_DATA_ALIGN 64
#define MAX_ITEMSIZE (1LL << 40)
#define MAX_DEPTH 16
#define FLAG_FORTRAN 1
#define RESERVED_PREFIX ".npshm-" /* internal/core/name.go reservedPrefix */
#define CREATE_FLAGS (NPSHM_REPLACE | NPSHM_FORTRAN | NPSHM_HAS_MODE | (07777u << 16))

int npshm__report(status s, const char *op, const char *name) {
    char what[256];
    if (s.has_num)
        snprintf(what, sizeof what, "%s %lld", s.msg, s.num);
    else
        snprintf(what, sizeof what, "%s", s.msg);
    return npshm__fail(s.code, s.errnum, op, name, what);
}

/* ---- CRC-32 (IEEE) ---- */

static uint32_t crc_table[256];
__attribute__((constructor)) static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}
uint32_t npshm__crc32(const unsigned char *b, size_t n) {
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ b[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

/* ---- dtype descriptors (internal/core/dtype.go) ---- */

typedef struct parser {
    const char *in;
    size_t len, pos;
    char *out;
    size_t olen, ocap;
    int overflow;
    char last_kind; /* kind of the dtype parsed last: a simple kind, or '[' for a structured one */
} parser;

static void emitn(parser *p, const char *s, size_t n) {
    if (p->olen + n > p->ocap) { p->overflow = 1; return; }
    memcpy(p->out + p->olen, s, n);
    p->olen += n;
}
static void emit(parser *p, const char *s) { emitn(p, s, strlen(s)); }
static void emitc(parser *p, char c) { emitn(p, &c, 1); }
static void emit_int(parser *p, long long v) { char b[24]; int n = snprintf(b, sizeof b, "%lld", v); emitn(p, b, (size_t)n); }
static int at(const parser *p) { return p->pos < p->len ? (unsigned char)p->in[p->pos] : 0; }
static void skip_space(parser *p) {
    while (p->pos < p->len && (p->in[p->pos] == ' ' || p->in[p->pos] == '\t' || p->in[p->pos] == '\n'))
        p->pos++;
}
static int expect(parser *p, char c) { skip_space(p); if (at(p) != c) return 0; p->pos++; return 1; }
static int eq(const char *s, size_t n, const char *lit) { return strlen(lit) == n && memcmp(s, lit, n) == 0; }

static int is_object(const char *s, size_t n) {
    static const char *const names[] = {"O", "|O", "<O", ">O", "=O", "O8", "|O8", "<O8", ">O8",
                                        "object", "object_", "object0"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (eq(s, n, names[i])) return 1;
    return 0;
}

static int char_code(char c, char *kind, long long *size) {
    switch (c) {
    case '?': *kind = 'b'; *size = 1; return 1;
    case 'b': *kind = 'i'; *size = 1; return 1;
    case 'B': *kind = 'u'; *size = 1; return 1;
    case 'h': *kind = 'i'; *size = 2; return 1;
    case 'H': *kind = 'u'; *size = 2; return 1;
    case 'i': *kind = 'i'; *size = 4; return 1;
    case 'I': *kind = 'u'; *size = 4; return 1;
    case 'l': case 'q': case 'p': *kind = 'i'; *size = 8; return 1;
    case 'L': case 'Q': case 'P': *kind = 'u'; *size = 8; return 1;
    case 'e': *kind = 'f'; *size = 2; return 1;
    case 'f': *kind = 'f'; *size = 4; return 1;
    case 'd': *kind = 'f'; *size = 8; return 1;
    case 'g': *kind = 'f'; *size = 16; return 1;
    case 'F': *kind = 'c'; *size = 8; return 1;
    case 'D': *kind = 'c'; *size = 16; return 1;
    case 'G': *kind = 'c'; *size = 32; return 1;
    case 'M': *kind = 'M'; *size = 8; return 1;
    case 'm': *kind = 'm'; *size = 8; return 1;
    }
    return 0;
}

static int alias(const char *s, size_t n, char *kind, long long *size) {
    static const struct { const char *name; char kind; int size; } table[] = {
        {"bool", 'b', 1}, {"bool_", 'b', 1}, {"bool8", 'b', 1},
        {"int8", 'i', 1}, {"byte", 'i', 1}, {"int16", 'i', 2}, {"short", 'i', 2},
        {"int32", 'i', 4}, {"intc", 'i', 4}, {"int64", 'i', 8}, {"int", 'i', 8}, {"int_", 'i', 8},
        {"intp", 'i', 8}, {"long", 'i', 8}, {"longlong", 'i', 8},
        {"uint8", 'u', 1}, {"ubyte", 'u', 1}, {"uint16", 'u', 2}, {"ushort", 'u', 2},
        {"uint32", 'u', 4}, {"uintc", 'u', 4}, {"uint64", 'u', 8}, {"uint", 'u', 8},
        {"uintp", 'u', 8}, {"ulong", 'u', 8}, {"ulonglong", 'u', 8},
        {"float16", 'f', 2}, {"half", 'f', 2}, {"float32", 'f', 4}, {"single", 'f', 4},
        {"float64", 'f', 8}, {"float", 'f', 8}, {"double", 'f', 8}, {"float_", 'f', 8},
        {"float128", 'f', 16}, {"longdouble", 'f', 16},
        {"complex64", 'c', 8}, {"csingle", 'c', 8}, {"complex128", 'c', 16}, {"complex", 'c', 16},
        {"cdouble", 'c', 16}, {"complex_", 'c', 16}, {"complex256", 'c', 32}, {"clongdouble", 'c', 32},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (eq(s, n, table[i].name)) { *kind = table[i].kind; *size = table[i].size; return 1; }
    return 0;
}

static int valid_unit(const char *u, size_t n) {
    if (n < 3 || u[0] != '[' || u[n - 1] != ']') return 0;
    u++; n -= 2;
    size_t i = 0;
    while (i < n && u[i] >= '0' && u[i] <= '9') i++;
    if (i > 9 || (i > 0 && u[0] == '0')) return 0;
    static const char *const units[] = {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"};
    for (size_t k = 0; k < sizeof units / sizeof *units; k++)
        if (eq(u + i, n - i, units[k])) return 1;
    return 0;
}

static status emit_simple(parser *p, char order, char kind, long long size, const char *unit,
                          size_t unit_len, long long *itemsize) {
    *itemsize = kind == 'U' ? 4 * size : size;
    if (*itemsize == 1 || kind == 'S' || kind == 'V') order = '|';
    emitc(p, order);
    emitc(p, kind);
    emit_int(p, size);
    emitn(p, unit, unit_len);
    p->last_kind = kind;
    return OK_STATUS;
}

static int parse_decimal(const char *s, size_t n, long long *v) {
    if (n == 0 || n > 12) return 0;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 1;
}

static status datetime(parser *p, char order, char kind, const char *unit, size_t n, long long *itemsize) {
    if (n > 0 && !valid_unit(unit, n))
        return st_fail(NPSHM_ERR_INVALID, "unknown datetime64/timedelta64 unit");
    if (n > 2 && unit[1] == '1' && (unit[2] < '0' || unit[2] > '9')) {
        /* numpy drops a multiplier of 1: "M8[1s]" is "<M8[s]". */
        status s = emit_simple(p, order, kind, 8, NULL, 0, itemsize);
        emitc(p, '[');
        emitn(p, unit + 2, n - 2);
        return s;
    }
    return emit_simple(p, order, kind, 8, unit, n, itemsize);
}

static status simple(parser *p, const char *s, size_t n, long long *itemsize) {
    if (n == 0) return st_fail(NPSHM_ERR_INVALID, "empty dtype");
    if (is_object(s, n)) return st_fail(NPSHM_ERR_INVALID, "object dtypes cannot be shared between processes");
    if (n >= 10 && memcmp(s, "datetime64", 10) == 0) return datetime(p, '<', 'M', s + 10, n - 10, itemsize);
    if (n >= 11 && memcmp(s, "timedelta64", 11) == 0) return datetime(p, '<', 'm', s + 11, n - 11, itemsize);
    char kind;
    long long size;
    if (alias(s, n, &kind, &size)) return emit_simple(p, '<', kind, size, NULL, 0, itemsize);
    char order = '<';
    int explicit_order = 0;
    switch (s[0]) {
    case '<': case '=': case '|': s++; n--; explicit_order = 1; break;
    case '>': order = '>'; s++; n--; explicit_order = 1; break;
    }
    if (n == 0) return st_fail(NPSHM_ERR_INVALID, "dtype has a byte order but no type");
    kind = s[0];
    const char *rest = s + 1;
    size_t rn = n - 1;
    if (rn == 0 && !explicit_order && char_code(kind, &kind, &size))
        return emit_simple(p, order, kind, size, NULL, 0, itemsize);
    if (kind == 'M' || kind == 'm') {
        if (rn == 0 || rest[0] != '8') return st_fail(NPSHM_ERR_INVALID, "datetime64/timedelta64 dtypes must have size 8");
        return datetime(p, order, kind, rest + 1, rn - 1, itemsize);
    }
    if (!parse_decimal(rest, rn, &size)) return st_fail(NPSHM_ERR_INVALID, "unknown dtype");
    switch (kind) {
    case 'b':
        if (size != 1) return st_fail(NPSHM_ERR_INVALID, "bool dtype must have size 1");
        break;
    case 'i': case 'u':
        if (size != 1 && size != 2 && size != 4 && size != 8)
            return st_num(NPSHM_ERR_INVALID, "integer dtype size must be 1, 2, 4 or 8, not", size);
        break;
    case 'f':
        if (size != 2 && size != 4 && size != 8 && size != 16)
            return st_num(NPSHM_ERR_INVALID, "float dtype size must be 2, 4, 8 or 16, not", size);
        break;
    case 'c':
        if (size != 8 && size != 16 && size != 32)
            return st_num(NPSHM_ERR_INVALID, "complex dtype size must be 8, 16 or 32, not", size);
        break;
    case 'S': case 'a': case 'V':
        if (size == 0) return st_fail(NPSHM_ERR_INVALID, "string and void dtypes need a size (e.g. S8)");
        if (kind == 'a') kind = 'S';
        break;
    case 'U':
        if (size == 0) return st_fail(NPSHM_ERR_INVALID, "unicode dtypes need a length (e.g. U8)");
        if (size > MAX_ITEMSIZE / 4) return st_fail(NPSHM_ERR_INVALID, "unicode dtype too long");
        break;
    default:
        return st_fail(NPSHM_ERR_INVALID, "unknown dtype");
    }
    return emit_simple(p, order, kind, size, NULL, 0, itemsize);
}

static status parse_any(parser *p, int depth, long long *itemsize);

/* string_char decodes the character of a string literal at in[i] (a byte or an escape: \\ \' \"
 * \t \n \r \xHH below \x80) into *c and returns the index after it, or 0 for an unknown escape. */
static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 16;
}
static size_t string_char(const char *in, size_t len, size_t i, unsigned char *c) {
    if (in[i] != '\\') { *c = (unsigned char)in[i]; return i + 1; }
    if (i + 1 >= len) return 0;
    switch (in[i + 1]) {
    case '\\': case '\'': case '"': *c = (unsigned char)in[i + 1]; return i + 2;
    case 't': *c = '\t'; return i + 2;
    case 'n': *c = '\n'; return i + 2;
    case 'r': *c = '\r'; return i + 2;
    case 'x':
        if (i + 3 < len) {
            int hi = hex_digit(in[i + 2]), lo = hex_digit(in[i + 3]);
            if (hi < 8 && lo < 16) { *c = (unsigned char)(hi << 4 | lo); return i + 4; }
        }
    }
    return 0;
}

/* copy_string reads a Python string literal (a field name or title) and emits it as Python's repr
 * spells it (internal/core/dtype.go, copyString); *empty tells whether the string is empty. */
static status copy_string(parser *p, int *empty) {
    int q = at(p);
    if (q != '\'' && q != '"') return st_fail(NPSHM_ERR_INVALID, "expected a quoted field name in a structured dtype");
    int single = 0, dbl = 0;
    size_t end = p->pos + 1;
    for (;;) {
        if (end >= p->len) return st_fail(NPSHM_ERR_INVALID, "unterminated field name in a structured dtype");
        if ((unsigned char)p->in[end] == q) break;
        unsigned char c;
        size_t next = string_char(p->in, p->len, end, &c);
        if (next == 0) return st_fail(NPSHM_ERR_INVALID, "unsupported escape in a structured dtype field name");
        single |= c == '\'';
        dbl |= c == '"';
        end = next;
    }
    char quote = single && !dbl ? '"' : '\'';
    emitc(p, quote);
    for (size_t i = p->pos + 1; i < end;) {
        unsigned char c;
        i = string_char(p->in, p->len, i, &c);
        if (c == '\\' || c == (unsigned char)quote) { emitc(p, '\\'); emitc(p, (char)c); }
        else if (c == '\t') emit(p, "\\t");
        else if (c == '\n') emit(p, "\\n");
        else if (c == '\r') emit(p, "\\r");
        else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            emit(p, "\\x");
            emitc(p, hex[c >> 4]);
            emitc(p, hex[c & 15]);
        } else emitc(p, (char)c);
    }
    emitc(p, quote);
    if (empty) *empty = end == p->pos + 1;
    p->pos = end + 1;
    return OK_STATUS;
}

static int parse_uint(parser *p, long long *v) {
    size_t start = p->pos;
    long long n = 0;
    while (p->pos < p->len && p->in[p->pos] >= '0' && p->in[p->pos] <= '9') {
        n = n * 10 + (p->in[p->pos] - '0');
        if (n > MAX_ITEMSIZE) return 0;
        p->pos++;
    }
    *v = n;
    return p->pos > start;
}

/* parse_subshape parses a sub-array shape: *count_out gets the element count, *shaped whether it
 * makes a sub-array (an empty tuple does not). */
static status parse_subshape(parser *p, long long *count_out, int *shaped) {
    long long n;
    if (at(p) != '(') {
        if (!parse_uint(p, &n)) return st_fail(NPSHM_ERR_INVALID, "expected a sub-array shape in a structured dtype field");
        emit(p, ", (");
        emit_int(p, n);
        emit(p, ",)");
        *count_out = n;
        *shaped = 1;
        return OK_STATUS;
    }
    p->pos++;
    long long count = 1;
    int dims = 0;
    size_t start = p->olen;
    int overflow = p->overflow;
    emit(p, ", (");
    for (;;) {
        skip_space(p);
        if (at(p) == ')') { p->pos++; break; }
        if (dims > 0) {
            if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, "expected ',' in a sub-array shape");
            skip_space(p);
            if (at(p) == ')') { p->pos++; break; }
            emit(p, ", ");
        }
        if (!parse_uint(p, &n)) return st_fail(NPSHM_ERR_INVALID, "bad sub-array dimension in a structured dtype field");
        emit_int(p, n);
        dims++;
        if (dims > MAX_NDIM) return st_fail(NPSHM_ERR_INVALID, "sub-array shape has too many dimensions");
        if (n != 0 && count > MAX_ITEMSIZE / n) return st_fail(NPSHM_ERR_INVALID, "sub-array shape too large");
        count *= n;
    }
    if (dims == 0) { /* an empty shape: take back the ", (" and whether it overflowed */
        if (p->olen > start) p->olen = start;
        p->overflow = overflow;
    } else if (dims == 1) {
        emit(p, ",)");
    } else {
        emitc(p, ')');
    }
    *count_out = count;
    *shaped = dims > 0;
    return OK_STATUS;
}

/* parse_field parses one field; *pad tells whether it is padding, as numpy.lib.format.descr_to_dtype
 * decides: an empty name and a void type, that is a plain void or any sub-array. */
static status parse_field(parser *p, int depth, long long *itemsize, int *pad) {
    status s;
    int unnamed = 0;
    if (!expect(p, '(')) return st_fail(NPSHM_ERR_INVALID, "expected '(' to open a structured dtype field");
    emitc(p, '(');
    skip_space(p);
    if (at(p) == '(') {
        p->pos++;
        emitc(p, '(');
        skip_space(p);
        if ((s = copy_string(p, NULL)).code) return s;
        if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, "expected ',' in a (title, name) pair");
        emit(p, ", ");
        skip_space(p);
        if ((s = copy_string(p, NULL)).code) return s;
        if (!expect(p, ')')) return st_fail(NPSHM_ERR_INVALID, "expected ')' after a (title, name) pair");
        emitc(p, ')');
    } else if ((s = copy_string(p, &unnamed)).code) {
        return s;
    }
    if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, "expected ',' after a structured dtype field name");
    emit(p, ", ");
    skip_space(p);
    long long size;
    if ((s = parse_any(p, depth + 1, &size)).code) return s;
    int is_void = p->last_kind == 'V';
    skip_space(p);
    if (at(p) == ',') {
        p->pos++;
        skip_space(p);
        if (at(p) != ')') {
            long long count;
            int shaped = 0;
            if ((s = parse_subshape(p, &count, &shaped)).code) return s;
            is_void |= shaped;
            if (count != 0 && size > MAX_ITEMSIZE / count) return st_fail(NPSHM_ERR_INVALID, "structured dtype field too large");
            size *= count;
        }
    }
    if (!expect(p, ')')) return st_fail(NPSHM_ERR_INVALID, "expected ')' to close a structured dtype field");
    emitc(p, ')');
    *itemsize = size;
    *pad = unnamed && is_void;
    return OK_STATUS;
}

/* parse_struct parses a structured dtype. Padding is emitted as numpy spells it: one ('', '|Vn')
 * field for each run of padding fields, and none for padding of zero bytes. */
static status parse_struct(parser *p, int depth, long long *itemsize) {
    p->pos++;
    emitc(p, '[');
    long long total = 0, pad_size = 0;
    int first = 1, fields = 0; /* fields: in the output so far */
    size_t pad_start = (size_t)-1; /* the padding field emitted last, if the last one is padding */
    for (;;) {
        skip_space(p);
        if (at(p) == ']') { p->pos++; break; }
        if (!first) {
            if (!expect(p, ',')) return st_fail(NPSHM_ERR_INVALID, "expected ',' between structured dtype fields");
            skip_space(p);
            if (at(p) == ']') { p->pos++; break; }
        }
        first = 0;
        size_t sep_start = p->olen;
        if (fields > 0) emit(p, ", ");
        size_t field_start = p->olen;
        long long size;
        int pad = 0;
        status s = parse_field(p, depth, &size, &pad);
        if (s.code) return s;
        total += size;
        if (total > MAX_ITEMSIZE) return st_fail(NPSHM_ERR_INVALID, "structured dtype too large");
        if (!pad) { pad_start = (size_t)-1; fields++; continue; }
        if (size == 0) { /* no bytes: no field */
            if (sep_start <= p->olen) p->olen = sep_start;
            continue;
        }
        if (pad_start != (size_t)-1) {
            field_start = pad_start; /* merge with the padding before */
            size += pad_size;
        } else {
            fields++;
        }
        if (field_start <= p->olen) p->olen = field_start;
        emit(p, "('', '|V");
        emit_int(p, size);
        emit(p, "')");
        pad_start = field_start;
        pad_size = size;
    }
    emitc(p, ']');
    p->last_kind = '[';
    *itemsize = total;
    return OK_STATUS;
}

static status parse_any(parser *p, int depth, long long *itemsize) {
    if (depth > MAX_DEPTH) return st_fail(NPSHM_ERR_INVALID, "structured dtype nested too deeply");
    int c = at(p);
    if (c == '[') return parse_struct(p, depth, itemsize);
    if (c == '\'' || c == '"') {
        size_t end = p->pos + 1;
        while (end < p->len && p->in[end] != c) end++;
        if (end >= p->len) return st_fail(NPSHM_ERR_INVALID, "unterminated string in dtype");
        emitc(p, '\'');
        status s = simple(p, p->in + p->pos + 1, end - p->pos - 1, itemsize);
        emitc(p, '\'');
        p->pos = end + 1;
        return s;
    }
    size_t end = p->pos;
    while (end < p->len && p->in[end] != ' ' && p->in[end] != '\t' && p->in[end] != '\n') end++;
    /* Inside a structured dtype an unquoted type is taken, and written quoted as numpy writes it. */
    if (depth > 0) emitc(p, '\'');
    status s = simple(p, p->in + p->pos, end - p->pos, itemsize);
    if (depth > 0) emitc(p, '\'');
    p->pos = end;
    return s;
}

/* normalize writes the canonical descriptor (not NUL-terminated) into out[0..*olen). */
static status normalize(const char *in, size_t len, char *out, size_t cap, size_t *olen, long long *itemsize) {
    parser p = {in, len, 0, out, 0, cap, 0, 0};
    skip_space(&p);
    if (at(&p) == '\'' || at(&p) == '"') /* numpy refuses "'<f8'" as well */
        return st_fail(NPSHM_ERR_INVALID, "a dtype is quoted only inside a structured dtype");
    status s = parse_any(&p, 0, itemsize);
    if (s.code) return s;
    skip_space(&p);
    if (p.pos != p.len) return st_num(NPSHM_ERR_INVALID, "unexpected text in dtype at offset", (long long)p.pos);
    if (p.overflow) return st_fail(NPSHM_ERR_INVALID, "dtype descriptor too long");
    *olen = p.olen;
    return OK_STATUS;
}

int npshm__c_normalize_dtype(const char *in, size_t len, char *out, size_t cap, int64_t *itemsize, const char **err) {
    size_t olen = 0;
    long long size = 0;
    status s = normalize(in, len, out, cap > 0 ? cap - 1 : 0, &olen, &size);
    if (s.code) { *err = s.msg; return s.code; }
    out[olen] = 0;
    *itemsize = size;
    return 0;
}

/* ---- header (internal/core/header.go) ---- */

status npshm__shape_bytes(const int64_t *shape, int ndim, uint64_t itemsize, uint64_t *out) {
    int zero = itemsize == 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return st_num(NPSHM_ERR_INVALID, "dimensions must not be negative, got", (long long)shape[i]);
        if (shape[i] == 0) zero = 1;
    }
    if (zero) { *out = 0; return OK_STATUS; }
    uint64_t n = itemsize;
    for (int i = 0; i < ndim; i++) {
        if ((uint64_t)shape[i] > MAX_NBYTES / n) return st_fail(NPSHM_ERR_INVALID, "array too large: its size in bytes overflows");
        n *= (uint64_t)shape[i];
    }
    *out = n;
    return OK_STATUS;
}

static status decode_header(const unsigned char *buf, size_t len, uint64_t seg, header *h, char *scratch) {
    if (len < FIXED_HEADER + 4 || seg < FIXED_HEADER + 4) return st_fail(NPSHM_ERR_FORMAT, "not an npshm array: segment too short for a header");
    if (memcmp(buf, "NPSHMARR", 8) != 0) return st_fail(NPSHM_ERR_FORMAT, "not an npshm array: bad magic");
    uint16_t version = get16(buf + 8);
    if (version != 1) return st_num(NPSHM_ERR_FORMAT, "unsupported npshm format version", version);
    h->flags = get16(buf + 10);
    if (h->flags & ~FLAG_FORTRAN) return st_num(NPSHM_ERR_FORMAT, "unknown header flags", h->flags);
    h->header_len = get32(buf + 12);
    uint32_t ndim = get32(buf + 40), descr_len = get32(buf + 44);
    if (ndim > MAX_NDIM) return st_num(NPSHM_ERR_FORMAT, "corrupt header: ndim too large:", ndim);
    if (descr_len == 0 || descr_len > MAX_DESCR) return st_num(NPSHM_ERR_FORMAT, "corrupt header: bad descriptor length", descr_len);
    if ((uint64_t)h->header_len != FIXED_HEADER + 8ull * ndim + descr_len) return st_fail(NPSHM_ERR_FORMAT, "corrupt header: inconsistent header length");
    size_t end = h->header_len;
    if (len < end + 4 || seg < end + 4) return st_fail(NPSHM_ERR_FORMAT, "corrupt header: segment shorter than its header");
    if (npshm__crc32(buf, end) != get32(buf + end)) return st_fail(NPSHM_ERR_FORMAT, "corrupt header: checksum mismatch");
    h->data_offset = get64(buf + 16);
    h->data_nbytes = get64(buf + 24);
    h->itemsize = get64(buf + 32);
    h->ndim = (int)ndim;
    h->creator_pid = get32(buf + 48);
    h->created_ns = (int64_t)get64(buf + 56);
    for (int i = 0; i < h->ndim; i++) h->shape[i] = (int64_t)get64(buf + FIXED_HEADER + 8 * i);
    h->descr = (const char *)buf + FIXED_HEADER + 8 * ndim;
    h->descr_len = descr_len;
    size_t olen;
    long long itemsize;
    status s = normalize(h->descr, h->descr_len, scratch, MAX_DESCR, &olen, &itemsize);
    if (s.code) return st_fail(NPSHM_ERR_FORMAT, "segment holds an invalid dtype descriptor");
    if (olen != h->descr_len || memcmp(scratch, h->descr, olen) != 0) return st_fail(NPSHM_ERR_FORMAT, "segment holds a non-canonical dtype descriptor");
    if ((uint64_t)itemsize != h->itemsize) return st_fail(NPSHM_ERR_FORMAT, "corrupt header: itemsize does not match the dtype");
    uint64_t nbytes;
    if (npshm__shape_bytes(h->shape, h->ndim, h->itemsize, &nbytes).code) return st_fail(NPSHM_ERR_FORMAT, "corrupt header: bad shape");
    if (nbytes != h->data_nbytes) return st_fail(NPSHM_ERR_FORMAT, "corrupt header: data size does not match shape and dtype");
    if (h->data_offset % MIN_DATA_ALIGN != 0 || h->data_offset < end + 4 || h->data_offset > MAX_NBYTES)
        return st_fail(NPSHM_ERR_FORMAT, "corrupt header: bad data offset");
    if (seg < h->data_offset + h->data_nbytes) return st_fail(NPSHM_ERR_FORMAT, "corrupt segment: shorter than the array it claims to hold");
    return OK_STATUS;
}

int npshm__c_check_header(const unsigned char *buf, size_t len, uint64_t seg_size, const char **err) {
    header h;
    char *scratch = malloc(MAX_DESCR);
    if (scratch == NULL) { *err = "out of memory"; return NPSHM_ERR_NO_SPACE; }
    status s = decode_header(buf, len, seg_size, &h, scratch);
    free(scratch);
    if (s.code) { *err = s.msg; return s.code; }
    return 0;
}

/* ---- names (internal/core/name.go) ---- */

status npshm__resolve(const char *name, target *t) {
    size_t n = strlen(name);
    if (n >= 7 && memcmp(name, "file://", 7) == 0) {
        const char *rest = name + 7;
        size_t rn = n - 7;
        if (rn == 0) return st_fail(NPSHM_ERR_INVALID, "file:// name has an empty path");
        if (rn > MAX_PATH_LEN) return st_fail(NPSHM_ERR_INVALID, "file:// path too long");
        if (rest[rn - 1] == '/') return st_fail(NPSHM_ERR_INVALID, "file:// path names a directory");
        memcpy(t->path, rest, rn + 1);
        const char *slash = strrchr(rest, '/');
        t->dir = slash ? (size_t)(slash - rest) + 1 : 0;
        if (strncmp(rest + t->dir, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
            return st_fail(NPSHM_ERR_INVALID, "names starting with .npshm- are reserved for npshm's own files");
        t->display = name;
        t->is_file = 1;
        return OK_STATUS;
    }
    if (n >= 6 && memcmp(name, "shm://", 6) == 0) { name += 6; n -= 6; }
    if (n > 0 && name[0] == '/') { name++; n--; }
    if (n == 0) return st_fail(NPSHM_ERR_INVALID, "name is empty");
    if (n > MAX_SHM_NAME) return st_num(NPSHM_ERR_INVALID, "name longer than 255 bytes:", (long long)n);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return st_fail(NPSHM_ERR_INVALID, "name may not be '.' or '..'");
    if (memchr(name, '/', n)) return st_fail(NPSHM_ERR_INVALID, "name contains '/'");
    if (strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0)
        return st_fail(NPSHM_ERR_INVALID, "names starting with .npshm- are reserved for npshm's own files");
    memcpy(t->path, "/dev/shm/", 9);
    memcpy(t->path + 9, name, n + 1);
    t->dir = 9;
    t->display = name;
    t->is_file = 0;
    return OK_STATUS;
}

/* ---- operations (internal/core/ops_linux.go) ---- */

static _Atomic unsigned long temp_counter;

static void temp_name(char *buf, size_t cap, const char *dir) {
    snprintf(buf, cap, "%s" TEMP_PREFIX "%d-%lu", dir, (int)getpid(), atomic_fetch_add(&temp_counter, 1) + 1);
}

static void dir_of(const target *t, char *dir, size_t cap) {
    if (t->dir == 0)
        snprintf(dir, cap, "./");
    else
        snprintf(dir, cap, "%.*s", (int)t->dir, t->path);
}

npshm_array *npshm__make_handle(void *base, const header *h, const char *display) {
    npshm_array *a = npshm__handle_new(h->descr_len, strlen(display));
    if (a == NULL) return NULL;
    a->base = base;
    a->maplen = h->data_offset + h->data_nbytes;
    a->data = (char *)base + h->data_offset;
    a->nbytes = h->data_nbytes;
    a->itemsize = h->itemsize;
    a->ndim = h->ndim;
    a->fortran = (h->flags & FLAG_FORTRAN) != 0;
    memcpy(a->shape, h->shape, sizeof(int64_t) * (size_t)h->ndim);
    memcpy(a->dtype, h->descr, h->descr_len);
    strcpy(a->name, display);
    return a;
}

status npshm__segment_new(const target *t, header *h, unsigned flags, unsigned char *hbuf, segment *seg) {
    h->header_len = (uint32_t)(FIXED_HEADER + 8 * h->ndim + h->descr_len);
    h->data_offset = ((uint64_t)h->header_len + 4 + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    h->creator_pid = (uint32_t)getpid();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

    memcpy(hbuf, "NPSHMARR", 8);
    put16(hbuf + 8, 1);
    put16(hbuf + 10, h->flags);
    put32(hbuf + 12, h->header_len);
    put64(hbuf + 16, h->data_offset);
    put64(hbuf + 24, h->data_nbytes);
    put64(hbuf + 32, h->itemsize);
    put32(hbuf + 40, (uint32_t)h->ndim);
    put32(hbuf + 44, (uint32_t)h->descr_len);
    put32(hbuf + 48, h->creator_pid);
    put32(hbuf + 52, 0);
    put64(hbuf + 56, (uint64_t)h->created_ns);
    for (int i = 0; i < h->ndim; i++) put64(hbuf + FIXED_HEADER + 8 * i, (uint64_t)h->shape[i]);
    memcpy(hbuf + FIXED_HEADER + 8 * h->ndim, h->descr, h->descr_len);
    put32(hbuf + h->header_len, npshm__crc32(hbuf, h->header_len));
    size_t hlen = h->header_len + 4;
    seg->size = h->data_offset + h->data_nbytes;
    seg->base = MAP_FAILED;
    seg->named = 0;
    seg->tmp[0] = 0;

    dir_of(t, seg->dir, sizeof seg->dir);
    static atomic_int proc_ok; /* 0 unknown, 1 yes, 2 no: can /proc/self/fd publish O_TMPFILE files? */
    seg->fd = open(seg->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (seg->fd >= 0 && atomic_load(&proc_ok) == 0)
        atomic_store(&proc_ok, access("/proc/self/fd", X_OK) == 0 ? 1 : 2);
    if (seg->fd >= 0 && atomic_load(&proc_ok) == 2) {
        close(seg->fd);
        seg->fd = -1;
        errno = EOPNOTSUPP;
    }
    if (seg->fd < 0) {
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            return st_sys(errno, "cannot create the array's directory entry");
        for (int i = 0; i < 100 && seg->fd < 0; i++) {
            temp_name(seg->tmp, sizeof seg->tmp, seg->dir);
            seg->fd = open(seg->tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
            if (seg->fd < 0 && errno != EEXIST) return st_sys(errno, "cannot create a temporary file");
        }
        if (seg->fd < 0) return st_fail(NPSHM_ERR_IO, "cannot find a free temporary name");
        seg->named = 1;
    }
    status s;
    if ((flags & NPSHM_HAS_MODE) && fchmod(seg->fd, (flags >> 16) & 07777) != 0) {
        s = st_sys(errno, "cannot set the mode");
        goto fail;
    }
    int e;
    while ((e = fallocate(seg->fd, 0, 0, (off_t)seg->size)) != 0 && errno == EINTR) {}
    if (e != 0) {
        if (!(t->is_file && (errno == EOPNOTSUPP || errno == ENOSYS))) {
            s = st_sys(errno, "cannot reserve memory for the array");
            goto fail;
        }
        if (ftruncate(seg->fd, (off_t)seg->size) != 0) {
            s = st_sys(errno, "cannot size the file");
            goto fail;
        }
    }
    seg->base = mmap(NULL, seg->size, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
    if (seg->base == MAP_FAILED) {
        s = st_sys(errno, "cannot map the array");
        goto fail;
    }
    memcpy(seg->base, hbuf, hlen);
    return OK_STATUS;
fail:
    npshm__segment_drop(seg);
    return s;
}

status npshm__segment_link(const target *t, segment *seg) {
    if (!seg->named) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", seg->fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, t->path, AT_SYMLINK_FOLLOW) != 0)
            return errno == EEXIST ? (status){NPSHM_ERR_EXISTS, EEXIST, "an array of that name exists", 0, 0}
                                   : st_sys(errno, "cannot publish the array under its name");
        return OK_STATUS;
    }
    if (link(seg->tmp, t->path) != 0)
        return errno == EEXIST ? (status){NPSHM_ERR_EXISTS, EEXIST, "an array of that name exists", 0, 0}
                               : st_sys(errno, "cannot publish the array under its name");
    unlink(seg->tmp);
    seg->tmp[0] = 0;
    return OK_STATUS;
}

void npshm__segment_drop(segment *seg) {
    if (seg->named && seg->tmp[0]) unlink(seg->tmp);
    if (seg->base != MAP_FAILED) munmap(seg->base, seg->size);
    close(seg->fd);
}

static status c_create(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                       npshm_init_fn init, void *ctx, npshm_array **out, char *descr, unsigned char *hbuf) {
    target t;
    status s = npshm__resolve(name, &t);
    if (s.code) return s;
    header h;
    memset(&h, 0, sizeof h);
    size_t dlen;
    long long itemsize;
    if ((s = normalize(dtype, strlen(dtype), descr, MAX_DESCR, &dlen, &itemsize)).code) return s;
    h.ndim = ndim;
    memcpy(h.shape, shape, sizeof(int64_t) * (size_t)ndim);
    h.itemsize = (uint64_t)itemsize;
    h.descr = descr;
    h.descr_len = dlen;
    h.flags = (flags & NPSHM_FORTRAN) ? FLAG_FORTRAN : 0;
    if ((s = npshm__shape_bytes(h.shape, ndim, h.itemsize, &h.data_nbytes)).code) return s;
    segment seg;
    if ((s = npshm__segment_new(&t, &h, flags, hbuf, &seg)).code) return s;
    if (init != NULL) {
        int r = init((char *)seg.base + h.data_offset, (size_t)h.data_nbytes, ctx);
        if (r != 0) {
            s = (status){r, 0, "the init function abandoned the array", 0, 0};
            goto fail;
        }
    }
    test_pause(PAUSE_CREATE_PUBLISH);
    if (!(flags & NPSHM_REPLACE)) {
        if ((s = npshm__segment_link(&t, &seg)).code) goto fail;
    } else {
        if (!seg.named) {
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", seg.fd);
            int linked = 0;
            for (int i = 0; i < 100 && !linked; i++) {
                temp_name(seg.tmp, sizeof seg.tmp, seg.dir);
                if (linkat(AT_FDCWD, proc, AT_FDCWD, seg.tmp, AT_SYMLINK_FOLLOW) == 0)
                    linked = 1;
                else if (errno != EEXIST) {
                    s = st_sys(errno, "cannot name the new array");
                    seg.tmp[0] = 0;
                    goto fail;
                }
            }
            if (!linked) { s = st_fail(NPSHM_ERR_IO, "cannot find a free temporary name"); seg.tmp[0] = 0; goto fail; }
            seg.named = 1; /* so that a failed rename removes the temporary name */
        }
        test_pause(PAUSE_REPLACE_RENAME);
        if (rename(seg.tmp, t.path) != 0) { s = st_sys(errno, "cannot replace the array"); goto fail; }
    }
    close(seg.fd);
    npshm_array *a = npshm__make_handle(seg.base, &h, t.display);
    if (a == NULL) {
        munmap(seg.base, seg.size);
        unlink(t.path);
        return (status){NPSHM_ERR_NO_SPACE, ENOMEM, "out of memory", 0, 0};
    }
    *out = a;
    return OK_STATUS;
fail:
    npshm__segment_drop(&seg);
    return s;
}

/* read_header stats fd and reads and validates its header into h (pointing into hbuf). */
static status read_header(int fd, struct stat *st, header *h, unsigned char *hbuf, char *scratch) {
    if (fstat(fd, st) != 0) return st_sys(errno, "cannot stat the array");
    if (!S_ISREG(st->st_mode)) return st_fail(NPSHM_ERR_FORMAT, "not an npshm array: not a regular file");
    uint64_t size = (uint64_t)st->st_size;
    size_t want = size < DATA_ALIGN ? (size_t)size : DATA_ALIGN;
    ssize_t n = pread(fd, hbuf, want, 0);
    if (n < 0) return st_sys(errno, "cannot read the array's header");
    if (n >= FIXED_HEADER && memcmp(hbuf, "NPSHMARR", 8) == 0) {
        uint32_t hl = get32(hbuf + 12);
        size_t need = (size_t)hl + 4;
        if (hl >= FIXED_HEADER && need <= MAX_HEADER && need > (size_t)n && need <= size) {
            n = pread(fd, hbuf, need, 0);
            if (n < 0) return st_sys(errno, "cannot read the array's header");
        }
    }
    return decode_header(hbuf, (size_t)n, size, h, scratch);
}

static status c_attach(const char *name, unsigned flags, int expect_geom, int ndim, const int64_t *shape,
                       const char *dtype, npshm_array **out, char *descr, unsigned char *hbuf) {
    target t;
    status s = npshm__resolve(name, &t);
    if (s.code) return s;
    int ro = (flags & NPSHM_READONLY) != 0;
    int fd = open(t.path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return (status){NPSHM_ERR_NOT_FOUND, ENOENT, "no array of that name", 0, 0};
        return st_sys(errno, "cannot open the array");
    }
    struct stat st;
    header h;
    s = read_header(fd, &st, &h, hbuf, descr);
    if (s.code) { close(fd); return s; }
    uint64_t size = h.data_offset + h.data_nbytes;
    void *base = mmap(NULL, size, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);
    if (base == MAP_FAILED) return st_sys(map_errno, "cannot map the array");
    if (expect_geom) {
        if (ndim >= 0) {
            if (ndim != h.ndim) s = st_num(NPSHM_ERR_MISMATCH, "array has a different number of dimensions:", h.ndim);
            for (int i = 0; !s.code && i < ndim; i++)
                if (shape[i] != h.shape[i]) s = st_num(NPSHM_ERR_MISMATCH, "array has a different size in dimension", i);
        }
        if (!s.code && dtype != NULL) {
            size_t dlen;
            long long itemsize;
            s = normalize(dtype, strlen(dtype), descr, MAX_DESCR, &dlen, &itemsize);
            if (!s.code && (dlen != h.descr_len || memcmp(descr, h.descr, dlen) != 0))
                s = st_fail(NPSHM_ERR_MISMATCH, "array has a different dtype");
        }
        if (s.code) { munmap(base, size); return s; }
    }
    npshm_array *a = npshm__make_handle(base, &h, t.display);
    if (a == NULL) {
        munmap(base, size);
        return (status){NPSHM_ERR_NO_SPACE, ENOMEM, "out of memory", 0, 0};
    }
    a->readonly = ro;
    *out = a;
    return OK_STATUS;
}

/* Working memory of one C-path operation, like the Go core's Scratch: a descriptor and a header. */
typedef struct work {
    char descr[MAX_DESCR + 1];
    unsigned char hbuf[MAX_HEADER];
} work;

/* npshm_create_init's C path; init NULL is npshm_create. */
__attribute__((visibility("hidden"))) int npshm__c_create_init(const char *name, int ndim, const int64_t *shape,
                                                               const char *dtype, unsigned flags,
                                                               npshm_init_fn init, void *ctx, npshm_array **out);
int npshm__c_create(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                    npshm_array **out) {
    return npshm__c_create_init(name, ndim, shape, dtype, flags, NULL, NULL, out);
}

int npshm__c_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype, unsigned flags,
                         npshm_init_fn init, void *ctx, npshm_array **out) {
    const char *op = init ? "npshm_create_init" : "npshm_create";
    if (name == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, "name is NULL or too long");
    if (out == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "out is NULL");
    if (ndim < 0 || ndim > MAX_NDIM) return npshm__report(st_num(NPSHM_ERR_INVALID, "ndim must be between 0 and 64, not", ndim), op, name);
    if (ndim > 0 && shape == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "shape is NULL");
    if (flags & ~CREATE_FLAGS) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "unknown flags (NPSHM_READONLY applies to attach only)");
    if (dtype == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "dtype is NULL or too long");
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, name, "out of memory");
    status s = c_create(name, ndim, shape, dtype, flags, init, ctx, out, w->descr, w->hbuf);
    free(w);
    return s.code ? npshm__report(s, op, name) : NPSHM_OK;
}

int npshm__c_attach(const char *name, unsigned flags, int expect_geom, int ndim, const int64_t *shape,
                    const char *dtype, npshm_array **out) {
    const char *op = expect_geom ? "npshm_attach_expect" : "npshm_attach";
    if (name == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, "name is NULL or too long");
    if (out == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "out is NULL");
    if (flags & ~NPSHM_READONLY) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "unknown flags (only NPSHM_READONLY applies to attach)");
    if (expect_geom && (ndim < -1 || ndim > MAX_NDIM))
        return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "expected ndim must be -1 (any) or between 0 and 64");
    if (expect_geom && ndim > 0 && shape == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, name, "expected shape is NULL");
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, name, "out of memory");
    status s = c_attach(name, flags, expect_geom, ndim, shape, expect_geom ? dtype : NULL, out, w->descr, w->hbuf);
    free(w);
    return s.code ? npshm__report(s, op, name) : NPSHM_OK;
}

int npshm__c_delete(const char *name) {
    const char *op = "npshm_delete";
    if (name == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, "name is NULL or too long");
    target t;
    status s = npshm__resolve(name, &t);
    if (s.code) return npshm__report(s, op, name);
    if (unlink(t.path) != 0) {
        s = errno == ENOENT ? (status){NPSHM_ERR_NOT_FOUND, ENOENT, "no array of that name", 0, 0}
                            : st_sys(errno, "cannot delete the array");
        return npshm__report(s, op, name);
    }
    return NPSHM_OK;
}

int npshm__c_list(void *fn, void *ctx) {
    const char *op = "npshm_list";
    if (fn == NULL) return npshm__fail(NPSHM_ERR_INVALID, 0, op, NULL, "fn is NULL");
    work *w = malloc(sizeof *w);
    if (w == NULL) return npshm__fail(NPSHM_ERR_NO_SPACE, ENOMEM, op, NULL, "out of memory");
    DIR *d = opendir("/dev/shm");
    if (d == NULL) {
        int e = errno;
        free(w);
        return npshm__report(st_sys(e, "cannot read /dev/shm"), op, NULL);
    }
    int rc = NPSHM_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if ((de->d_type != DT_REG && de->d_type != DT_UNKNOWN) || strcmp(de->d_name, ".") == 0 ||
            strcmp(de->d_name, "..") == 0 || strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
            continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0) continue;
        struct stat st;
        header h;
        status s = read_header(fd, &st, &h, w->hbuf, w->descr);
        close(fd);
        if (s.code) continue;
        memcpy(w->descr, h.descr, h.descr_len);
        w->descr[h.descr_len] = 0;
        rc = npshm__call_list(fn, ctx, de->d_name, w->descr, h.ndim, h.shape, h.itemsize, h.data_nbytes,
                              st.st_mode & 07777, st.st_uid, h.creator_pid, h.created_ns, h.flags & FLAG_FORTRAN);
        if (rc != 0) break;
    }
    closedir(d);
    free(w);
    return rc;
}
