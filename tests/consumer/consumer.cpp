// consumer.cpp - the C++ wrapper from an installed npshm.
#include <npshm.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

int main() {
    const std::string name = "npshm-consumer-cpp-" + std::to_string(getpid());
    try {
        {
            auto a = npshm::array::create(name, {10}, "float64");
            for (int i = 0; i < 10; i++) a.data<double>()[i] = i;
            auto b = npshm::array::attach_expect(name, {{10}}, "<f8", NPSHM_READONLY);
            if (b.data<const double>()[9] != 9.0) {
                std::fprintf(stderr, "consumer_cpp: wrong data\n");
                return 1;
            }
        }
        npshm::remove(name);
        try {
            npshm::array::attach(name);
            std::fprintf(stderr, "consumer_cpp: attach after remove succeeded\n");
            return 1;
        } catch (const npshm::error &e) {
            if (e.code() != NPSHM_ERR_NOT_FOUND) throw;
        }
    } catch (const npshm::error &e) {
        std::fprintf(stderr, "consumer_cpp: %s\n", e.what());
        npshm_delete(name.c_str());
        return 1;
    }
    std::printf("consumer_cpp: npshm %s works from C++\n", npshm::version().c_str());
    return 0;
}
