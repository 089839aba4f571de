/*
 * npshm.hpp - C++17 wrapper of npshm.h: named numpy arrays in shared memory.
 *
 * Header-only, no state of its own: every function here is an inline call of the
 * C interface in npshm.h (link with the npshm library, e.g. npshm::npshm in CMake
 * or `pkg-config --libs npshm`), and it covers all of it.
 *
 *   #include <npshm.hpp>
 *
 *   // Process A: create a 1000x3 float64 array named "points", filled with 1.5
 *   // before any other process can see it.
 *   auto a = npshm::array::create_filled("points", {1000, 3}, "float64", 1.5);
 *   double *p = a.data<double>();          // checked: sizeof(double) == itemsize
 *   p[0] = 2.5;
 *
 *   // Process B: attach to it by name, read-only, checking the geometry.
 *   auto b = npshm::array::attach_expect("points", {{1000, 3}}, "float64",
 *                                        NPSHM_READONLY);
 *   const double *q = b.data<const double>();
 *
 *   b.write_file("points.npy");            // numpy.load reads it
 *   auto c = npshm::array::read_file("points.npy", "points-copy");
 *   npshm::remove("points");               // the name goes; mappings stay valid
 *
 * Ownership: an npshm::array owns one npshm_array handle and releases it (unmaps
 * the memory) in its destructor. It is move-only; a moved-from array is empty
 * (operator bool is false). Releasing never deletes the array's name: that is
 * npshm::remove().
 *
 * Errors: every failing call throws npshm::error, which carries the NPSHM_ERR_*
 * status code (code(), named by code_name()), the errno the operating system
 * reported, if any (sys_errno()), and npshm_last_error()'s message, unchanged, in
 * what(): it names the call and the array, e.g. `npshm_attach("points"): no array
 * of that name: no such file or directory`. The wrapper's own checks read the same
 * way: `npshm::array::data<T>("points"): ...`. The accessors of an empty array
 * throw npshm::error with code NPSHM_ERR_INVALID.
 *
 * Callbacks (the init of create_init, list) may throw: the exception is carried
 * across the C library, which is left as after a failed call, and rethrown.
 *
 * Threads and fork: as in npshm.h. An npshm::array may be read from several
 * threads; it must not be destroyed, moved or reset while another thread uses it.
 */
#ifndef NPSHM_HPP
#define NPSHM_HPP

#include "npshm.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace npshm {

/* The version of the library loaded at run time, e.g. "0.1.0", and as a number (major * 10000 +
 * minor * 100 + patch, as NPSHM_VERSION_NUMBER is for the header compiled against). */
inline std::string version() { return npshm_version(); }
inline int version_number() noexcept { return npshm_version_number(); }

/* The name of a status code: "NPSHM_OK", "NPSHM_ERR_EXISTS", ... */
inline const char *code_name(int code) noexcept { return npshm_status_name(code); }

/* The exception every failing call throws. */
class error : public std::runtime_error {
public:
    error(int code, const std::string &message, int sys_errno = 0)
        : std::runtime_error(message), code_(code), sys_errno_(sys_errno) {}

    /* The NPSHM_ERR_* status code (negative). */
    int code() const noexcept { return code_; }
    /* The errno the operating system reported for the failure, or 0. */
    int sys_errno() const noexcept { return sys_errno_; }

private:
    int code_;
    int sys_errno_;
};

namespace detail {

/* Throws npshm::error for the failure the library just reported: its status code, its message
 * (npshm_last_error(), which already names the call and the array) and its errno. */
[[noreturn]] inline void throw_last(int rc) {
    const char *msg = npshm_last_error();
    throw error(rc, msg != nullptr && *msg != '\0' ? msg : code_name(rc), npshm_last_errno());
}

/* Returns rc, a status or count, or throws npshm::error if it is a negative status. */
inline int check(int rc) {
    if (rc < 0) throw_last(rc);
    return rc;
}

/* The exception of a callback, carried across the C library (which must not be unwound). */
struct callback_ctx {
    std::exception_ptr failure;
};

/* After a call that ran a callback: rethrows what the callback threw, else checks rc. */
inline int finish(int rc, const callback_ctx &ctx) {
    if (ctx.failure) std::rethrow_exception(ctx.failure);
    return check(rc);
}

/* The sizes of a shape for the C interface: NULL for a 0-d shape. */
inline const std::int64_t *dims(const std::vector<std::int64_t> &shape) noexcept {
    return shape.empty() ? nullptr : shape.data();
}

/* The product of a shape: the number of elements. */
inline std::size_t count(const std::vector<std::int64_t> &shape) noexcept {
    std::size_t n = 1;
    for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
    return n;
}

} // namespace detail

/* The errno of this thread's last failure (see npshm_last_errno()). */
inline int last_errno() noexcept { return npshm_last_errno(); }

/* Options of array::read_file (npshm_read_file_ex); the defaults attach an existing array of the
 * name or load the file into a new one. */
struct read_options {
    /* NPSHM_READONLY, NPSHM_EXCLUSIVE, NPSHM_ACCEPT_FOREIGN, NPSHM_MODE(perm) of a new array,
     * or 0. */
    unsigned flags = 0;
    /* The array (and the file) must have this shape and dtype (any spelling create() takes). */
    std::optional<std::vector<std::int64_t>> shape;
    std::optional<std::string> dtype;
    /* Where the array's record starts in the file. */
    std::uint64_t offset = 0;
    /* If not null, *cancel becoming nonzero stops the load: NPSHM_ERR_IO, errno EINTR. */
    const volatile int *cancel = nullptr;
    /* How long to wait for another process's load of the name, in milliseconds: 0 (or -1)
     * without limit; past it, NPSHM_ERR_IO with errno ETIMEDOUT. */
    std::int64_t timeout_ms = 0;
};

/* What array::read_file did. */
struct read_result {
    bool attached = false;  /* an existing array was attached; the file was not loaded */
    std::uint64_t end = 0;  /* just past the array's record; 0 if the file was not read */
};

/* An attached array: owns an npshm_array handle. */
class array {
public:
    /* An empty array (no handle). */
    array() noexcept = default;
    /* Takes ownership of a handle from the C interface (may be null). */
    explicit array(npshm_array *handle) noexcept : h_(handle) {}

    ~array() { npshm_release(h_); }

    array(const array &) = delete;
    array &operator=(const array &) = delete;
    array(array &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    array &operator=(array &&other) noexcept {
        if (this != &other) reset(std::exchange(other.h_, nullptr));
        return *this;
    }

    /*
     * Creates a new zero-filled array and attaches to it (npshm_create).
     *   shape  the sizes; {} for a 0-d array (a scalar).
     *   dtype  a numpy name ("float64") or .npy descriptor ("<f8").
     *   flags  NPSHM_REPLACE, NPSHM_FORTRAN, NPSHM_MODE(perm), or 0.
     */
    static array create(const std::string &name, const std::vector<std::int64_t> &shape,
                        const std::string &dtype, unsigned flags = 0) {
        npshm_array *h = nullptr;
        detail::check(npshm_create(name.c_str(), static_cast<int>(shape.size()),
                                   detail::dims(shape), dtype.c_str(), flags, &h));
        return array(h);
    }

    /*
     * Creates a new array whose data init fills before the array gets its name
     * (npshm_create_init): no process sees it unfilled. init is called as
     * init(void *data, std::size_t nbytes), on zero-filled data; if it throws, nothing
     * is left behind, an array NPSHM_REPLACE would have replaced stays, and the
     * exception propagates.
     */
    template <class Init>
    static array create_init(const std::string &name, const std::vector<std::int64_t> &shape,
                             const std::string &dtype, Init &&init, unsigned flags = 0) {
        struct ctx_t : detail::callback_ctx {
            Init *init;
        } ctx;
        ctx.init = &init;
        auto trampoline = [](void *data, std::size_t nbytes, void *p) noexcept -> int {
            auto *c = static_cast<ctx_t *>(p);
            try {
                (*c->init)(data, nbytes);
                return 0;
            } catch (...) {
                c->failure = std::current_exception();
                return 1;
            }
        };
        npshm_array *h = nullptr;
        int rc = npshm_create_init(name.c_str(), static_cast<int>(shape.size()),
                                   detail::dims(shape), dtype.c_str(), flags, trampoline, &ctx, &h);
        detail::finish(rc, ctx);
        return array(h);
    }

    /*
     * Creates a new array with every element set to value before it gets its name, as
     * numpy.full does. T must have the dtype's itemsize (NPSHM_ERR_MISMATCH otherwise,
     * and nothing is created); as with data<T>(), the kind is the caller's to match.
     */
    template <class T>
    static array create_filled(const std::string &name, const std::vector<std::int64_t> &shape,
                               const std::string &dtype, const T &value, unsigned flags = 0) {
        static_assert(std::is_trivially_copyable<T>::value,
                      "npshm::array::create_filled<T>: T must be trivially copyable");
        const std::size_t n = detail::count(shape);
        return create_init(
            name, shape, dtype,
            [&](void *data, std::size_t nbytes) {
                if (n == 0) return;
                if (nbytes / n != sizeof(T)) {
                    throw error(NPSHM_ERR_MISMATCH,
                                "npshm::array::create_filled<T>(\"" + name + "\"): sizeof(T) is " +
                                    std::to_string(sizeof(T)) + ", the itemsize of " + dtype +
                                    " is " + std::to_string(nbytes / n));
                }
                T *p = static_cast<T *>(data);
                for (std::size_t i = 0; i < n; i++) std::memcpy(p + i, &value, sizeof(T));
            },
            flags);
    }

    /* Attaches to an existing array (npshm_attach); flags NPSHM_READONLY or 0. */
    static array attach(const std::string &name, unsigned flags = 0) {
        npshm_array *h = nullptr;
        detail::check(npshm_attach(name.c_str(), flags, &h));
        return array(h);
    }

    /*
     * Attaches after checking the geometry (npshm_attach_expect): throws
     * NPSHM_ERR_MISMATCH unless the array has this shape (std::nullopt: any)
     * and dtype (std::nullopt: any; any spelling create() takes).
     */
    static array attach_expect(const std::string &name,
                               const std::optional<std::vector<std::int64_t>> &shape,
                               const std::optional<std::string> &dtype, unsigned flags = 0) {
        npshm_array *h = nullptr;
        int ndim = shape ? static_cast<int>(shape->size()) : -1;
        const std::int64_t *dims = shape ? detail::dims(*shape) : nullptr;
        detail::check(npshm_attach_expect(name.c_str(), flags, ndim, dims,
                                          dtype ? dtype->c_str() : nullptr, &h));
        return array(h);
    }

    /* Like attach(), but std::nullopt if there is no array of that name; other
     * failures still throw. */
    static std::optional<array> try_attach(const std::string &name, unsigned flags = 0) {
        npshm_array *h = nullptr;
        int rc = npshm_attach(name.c_str(), flags, &h);
        if (rc == NPSHM_ERR_NOT_FOUND) return std::nullopt;
        detail::check(rc);
        return std::optional<array>(array(h));
    }

    /*
     * Attaches the array name or, if there is none, loads the array file path (.npy, or
     * cdxcore's npio) into a new array of that name (npshm_read_file_ex): of several
     * processes loading one name at once, exactly one reads the file. result, if given,
     * says which happened.
     */
    static array read_file(const std::string &path, const std::string &name,
                           const read_options &opts = {}, read_result *result = nullptr) {
        npshm_read_options o = NPSHM_READ_OPTIONS_INIT;
        o.expect_shape = opts.shape.has_value();
        o.ndim = opts.shape ? static_cast<int>(opts.shape->size()) : 0;
        o.shape = opts.shape ? detail::dims(*opts.shape) : nullptr;
        o.dtype = opts.dtype ? opts.dtype->c_str() : nullptr;
        o.offset = opts.offset;
        o.cancel = opts.cancel;
        o.timeout_ms = opts.timeout_ms;
        npshm_array *h = nullptr;
        detail::check(npshm_read_file_ex(path.c_str(), name.c_str(), opts.flags, &o, &h));
        if (result != nullptr) *result = read_result{o.attached != 0, o.end};
        return array(h);
    }

    /* Writes the array to the file path (npshm_write_file): .npy if path ends in ".npy",
     * else npio. The file appears complete or not at all. */
    void write_file(const std::string &path) const {
        detail::check(npshm_write_file(path.c_str(), handle()));
    }

    /* True unless empty. */
    explicit operator bool() const noexcept { return h_ != nullptr; }
    /* The C handle (still owned by this object), or null. */
    npshm_array *get() const noexcept { return h_; }
    /* Gives up ownership: the caller must npshm_release() the returned handle. */
    npshm_array *release() noexcept { return std::exchange(h_, nullptr); }
    /* Releases the current handle (unmapping it) and takes `handle` instead. */
    void reset(npshm_array *handle = nullptr) noexcept {
        npshm_array *old = std::exchange(h_, handle);
        if (old != nullptr && old != handle) npshm_release(old);
    }

    /* The first byte of the data (page aligned). */
    void *data() const { return npshm_data(handle()); }

    /*
     * The data as T*, checking that sizeof(T) equals the itemsize (throws
     * NPSHM_ERR_MISMATCH otherwise). On a read-only array T must be const
     * (data<const double>()); a mutable T throws NPSHM_ERR_INVALID there, since a
     * write would crash with SIGSEGV.
     */
    template <class T>
    T *data() const {
        static_assert(std::is_trivially_copyable<T>::value,
                      "npshm::array::data<T>: T must be trivially copyable");
        const npshm_array *h = handle();
        const std::string where = std::string("npshm::array::data<T>(\"") + npshm_name(h) + "\"): ";
        if (sizeof(T) != npshm_itemsize(h)) {
            throw error(NPSHM_ERR_MISMATCH, where + "sizeof(T) is " + std::to_string(sizeof(T)) +
                                                ", the itemsize of its dtype " + npshm_dtype(h) +
                                                " is " + std::to_string(npshm_itemsize(h)));
        }
        if (!std::is_const<T>::value && npshm_is_readonly(h)) {
            throw error(NPSHM_ERR_INVALID, where + "it is mapped read-only: use a const T");
        }
        return static_cast<T *>(npshm_data(h));
    }

    /* Size of the data in bytes. */
    std::size_t nbytes() const { return npshm_nbytes(handle()); }
    /* Bytes per element. */
    std::size_t itemsize() const { return npshm_itemsize(handle()); }
    /* Number of elements: the product of the shape (1 for a 0-d array). */
    std::size_t size() const { return detail::count(shape()); }
    int ndim() const { return npshm_ndim(handle()); }
    std::vector<std::int64_t> shape() const {
        const npshm_array *h = handle();
        const std::int64_t *s = npshm_shape(h);
        int nd = npshm_ndim(h);
        return nd > 0 ? std::vector<std::int64_t>(s, s + nd) : std::vector<std::int64_t>();
    }
    /* The .npy descriptor, e.g. "<f8". */
    std::string dtype() const { return npshm_dtype(handle()); }
    /* The name as given, without "/" or "shm://". */
    std::string name() const { return npshm_name(handle()); }
    bool is_readonly() const { return npshm_is_readonly(handle()) != 0; }
    bool is_fortran() const { return npshm_is_fortran(handle()) != 0; }

    /* msync(2) of the whole mapping; flags NPSHM_MS_SYNC, NPSHM_MS_ASYNC,
     * NPSHM_MS_INVALIDATE. */
    void msync(int flags = NPSHM_MS_SYNC) const { detail::check(npshm_msync(handle(), flags)); }
    /* mlock(2) and munlock(2) of the whole mapping. */
    void mlock() const { detail::check(npshm_mlock(handle())); }
    void munlock() const { detail::check(npshm_munlock(handle())); }

private:
    const npshm_array *handle() const {
        if (h_ == nullptr) throw error(NPSHM_ERR_INVALID, "npshm::array: empty (no handle)");
        return h_;
    }

    npshm_array *h_ = nullptr;
};

/* Removes the name (npshm_delete); existing mappings keep working. */
inline void remove(const std::string &name) { detail::check(npshm_delete(name.c_str())); }

/* Like remove(), but returns false instead of throwing if there is no such array. */
inline bool remove_if_exists(const std::string &name) {
    int rc = npshm_delete(name.c_str());
    if (rc == NPSHM_ERR_NOT_FOUND) return false;
    detail::check(rc);
    return true;
}

/* Removes the temporary files that processes killed while publishing an array left in dir
 * ("" for /dev/shm; the directory of file:// arrays otherwise), those whose process is gone
 * (npshm_clean_temporaries). Returns how many it removed. */
inline int clean_temporaries(const std::string &dir = std::string()) {
    int removed = 0;
    detail::check(npshm_clean_temporaries(dir.empty() ? nullptr : dir.c_str(), &removed));
    return removed;
}

/* What list() reports of one array (a copy of npshm_info). */
struct info {
    std::string name;
    std::string dtype;
    std::vector<std::int64_t> shape;
    std::size_t itemsize = 0;
    std::size_t nbytes = 0;
    unsigned mode = 0;
    unsigned uid = 0;
    std::int64_t creator_pid = 0;
    std::int64_t created_ns = 0;
    bool fortran = false;
};

/* Every npshm array in /dev/shm the caller may read, in no particular order. */
inline std::vector<info> list() {
    struct ctx_t : detail::callback_ctx {
        std::vector<info> out;
    } ctx;
    auto callback = [](const npshm_info *in, void *p) noexcept -> int {
        auto *c = static_cast<ctx_t *>(p);
        try {
            info i;
            i.name = in->name;
            i.dtype = in->dtype;
            if (in->ndim > 0) i.shape.assign(in->shape, in->shape + in->ndim);
            i.itemsize = in->itemsize;
            i.nbytes = in->nbytes;
            i.mode = in->mode;
            i.uid = in->uid;
            i.creator_pid = in->creator_pid;
            i.created_ns = in->created_ns;
            i.fortran = in->fortran != 0;
            c->out.push_back(std::move(i));
            return 0;
        } catch (...) {
            c->failure = std::current_exception();
            return 1;
        }
    };
    detail::finish(npshm_list(callback, &ctx), ctx);
    return std::move(ctx.out);
}

} // namespace npshm

#endif /* NPSHM_HPP */
