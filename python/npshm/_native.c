/*
 * npshm._native - the Python binding of libnpshm (include/npshm.h).
 *
 * It turns the handles that the C ABI returns into numpy arrays: a Mapping object owns one
 * npshm_array handle and exports its data through the buffer protocol; numpy.ndarray is built
 * over it, so the array (and every view of it) keeps the Mapping alive, and the Mapping's
 * deallocation releases the mapping. Nothing here ever deletes an array: what numpy refuses is
 * found out before an array is published (create_init), never cleaned up after by name.
 *
 * Built against the stable ABI (abi3) of Python 3.10. It does not include numpy's headers: the
 * ndarray type and the dtype conversions come from Python (see _setup), so one binary serves
 * numpy 1.x and 2.x.
 */
#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030A0000
#endif
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npshm.h"

/* ---- libnpshm, loaded on first use ---------------------------------------------------------
 *
 * libnpshm holds the Go runtime, whose start (threads, heap) is most of what importing npshm
 * would cost (issue 13: `import npshm` within 2 ms of `import numpy`). So the extension does not
 * link it: the first call that needs it (need_lib, under the GIL) dlopens the libnpshm.so.0 beside
 * this module and resolves the functions below, and every npshm_* name here calls through the
 * pointer. A process that imports npshm and never makes an array never starts the Go runtime, and
 * is not made multi-threaded by the import. A function used here must be listed in LIB_FUNCTIONS,
 * else the extension does not load (undefined symbol). */
#define LIB_FUNCTIONS(X) \
    X(npshm_attach) \
    X(npshm_clean_temporaries) \
    X(npshm_create_init) \
    X(npshm_created_ns) \
    X(npshm_creator_pid) \
    X(npshm_data) \
    X(npshm_delete) \
    X(npshm_device) \
    X(npshm_dir) \
    X(npshm_dtype) \
    X(npshm_encode_file_header) \
    X(npshm_file_format) \
    X(npshm_inode) \
    X(npshm_is_fortran) \
    X(npshm_is_readonly) \
    X(npshm_itemsize) \
    X(npshm_last_errno) \
    X(npshm_last_error) \
    X(npshm_list) \
    X(npshm_mlock) \
    X(npshm_msync) \
    X(npshm_munlock) \
    X(npshm_name) \
    X(npshm_nbytes) \
    X(npshm_ndim) \
    X(npshm_read_file_data) \
    X(npshm_read_file_ex) \
    X(npshm_release) \
    X(npshm_set_dir) \
    X(npshm_shape) \
    X(npshm_version) \
    X(npshm_write_file_data)

#define LIB_POINTER(f) static __typeof__(f) *lib_##f;
LIB_FUNCTIONS(LIB_POINTER)
#define npshm_attach (*lib_npshm_attach)
#define npshm_clean_temporaries (*lib_npshm_clean_temporaries)
#define npshm_create_init (*lib_npshm_create_init)
#define npshm_created_ns (*lib_npshm_created_ns)
#define npshm_creator_pid (*lib_npshm_creator_pid)
#define npshm_data (*lib_npshm_data)
#define npshm_delete (*lib_npshm_delete)
#define npshm_device (*lib_npshm_device)
#define npshm_dir (*lib_npshm_dir)
#define npshm_dtype (*lib_npshm_dtype)
#define npshm_encode_file_header (*lib_npshm_encode_file_header)
#define npshm_file_format (*lib_npshm_file_format)
#define npshm_inode (*lib_npshm_inode)
#define npshm_is_fortran (*lib_npshm_is_fortran)
#define npshm_is_readonly (*lib_npshm_is_readonly)
#define npshm_itemsize (*lib_npshm_itemsize)
#define npshm_last_errno (*lib_npshm_last_errno)
#define npshm_last_error (*lib_npshm_last_error)
#define npshm_list (*lib_npshm_list)
#define npshm_mlock (*lib_npshm_mlock)
#define npshm_msync (*lib_npshm_msync)
#define npshm_munlock (*lib_npshm_munlock)
#define npshm_name (*lib_npshm_name)
#define npshm_nbytes (*lib_npshm_nbytes)
#define npshm_ndim (*lib_npshm_ndim)
#define npshm_read_file_data (*lib_npshm_read_file_data)
#define npshm_read_file_ex (*lib_npshm_read_file_ex)
#define npshm_release (*lib_npshm_release)
#define npshm_set_dir (*lib_npshm_set_dir)
#define npshm_shape (*lib_npshm_shape)
#define npshm_version (*lib_npshm_version)
#define npshm_write_file_data (*lib_npshm_write_file_data)

static int lib_loaded;

/* need_lib: load libnpshm if it is not yet; 0, or -1 with ImportError set. The GIL serialises it. */
static int need_lib(void)
{
    if (lib_loaded)
        return 0;
    char path[4096] = NPSHM_SONAME;
    Dl_info self;
    if (dladdr((void *)&need_lib, &self) && self.dli_fname) {
        const char *slash = strrchr(self.dli_fname, '/');
        if (slash && (size_t)(slash - self.dli_fname) + sizeof("/" NPSHM_SONAME) <= sizeof path)
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - self.dli_fname), self.dli_fname, NPSHM_SONAME);
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        PyErr_Format(PyExc_ImportError, "npshm cannot load its library: %s", dlerror());
        return -1;
    }
#define LIB_RESOLVE(f)                                                                             \
    if (!(*(void **)&lib_##f = dlsym(lib, #f))) {                                                  \
        PyErr_Format(PyExc_ImportError, "npshm cannot load its library: %s has no %s", path, #f); \
        return -1;                                                                                 \
    }
    LIB_FUNCTIONS(LIB_RESOLVE)
#undef LIB_RESOLVE
    lib_loaded = 1;
    return 0;
}

#if Py_LIMITED_API + 0 < 0x030B0000
/* Py_buffer and the PyBUF_* flags joined the limited API in 3.11 (PEP 3118's layout, unchanged
 * since 3.3, which the stable ABI now guarantees); the Py_bf_* type slots work with
 * PyType_FromSpec since 3.9. Python 3.10 has the same layout, so declare it here. */
typedef struct {
    void *buf;
    PyObject *obj;
    Py_ssize_t len;
    Py_ssize_t itemsize;
    int readonly;
    int ndim;
    char *format;
    Py_ssize_t *shape;
    Py_ssize_t *strides;
    Py_ssize_t *suboffsets;
    void *internal;
} Py_buffer;
#define PyBUF_WRITABLE 0x0001
#define PyBUF_FORMAT 0x0004
#define PyBUF_ND 0x0008
#define PyBUF_STRIDES (0x0010 | PyBUF_ND)
/* 3.10's headers hide the buffer slot numbers from the limited API (bpo-10181, fixed in 3.11);
 * the numbers are fixed by the stable ABI and 3.10's PyType_FromSpec accepts them. */
#ifndef Py_bf_getbuffer
#define Py_bf_getbuffer 1
#endif
#ifndef Py_bf_releasebuffer
#define Py_bf_releasebuffer 2
#endif
/* Likewise the functions that take a buffer from an object: exported by 3.10 with the signatures
 * the stable ABI fixed in 3.11. */
#define PyBUF_SIMPLE 0
PyAPI_FUNC(int) PyObject_GetBuffer(PyObject *obj, Py_buffer *view, int flags);
PyAPI_FUNC(void) PyBuffer_Release(Py_buffer *view);
#endif

/* ---- state set once by _setup() ---------------------------------------------------------- */

static PyObject *ndarray_type;     /* numpy.ndarray */
static PyObject *dtype_from_descr; /* callable: descriptor str -> numpy.dtype (cached in Python) */
static PyObject *order_f;          /* "F" */
static PyObject *mapping_type;     /* the Mapping type */
static PyObject *format_error;     /* npshm.FormatError: both ValueError and OSError */

/* A small cache in front of dtype_from_descr, keyed by the descriptor bytes, so that attaching
 * needs no Python string and no dictionary lookup. Only touched with the GIL held. */
#define DCACHE_SIZE 32
static struct {
    char *descr;
    PyObject *dtype;
} dcache[DCACHE_SIZE];
static unsigned dcache_next;

static PyObject *dtype_for(const char *descr)
{
    for (unsigned i = 0; i < DCACHE_SIZE && dcache[i].descr; i++)
        if (strcmp(dcache[i].descr, descr) == 0)
            return Py_NewRef(dcache[i].dtype);
    if (!dtype_from_descr) {
        PyErr_SetString(PyExc_RuntimeError, "npshm._native is not set up");
        return NULL;
    }
    PyObject *dt = PyObject_CallFunction(dtype_from_descr, "s", descr);
    if (!dt)
        return NULL;
    char *copy = strdup(descr);
    if (copy) {
        unsigned i = dcache_next++ % DCACHE_SIZE;
        free(dcache[i].descr);
        Py_XDECREF(dcache[i].dtype);
        dcache[i].descr = copy;
        dcache[i].dtype = Py_NewRef(dt);
    }
    return dt;
}

/* ---- errors ------------------------------------------------------------------------------ */

/* Raise the Python exception for a failed call that returned code, and return NULL.
 *
 * The type follows the status (docs/PYTHON.md, "Errors"), with two refinements by errno that make
 * the type the one Python's own file functions raise: a truncated file (FORMAT, ENODATA) is
 * EOFError, and a directory where a file or array should be (EISDIR) is IsADirectoryError. OSError
 * and its subclasses get the errno, and filename and filename2: the name or path the caller
 * passed (NULL: none), so that str() shows them as Python's own errors do ("[Errno 2] ...: 'x'").
 * The other types cannot carry a filename: when filename2 is given (an error of a load, which
 * concerns a file and an array) and the message does not name the file, it is appended. */
static PyObject *raise_code(int code, PyObject *filename, PyObject *filename2)
{
    const char *msg = npshm_last_error();
    int en = npshm_last_errno();
    PyObject *type;
    if (!msg || !*msg)
        msg = "npshm: unknown error";
    switch (code) {
    case NPSHM_ERR_EXISTS:
        type = PyExc_FileExistsError;
        if (!en)
            en = EEXIST;
        break;
    case NPSHM_ERR_NOT_FOUND:
        type = PyExc_FileNotFoundError;
        if (!en)
            en = ENOENT;
        break;
    case NPSHM_ERR_INVALID:
        type = en == EISDIR ? PyExc_IsADirectoryError : PyExc_ValueError;
        break;
    case NPSHM_ERR_FORMAT:
    case NPSHM_ERR_MISMATCH:
        /* FormatError: a ValueError for npshm's and cdxcore's users, an OSError for SharedArray's
         * (docs/PYTHON.md, "Errors"). */
        if (en == EISDIR) {
            type = PyExc_IsADirectoryError;
        } else if (code == NPSHM_ERR_FORMAT && en == ENODATA) {
            type = PyExc_EOFError;
        } else {
            type = format_error ? format_error : PyExc_ValueError;
            if (!en)
                en = code == NPSHM_ERR_FORMAT ? EBADMSG : EINVAL;
        }
        break;
    case NPSHM_ERR_PERMISSION:
        type = PyExc_PermissionError;
        if (!en)
            en = EACCES;
        break;
    case NPSHM_ERR_NO_SPACE:
        if (!en)
            en = ENOSPC;
        /* fall through */
    default:
        type = PyExc_OSError; /* OSError picks the subclass that fits the errno (EINTR: InterruptedError) */
        if (!en)
            en = EIO;
        break;
    }
    PyObject *exc;
    if (PyObject_IsSubclass(type, PyExc_OSError) == 1) {
        exc = PyObject_CallFunction(type, "isOOO", en, msg, filename ? filename : Py_None, Py_None,
                                    filename2 ? filename2 : Py_None);
    } else if (filename && filename2) {
        PyObject *path = PyObject_Str(filename);
        const char *p = path ? PyUnicode_AsUTF8AndSize(path, NULL) : NULL;
        if (!p) {
            Py_XDECREF(path);
            return NULL;
        }
        exc = strstr(msg, p) ? PyObject_CallFunction(type, "s", msg)
                             : PyObject_CallFunction(type, "N", PyUnicode_FromFormat("%s (file %R)", msg, filename));
        Py_DECREF(path);
    } else {
        exc = PyObject_CallFunction(type, "s", msg);
    }
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* raise_code for a failed call on the array of handle h: filename is the array's name. */
static PyObject *raise_for(int code, const npshm_array *h)
{
    PyObject *name = PyUnicode_DecodeFSDefault(npshm_name(h));
    if (!name)
        return NULL;
    raise_code(code, name, NULL);
    Py_DECREF(name);
    return NULL;
}

/* ---- names ------------------------------------------------------------------------------- */

/* The UTF-8 (or file-system encoded) bytes of a name. *keep receives an object to release after
 * the call (or NULL). */
static const char *name_bytes(PyObject *name, PyObject **keep)
{
    const char *s;
    Py_ssize_t n;
    *keep = NULL;
    if (PyUnicode_Check(name)) {
        s = PyUnicode_AsUTF8AndSize(name, &n);
        if (!s) {
            /* lone surrogates from os.fsdecode: use the file-system encoding */
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
                return NULL;
            PyErr_Clear();
            PyObject *b = PyUnicode_EncodeFSDefault(name);
            if (!b)
                return NULL;
            *keep = b;
            name = b;
            goto bytes;
        }
    } else if (PyBytes_Check(name)) {
    bytes:
        s = PyBytes_AsString(name);
        n = PyBytes_Size(name);
        if (!s)
            goto fail;
    } else {
        PyObject *tn = PyObject_GetAttrString((PyObject *)Py_TYPE(name), "__name__");
        PyErr_Format(PyExc_TypeError, "name must be str or bytes, not %S", tn);
        Py_XDECREF(tn);
        return NULL;
    }
    if ((Py_ssize_t)strlen(s) != n) {
        PyErr_SetString(PyExc_ValueError, "name must not contain a NUL character");
        goto fail;
    }
    return s;
fail:
    Py_CLEAR(*keep);
    return NULL;
}

/* ---- the Mapping type -------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    npshm_array *h;      /* NULL while the array is being created (see create_init) */
    void *data;          /* npshm_data(h), or the data of an array being created */
    Py_ssize_t len;      /* data bytes, for the buffer's shape */
    Py_ssize_t itemsize; /* 1, for the buffer's strides */
    int readonly;
    PyObject *given;     /* the name as the caller passed it, as str (SharedArray's .name), or NULL */
} MappingObject;

/* Unmapping a large mapping takes a while: let other threads run meanwhile. */
#define RELEASE_NOGIL_BYTES (1 << 20)

static void mapping_dealloc(PyObject *self)
{
    MappingObject *m = (MappingObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    m->data = NULL;
    Py_CLEAR(m->given);
    if (m->h) {
        npshm_array *h = m->h;
        m->h = NULL;
        if (m->len >= RELEASE_NOGIL_BYTES) {
            Py_BEGIN_ALLOW_THREADS
            npshm_release(h);
            Py_END_ALLOW_THREADS
        } else {
            npshm_release(h);
        }
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static int mapping_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    MappingObject *m = (MappingObject *)self;
    if (!m->data) {
        PyErr_SetString(PyExc_BufferError, "npshm mapping is released");
        return -1;
    }
    if ((flags & PyBUF_WRITABLE) && m->readonly) {
        PyErr_SetString(PyExc_BufferError, "npshm array is attached read-only");
        return -1;
    }
    view->buf = m->data;
    view->obj = Py_NewRef(self);
    view->len = m->len;
    view->itemsize = 1;
    view->readonly = m->readonly;
    view->ndim = 1;
    view->format = (flags & PyBUF_FORMAT) ? "B" : NULL;
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? &m->len : NULL;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? &m->itemsize : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static void mapping_releasebuffer(PyObject *self, Py_buffer *view)
{
    (void)self;
    (void)view;
}

static PyObject *shape_tuple(int ndim, const int64_t *shape)
{
    PyObject *t = PyTuple_New(ndim);
    if (!t)
        return NULL;
    for (int i = 0; i < ndim; i++) {
        PyObject *d = PyLong_FromLongLong(shape[i]);
        if (!d) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SetItem(t, i, d);
    }
    return t;
}

static npshm_array *handle_of(PyObject *self)
{
    MappingObject *m = (MappingObject *)self;
    if (!m->h)
        PyErr_SetString(PyExc_ValueError, "npshm mapping is released");
    return m->h;
}

/* The getters of a mapping's attributes: expr of the handle h, or ValueError once released. */
#define MAPPING_GETTER(attr, expr)                                                                 \
    static PyObject *mapping_get_##attr(PyObject *self, void *c)                                   \
    {                                                                                              \
        (void)c;                                                                                   \
        npshm_array *h = handle_of(self);                                                          \
        return h ? (expr) : NULL;                                                                  \
    }

/* name: as passed to create or attach (str), else the handle's; array_name: the handle's. */
MAPPING_GETTER(name, ((MappingObject *)self)->given ? Py_NewRef(((MappingObject *)self)->given)
                                                    : PyUnicode_DecodeFSDefault(npshm_name(h)))
MAPPING_GETTER(array_name, PyUnicode_DecodeFSDefault(npshm_name(h)))
MAPPING_GETTER(descr, PyUnicode_FromString(npshm_dtype(h)))
MAPPING_GETTER(shape, shape_tuple(npshm_ndim(h), npshm_shape(h)))
MAPPING_GETTER(addr, PyLong_FromVoidPtr(npshm_data(h)))
MAPPING_GETTER(size, PyLong_FromSize_t(npshm_nbytes(h)))
MAPPING_GETTER(itemsize, PyLong_FromSize_t(npshm_itemsize(h)))
MAPPING_GETTER(readonly, PyBool_FromLong(npshm_is_readonly(h)))
MAPPING_GETTER(fortran, PyBool_FromLong(npshm_is_fortran(h)))
MAPPING_GETTER(identity, Py_BuildValue("(KKLL)", (unsigned long long)npshm_device(h),
                                       (unsigned long long)npshm_inode(h), (long long)npshm_created_ns(h),
                                       (long long)npshm_creator_pid(h)))

static PyGetSetDef mapping_getset[] = {
    {"name", mapping_get_name, NULL,
     "The array's name as passed to create or attach (str; SharedArray's base object's name).", NULL},
    {"array_name", mapping_get_array_name, NULL, "The array's name, without '/' or 'shm://'.", NULL},
    {"descr", mapping_get_descr, NULL, "The dtype as a .npy descriptor string.", NULL},
    {"shape", mapping_get_shape, NULL, "The array's shape.", NULL},
    {"addr", mapping_get_addr, NULL, "Address of the first byte of the data.", NULL},
    {"size", mapping_get_size, NULL, "Size of the data in bytes.", NULL},
    {"itemsize", mapping_get_itemsize, NULL, "Bytes per element.", NULL},
    {"readonly", mapping_get_readonly, NULL, "True if mapped read-only.", NULL},
    {"fortran", mapping_get_fortran, NULL, "True if the data is in Fortran order.", NULL},
    {"identity", mapping_get_identity, NULL,
     "Which array of the name this maps: (device, inode, created_ns, creator_pid).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

typedef int (*memctl_fn)(const npshm_array *);

static PyObject *memctl(PyObject *self, memctl_fn fn)
{
    npshm_array *h = handle_of(self);
    if (!h)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fn(h);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return raise_for(rc, h);
    Py_RETURN_NONE;
}

static PyObject *mapping_msync(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"flags", NULL};
    int flags = NPSHM_MS_SYNC;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|i:msync", kwlist, &flags))
        return NULL;
    npshm_array *h = handle_of(self);
    if (!h)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_msync(h, flags);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return raise_for(rc, h);
    Py_RETURN_NONE;
}

static PyObject *mapping_mlock(PyObject *self, PyObject *unused)
{
    (void)unused;
    return memctl(self, npshm_mlock);
}

static PyObject *mapping_munlock(PyObject *self, PyObject *unused)
{
    (void)unused;
    return memctl(self, npshm_munlock);
}

static PyMethodDef mapping_methods[] = {
    {"msync", (PyCFunction)(void (*)(void))mapping_msync, METH_VARARGS | METH_KEYWORDS,
     "msync($self, /, flags=MS_SYNC)\n--\n\nFlush the mapping to its backing object (msync(2)); flags "
     "combine MS_ASYNC or MS_SYNC with MS_INVALIDATE."},
    {"mlock", mapping_mlock, METH_NOARGS, "mlock($self, /)\n--\n\nLock the mapping in memory (mlock(2))."},
    {"munlock", mapping_munlock, METH_NOARGS,
     "munlock($self, /)\n--\n\nUnlock the mapping (munlock(2))."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot mapping_slots[] = {
    {Py_tp_doc, "The memory of one attached npshm array. It is the base of the numpy arrays "
                "that npshm returns and lives as long as any of them; its deallocation unmaps "
                "the memory and never deletes the array."},
    {Py_tp_dealloc, mapping_dealloc},
    {Py_tp_getset, mapping_getset},
    {Py_tp_methods, mapping_methods},
    {Py_bf_getbuffer, mapping_getbuffer},
    {Py_bf_releasebuffer, mapping_releasebuffer},
    {0, NULL},
};

static PyType_Spec mapping_spec = {
    "npshm._native.Mapping",
    sizeof(MappingObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, /* only npshm makes them */
    mapping_slots,
};

/* A Mapping exporting len bytes at data; h (NULL while an array is being created) is set later. */
static MappingObject *new_mapping(npshm_array *h, void *data, size_t len, int readonly)
{
    MappingObject *m = PyObject_New(MappingObject, (PyTypeObject *)mapping_type);
    if (!m)
        return NULL;
    m->h = h;
    m->data = data;
    m->len = (Py_ssize_t)len;
    m->itemsize = 1;
    m->readonly = readonly;
    m->given = NULL;
    return m;
}

/* numpy.ndarray(shape, dtype, m), in Fortran order if asked: numpy keeps m as the base. */
static PyObject *new_ndarray(MappingObject *m, PyObject *shape, PyObject *dt, int fortran)
{
    if (fortran)
        return PyObject_CallFunction(ndarray_type, "OOOiOO", shape, dt, (PyObject *)m, 0, Py_None, order_f);
    return PyObject_CallFunctionObjArgs(ndarray_type, shape, dt, (PyObject *)m, NULL);
}

/* The name as the caller passed it, as str (bytes are decoded as os.fsdecode does), for
 * Mapping.name; NULL with an exception set. */
static PyObject *given_name(PyObject *name)
{
    if (PyBytes_Check(name))
        return PyUnicode_DecodeFSDefaultAndSize(PyBytes_AsString(name), PyBytes_Size(name));
    return Py_NewRef(name);
}

/* Wrap a handle into a numpy array. Takes the handle over (releases it on failure). name: the
 * name as passed, or NULL. */
static PyObject *wrap(npshm_array *h, PyObject *dtype, PyObject *name)
{
    MappingObject *m = new_mapping(h, npshm_data(h), npshm_nbytes(h), npshm_is_readonly(h));
    if (!m) {
        npshm_release(h);
        return NULL;
    }
    if (name && !(m->given = given_name(name))) {
        Py_DECREF(m);
        return NULL;
    }
    PyObject *dt = dtype ? Py_NewRef(dtype) : dtype_for(npshm_dtype(h));
    PyObject *shape = dt ? shape_tuple(npshm_ndim(h), npshm_shape(h)) : NULL;
    PyObject *arr = shape ? new_ndarray(m, shape, dt, npshm_is_fortran(h)) : NULL;
    Py_XDECREF(shape);
    Py_XDECREF(dt);
    Py_DECREF(m);
    return arr;
}

/* ---- module functions -------------------------------------------------------------------- */

static int parse_dim(PyObject *o, int64_t *out, Py_ssize_t i)
{
    PyObject *ix = PyNumber_Index(o);
    if (!ix) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyObject *tn = PyObject_GetAttrString((PyObject *)Py_TYPE(o), "__name__");
            if (i < 0)
                PyErr_Format(PyExc_TypeError, "shape must be an int or a sequence of ints, not %S", tn);
            else
                PyErr_Format(PyExc_TypeError, "shape[%zd] must be an int, not %S", i, tn);
            Py_XDECREF(tn);
        }
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(ix, &overflow);
    Py_DECREF(ix);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < 0) {
        PyErr_Format(PyExc_ValueError, "shape holds an invalid dimension %S (dimensions are 0 to 2**63-1)", o);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse shape (an int or a sequence of ints) into dims. Returns ndim, or -1 on error. */
static int parse_shape(PyObject *obj, int64_t *dims)
{
    if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyByteArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "shape must be an int or a sequence of ints, not %s",
                     PyUnicode_Check(obj) ? "str" : "bytes");
        return -1;
    }
    if (PyTuple_Check(obj) || PyList_Check(obj) || PySequence_Check(obj)) {
        Py_ssize_t n = PySequence_Size(obj);
        if (n < 0) {
            /* e.g. a 0-d numpy integer array: try it as one int */
            PyErr_Clear();
            return parse_dim(obj, dims, -1) < 0 ? -1 : 1;
        }
        if (n > NPSHM_MAX_NDIM) {
            PyErr_Format(PyExc_ValueError, "shape has %zd dimensions; at most %d are allowed", n,
                         NPSHM_MAX_NDIM);
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *it = PySequence_GetItem(obj, i);
            if (!it)
                return -1;
            int rc = parse_dim(it, &dims[i], i);
            Py_DECREF(it);
            if (rc < 0)
                return -1;
        }
        return (int)n;
    }
    return parse_dim(obj, dims, -1) < 0 ? -1 : 1;
}

PyDoc_STRVAR(shape_doc,
             "shape($module, obj, /)\n--\n\nThe shape obj (an int or a sequence of ints) as a tuple, checked as every "
             "function of this module checks shapes: TypeError for what is not one, ValueError for a "
             "negative dimension or more than 64 of them.");

static PyObject *mod_shape(PyObject *self, PyObject *obj)
{
    (void)self;
    int64_t dims[NPSHM_MAX_NDIM];
    int ndim = parse_shape(obj, dims);
    return ndim < 0 ? NULL : shape_tuple(ndim, dims);
}

PyDoc_STRVAR(create_doc,
             "create($module, name, shape, descr, flags, dtype, fill=None, /)\n--\n\n"
             "Create an array and return a numpy array over it. descr is the dtype's .npy descriptor, "
             "dtype the numpy.dtype the result gets. The numpy array is built, and fill (if not None: "
             "anything numpy can assign to it) assigned, before the array gets its name "
             "(npshm_create_init): if numpy refuses either, nothing is created and no array of that "
             "name is replaced. Without fill the array is zero-filled.");

/* What create_init needs, and the numpy array it makes. */
typedef struct create_ctx {
    PyObject *shape; /* tuple */
    PyObject *dtype; /* the result's, or numpy's of the descriptor */
    PyObject *fill;  /* or NULL */
    int fortran;
    PyObject *array; /* out */
    MappingObject *mapping; /* the array's base (borrowed); its handle is set once published */
} create_ctx;

/* The npshm_init_fn of create: builds the numpy array over the new array's memory, which has no
 * name yet, and assigns the fill. Whatever numpy refuses (a shape or dtype it cannot hold, a fill
 * that does not fit) abandons the creation: nothing is published, nothing replaced, and the
 * Python exception stays set. Runs in the calling thread, which released the GIL. */
static int create_init(void *data, size_t nbytes, void *ctx)
{
    create_ctx *c = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    MappingObject *m = new_mapping(NULL, data, nbytes, 0);
    if (m) {
        c->array = new_ndarray(m, c->shape, c->dtype, c->fortran);
        c->mapping = m;
        Py_DECREF(m);
    }
    if (c->array && c->fill && PyObject_SetItem(c->array, Py_Ellipsis, c->fill) < 0)
        Py_CLEAR(c->array);
    int rc = c->array ? 0 : 1;
    PyGILState_Release(g);
    return rc;
}

static PyObject *mod_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    if (nargs != 5 && nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "create() takes 5 or 6 arguments");
        return NULL;
    }
    PyObject *keep;
    const char *name = name_bytes(args[0], &keep);
    if (!name)
        return NULL;
    create_ctx c = {NULL, NULL, nargs == 6 && args[5] != Py_None ? args[5] : NULL, 0, NULL, NULL};
    int64_t dims[NPSHM_MAX_NDIM];
    PyObject *ret = NULL;
    int ndim = parse_shape(args[1], dims);
    if (ndim < 0 || !(c.shape = shape_tuple(ndim, dims)))
        goto out;
    const char *descr = PyUnicode_AsUTF8AndSize(args[2], NULL);
    if (!descr || !(c.dtype = args[4] != Py_None ? Py_NewRef(args[4]) : dtype_for(descr)))
        goto out;
    unsigned long flags = PyLong_AsUnsignedLong(args[3]);
    if (flags == (unsigned long)-1 && PyErr_Occurred())
        goto out;
    c.fortran = (flags & NPSHM_FORTRAN) != 0;
    npshm_array *h = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_create_init(name, ndim, ndim ? dims : NULL, descr, (unsigned)flags, create_init, &c, &h);
    Py_END_ALLOW_THREADS
    if (rc == 0) {
        c.mapping->h = h;
        c.mapping->given = given_name(args[0]);
        if (!c.mapping->given)
            PyErr_Clear(); /* Mapping.name falls back to the library's name */
        ret = c.array;
    } else {
        /* A numpy array made by create_init over memory that is unmapped now: nobody else has it. */
        Py_XDECREF(c.array);
        if (rc < 0)
            raise_code(rc, args[0], NULL);
        /* else create_init's exception is set */
    }
out:
    Py_XDECREF(c.shape);
    Py_XDECREF(c.dtype);
    Py_XDECREF(keep);
    return ret;
}

PyDoc_STRVAR(attach_doc, "attach($module, name, flags=0, /)\n--\n\nAttach to an array and return a numpy array over it.");

static PyObject *mod_attach(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "attach() takes 1 or 2 arguments");
        return NULL;
    }
    unsigned long flags = 0;
    if (nargs == 2) {
        flags = PyLong_AsUnsignedLong(args[1]);
        if (flags == (unsigned long)-1 && PyErr_Occurred())
            return NULL;
    }
    PyObject *keep;
    const char *name = name_bytes(args[0], &keep);
    if (!name)
        return NULL;
    npshm_array *h = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_attach(name, (unsigned)flags, &h);
    Py_END_ALLOW_THREADS
    Py_XDECREF(keep);
    if (rc < 0)
        return raise_code(rc, args[0], NULL);
    return wrap(h, NULL, args[0]);
}

PyDoc_STRVAR(delete_doc, "delete($module, name, /)\n--\n\nRemove the name of an array.");

static PyObject *mod_delete(PyObject *self, PyObject *name_obj)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    PyObject *keep;
    const char *name = name_bytes(name_obj, &keep);
    if (!name)
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_delete(name);
    Py_END_ALLOW_THREADS
    Py_XDECREF(keep);
    if (rc < 0)
        return raise_code(rc, name_obj, NULL);
    Py_RETURN_NONE;
}

/* npshm_list collects entries here without the GIL; they become Python objects afterwards. */
typedef struct {
    char *name;
    char *dtype;
    int ndim;
    int64_t shape[NPSHM_MAX_NDIM];
    size_t itemsize, nbytes;
    unsigned mode, uid;
    int64_t creator_pid, created_ns;
    int fortran;
    unsigned format;
} entry;

typedef struct {
    entry *v;
    size_t n, cap;
    int oom;
} entries;

static int collect(const npshm_info *info, void *ctx)
{
    entries *es = ctx;
    if (es->n == es->cap) {
        size_t cap = es->cap ? 2 * es->cap : 64;
        entry *v = realloc(es->v, cap * sizeof *v);
        if (!v) {
            es->oom = 1;
            return 1;
        }
        es->v = v;
        es->cap = cap;
    }
    entry *e = &es->v[es->n];
    e->name = strdup(info->name);
    e->dtype = strdup(info->dtype);
    if (!e->name || !e->dtype || info->ndim < 0 || info->ndim > NPSHM_MAX_NDIM) {
        free(e->name);
        free(e->dtype);
        es->oom = 1;
        return 1;
    }
    e->ndim = info->ndim;
    if (info->ndim)
        memcpy(e->shape, info->shape, sizeof(int64_t) * (size_t)info->ndim);
    e->itemsize = info->itemsize;
    e->nbytes = info->nbytes;
    e->mode = info->mode;
    e->uid = info->uid;
    e->creator_pid = info->creator_pid;
    e->created_ns = info->created_ns;
    e->fortran = info->fortran;
    e->format = info->format;
    es->n++;
    return 0;
}

PyDoc_STRVAR(list_doc,
             "list($module, /)\n--\n\nThe arrays in /dev/shm, as tuples (name as bytes, descr, shape, itemsize, "
             "nbytes, mode, uid, creator_pid, created_ns, fortran, format: one of the FORMAT_* flags).");

static PyObject *mod_list(PyObject *self, PyObject *unused)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    (void)unused;
    entries es = {NULL, 0, 0, 0};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_list(collect, &es);
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (es.oom) {
        PyErr_NoMemory();
        goto done;
    }
    if (rc < 0) {
        raise_code(rc, NULL, NULL);
        goto done;
    }
    out = PyList_New((Py_ssize_t)es.n);
    if (!out)
        goto done;
    /* Built field by field (Py_BuildValue parses its format per entry); arrays mostly share a few
     * descriptors, so an entry with the previous one's descriptor shares its str. */
    PyObject *descr = NULL;
    const char *descr_of = NULL;
    for (size_t i = 0; i < es.n; i++) {
        entry *e = &es.v[i];
        if (!descr_of || strcmp(descr_of, e->dtype) != 0) {
            Py_XDECREF(descr);
            descr = PyUnicode_FromString(e->dtype);
            descr_of = e->dtype;
            if (!descr) {
                Py_CLEAR(out);
                goto done;
            }
        }
        PyObject *t = PyTuple_New(11);
        if (!t) {
            Py_CLEAR(out);
            break;
        }
        PyList_SetItem(out, (Py_ssize_t)i, t);
        Py_INCREF(descr);
        PyTuple_SetItem(t, 1, descr);
        PyObject *fortran = e->fortran ? Py_True : Py_False;
        Py_INCREF(fortran);
        PyTuple_SetItem(t, 9, fortran);
        PyObject *items[] = {PyBytes_FromString(e->name), shape_tuple(e->ndim, e->shape),
                             PyLong_FromSsize_t((Py_ssize_t)e->itemsize), PyLong_FromSsize_t((Py_ssize_t)e->nbytes),
                             PyLong_FromUnsignedLong(e->mode), PyLong_FromUnsignedLong(e->uid),
                             PyLong_FromLongLong((long long)e->creator_pid), PyLong_FromLongLong((long long)e->created_ns),
                             PyLong_FromUnsignedLong(e->format)};
        static const int at[] = {0, 2, 3, 4, 5, 6, 7, 8, 10};
        int bad = 0;
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            if (!items[k])
                bad = 1;
            else
                PyTuple_SetItem(t, at[k], items[k]);
        }
        if (bad) { /* the tuple's empty slots are NULL, which its deallocation skips */
            Py_CLEAR(out);
            break;
        }
    }
    Py_XDECREF(descr);
done:
    for (size_t i = 0; i < es.n; i++) {
        free(es.v[i].name);
        free(es.v[i].dtype);
    }
    free(es.v);
    return out;
}

PyDoc_STRVAR(clean_doc,
             "clean_temporaries($module, dir, /)\n--\n\nRemove the temporary files that killed processes "
             "left in dir (None: /dev/shm); return how many were removed.");

static PyObject *mod_clean_temporaries(PyObject *self, PyObject *dir_obj)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    PyObject *keep = NULL;
    const char *dir = NULL;
    if (dir_obj != Py_None) {
        dir = name_bytes(dir_obj, &keep);
        if (!dir)
            return NULL;
    }
    int removed = 0, rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_clean_temporaries(dir, &removed);
    Py_END_ALLOW_THREADS
    Py_XDECREF(keep);
    if (rc < 0)
        return raise_code(rc, dir ? dir_obj : NULL, NULL);
    return PyLong_FromLong(removed);
}

static PyObject *mod_dir(PyObject *self, PyObject *unused)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    (void)unused;
    return PyUnicode_DecodeFSDefault(npshm_dir());
}

static PyObject *mod_set_dir(PyObject *self, PyObject *dir_obj)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    PyObject *keep = NULL;
    const char *dir = NULL;
    if (dir_obj != Py_None && !(dir = name_bytes(dir_obj, &keep)))
        return NULL;
    int rc = npshm_set_dir(dir);
    if (rc < 0) {
        raise_code(rc, dir_obj == Py_None ? NULL : dir_obj, NULL);
        Py_XDECREF(keep);
        return NULL;
    }
    Py_XDECREF(keep);
    Py_RETURN_NONE;
}

static PyObject *mod_version(PyObject *self, PyObject *unused)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    (void)unused;
    return PyUnicode_FromString(npshm_version());
}

PyDoc_STRVAR(setup_doc,
             "_setup($module, ndarray, dtype_from_descr, format_error, /)\n--\n\nGive the module "
             "numpy.ndarray, the descriptor-to-dtype conversion and the exception type of format errors.");

static PyObject *mod_setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "_setup() takes 3 arguments");
        return NULL;
    }
    PyObject *old_nd = ndarray_type, *old_fn = dtype_from_descr, *old_fe = format_error;
    ndarray_type = Py_NewRef(args[0]);
    dtype_from_descr = Py_NewRef(args[1]);
    format_error = Py_NewRef(args[2]);
    Py_XDECREF(old_nd);
    Py_XDECREF(old_fn);
    Py_XDECREF(old_fe);
    for (unsigned i = 0; i < DCACHE_SIZE; i++) {
        free(dcache[i].descr);
        dcache[i].descr = NULL;
        Py_CLEAR(dcache[i].dtype);
    }
    Py_RETURN_NONE;
}

/* ---- array files ------------------------------------------------------------------------- */

/* The shape, dtype descriptor and flags arguments of the file functions, args[0..2]: ndim, or -1
 * with an exception set. */
static int array_args(PyObject *const *args, int64_t *dims, const char **descr, unsigned *flags)
{
    int ndim = parse_shape(args[0], dims);
    if (ndim < 0 || !(*descr = PyUnicode_AsUTF8AndSize(args[1], NULL)))
        return -1;
    unsigned long f = PyLong_AsUnsignedLong(args[2]);
    if (f == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    *flags = (unsigned)f;
    return ndim;
}

PyDoc_STRVAR(file_format_doc,
             "file_format($module, path, /)\n--\n\nThe format written to path (npshm_file_format): NPY or NPIO.");

static PyObject *mod_file_format(PyObject *self, PyObject *path_obj)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    PyObject *keep;
    const char *path = name_bytes(path_obj, &keep);
    if (!path)
        return NULL;
    unsigned f = npshm_file_format(path);
    Py_XDECREF(keep);
    return PyLong_FromUnsignedLong(f);
}

PyDoc_STRVAR(write_file_data_doc,
             "write_file_data($module, path, data, shape, descr, flags, /)\n--\n\n"
             "npshm_write_file_data without the GIL: write the array whose bytes data holds (a "
             "contiguous buffer, in C order or with FORTRAN in Fortran order) to path.");

static PyObject *mod_write_file_data(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "write_file_data() takes 5 arguments");
        return NULL;
    }
    PyObject *keep;
    const char *path = name_bytes(args[0], &keep);
    if (!path)
        return NULL;
    PyObject *ret = NULL;
    Py_buffer view;
    int64_t dims[NPSHM_MAX_NDIM];
    const char *descr;
    unsigned flags;
    int ndim = array_args(args + 2, dims, &descr, &flags);
    if (ndim >= 0 && PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) == 0) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = npshm_write_file_data(path, view.buf, ndim, ndim ? dims : NULL, descr, flags);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&view);
        ret = rc < 0 ? raise_code(rc, args[0], NULL) : Py_NewRef(Py_None);
    }
    Py_XDECREF(keep);
    return ret;
}

PyDoc_STRVAR(encode_file_header_doc,
             "encode_file_header($module, shape, descr, flags, /)\n--\n\n"
             "npshm_encode_file_header: the header of an array file (flags: NPY or NPIO, and FORTRAN) "
             "as bytes.");

static PyObject *mod_encode_file_header(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "encode_file_header() takes 3 arguments");
        return NULL;
    }
    int64_t dims[NPSHM_MAX_NDIM];
    const char *descr;
    unsigned flags;
    int ndim = array_args(args, dims, &descr, &flags);
    if (ndim < 0)
        return NULL;
    char *buf = malloc(NPSHM_MAX_FILE_HEADER);
    if (!buf)
        return PyErr_NoMemory();
    size_t len = 0;
    int rc = npshm_encode_file_header(buf, NPSHM_MAX_FILE_HEADER, ndim, ndim ? dims : NULL, descr, flags, &len);
    PyObject *ret = rc < 0 ? raise_code(rc, NULL, NULL) : PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    free(buf);
    return ret;
}

PyDoc_STRVAR(read_file_data_doc,
             "read_file_data($module, path, offset, alloc, /)\n--\n\n"
             "npshm_read_file_data without the GIL: read the array record at offset of the file path. "
             "Once the header is decoded, and the file is known to hold the data, alloc(shape, descr, "
             "fortran, format) returns (result, buffer), buffer a writable contiguous buffer of the "
             "data's size, which is filled. Returns (result, end). A truncated file raises EOFError; "
             "an exception of alloc propagates.");

/* What read_alloc needs, and what it got from alloc. */
typedef struct read_ctx {
    PyObject *alloc;
    PyObject *result;
    Py_buffer view;
    int have_view;
} read_ctx;

/* The npshm_alloc_fn of read_file_data: calls the Python alloc with the GIL. */
static int read_alloc(const npshm_file_info *info, void **data, void *ctx)
{
    read_ctx *c = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *shape = shape_tuple(info->ndim, info->shape);
    PyObject *r = shape ? PyObject_CallFunction(c->alloc, "OsiI", shape, info->dtype, info->fortran, info->format)
                        : NULL;
    Py_XDECREF(shape);
    if (r && (!PyTuple_Check(r) || PyTuple_Size(r) != 2))
        PyErr_SetString(PyExc_TypeError, "alloc must return (result, buffer)");
    else if (r && PyObject_GetBuffer(PyTuple_GetItem(r, 1), &c->view, PyBUF_WRITABLE) == 0) {
        c->have_view = 1;
        if ((size_t)c->view.len < info->nbytes)
            PyErr_SetString(PyExc_ValueError, "alloc gave a buffer smaller than the array");
        else {
            c->result = Py_NewRef(PyTuple_GetItem(r, 0));
            *data = c->view.buf;
        }
    }
    Py_XDECREF(r);
    int rc = c->result ? 0 : 1;
    PyGILState_Release(g);
    return rc;
}

static PyObject *mod_read_file_data(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "read_file_data() takes 3 arguments");
        return NULL;
    }
    PyObject *keep;
    const char *path = name_bytes(args[0], &keep);
    if (!path)
        return NULL;
    PyObject *ret = NULL;
    unsigned long long offset = PyLong_AsUnsignedLongLong(args[1]);
    if (offset == (unsigned long long)-1 && PyErr_Occurred())
        goto out;
    read_ctx c = {args[2], NULL, {0}, 0};
    uint64_t end = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_read_file_data(path, offset, read_alloc, &c, &end);
    Py_END_ALLOW_THREADS
    if (c.have_view)
        PyBuffer_Release(&c.view);
    if (rc == 0)
        ret = Py_BuildValue("(OK)", c.result, (unsigned long long)end);
    else if (rc < 0)
        raise_code(rc, args[0], NULL);
    /* else alloc's exception is set */
    Py_XDECREF(c.result);
out:
    Py_XDECREF(keep);
    return ret;
}

/* ---- loads (npshm_read_file_ex) ------------------------------------------------------------- */

PyDoc_STRVAR(read_file_doc,
             "read_file($module, path, name, flags, shape, descr, offset, cancel_addr, timeout_ms, /)\n--\n\n"
             "npshm_read_file_ex without the GIL: attach name or load the npio/.npy file path into it. "
             "shape and descr (or None) are the expectations; cancel_addr is the address of a C int "
             "that stops the load when set (0: none); timeout_ms bounds the wait for another "
             "process's load (0: no limit). Returns (array, attached, end). A truncated file raises "
             "EOFError, a cancelled load InterruptedError, a timed-out wait TimeoutError.");

static PyObject *mod_read_file(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (need_lib() < 0)
        return NULL;
    (void)self;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "read_file() takes 8 arguments");
        return NULL;
    }
    PyObject *keep_path = NULL, *keep_name = NULL, *ret = NULL;
    const char *path = name_bytes(args[0], &keep_path);
    if (!path)
        return NULL;
    const char *name = name_bytes(args[1], &keep_name);
    if (!name)
        goto out;
    unsigned long flags = PyLong_AsUnsignedLong(args[2]);
    if (flags == (unsigned long)-1 && PyErr_Occurred())
        goto out;
    npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
    int64_t dims[NPSHM_MAX_NDIM];
    if (args[3] != Py_None) {
        int ndim = parse_shape(args[3], dims);
        if (ndim < 0)
            goto out;
        o.expect_shape = 1;
        o.ndim = ndim;
        o.shape = dims;
    }
    if (args[4] != Py_None && !(o.dtype = PyUnicode_AsUTF8AndSize(args[4], NULL)))
        goto out;
    o.offset = PyLong_AsUnsignedLongLong(args[5]);
    if (o.offset == (unsigned long long)-1 && PyErr_Occurred())
        goto out;
    o.cancel = PyLong_AsVoidPtr(args[6]);
    if (!o.cancel && PyErr_Occurred())
        goto out;
    o.timeout_ms = PyLong_AsLongLong(args[7]);
    if (o.timeout_ms == -1 && PyErr_Occurred())
        goto out;
    npshm_array *h = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = npshm_read_file_ex(path, name, (unsigned)flags, &o, &h);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_code(rc, args[0], args[1]);
        goto out;
    }
    PyObject *arr = wrap(h, NULL, args[1]);
    if (arr)
        ret = Py_BuildValue("(NOK)", arr, o.attached ? Py_True : Py_False, (unsigned long long)o.end);
out:
    Py_XDECREF(keep_path);
    Py_XDECREF(keep_name);
    return ret;
}

static PyMethodDef module_methods[] = {
    {"create", (PyCFunction)(void (*)(void))mod_create, METH_FASTCALL, create_doc},
    {"attach", (PyCFunction)(void (*)(void))mod_attach, METH_FASTCALL, attach_doc},
    {"delete", mod_delete, METH_O, delete_doc},
    {"list", mod_list, METH_NOARGS, list_doc},
    {"clean_temporaries", mod_clean_temporaries, METH_O, clean_doc},
    {"version", mod_version, METH_NOARGS, "version($module, /)\n--\n\nThe version of libnpshm."},
    {"dir", mod_dir, METH_NOARGS, "dir($module, /)\n--\n\nThe directory of shared-memory arrays (npshm_dir)."},
    {"set_dir", mod_set_dir, METH_O,
     "set_dir($module, dir, /)\n--\n\nMake dir (str, bytes or None: /dev/shm) the directory of shared-memory "
     "arrays (npshm_set_dir)."},
    {"_setup", (PyCFunction)(void (*)(void))mod_setup, METH_FASTCALL, setup_doc},
    {"read_file", (PyCFunction)(void (*)(void))mod_read_file, METH_FASTCALL, read_file_doc},
    {"shape", mod_shape, METH_O, shape_doc},
    {"file_format", mod_file_format, METH_O, file_format_doc},
    {"write_file_data", (PyCFunction)(void (*)(void))mod_write_file_data, METH_FASTCALL, write_file_data_doc},
    {"encode_file_header", (PyCFunction)(void (*)(void))mod_encode_file_header, METH_FASTCALL,
     encode_file_header_doc},
    {"read_file_data", (PyCFunction)(void (*)(void))mod_read_file_data, METH_FASTCALL, read_file_data_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "npshm._native",
    "The binding of libnpshm: numpy arrays over npshm mappings.",
    -1,
    module_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (!mapping_type) {
        mapping_type = PyType_FromSpec(&mapping_spec);
        if (!mapping_type)
            goto fail;
    }
    if (!order_f && !(order_f = PyUnicode_FromString("F")))
        goto fail;
    if (PyModule_AddObjectRef(m, "Mapping", mapping_type) < 0)
        goto fail;
    /* The version of the header it was built with, which is the package's: known without loading
     * the library (version() asks the library). */
    if (PyModule_AddStringConstant(m, "VERSION", NPSHM_VERSION) < 0)
        goto fail;
    struct {
        const char *name;
        long value;
    } consts[] = {
        {"READONLY", NPSHM_READONLY},   {"REPLACE", NPSHM_REPLACE},
        {"EXCLUSIVE", NPSHM_EXCLUSIVE}, {"ACCEPT_FOREIGN", NPSHM_ACCEPT_FOREIGN},
        {"FORTRAN", NPSHM_FORTRAN},     {"HAS_MODE", NPSHM_HAS_MODE},
        {"NO_RESERVE", NPSHM_NO_RESERVE},
        {"MS_ASYNC", NPSHM_MS_ASYNC},   {"MS_SYNC", NPSHM_MS_SYNC},
        {"MS_INVALIDATE", NPSHM_MS_INVALIDATE}, {"MAX_NDIM", NPSHM_MAX_NDIM},
        {"EXCLUSIVE", NPSHM_EXCLUSIVE}, {"NPY", NPSHM_NPY}, {"NPIO", NPSHM_NPIO},
        {"FORMAT_NPSHM", NPSHM_FORMAT_NPSHM}, {"FORMAT_SHAREDARRAY", NPSHM_FORMAT_SHAREDARRAY},
        {"FORMAT_CDXCORE", NPSHM_FORMAT_CDXCORE},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
