/*
 * npshm.h - named numpy arrays in shared memory, C interface.
 *
 * A process creates an array under a name; any other process on the machine
 * attaches to it by that name and sees the same memory, without copying.
 * A name "x" (or "/x", or "shm://x") is the POSIX shared memory object
 * /dev/shm/x; a name "file://PATH" maps the regular file PATH instead.
 * The segment layout is specified in docs/FORMAT.md.
 *
 * Conventions
 *  - Every function that can fail returns NPSHM_OK (0) or a negative
 *    NPSHM_ERR_* code, and then npshm_last_error() describes the failure,
 *    naming the call and the bad value. Nothing is left behind by a failed
 *    call: no half-made array, no file.
 *  - Every function is thread-safe. An npshm_array handle is immutable after
 *    it is returned; it may be read from several threads, but must not be
 *    used after (or while) npshm_release() runs on it.
 *  - Every function keeps working in a child made by fork() after the parent
 *    used the library: a forked child never enters the Go runtime, which does
 *    not survive fork; every function runs a C implementation there instead.
 *    No function aborts or panics.
 *  - Arrays are in C order unless npshm_is_fortran() says otherwise, with the
 *    data starting on a page boundary.
 *
 * Contents, in this order: versions; status codes; flags and limits; creating
 * an array; attaching one; the accessors of a handle; releasing and deleting;
 * listing; array files; cleaning up after killed processes; msync and mlock;
 * the last error.
 */
#ifndef NPSHM_H
#define NPSHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions ------------------------------------------------------------------------------ */

/* The library version; the one place it is written (the build files read it from here). */
#define NPSHM_VERSION_MAJOR 0
#define NPSHM_VERSION_MINOR 1
#define NPSHM_VERSION_PATCH 0

/* The version as a number for #if: major * 10000 + minor * 100 + patch (0.1.0 is 100). */
#define NPSHM_VERSION_NUMBER \
    (NPSHM_VERSION_MAJOR * 10000 + NPSHM_VERSION_MINOR * 100 + NPSHM_VERSION_PATCH)

/* The version as a string, "MAJOR.MINOR.PATCH", e.g. "0.1.0". */
#define NPSHM__STR_(x) #x
#define NPSHM__STR(x) NPSHM__STR_(x)
#define NPSHM_VERSION \
    NPSHM__STR(NPSHM_VERSION_MAJOR) "." NPSHM__STR(NPSHM_VERSION_MINOR) "." \
    NPSHM__STR(NPSHM_VERSION_PATCH)

/* The version of the library loaded at run time (which may be newer than the header a program
 * was compiled with): the string, e.g. "0.1.0", static; and the number, as NPSHM_VERSION_NUMBER. */
const char *npshm_version(void);
int npshm_version_number(void);

/* ---- Status codes -------------------------------------------------------------------------- */

#define NPSHM_OK               0
#define NPSHM_ERR_EXISTS      (-1) /* the name is taken (create without NPSHM_REPLACE) */
#define NPSHM_ERR_NOT_FOUND   (-2) /* no array (or file) of that name */
#define NPSHM_ERR_INVALID     (-3) /* a bad argument: name, shape, dtype, flags, NULL pointer */
#define NPSHM_ERR_NO_SPACE    (-4) /* /dev/shm (or the file system) is full: ENOSPC */
#define NPSHM_ERR_FORMAT      (-5) /* the segment is not an npshm array, or is corrupt */
#define NPSHM_ERR_MISMATCH    (-6) /* the array differs from the expected shape or dtype */
#define NPSHM_ERR_PERMISSION  (-7) /* the operating system refused access: EACCES, EPERM */
#define NPSHM_ERR_IO          (-8) /* any other operating-system failure; see npshm_last_errno() */

/* The name of a status code, e.g. "NPSHM_ERR_EXISTS"; "unknown npshm status" for any other
 * value. A static string. */
const char *npshm_status_name(int status);

/* ---- Flags and limits ---------------------------------------------------------------------- */

/* Every flag, of every function. A function refuses, with NPSHM_ERR_INVALID, a flag it does not
 * take (NPSHM_READONLY for create; NPSHM_REPLACE, NPSHM_FORTRAN or a mode for attach; any
 * other bit); each function's comment lists those it takes. */
#define NPSHM_READONLY       0x1u  /* attach, read_file: map the memory read-only */
#define NPSHM_REPLACE        0x2u  /* create: replace an existing array of that name;
                                      mappings of the old array stay valid */
#define NPSHM_FORTRAN        0x4u  /* create, write_file_data: the data is in Fortran order */
#define NPSHM_EXCLUSIVE      0x10u /* read_file: fail with NPSHM_ERR_EXISTS if the name exists,
                                      instead of attaching to it */
#define NPSHM_NPY            0x20u /* file format: numpy's .npy (numpy.save) */
#define NPSHM_NPIO           0x40u /* file format: cdxcore.npio */
/* read_file: take an existing array that belongs to another user (uid) as the result. Without it
 * such an array is NPSHM_ERR_PERMISSION: anyone can create files in /dev/shm, and another user
 * could have made one with the file's shape and dtype, and a mode that lets them write into it. */
#define NPSHM_ACCEPT_FOREIGN 0x80u
/* create: do not reserve the array's memory. By default a create reserves every page (fallocate),
 * so that touching the array can never raise SIGBUS when /dev/shm fills up, and its time grows with
 * the size. With NPSHM_NO_RESERVE the array is sparse: creating it costs nothing whatever its
 * size, and pages are allocated when first touched -- and if /dev/shm is full then, that touch
 * raises SIGBUS, which kills the process. For arrays used sparsely, with room to spare
 * (docs/RELIABILITY.md). The header records the choice, so that attaches by the same user leave
 * the holes too; a peer's format (NPSHM_FORMAT_*) cannot, and with one it is NPSHM_ERR_INVALID.
 * With npshm_create_init, what the init function writes is such a touch. */
#define NPSHM_NO_RESERVE     0x400u
#define NPSHM_HAS_MODE       0x8000u
/* create, read_file: permission bits of the new array instead of the default 0600, e.g.
 * NPSHM_MODE(0660) to share it with the group. Only the permission bits 0 to 0777 are valid:
 * setuid, setgid, sticky or larger values are NPSHM_ERR_INVALID (the macro passes them on, up to
 * 0177777, for the library to refuse; perm is evaluated twice). */
#define NPSHM_MODE(perm) \
    (NPSHM_HAS_MODE | (((unsigned)(perm) > 0xffffu ? 0xffffu : (unsigned)(perm)) << 16))

/* create: the segment format (docs/FORMAT.md, "The peers' segments"), so that processes still on a
 * peer library attach the array: npshm's own by default, or one of these (not both). What the
 * format cannot carry is NPSHM_ERR_INVALID before anything is created: SharedArray stores a numpy
 * type number (no byte order but the host's, no structured dtype, no datetime unit); cdxcore
 * stores npio's dtypes (no uint8, no strings); neither stores Fortran order (an array with at most
 * one dimension above 1 is C order too, and is accepted). Attach recognises every format by
 * itself; npshm_format() and npshm_info.format tell which an array has. */
#define NPSHM_FORMAT_NPSHM       0x0u
#define NPSHM_FORMAT_SHAREDARRAY 0x100u /* SharedArray 3.x: data first, its metadata block at the end */
#define NPSHM_FORMAT_CDXCORE     0x200u /* cdxcore.npshm: an npio header, the data at 64 bytes */

/* npshm_msync flags (the Linux values of MS_ASYNC, MS_INVALIDATE, MS_SYNC). */
#define NPSHM_MS_ASYNC      1
#define NPSHM_MS_INVALIDATE 2
#define NPSHM_MS_SYNC       4

/* Most dimensions an array may have (numpy's own limit). */
#define NPSHM_MAX_NDIM 64

/* The longest header npshm_encode_file_header writes: a buffer of this size always suffices. */
#define NPSHM_MAX_FILE_HEADER 66048

/* ---- Creating an array --------------------------------------------------------------------- */

/* An attached array: an opaque handle owned by the caller until npshm_release(). */
typedef struct npshm_array npshm_array;

/*
 * npshm_create - create a new zero-filled array and attach to it.
 *   name   "x", "/x", "shm://x" or "file://PATH". A shm name is at most 255
 *          bytes and may not be empty, ".", "..", or contain '/'.
 *   ndim   0 .. NPSHM_MAX_NDIM; shape holds ndim sizes >= 0 (NULL if ndim is 0).
 *          As in numpy, itemsize times the product of the nonzero sizes must
 *          not exceed 2**63-1, even when another size is 0; and an array that
 *          is not empty holds at most 2**56 bytes.
 *   dtype  a numpy name ("float64", "uint8", "bool", "complex128",
 *          "datetime64[ns]") or a .npy descriptor ("<f8", "|S7", "<U3",
 *          "[('x', '<f4'), ('y', '<i8', (3,))]"). Object dtypes, and items of
 *          2**31 bytes or more, are refused (numpy cannot hold them).
 *   flags  NPSHM_REPLACE, NPSHM_FORTRAN, NPSHM_NO_RESERVE, NPSHM_MODE(perm), NPSHM_FORMAT_*,
 *          or 0.
 *   out    receives the handle on success; untouched on failure.
 * Creation is exclusive and atomic: nobody can attach a half-made array. The
 * memory is reserved up front, so a full /dev/shm fails here with
 * NPSHM_ERR_NO_SPACE instead of a SIGBUS later.
 * Errors: EXISTS, INVALID, NO_SPACE, PERMISSION, NOT_FOUND (missing file://
 * directory), IO.
 */
int npshm_create(const char *name, int ndim, const int64_t *shape, const char *dtype,
                 unsigned flags, npshm_array **out);

/* Fills a new array's data for npshm_create_init: data is zero-filled, nbytes long. Return 0 to
 * publish the array, or another value to abandon it (a positive one, which cannot be mistaken
 * for an NPSHM_ERR_* code). */
typedef int (*npshm_init_fn)(void *data, size_t nbytes, void *ctx);

/*
 * npshm_create_init - npshm_create, with the data filled by init(data, nbytes, ctx) before the
 * array gets its name: no process can attach it (nor, with NPSHM_REPLACE, see the old array
 * disappear) until it is filled, and a process killed while filling leaves nothing under the
 * name. init runs in the calling thread and may call the library. If init returns nonzero,
 * nothing is left behind, the old array (NPSHM_REPLACE) stays, and npshm_create_init returns
 * init's value. Arguments and errors otherwise as npshm_create; init NULL is INVALID.
 */
int npshm_create_init(const char *name, int ndim, const int64_t *shape, const char *dtype,
                      unsigned flags, npshm_init_fn init, void *ctx, npshm_array **out);

/* ---- Attaching an array -------------------------------------------------------------------- */

/*
 * npshm_attach - attach to an existing array.
 *   flags  NPSHM_READONLY or 0.
 * The header is validated (magic, version, checksum, size): a foreign or
 * corrupt segment is NPSHM_ERR_FORMAT, never a crash; so is a FIFO or
 * anything but a regular file at the name. A symbolic link at the name is
 * never followed: NPSHM_ERR_PERMISSION with errno ELOOP. A sparse segment
 * (made with ftruncate by another program) is backed before it is mapped,
 * so that touching it cannot raise SIGBUS on a full /dev/shm: NO_SPACE if
 * its holes do not fit.
 * Errors: NOT_FOUND, INVALID, FORMAT, PERMISSION, NO_SPACE, IO.
 */
int npshm_attach(const char *name, unsigned flags, npshm_array **out);

/*
 * npshm_attach_expect - attach, and check the geometry first.
 *   ndim   the expected number of dimensions, or -1 to accept any shape;
 *          shape holds ndim sizes (ignored if ndim is -1).
 *   dtype  the expected dtype (any spelling npshm_create takes), or NULL.
 * Errors: as npshm_attach, plus MISMATCH (nothing stays attached then).
 */
int npshm_attach_expect(const char *name, unsigned flags, int ndim, const int64_t *shape,
                        const char *dtype, npshm_array **out);

/* ---- Accessors of a handle ----------------------------------------------------------------- */

/* Constant time, no system calls, valid until npshm_release(). Each accepts NULL and then
 * returns the value in brackets (NULL or 0), without recording an error. */
void *npshm_data(const npshm_array *array);            /* first byte of the data [NULL] */
size_t npshm_nbytes(const npshm_array *array);         /* size of the data in bytes [0] */
int npshm_ndim(const npshm_array *array);              /* number of dimensions [0] */
const int64_t *npshm_shape(const npshm_array *array);  /* ndim sizes [NULL] */
const char *npshm_dtype(const npshm_array *array);     /* .npy descriptor, e.g. "<f8" [NULL] */
size_t npshm_itemsize(const npshm_array *array);       /* bytes per item [0] */
int npshm_is_readonly(const npshm_array *array);       /* 1 if mapped read-only [0] */
int npshm_is_fortran(const npshm_array *array);        /* 1 if in Fortran order [0] */
const char *npshm_name(const npshm_array *array);      /* the name as given, without "/" or
                                                          "shm://" [NULL] */
unsigned npshm_format(const npshm_array *array);       /* NPSHM_FORMAT_NPSHM, _SHAREDARRAY or
                                                          _CDXCORE [0] */

/*
 * Which array a handle maps, for telling it from another array that later took its name (a
 * replace, or a delete and a new create): the creator and creation time from the array's header,
 * as validated when it was mapped, and the device and inode of the file it maps (st_dev, st_ino),
 * which no later file of the name shares while this one exists. Compare all four with what
 * stat(2) and the header of the name's current file say. Constant time, no system calls; 0 for
 * NULL.
 */
int64_t npshm_created_ns(const npshm_array *array);    /* nanoseconds since the Unix epoch [0] */
int64_t npshm_creator_pid(const npshm_array *array);   /* in the creator's pid namespace [0];
                                                          0 for a peer's segment, as created_ns */
uint64_t npshm_device(const npshm_array *array);       /* st_dev [0] */
uint64_t npshm_inode(const npshm_array *array);        /* st_ino [0] */

/* ---- Releasing and deleting ---------------------------------------------------------------- */

/*
 * npshm_release - unmap the array and free the handle. Never deletes the
 * array. NULL is accepted and ignored (NPSHM_OK).
 * Releasing a handle again is NPSHM_ERR_INVALID ("array already released"),
 * never a double free or an unmap of memory mapped since, in the parent and
 * in a forked child alike, as long as the allocator has not reused the
 * handle's memory meanwhile: like free(), using a handle after releasing it
 * is undefined behaviour; the check is a safety net, not a promise.
 */
int npshm_release(npshm_array *array);

/* npshm_delete - remove the name. Existing mappings keep working; the memory
 * is freed when the last one goes. Like unlink(2) and SharedArray's delete, it
 * removes whatever the name is (a symlink itself, never what it points to).
 * Errors: NOT_FOUND, INVALID, PERMISSION, IO. */
int npshm_delete(const char *name);

/* ---- Listing ------------------------------------------------------------------------------- */

/* What npshm_list reports of one array. The pointers are valid only during
 * the callback. */
typedef struct npshm_info {
    const char *name;       /* pass to npshm_attach */
    const char *dtype;      /* .npy descriptor */
    int ndim;
    const int64_t *shape;
    size_t itemsize;
    size_t nbytes;          /* size of the data */
    unsigned mode;          /* permission bits */
    unsigned uid;           /* owner */
    int64_t creator_pid;
    int64_t created_ns;     /* creation time, nanoseconds since the Unix epoch */
    int fortran;            /* 1 if in Fortran order */
    unsigned format;        /* NPSHM_FORMAT_NPSHM, or a peer's (creator_pid and created_ns are 0) */
} npshm_info;

/* Called once per array; return 0 to go on, or a positive value to stop (a positive value cannot
 * be mistaken for one of the negative error codes). */
typedef int (*npshm_list_fn)(const npshm_info *info, void *ctx);

/*
 * npshm_list - call fn for every array in /dev/shm that the caller may read
 * (npshm's, and the peers' that npshm_attach takes: info->format), in no
 * particular order. Segments of other libraries, corrupt ones and
 * unfinished creations are skipped. Returns NPSHM_OK, a negative error code
 * (IO, PERMISSION) if /dev/shm cannot be read, or the value with which fn
 * asked to stop.
 */
int npshm_list(npshm_list_fn fn, void *ctx);

/* ---- Array files: npio (cdxcore.npio) and numpy's .npy ------------------------------------- */

/* Options and results of npshm_read_file_ex. Initialise it with NPSHM_READ_OPTIONS_INIT, which
 * sets size, and set what you need: a later version of the library may add fields at the end,
 * and reads only those that size covers, so a program keeps working with a newer library. */
typedef struct npshm_read_options {
    /* sizeof(npshm_read_options) as the caller knows it: smaller than this version's, or larger
     * with nonzero bytes past this version's fields, is NPSHM_ERR_INVALID */
    size_t size;
    /* nonzero: the array (and the file) must have ndim dimensions of shape */
    int expect_shape;
    int ndim;
    const int64_t *shape;
    /* the expected dtype (any spelling npshm_create takes), or NULL for any */
    const char *dtype;
    /* where the array's record starts in the file (several arrays may follow each other in one
     * file); 0 for a file holding one array */
    uint64_t offset;
    /* if not NULL, a load (or a wait for another process's load) stops soon after *cancel
     * becomes nonzero: NPSHM_ERR_IO with errno EINTR, nothing left behind. It may be set from a
     * signal handler or another thread. Once the array is published it is too late: the call
     * returns it, NPSHM_OK. */
    const volatile int *cancel;
    /* how long to wait for another process's load of the name: 0 (the default) or -1 without
     * limit, else at most that many milliseconds, then NPSHM_ERR_IO with errno ETIMEDOUT, the
     * message naming the lock file and the pid holding it. The load itself, once begun, is not
     * limited. */
    int64_t timeout_ms;
    /* out: 1 if an existing array was attached, 0 if this call loaded the file */
    int attached;
    /* out: the offset just past the array's record, 0 if the file was not read */
    uint64_t end;
} npshm_read_options;

/* An npshm_read_options with size set and everything else zero. */
#define NPSHM_READ_OPTIONS_INIT {sizeof(npshm_read_options), 0, 0, NULL, NULL, 0, NULL, 0, 0, 0}

/*
 * npshm_read_file - attach the array name or, if there is none, load the array file path into a
 * new array of that name (the fill of cdxcore.npshm.read_shared_array).
 *   path   an npio file (cdxcore.npio.to_file) or a .npy file (numpy.save; versions 1, 2 and 3,
 *          C or Fortran order): the format is recognised by the file's first bytes, whatever its
 *          name. npio stores datetime64/timedelta64 without a unit: they load as the generic unit
 *          ("<M8", "<m8").
 *   name   as for npshm_create.
 *   flags  NPSHM_READONLY, NPSHM_EXCLUSIVE, NPSHM_ACCEPT_FOREIGN, NPSHM_MODE(perm) (of a new
 *          array), or 0.
 * Of any number of processes (or threads) loading the same name at the same moment, exactly one
 * reads the file; the others wait for it and attach the complete array. A new array is built like
 * npshm_create builds one and gets its name only when completely filled, so nobody sees a partly
 * filled array, and a loader killed half-way leaves nothing attachable and blocks nobody: the wait
 * is on a lock file /dev/shm/.npshm-lock-<name> (docs/FORMAT.md, "Loading") that the kernel
 * unlocks when its holder dies, and that a child the loader forks meanwhile does not inherit.
 * An existing array must have the file's shape and dtype, and belong to the caller's uid (unless
 * NPSHM_ACCEPT_FOREIGN). path must be a regular file: a FIFO or device is refused without opening
 * it for reading.
 * Errors, none of which leaves an array or a temporary file behind:
 *   NOT_FOUND  no such file (or no file:// directory);
 *   FORMAT     the file is truncated (npshm_last_errno() == ENODATA; Python raises EOFError) or
 *              its header is corrupt or unsupported (errno 0; Python raises ValueError);
 *   MISMATCH   the existing array differs from the file or from the expectations of
 *              npshm_read_file_ex;
 *   EXISTS     (NPSHM_EXCLUSIVE) the name exists;
 *   PERMISSION the existing array, or the lock file, belongs to another uid (the message names
 *              it), or the lock file is a symlink or not a regular file;
 *   INVALID    (also: path is not a regular file), NO_SPACE, IO (EINTR: cancelled; ETIMEDOUT:
 *              the wait for another process's load passed timeout_ms).
 */
int npshm_read_file(const char *path, const char *name, unsigned flags, npshm_array **out);

/* npshm_read_file with options (may be NULL). With both an expected shape and dtype, an existing
 * array is attached without opening the file (as cdxcore does); otherwise the file's header is
 * read first. */
int npshm_read_file_ex(const char *path, const char *name, unsigned flags,
                       npshm_read_options *opts, npshm_array **out);

/*
 * npshm_write_file - write an array to the file path: .npy (numpy.save's exact bytes) if path
 * ends in ".npy", else npio (what cdxcore.npio.to_file writes). The file appears complete or not
 * at all: it is written unnamed (or under a temporary name .npshm-tmp-<pid>-..., which
 * npshm_clean_temporaries removes once its writer is dead) and renamed over path, with mode 0666
 * less the umask. npio holds only bool, int8..int64, uint16..uint64, float16..float64,
 * complex64, complex128 and unit-less datetime64/timedelta64, in little-endian C order: another
 * dtype, or a Fortran-order array of more than one non-trivial dimension, is INVALID (write .npy
 * instead).
 * Errors: INVALID (also a NULL or empty path, a NULL array), NOT_FOUND (no such directory),
 * NO_SPACE, PERMISSION, IO.
 */
int npshm_write_file(const char *path, const npshm_array *array);

/* npshm_file_format - the format npshm_write_file, and npshm_write_file_data without a format
 * flag, write to path: NPSHM_NPY if path ends in ".npy", else NPSHM_NPIO (NULL included). For
 * callers that lay out their data for the format (npio holds C order only). */
unsigned npshm_file_format(const char *path);

/*
 * npshm_write_file_data - write an array held in the caller's memory to the file path, as
 * npshm_write_file writes an npshm array (same file semantics, formats and limits).
 *   data   itemsize(dtype) * product(shape) bytes, in C order (Fortran order with NPSHM_FORTRAN);
 *          may be NULL if that is 0.
 *   ndim   0 .. NPSHM_MAX_NDIM; shape holds ndim sizes >= 0 (NULL if ndim is 0).
 *   dtype  any spelling npshm_create takes.
 *   flags  NPSHM_FORTRAN; NPSHM_NPY or NPSHM_NPIO to choose the format, or neither to choose it
 *          by the path as npshm_write_file does.
 * Shapes and dtypes are checked as npshm_create checks them, before any file is made.
 * Errors: INVALID, NOT_FOUND (no such directory), NO_SPACE, PERMISSION, IO.
 */
int npshm_write_file_data(const char *path, const void *data, int ndim, const int64_t *shape,
                          const char *dtype, unsigned flags);

/* What npshm_read_file_data found in a file's header. The pointers are valid only during the
 * callback. */
typedef struct npshm_file_info {
    unsigned format;      /* NPSHM_NPY or NPSHM_NPIO */
    int ndim;
    const int64_t *shape; /* ndim sizes */
    const char *dtype;    /* the canonical .npy descriptor, e.g. "<f8" */
    size_t itemsize;
    size_t nbytes;        /* size of the data: the memory the callback must give */
    int fortran;          /* 1 if the data is in Fortran order */
} npshm_file_info;

/* Gives npshm_read_file_data the memory to read an array into: set *data to info->nbytes
 * writable bytes (anything, NULL included, if that is 0) and return 0, or return a positive
 * value to stop (npshm_read_file_data then returns that value and reads nothing). */
typedef int (*npshm_alloc_fn)(const npshm_file_info *info, void **data, void *ctx);

/*
 * npshm_read_file_data - read the array of an array file into memory of the caller's: the reader
 * of npshm_read_file_ex without a shared array (numpy.load, cdxcore.npio.from_file).
 *   path    an npio or .npy file, recognised by its first bytes, as npshm_read_file reads it.
 *   offset  where the array's record starts in the file; 0 for a file holding one array.
 *   alloc   called once, in the calling thread, with the decoded header, only after the file is
 *           known to hold all the data the header describes: a damaged file is refused before
 *           any memory is asked for. It may call the library.
 *   end     receives the offset just past the record (may be NULL; 0 on failure).
 * The file is opened once, and the header and the data are read from that one descriptor: a file
 * renamed over path meanwhile cannot mix two files. A file shortened in place meanwhile is FORMAT
 * with errno ENODATA, the memory then holding part of the data; a file rewritten in place while
 * it is read may give mixed data, as with any reader.
 * Errors: NOT_FOUND, FORMAT (ENODATA: truncated; Python raises EOFError), INVALID, PERMISSION,
 * IO, or alloc's own nonzero value.
 */
int npshm_read_file_data(const char *path, uint64_t offset, npshm_alloc_fn alloc, void *ctx,
                         uint64_t *end);

/*
 * npshm_encode_file_header - the header of an array file, as npshm_write_file_data writes it
 * before the data: for writing arrays into a stream of the caller's (several arrays may follow
 * each other in one file, as cdxcore.npio.to_file on an open file writes them).
 *   buf    cap bytes; NPSHM_MAX_FILE_HEADER always suffice.
 *   flags  NPSHM_NPY or NPSHM_NPIO (one of them), and NPSHM_FORTRAN for Fortran-order data.
 *   len    receives the header's length (also when cap is too small: INVALID then).
 * Arguments otherwise as npshm_write_file_data.
 * Errors: INVALID.
 */
int npshm_encode_file_header(void *buf, size_t cap, int ndim, const int64_t *shape,
                             const char *dtype, unsigned flags, size_t *len);

/* ---- The directory of shared-memory arrays ------------------------------------------------- */

/*
 * npshm_dir, npshm_set_dir - the directory of shared-memory arrays.
 * Shared-memory names ("x", "shm://x") are files in one directory: /dev/shm, or the directory that
 * the environment variable NPSHM_DIR names when the library loads, or the one npshm_set_dir chose
 * since (NULL or "": /dev/shm again). A tmpfs mounted with huge=within_size (or always, advise) is
 * the reason to choose another: data 2 MiB or larger is then aligned to 2 MiB and read through
 * huge pages. The directory must be an absolute path to a directory that is not a symbolic link,
 * owned by root or by the caller, and sticky if others may write to it, under directories that
 * follow the same rules up to / (docs/RELIABILITY.md; /dev/shm itself is used as it is);
 * npshm_set_dir refuses any other (PERMISSION, INVALID, NOT_FOUND) and keeps the old one, and an
 * NPSHM_DIR that breaks the rules makes every operation on a shared-memory name fail so. The
 * directory checked is held open (a close-on-exec descriptor): if it is removed later, operations
 * on shared-memory names fail with NOT_FOUND naming it, and a directory made again under the same
 * path is not used until npshm_set_dir chooses it again. Names cannot leave the directory. Every process that shares arrays must use the same directory. Set it
 * before threads use the library: operations under way keep the one they started with.
 * npshm_dir returns the directory (without a trailing '/'; a string that stays valid), also when
 * it was refused.
 */
const char *npshm_dir(void);
int npshm_set_dir(const char *dir);

/* ---- Cleaning up after killed processes ---------------------------------------------------- */

/*
 * npshm_clean_temporaries - remove what killed processes left behind.
 *   dir      the directory to clean: NULL for the directory of shared-memory
 *            arrays (npshm_dir, /dev/shm by default), or the directory of
 *            file:// arrays.
 *   removed  receives how many files were removed (may be NULL).
 * A process killed while it replaces an array (between naming the new array
 * temporarily and renaming it over the old one), or while it creates one
 * where O_TMPFILE is unavailable, leaves a complete but unreachable file
 * ".npshm-tmp-<pid>-<id>" (docs/FORMAT.md, "Creation"). This removes those
 * whose process <pid> no longer exists (judged in the caller's pid
 * namespace) and that are regular files of the caller's uid; those of live
 * processes and of other users stay. npshm_list never reports them.
 * Errors: INVALID, NOT_FOUND, PERMISSION, IO (the directory cannot be read).
 */
int npshm_clean_temporaries(const char *dir, int *removed);

/* ---- msync and mlock ----------------------------------------------------------------------- */

/*
 * Memory control over the whole mapping: msync(2) with NPSHM_MS_* flags,
 * mlock(2) and munlock(2). Errors: INVALID (also a NULL array), PERMISSION,
 * NO_SPACE (mlock limit, ENOMEM), IO.
 */
int npshm_msync(const npshm_array *array, int flags);
int npshm_mlock(const npshm_array *array);
int npshm_munlock(const npshm_array *array);

/* ---- The last error ------------------------------------------------------------------------ */

/* Message describing this thread's last failure ("" if none). Valid until the
 * thread's next failing call. */
const char *npshm_last_error(void);

/* errno of this thread's last failure if the operating system reported it,
 * else 0. */
int npshm_last_errno(void);

#ifdef __cplusplus
}
#endif

#endif /* NPSHM_H */
