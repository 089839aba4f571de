/*
 * npshm._native - the Python binding of libnpshm (include/npshm.h).
 *
 * It turns the handles that the C ABI returns into numpy arrays: a Mapping object owns one
 * npshm_array handle and exports its data through the buffer protocol; numpy.ndarray is built
 * over it, so the array (and every view of it) keeps the Mapping alive, and the Mapping's
 * deallocation releases the mapping. Nothing here ever deletes an array.
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

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npshm.h"

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
#endif

/* ---- state set once by _setup() ---------------------------------------------------------- */

static PyObject *ndarray_type;     /* numpy.ndarray */
static PyObject *dtype_from_descr; /* callable: descriptor str -> numpy.dtype (cached in Python) */
static PyObject *order_f;          /* "F" */
static PyObject *mapping_type;     /* the Mapping type */

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

/* Raise the Python exception for a failed call that returned code. */
static PyObject *raise_code(int code)
{
    const char *msg = npshm_last_error();
    int en = npshm_last_errno();
    PyObject *type;
    int with_errno = 1;
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
    case NPSHM_ERR_FORMAT:
    case NPSHM_ERR_MISMATCH:
        type = PyExc_ValueError;
        with_errno = 0;
        break;
    case NPSHM_ERR_NO_SPACE:
        type = PyExc_OSError; /* OSError picks the subclass that fits the errno */
        if (!en)
            en = ENOSPC;
        break;
    case NPSHM_ERR_PERMISSION:
        type = PyExc_PermissionError;
        if (!en)
            en = EACCES;
        break;
    default:
        type = PyExc_OSError;
        if (!en)
            en = EIO;
        break;
    }
    PyObject *exc = with_errno ? PyObject_CallFunction(type, "is", en, msg)
                               : PyObject_CallFunction(type, "s", msg);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
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
    npshm_array *h;
    Py_ssize_t len;      /* data bytes, for the buffer's shape */
    Py_ssize_t itemsize; /* 1, for the buffer's strides */
    int readonly;
} MappingObject;

/* Unmapping a large mapping takes a while: let other threads run meanwhile. */
#define RELEASE_NOGIL_BYTES (1 << 20)

static void mapping_dealloc(PyObject *self)
{
    MappingObject *m = (MappingObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
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
    if (!m->h) {
        PyErr_SetString(PyExc_BufferError, "npshm mapping is released");
        return -1;
    }
    if ((flags & PyBUF_WRITABLE) && m->readonly) {
        PyErr_SetString(PyExc_BufferError, "npshm array is attached read-only");
        return -1;
    }
    view->buf = npshm_data(m->h);
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

static PyObject *mapping_get_name(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyUnicode_DecodeFSDefault(npshm_name(h)) : NULL;
}

static PyObject *mapping_get_descr(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyUnicode_FromString(npshm_dtype(h)) : NULL;
}

static PyObject *mapping_get_shape(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? shape_tuple(npshm_ndim(h), npshm_shape(h)) : NULL;
}

static PyObject *mapping_get_addr(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyLong_FromVoidPtr(npshm_data(h)) : NULL;
}

static PyObject *mapping_get_size(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyLong_FromSize_t(npshm_nbytes(h)) : NULL;
}

static PyObject *mapping_get_itemsize(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyLong_FromSize_t(npshm_itemsize(h)) : NULL;
}

static PyObject *mapping_get_readonly(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyBool_FromLong(npshm_is_readonly(h)) : NULL;
}

static PyObject *mapping_get_fortran(PyObject *self, void *c)
{
    (void)c;
    npshm_array *h = handle_of(self);
    return h ? PyBool_FromLong(npshm_is_fortran(h)) : NULL;
}

static PyGetSetDef mapping_getset[] = {
    {"name", mapping_get_name, NULL, "The array's name, without '/' or 'shm://'.", NULL},
    {"descr", mapping_get_descr, NULL, "The dtype as a .npy descriptor string.", NULL},
    {"shape", mapping_get_shape, NULL, "The array's shape.", NULL},
    {"addr", mapping_get_addr, NULL, "Address of the first byte of the data.", NULL},
    {"size", mapping_get_size, NULL, "Size of the data in bytes.", NULL},
    {"itemsize", mapping_get_itemsize, NULL, "Bytes per element.", NULL},
    {"readonly", mapping_get_readonly, NULL, "True if mapped read-only.", NULL},
    {"fortran", mapping_get_fortran, NULL, "True if the data is in Fortran order.", NULL},
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
        return raise_code(rc);
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
        return raise_code(rc);
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
     "msync(flags=MS_SYNC)\n--\n\nFlush the mapping to its backing object (msync(2)); flags "
     "combine MS_ASYNC or MS_SYNC with MS_INVALIDATE."},
    {"mlock", mapping_mlock, METH_NOARGS, "mlock()\n--\n\nLock the mapping in memory (mlock(2))."},
    {"munlock", mapping_munlock, METH_NOARGS,
     "munlock()\n--\n\nUnlock the mapping (munlock(2))."},
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

/* Wrap a handle into a numpy array. Takes the handle over (releases it on failure). */
static PyObject *wrap(npshm_array *h, PyObject *dtype)
{
    MappingObject *m = PyObject_New(MappingObject, (PyTypeObject *)mapping_type);
    if (!m) {
        npshm_release(h);
        return NULL;
    }
    m->h = h;
    m->len = (Py_ssize_t)npshm_nbytes(h);
    m->itemsize = 1;
    m->readonly = npshm_is_readonly(h);

    PyObject *dt = dtype ? Py_NewRef(dtype) : dtype_for(npshm_dtype(h));
    PyObject *shape = dt ? shape_tuple(npshm_ndim(h), npshm_shape(h)) : NULL;
    PyObject *arr = NULL;
    if (shape) {
        if (npshm_is_fortran(h))
            arr = PyObject_CallFunction(ndarray_type, "OOOiOO", shape, dt, (PyObject *)m, 0,
                                        Py_None, order_f);
        else
            arr = PyObject_CallFunctionObjArgs(ndarray_type, shape, dt, (PyObject *)m, NULL);
    }
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

PyDoc_STRVAR(create_doc,
             "create(name, shape, descr, flags, dtype, fill=None)\n--\n\n"
             "Create an array and return a numpy array over it. descr is the dtype's .npy descriptor, "
             "dtype the numpy.dtype the result gets. fill (bytes) is the whole data in C order, or one "
             "element to repeat; it is written before the array gets its name (npshm_create_init), so "
             "no process sees the array unfilled. Without it the array is zero-filled.");

/* What fill_init copies: the whole data, or one element that it repeats. */
typedef struct fill_source {
    const char *bytes;
    size_t len;
} fill_source;

static int fill_init(void *data, size_t nbytes, void *ctx)
{
    const fill_source *src = ctx;
    if (nbytes == 0 || src->len == 0)
        return 0;
    if (src->len >= nbytes) {
        memcpy(data, src->bytes, nbytes);
        return 0;
    }
    /* One element, repeated: copy it, then double the filled prefix until the end. */
    memcpy(data, src->bytes, src->len);
    size_t done = src->len;
    while (done < nbytes) {
        size_t n = done < nbytes - done ? done : nbytes - done;
        memcpy((char *)data + done, data, n);
        done += n;
    }
    return 0;
}

static PyObject *mod_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5 && nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "create() takes 5 or 6 arguments");
        return NULL;
    }
    fill_source fill = {NULL, 0};
    if (nargs == 6 && args[5] != Py_None) {
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(args[5], (char **)&fill.bytes, &len) < 0)
            return NULL;
        fill.len = (size_t)len;
    }
    PyObject *keep;
    const char *name = name_bytes(args[0], &keep);
    if (!name)
        return NULL;
    int64_t dims[NPSHM_MAX_NDIM];
    PyObject *ret = NULL;
    int ndim = parse_shape(args[1], dims);
    if (ndim < 0)
        goto out;
    const char *descr = PyUnicode_AsUTF8AndSize(args[2], NULL);
    if (!descr)
        goto out;
    unsigned long flags = PyLong_AsUnsignedLong(args[3]);
    if (flags == (unsigned long)-1 && PyErr_Occurred())
        goto out;
    npshm_array *h = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (fill.bytes != NULL)
        rc = npshm_create_init(name, ndim, ndim ? dims : NULL, descr, (unsigned)flags, fill_init, &fill, &h);
    else
        rc = npshm_create(name, ndim, ndim ? dims : NULL, descr, (unsigned)flags, &h);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_code(rc);
        goto out;
    }
    ret = wrap(h, args[4] == Py_None ? NULL : args[4]);
    if (!ret) {
        /* Nothing may be left behind by a failed create. */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        npshm_delete(name);
        PyErr_Restore(et, ev, tb);
    }
out:
    Py_XDECREF(keep);
    return ret;
}

PyDoc_STRVAR(attach_doc, "attach(name, flags)\n--\n\nAttach to an array and return a numpy array over it.");

static PyObject *mod_attach(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
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
        return raise_code(rc);
    return wrap(h, NULL);
}

PyDoc_STRVAR(delete_doc, "delete(name)\n--\n\nRemove the name of an array.");

static PyObject *mod_delete(PyObject *self, PyObject *name_obj)
{
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
        return raise_code(rc);
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
    es->n++;
    return 0;
}

PyDoc_STRVAR(list_doc,
             "list()\n--\n\nThe arrays in /dev/shm, as tuples (name as bytes, descr, shape, itemsize, "
             "nbytes, mode, uid, creator_pid, created_ns, fortran).");

static PyObject *mod_list(PyObject *self, PyObject *unused)
{
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
        raise_code(rc);
        goto done;
    }
    out = PyList_New((Py_ssize_t)es.n);
    if (!out)
        goto done;
    for (size_t i = 0; i < es.n; i++) {
        entry *e = &es.v[i];
        PyObject *shape = shape_tuple(e->ndim, e->shape);
        PyObject *t = shape ? Py_BuildValue("(ysNnnIILLO)", e->name,
                                            e->dtype, shape, (Py_ssize_t)e->itemsize,
                                            (Py_ssize_t)e->nbytes, e->mode, e->uid,
                                            (long long)e->creator_pid, (long long)e->created_ns,
                                            e->fortran ? Py_True : Py_False)
                            : NULL;
        if (!t) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SetItem(out, (Py_ssize_t)i, t);
    }
done:
    for (size_t i = 0; i < es.n; i++) {
        free(es.v[i].name);
        free(es.v[i].dtype);
    }
    free(es.v);
    return out;
}

PyDoc_STRVAR(clean_doc,
             "clean_temporaries(dir)\n--\n\nRemove the temporary files that killed processes "
             "left in dir (None: /dev/shm); return how many were removed.");

static PyObject *mod_clean_temporaries(PyObject *self, PyObject *dir_obj)
{
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
        return raise_code(rc);
    return PyLong_FromLong(removed);
}

static PyObject *mod_version(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(npshm_version());
}

PyDoc_STRVAR(setup_doc,
             "_setup(ndarray, dtype_from_descr)\n--\n\nGive the module numpy.ndarray and the "
             "descriptor-to-dtype conversion.");

static PyObject *mod_setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_setup() takes 2 arguments");
        return NULL;
    }
    PyObject *old_nd = ndarray_type, *old_fn = dtype_from_descr;
    ndarray_type = Py_NewRef(args[0]);
    dtype_from_descr = Py_NewRef(args[1]);
    Py_XDECREF(old_nd);
    Py_XDECREF(old_fn);
    for (unsigned i = 0; i < DCACHE_SIZE; i++) {
        free(dcache[i].descr);
        dcache[i].descr = NULL;
        Py_CLEAR(dcache[i].dtype);
    }
    Py_RETURN_NONE;
}

/* ---- array files (npshm_read_file_ex) ------------------------------------------------------ */

PyDoc_STRVAR(read_file_doc,
             "read_file(path, name, flags, shape, descr, offset, cancel_addr, timeout_ms)\n--\n\n"
             "npshm_read_file_ex without the GIL: attach name or load the npio/.npy file path into it. "
             "shape and descr (or None) are the expectations; cancel_addr is the address of a C int "
             "that stops the load when set (0: none); timeout_ms bounds the wait for another "
             "process's load (0: no limit). Returns (array, attached, end). A truncated file raises "
             "EOFError, a cancelled load InterruptedError, a timed-out wait TimeoutError.");

static PyObject *mod_read_file(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
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
        if (rc == NPSHM_ERR_FORMAT && npshm_last_errno() == ENODATA)
            PyErr_SetString(PyExc_EOFError, npshm_last_error());
        else if (rc == NPSHM_ERR_IO && npshm_last_errno() == EINTR)
            PyErr_SetString(PyExc_InterruptedError, npshm_last_error());
        else
            raise_code(rc);
        goto out;
    }
    PyObject *arr = wrap(h, NULL);
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
    {"version", mod_version, METH_NOARGS, "version()\n--\n\nThe version of libnpshm."},
    {"_setup", (PyCFunction)(void (*)(void))mod_setup, METH_FASTCALL, setup_doc},
    {"read_file", (PyCFunction)(void (*)(void))mod_read_file, METH_FASTCALL, read_file_doc},
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
    struct {
        const char *name;
        long value;
    } consts[] = {
        {"READONLY", NPSHM_READONLY},   {"REPLACE", NPSHM_REPLACE},
        {"EXCLUSIVE", NPSHM_EXCLUSIVE}, {"ACCEPT_FOREIGN", NPSHM_ACCEPT_FOREIGN},
        {"FORTRAN", NPSHM_FORTRAN},     {"HAS_MODE", NPSHM_HAS_MODE},
        {"MS_ASYNC", NPSHM_MS_ASYNC},   {"MS_SYNC", NPSHM_MS_SYNC},
        {"MS_INVALIDATE", NPSHM_MS_INVALIDATE}, {"MAX_NDIM", NPSHM_MAX_NDIM},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
