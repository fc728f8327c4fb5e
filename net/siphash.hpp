#pragma once
// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
// pseudo-random function for short inputs, here the secret F() of RFC 6528 ISNs and the
// MAC inside SYN cookies.

#include <cstdint>
#include <span>

namespace net {

struct SipHashKey {
    std::uint64_t k0 = 0;  // key bytes 0..7, little-endian
    std::uint64_t k1 = 0;  // key bytes 8..15
};

[[nodiscard]] std::uint64_t siphash24(const SipHashKey& key, std::span<const std::byte> message);

// A 128-bit key stretched from a 64-bit seed (SplitMix64), separate per purpose: the same
// seed with another domain gives an unrelated key.
[[nodiscard]] SipHashKey siphash_key_from_seed(std::uint64_t seed, std::uint64_t domain);

}  // namespace net
