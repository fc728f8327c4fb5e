#include "net/siphash.hpp"

#include <bit>

namespace net {

namespace {

struct State {
    std::uint64_t v0, v1, v2, v3;

    // One SipRound (paper §2, Figure 2.1).
    void round() {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }

    void compress(std::uint64_t m) {
        v3 ^= m;
        round();
        round();  // c = 2
        v0 ^= m;
    }
};

std::uint64_t load_le(std::span<const std::byte> bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) value |= std::to_integer<std::uint64_t>(bytes[i]) << (8 * i);
    return value;
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
    return z ^ (z >> 31);
}

}  // namespace

std::uint64_t siphash24(const SipHashKey& key, std::span<const std::byte> message) {
    // Initialization with the constants "somepseudorandomlygeneratedbytes".
    State s{key.k0 ^ 0x736f6d6570736575, key.k1 ^ 0x646f72616e646f6d, key.k0 ^ 0x6c7967656e657261,
            key.k1 ^ 0x7465646279746573};
    std::size_t full = message.size() & ~std::size_t{7};
    for (std::size_t i = 0; i < full; i += 8) s.compress(load_le(message.subspan(i, 8)));
    // The last block: the remaining bytes and the length (mod 256) in the top byte.
    s.compress(load_le(message.subspan(full)) | (std::uint64_t{message.size() & 0xFF} << 56));
    // Finalization: d = 4 rounds.
    s.v2 ^= 0xFF;
    for (int i = 0; i < 4; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

SipHashKey siphash_key_from_seed(std::uint64_t seed, std::uint64_t domain) {
    std::uint64_t state = seed ^ splitmix64(domain);
    SipHashKey key;
    key.k0 = splitmix64(state);
    key.k1 = splitmix64(state);
    return key;
}

}  // namespace net
