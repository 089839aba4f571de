// test_cpp.cpp - npshm.hpp: RAII release, moves, checked data<T>(), exceptions
// carrying status codes and the library's message, remove/list/try_attach, filled
// creation, array files, clean_temporaries.
#include "npshm.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

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
    CHECK(npshm::version_number() == NPSHM_VERSION_NUMBER);

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
            CHECK(false);
        } catch (const npshm::error &e) {
            // what() is the library's message as it is: it names the call and the array,
            // once, with no prefix of the wrapper's before it.
            const std::string what = e.what();
            const std::string want = "npshm_attach(\"" + other + "\"): no array of that name";
            CHECK(what.rfind(want, 0) == 0);
            CHECK(what.find("npshm_attach", 1) == std::string::npos);
            CHECK(what.find("NPSHM_ERR") == std::string::npos);
            CHECK(what == npshm_last_error());
            CHECK(e.sys_errno() == ENOENT);
            CHECK(std::string(npshm::code_name(e.code())) == "NPSHM_ERR_NOT_FOUND");
        }
        try {
            npshm::array::create(other, {1}, "flaot64");
            CHECK(false);
        } catch (const npshm::error &e) {
            CHECK(std::string(e.what()).rfind("npshm_create(\"" + other + "\"): ", 0) == 0);
            CHECK(e.what() == std::string(npshm_last_error()));
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

        // create_init / create_filled: filled before the name exists; a throwing init
        // abandons the creation and keeps the array it would have replaced.
        {
            bool visible_during_init = true;
            auto f = npshm::array::create_init(other + "-init", {3, 4}, "int32", [&](void *data, std::size_t n) {
                visible_during_init = npshm::array::try_attach(other + "-init").has_value();
                CHECK(n == 48);
                auto *p = static_cast<std::int32_t *>(data);
                for (int i = 0; i < 12; i++) p[i] = i * 10;
            });
            CHECK(!visible_during_init);
            CHECK(npshm::array::attach(other + "-init").data<const std::int32_t>()[11] == 110);

            auto g = npshm::array::create_filled(other + "-full", {1000}, "float64", 2.5, NPSHM_MODE(0640));
            auto g2 = npshm::array::attach(other + "-full");
            bool all = true;
            for (int i = 0; i < 1000; i++) all = all && g2.data<const double>()[i] == 2.5;
            CHECK(all);
            EXPECT_THROW_CODE(npshm::array::create_filled(other + "-bad", {4}, "float64", std::int32_t{1}),
                              NPSHM_ERR_MISMATCH);
            CHECK(!npshm::array::try_attach(other + "-bad").has_value());
            auto z = npshm::array::create_filled(other + "-empty", {0, 3}, "float64", 1.0);
            CHECK(z.nbytes() == 0);

            struct boom {};
            bool thrown = false;
            try {
                npshm::array::create_init(other + "-init", {2}, "uint8", [](void *, std::size_t) { throw boom(); },
                                          NPSHM_REPLACE);
            } catch (const boom &) {
                thrown = true;
            }
            CHECK(thrown);
            auto kept = npshm::array::attach_expect(other + "-init", {{3, 4}}, std::string("int32"));
            CHECK(kept.data<const std::int32_t>()[11] == 110);
            EXPECT_THROW_CODE(npshm::array::create_init(other + "-init", {2}, "uint8", [](void *, std::size_t) {}),
                              NPSHM_ERR_EXISTS);
            for (const char *suffix : {"-init", "-full", "-empty"}) npshm::remove(other + suffix);
        }

        // Array files: write, read back (loaded, then attached), options, errors.
        {
            char dir[] = "/tmp/npshm-cpp-XXXXXX";
            CHECK(mkdtemp(dir) != nullptr);
            const std::string npy = std::string(dir) + "/a.npy", npio = std::string(dir) + "/a.npio";
            auto src = npshm::array::create_filled(other + "-src", {2, 3}, "float32", 0.25f);
            src.write_file(npy);
            src.write_file(npio);
            npshm::read_result res;
            npshm::read_options opts;
            opts.flags = NPSHM_READONLY;
            auto r1 = npshm::array::read_file(npy, other + "-file", opts, &res);
            CHECK(!res.attached && res.end > 24 && r1.is_readonly());
            CHECK(r1.data<const float>()[5] == 0.25f);
            opts.shape = std::vector<std::int64_t>{2, 3};
            opts.dtype = "float32";
            auto r2 = npshm::array::read_file(npio, other + "-file", opts, &res);
            CHECK(res.attached && r2.shape() == (std::vector<std::int64_t>{2, 3}));
            opts.dtype = "float64";
            EXPECT_THROW_CODE(npshm::array::read_file(npy, other + "-file", opts), NPSHM_ERR_MISMATCH);
            npshm::read_options exclusive;
            exclusive.flags = NPSHM_EXCLUSIVE;
            EXPECT_THROW_CODE(npshm::array::read_file(npy, other + "-file", exclusive), NPSHM_ERR_EXISTS);
            EXPECT_THROW_CODE(npshm::array::read_file(npy + ".missing", other + "-x"), NPSHM_ERR_NOT_FOUND);
            EXPECT_THROW_CODE(src.write_file(std::string(dir) + "/missing/a.npy"), NPSHM_ERR_NOT_FOUND);
            EXPECT_THROW_CODE(npshm::array::create(other + "-u1", {2}, "uint8").write_file(npio),
                              NPSHM_ERR_INVALID); // npio has no uint8
            npshm::remove(other + "-u1");
            EXPECT_THROW_CODE(npshm::array().write_file(npy), NPSHM_ERR_INVALID);
            npshm::remove(other + "-file");
            npshm::remove(other + "-src");

            // clean_temporaries: the leftover of a dead process goes, the rest stays.
            pid_t dead = fork();
            if (dead == 0) _exit(0);
            waitpid(dead, nullptr, 0);
            const std::string stale = std::string(dir) + "/.npshm-tmp-" + std::to_string(dead) + "-1";
            std::ofstream(stale) << "x";
            CHECK(npshm::clean_temporaries(dir) == 1);
            CHECK(access(stale.c_str(), F_OK) != 0);
            CHECK(npshm::clean_temporaries(dir) == 0);
            CHECK(npshm::clean_temporaries() >= 0);
            EXPECT_THROW_CODE(npshm::clean_temporaries(std::string(dir) + "/missing"), NPSHM_ERR_NOT_FOUND);
            for (const std::string &f : {npy, npio}) std::remove(f.c_str());
            rmdir(dir);
        }

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
    for (const char *suffix : {"", "-init", "-full", "-bad", "-empty", "-src", "-file", "-u1"})
        npshm_delete((other + suffix).c_str());
    npshm_delete(name.c_str());

    if (failures) {
        std::fprintf(stderr, "test_cpp: %d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("test_cpp: all checks passed\n");
    return 0;
}
