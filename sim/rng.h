// Fixed-algorithm random numbers: SplitMix64 for seeding, xoshiro256** for draws.
// Standard-library distributions are avoided on purpose: their output differs
// between library versions, and determinism is the product.
#pragma once
#include <cstdint>
#include <string_view>

namespace regsync::sim {

constexpr std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// FNV-1a, used for sub-seed derivation and content hashes.
constexpr std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

// Order-sensitive hash of a sequence of words (final-state and trace
// fingerprints for coverage). 64 bits: collisions are possible, and only
// make a coverage count lower.
constexpr std::uint64_t hash_combine(std::uint64_t h, std::uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0x100000001b3ULL;
}

// Each subsystem draws from its own stream: seed ⊕ hash(name) ⊕ index, so a
// new draw in one subsystem never shifts another (FoundationDB's sub-seeds).
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::string_view subsystem, std::uint64_t index = 0) {
    std::uint64_t s = seed ^ fnv1a(subsystem);
    splitmix64(s);
    s ^= index * 0xd1b54a32d192ed03ULL;
    return splitmix64(s);
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        for (auto& w : s_) w = splitmix64(seed);
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, n) by multiply-shift (Lemire); bias is below 2^-32 for our n.
    std::uint32_t below(std::uint32_t n) {
        return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
    }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4]{};
};

}  // namespace regsync::sim
