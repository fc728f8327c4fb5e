#include "net/checksum.hpp"

#include <cstring>

namespace net {

void Checksum::add(std::span<const std::byte> bytes) {
    std::size_t i = 0;
    // Eight bytes at a time: the sum of big-endian words equals the byte-swapped sum of
    // native words folded at the end (RFC 1071 §2(B)), so swap once per 64-bit chunk.
    std::uint64_t wide = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, bytes.data() + i, 8);
        chunk = __builtin_bswap64(chunk);
        wide += (chunk >> 32) + (chunk & 0xFFFFFFFF);  // 33 bits a chunk: no overflow for any packet
    }
    m_sum += (wide >> 32) + (wide & 0xFFFFFFFF);
    for (; i + 1 < bytes.size(); i += 2) {
        m_sum +=
            (std::uint64_t{std::to_integer<std::uint8_t>(bytes[i])} << 8) | std::to_integer<std::uint8_t>(bytes[i + 1]);
    }
    if (i < bytes.size()) m_sum += std::uint64_t{std::to_integer<std::uint8_t>(bytes[i])} << 8;
}

std::uint16_t Checksum::folded() const {
    std::uint64_t sum = m_sum;
    while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

std::uint16_t Checksum::finish() const { return static_cast<std::uint16_t>(~folded()); }

std::uint16_t internet_checksum(std::span<const std::byte> bytes) {
    Checksum c;
    c.add(bytes);
    return c.finish();
}

std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_value, std::uint16_t new_value) {
    std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
    sum += static_cast<std::uint16_t>(~old_value);
    sum += new_value;
    while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

}  // namespace net
