/*
 * npshm.hpp - C++17 wrapper of npshm.h: named numpy arrays in shared memory.
 *
 * Header-only, no state of its own: every function here is an inline call of the
 * C interface in npshm.h (link with the npshm library, e.g. npshm::npshm in CMake
 * or `pkg-config --libs npshm`).
 *
 *   #include <npshm.hpp>
 *
 *   // Process A: create a zero-filled 1000x3 float64 array named "points".
 *   auto a = npshm::array::create("points", {1000, 3}, "float64");
 *   double *p = a.data<double>();          // checked: sizeof(double) == itemsize
 *   p[0] = 1.5;
 *
 *   // Process B: attach to it by name, read-only, checking the geometry.
 *   auto b = npshm::array::attach_expect("points", {{1000, 3}}, "float64",
 *                                        NPSHM_READONLY);
 *   const double *q = b.data<const double>();
 *
 *   npshm::remove("points");                // the name goes; mappings stay valid
 *
 * Ownership: an npshm::array owns one npshm_array handle and releases it (unmaps
 * the memory) in its destructor. It is move-only; a moved-from array is empty
 * (operator bool is false). Releasing never deletes the array's name: that is
 * npshm::remove().
 *
 * Errors: every failing call throws npshm::error, which carries the NPSHM_ERR_*
 * status code (code()), the errno the operating system reported, if any
 * (sys_errno()), and npshm_last_error()'s message in what(). The accessors of an
 * empty array throw npshm::error with code NPSHM_ERR_INVALID.
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
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace npshm {

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

/* Throws npshm::error for a negative status; `what` names the call. */
inline void check(int rc, const char *what, const std::string &name = std::string()) {
    if (rc >= 0) return;
    std::string msg = what;
    if (!name.empty()) msg += "(\"" + name + "\")";
    msg += ": ";
    msg += code_name(rc);
    const char *detail = npshm_last_error();
    if (detail != nullptr && *detail != '\0') {
        msg += ": ";
        msg += detail;
    }
    throw error(rc, msg, npshm_last_errno());
}

} // namespace detail

/* The errno of this thread's last failure (see npshm_last_errno()). */
inline int last_errno() noexcept { return npshm_last_errno(); }

/* The library version, e.g. "0.1.0". */
inline std::string version() { return npshm_version(); }

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
                                   shape.empty() ? nullptr : shape.data(), dtype.c_str(),
                                   flags, &h),
                      "npshm_create", name);
        return array(h);
    }

    /* Attaches to an existing array (npshm_attach); flags NPSHM_READONLY or 0. */
    static array attach(const std::string &name, unsigned flags = 0) {
        npshm_array *h = nullptr;
        detail::check(npshm_attach(name.c_str(), flags, &h), "npshm_attach", name);
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
        const std::int64_t *dims = (shape && !shape->empty()) ? shape->data() : nullptr;
        detail::check(npshm_attach_expect(name.c_str(), flags, ndim, dims,
                                          dtype ? dtype->c_str() : nullptr, &h),
                      "npshm_attach_expect", name);
        return array(h);
    }

    /* Like attach(), but std::nullopt if there is no array of that name; other
     * failures still throw. */
    static std::optional<array> try_attach(const std::string &name, unsigned flags = 0) {
        npshm_array *h = nullptr;
        int rc = npshm_attach(name.c_str(), flags, &h);
        if (rc == NPSHM_ERR_NOT_FOUND) return std::nullopt;
        detail::check(rc, "npshm_attach", name);
        return std::optional<array>(array(h));
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
        if (sizeof(T) != npshm_itemsize(h)) {
            throw error(NPSHM_ERR_MISMATCH,
                        "npshm::array::data<T>: sizeof(T) is " + std::to_string(sizeof(T)) +
                            " but the itemsize of \"" + npshm_name(h) + "\" (dtype " +
                            npshm_dtype(h) + ") is " + std::to_string(npshm_itemsize(h)));
        }
        if (!std::is_const<T>::value && npshm_is_readonly(h)) {
            throw error(NPSHM_ERR_INVALID, std::string("npshm::array::data<T>: \"") +
                                               npshm_name(h) +
                                               "\" is mapped read-only; use a const T");
        }
        return static_cast<T *>(npshm_data(h));
    }

    /* Size of the data in bytes. */
    std::size_t nbytes() const { return npshm_nbytes(handle()); }
    /* Bytes per element. */
    std::size_t itemsize() const { return npshm_itemsize(handle()); }
    /* Number of elements: the product of the shape (1 for a 0-d array). */
    std::size_t size() const {
        const npshm_array *h = handle();
        std::size_t n = 1;
        const std::int64_t *s = npshm_shape(h);
        for (int i = 0, nd = npshm_ndim(h); i < nd; i++) n *= static_cast<std::size_t>(s[i]);
        return n;
    }
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
    void msync(int flags = NPSHM_MS_SYNC) const {
        detail::check(npshm_msync(handle(), flags), "npshm_msync");
    }
    void mlock() const { detail::check(npshm_mlock(handle()), "npshm_mlock"); }
    void munlock() const { detail::check(npshm_munlock(handle()), "npshm_munlock"); }

private:
    const npshm_array *handle() const {
        if (h_ == nullptr) throw error(NPSHM_ERR_INVALID, "npshm::array: empty (no handle)");
        return h_;
    }

    npshm_array *h_ = nullptr;
};

/* Removes the name (npshm_delete); existing mappings keep working. */
inline void remove(const std::string &name) {
    detail::check(npshm_delete(name.c_str()), "npshm_delete", name);
}

/* Like remove(), but returns false instead of throwing if there is no such array. */
inline bool remove_if_exists(const std::string &name) {
    int rc = npshm_delete(name.c_str());
    if (rc == NPSHM_ERR_NOT_FOUND) return false;
    detail::check(rc, "npshm_delete", name);
    return true;
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

namespace detail {
struct list_ctx {
    std::vector<info> *out;
    std::exception_ptr failure;
};

/* Called by npshm_list. Exceptions must not unwind through the C library, so
 * they are caught here and rethrown by list(). */
inline int list_callback(const npshm_info *in, void *ctx) noexcept {
    auto *c = static_cast<list_ctx *>(ctx);
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
        c->out->push_back(std::move(i));
        return 0;
    } catch (...) {
        c->failure = std::current_exception();
        return 1;
    }
}
} // namespace detail

/* Every npshm array in /dev/shm the caller may read, in no particular order. */
inline std::vector<info> list() {
    std::vector<info> out;
    detail::list_ctx ctx{&out, nullptr};
    int rc = npshm_list(&detail::list_callback, &ctx);
    if (ctx.failure) std::rethrow_exception(ctx.failure);
    detail::check(rc, "npshm_list");
    return out;
}

} // namespace npshm

#endif /* NPSHM_HPP */
