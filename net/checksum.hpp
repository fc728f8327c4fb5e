#pragma once
// The Internet checksum (RFC 1071): one's complement sum of 16-bit words. Accumulate with
// add(), fold with finish(); incremental update (RFC 1624) for rewriting one field.

#include <cstddef>
#include <cstdint>
#include <span>

namespace net {

class Checksum {
public:
    // Adds bytes as big-endian 16-bit words. An odd length is padded with a zero byte,
    // so only the last chunk added may have an odd length.
    void add(std::span<const std::byte> bytes);
    void add16(std::uint16_t value) { m_sum += value; }
    void add32(std::uint32_t value) { m_sum += (value >> 16) + (value & 0xFFFF); }
    // The checksum to store in a header (the complement of the folded sum).
    [[nodiscard]] std::uint16_t finish() const;
    // For verifying: a packet whose stored checksum is right sums to 0xFFFF.
    [[nodiscard]] bool verifies() const { return folded() == 0xFFFF; }

private:
    [[nodiscard]] std::uint16_t folded() const;
    std::uint64_t m_sum = 0;
};

std::uint16_t internet_checksum(std::span<const std::byte> bytes);
// RFC 1624 eq. 3: the checksum after a 16-bit field changes from old_value to new_value.
std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_value, std::uint16_t new_value);

}  // namespace net
