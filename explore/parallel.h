// Runs f(i, engine) for every i in [0, n) on `jobs` threads, each with its
// own engine (one fiber scheduler per OS thread); results go by index, so
// they do not depend on the threads.
#pragma once
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/execution.h"

namespace regsync::explore {

template <typename F>
void parallel_for(std::size_t n, int jobs, harness::Engine& engine, F&& f) {
    if (jobs <= 1) {
        for (std::size_t i = 0; i < n; ++i) f(i, engine);
        return;
    }
    std::atomic<std::size_t> next{0};
    // An exception (an input error, a plugin's fault) stops the others and
    // is thrown here, as with one thread, instead of ending the process.
    std::exception_ptr first;
    std::mutex m;
    std::vector<std::thread> threads;
    for (int t = 0; t < jobs; ++t)
        threads.emplace_back([&] {
            harness::Engine own;
            try {
                for (std::size_t i; (i = next.fetch_add(1)) < n;) f(i, own);
            } catch (...) {
                std::lock_guard<std::mutex> lock(m);
                if (!first) first = std::current_exception();
                next.store(n);
            }
        });
    for (auto& th : threads) th.join();
    if (first) std::rethrow_exception(first);
}

}  // namespace regsync::explore
