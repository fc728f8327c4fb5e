#pragma once
// The simulation's randomness: a seeded xoshiro256** generator (seeded through splitmix64)
// and probabilities in parts per million. Integer arithmetic only, so a seed gives the same
// run with every compiler and standard library (std::uniform_*_distribution does not
// promise that).

#include <array>
#include <cstdint>

namespace sim {

// A probability in parts per million: Probability::percent(10) is 100'000 ppm.
struct Probability {
    std::uint32_t ppm = 0;

    static constexpr std::uint32_t k_one = 1'000'000;
    static constexpr Probability percent(std::uint32_t p) { return {p * (k_one / 100)}; }
    static constexpr Probability per_mille(std::uint32_t p) { return {p * (k_one / 1000)}; }
    [[nodiscard]] constexpr bool never() const { return ppm == 0; }
    constexpr bool operator==(const Probability&) const = default;
};

class Random {
public:
    explicit Random(std::uint64_t seed) {
        // xoshiro's authors recommend splitmix64 to spread a 64-bit seed over the state.
        for (auto& word : m_state) word = splitmix64(seed);
    }

    std::uint64_t next() {
        // xoshiro256** 1.0 (Blackman and Vigna, https://prng.di.unimi.it/xoshiro256starstar.c).
        const std::uint64_t result = rotl(m_state[1] * 5, 7) * 9;
        const std::uint64_t t = m_state[1] << 17;
        m_state[2] ^= m_state[0];
        m_state[3] ^= m_state[1];
        m_state[1] ^= m_state[2];
        m_state[0] ^= m_state[3];
        m_state[2] ^= t;
        m_state[3] = rotl(m_state[3], 45);
        return result;
    }
    // True with probability p. The modulo's bias is below 1e-13: irrelevant here.
    bool chance(Probability p) { return next() % Probability::k_one < p.ppm; }
    // Uniform in [0, bound) (bound > 0).
    std::uint64_t below(std::uint64_t bound) { return next() % bound; }

    static std::uint64_t splitmix64(std::uint64_t& state) {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::array<std::uint64_t, 4> m_state{};
};

}  // namespace sim
