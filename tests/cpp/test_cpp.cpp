// test_cpp.cpp - npshm.hpp: RAII release, moves, checked data<T>(), exceptions
// carrying status codes, remove/list/try_attach.
#include "npshm.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
            failures++;                                                              \
        }                                                                            \
    } while (0)

// The call must throw npshm::error with this code and a message.
#define EXPECT_THROW_CODE(stmt, want)                                                          \
    do {                                                                                       \
        bool thrown_ = false;                                                                  \
        try {                                                                                  \
            stmt;                                                                              \
        } catch (const npshm::error &e_) {                                                     \
            thrown_ = true;                                                                    \
            if (e_.code() != (want) || std::strlen(e_.what()) == 0) {                          \
                std::fprintf(stderr, "FAIL %s:%d: %s threw %s (%s), want %s\n", __FILE__,      \
                             __LINE__, #stmt, npshm::code_name(e_.code()), e_.what(),          \
                             npshm::code_name(want));                                          \
                failures++;                                                                    \
            }                                                                                  \
        } catch (const std::exception &e_) {                                                   \
            thrown_ = true;                                                                    \
            std::fprintf(stderr, "FAIL %s:%d: %s threw a non-npshm exception: %s\n", __FILE__, \
                         __LINE__, #stmt, e_.what());                                          \
            failures++;                                                                        \
        }                                                                                      \
        if (!thrown_) {                                                                        \
            std::fprintf(stderr, "FAIL %s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt); \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static_assert(!std::is_copy_constructible<npshm::array>::value, "npshm::array must be move-only");
static_assert(!std::is_copy_assignable<npshm::array>::value, "npshm::array must be move-only");
static_assert(std::is_nothrow_move_constructible<npshm::array>::value, "moves must not throw");
static_assert(std::is_nothrow_move_assignable<npshm::array>::value, "moves must not throw");

// Whether the address p lies in a mapping of this process (from /proc/self/maps).
// Releasing an array unmaps it, so its data pointer stops being mapped.
static bool is_mapped(const void *p) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    auto addr = reinterpret_cast<std::uintptr_t>(p);
    while (std::getline(maps, line)) {
        unsigned long long lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi)
            return true;
    }
    return false;
}

int main() {
    const std::string name = "npshm-cpp-" + std::to_string(getpid());
    const std::string other = name + "-other";

    CHECK(!npshm::version().empty());

    try {
        std::vector<const void *> live; // data pointers of arrays in scope
        // create / attach / data<T> / geometry
        {
            auto a = npshm::array::create(name, {4, 5}, "float64");
            CHECK(static_cast<bool>(a));
            CHECK(a.ndim() == 2);
            CHECK((a.shape() == std::vector<std::int64_t>{4, 5}));
            CHECK(a.size() == 20);
            CHECK(a.nbytes() == 160);
            CHECK(a.itemsize() == 8);
            CHECK(a.dtype() == "<f8");
            CHECK(a.name() == name);
            CHECK(!a.is_readonly());
            CHECK(!a.is_fortran());
            double *d = a.data<double>();
            for (int i = 0; i < 20; i++) d[i] = i * 1.5;
            CHECK(is_mapped(d));
            live.push_back(d);

            auto b = npshm::array::attach(name);
            CHECK(b.data<const double>()[19] == 19 * 1.5);
            CHECK(b.data() != a.data());
            live.push_back(b.data());

            // data<T> is checked against the itemsize.
            EXPECT_THROW_CODE(a.data<float>(), NPSHM_ERR_MISMATCH);
            EXPECT_THROW_CODE(a.data<char>(), NPSHM_ERR_MISMATCH);
            CHECK(a.data<std::int64_t>() != nullptr); // same size: allowed

            // Read-only arrays want a const T.
            auto r = npshm::array::attach(name, NPSHM_READONLY);
            live.push_back(r.data());
            CHECK(r.is_readonly());
            CHECK(r.data<const double>()[3] == 4.5);
            EXPECT_THROW_CODE(r.data<double>(), NPSHM_ERR_INVALID);

            // attach_expect
            auto e1 = npshm::array::attach_expect(name, {{4, 5}}, "float64");
            auto e2 = npshm::array::attach_expect(name, std::nullopt, std::string("<f8"));
            auto e3 = npshm::array::attach_expect(name, std::vector<std::int64_t>{4, 5}, std::nullopt,
                                                  NPSHM_READONLY);
            CHECK(e3.is_readonly());
            live.insert(live.end(), {e1.data(), e2.data(), e3.data()});
            for (const void *p : live) CHECK(is_mapped(p));
            EXPECT_THROW_CODE(npshm::array::attach_expect(name, {{5, 4}}, std::nullopt),
                              NPSHM_ERR_MISMATCH);
            EXPECT_THROW_CODE(npshm::array::attach_expect(name, std::nullopt, std::string("int8")),
                              NPSHM_ERR_MISMATCH);
        }
        // RAII: every mapping is gone at the end of the scope.
        CHECK(live.size() == 6);
        for (const void *p : live) CHECK(!is_mapped(p));

        // Moves transfer the handle; the moved-from array is empty.
        {
            auto a = npshm::array::attach(name);
            npshm_array *h = a.get();
            void *p = a.data();
            npshm::array b(std::move(a));
            CHECK(!a);
            CHECK(a.get() == nullptr);
            CHECK(b.get() == h && b.data() == p);
            CHECK(is_mapped(p));

            npshm::array c;
            CHECK(!c);
            c = std::move(b);
            CHECK(c.get() == h && !b);
            CHECK(is_mapped(p));

            // Move-assigning over a live array releases the old one.
            auto d = npshm::array::attach(name);
            void *q = d.data();
            CHECK(is_mapped(q));
            d = std::move(c);
            CHECK(!is_mapped(q));
            CHECK(d.get() == h && is_mapped(p));

            // Self-move leaves it alone.
            npshm::array &self = d;
            d = std::move(self);
            CHECK(d.get() == h && is_mapped(p));

            // Accessors of an empty array throw instead of crashing.
            EXPECT_THROW_CODE(a.nbytes(), NPSHM_ERR_INVALID);
            EXPECT_THROW_CODE(a.data<double>(), NPSHM_ERR_INVALID);

            // release() gives the handle away; reset() frees.
            npshm_array *raw = d.release();
            CHECK(!d && raw == h);
            CHECK(is_mapped(p));
            d.reset(raw);
            CHECK(is_mapped(p));
            d.reset();
            CHECK(!d);
            CHECK(!is_mapped(p));

            // Arrays live happily in containers.
            std::vector<npshm::array> v;
            for (int i = 0; i < 5; i++) v.push_back(npshm::array::attach(name));
            void *first = v.front().data(), *last = v.back().data();
            v.erase(v.begin());
            CHECK(!is_mapped(first));
            CHECK(is_mapped(last));
            v.clear();
            CHECK(!is_mapped(last));
        }

        // Exceptions carry the status code and npshm_last_error().
        EXPECT_THROW_CODE(npshm::array::create(name, {1}, "uint8"), NPSHM_ERR_EXISTS);
        EXPECT_THROW_CODE(npshm::array::create("a/b", {1}, "uint8"), NPSHM_ERR_INVALID);
        EXPECT_THROW_CODE(npshm::array::create(other, {-1}, "uint8"), NPSHM_ERR_INVALID);
        EXPECT_THROW_CODE(npshm::array::create(other, {1}, "object"), NPSHM_ERR_INVALID);
        EXPECT_THROW_CODE(npshm::array::attach(other), NPSHM_ERR_NOT_FOUND);
        EXPECT_THROW_CODE(npshm::remove(other), NPSHM_ERR_NOT_FOUND);
        try {
            npshm::array::attach(other);
        } catch (const npshm::error &e) {
            std::string what = e.what();
            CHECK(what.find("NPSHM_ERR_NOT_FOUND") != std::string::npos);
            CHECK(what.find(other) != std::string::npos);
            // The library's own message is part of what().
            npshm_array *h = nullptr;
            CHECK(npshm_attach(other.c_str(), 0, &h) == NPSHM_ERR_NOT_FOUND);
            CHECK(what.find(npshm_last_error()) != std::string::npos);
        }
        // npshm::error is a std::runtime_error.
        try {
            npshm::array::attach(other);
            CHECK(false);
        } catch (const std::runtime_error &e) {
            CHECK(std::strlen(e.what()) > 0);
        }

        // try_attach: nullopt only for a missing name.
        CHECK(!npshm::array::try_attach(other).has_value());
        {
            auto t = npshm::array::try_attach(name);
            CHECK(t.has_value() && t->nbytes() == 160);
        }
        EXPECT_THROW_CODE(npshm::array::try_attach(""), NPSHM_ERR_INVALID);

        // 0-d arrays, Fortran order, REPLACE, modes, msync/mlock.
        {
            auto s = npshm::array::create(other, {}, "int32", NPSHM_MODE(0640));
            CHECK(s.ndim() == 0 && s.size() == 1 && s.shape().empty());
            *s.data<std::int32_t>() = 7;
            auto f = npshm::array::create(other, {2, 3}, "float32", NPSHM_REPLACE | NPSHM_FORTRAN);
            CHECK(f.is_fortran());
            CHECK(*s.data<std::int32_t>() == 7); // the replaced array's mapping stays valid
            f.msync();
            f.msync(NPSHM_MS_ASYNC);
            EXPECT_THROW_CODE(f.msync(8), NPSHM_ERR_INVALID);
            f.mlock();
            f.munlock();
        }

        // list() sees both arrays.
        int seen = 0;
        for (const auto &i : npshm::list()) {
            if (i.name == name) {
                seen++;
                CHECK(i.dtype == "<f8");
                CHECK((i.shape == std::vector<std::int64_t>{4, 5}));
                CHECK(i.nbytes == 160 && i.itemsize == 8 && !i.fortran);
                CHECK(i.creator_pid == getpid());
            } else if (i.name == other) {
                seen++;
                CHECK(i.fortran);
            }
        }
        CHECK(seen == 2);

        // remove / remove_if_exists
        npshm::remove(name);
        CHECK(npshm::remove_if_exists(other));
        CHECK(!npshm::remove_if_exists(other));
        EXPECT_THROW_CODE(npshm::remove_if_exists("."), NPSHM_ERR_INVALID);
    } catch (const npshm::error &e) {
        std::fprintf(stderr, "FAIL: unexpected npshm::error %s: %s\n", npshm::code_name(e.code()),
                     e.what());
        failures++;
    }
    npshm_delete(name.c_str());
    npshm_delete(other.c_str());

    if (failures) {
        std::fprintf(stderr, "test_cpp: %d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("test_cpp: all checks passed\n");
    return 0;
}
