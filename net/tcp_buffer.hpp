#pragma once
// The byte stores behind a TCP connection: a ring for the send and the receive buffer,
// and a small set of sequence ranges for out-of-order data and the SACK scoreboard.
// Fixed capacity, chosen when the connection is made; nothing grows on the data path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/wire/tcp.hpp"

namespace net {

// A ring of bytes. Offsets count from the oldest byte held (the head).
class ByteRing {
public:
    ByteRing() = default;
    ByteRing(const ByteRing&) = delete;
    ByteRing& operator=(const ByteRing&) = delete;
    ~ByteRing();

    // False when the memory is not there (the caller refuses the connection).
    [[nodiscard]] bool allocate(std::size_t capacity);
    void free();
    [[nodiscard]] bool allocated() const { return m_data != nullptr; }

    [[nodiscard]] std::size_t capacity() const { return m_capacity; }
    [[nodiscard]] std::size_t size() const { return m_size; }
    [[nodiscard]] std::size_t space() const { return m_capacity - m_size; }

    // Appends as much of data as fits; returns how much did.
    std::size_t append(std::span<const std::byte> data);
    // Writes data at offset (which may lie past size(), for out-of-order bytes) without
    // changing size(); offset + data.size() must be within capacity.
    void write_at(std::size_t offset, std::span<const std::byte> data);
    // Counts bytes already written at [size(), size() + n) as held.
    void commit(std::size_t n) { m_size += n; }
    // Copies out.size() bytes starting at offset (within size()).
    void copy_out(std::size_t offset, std::span<std::byte> out) const;
    // Drops n bytes from the head.
    void consume(std::size_t n);

private:
    std::byte* m_data = nullptr;
    std::size_t m_capacity = 0;
    std::size_t m_head = 0;
    std::size_t m_size = 0;
};

// Disjoint, non-adjacent ranges of sequence space, kept in order, at most k_max of them.
// All ranges must lie within 2^31 of each other (true inside one window).
class SeqRangeSet {
public:
    static constexpr std::size_t k_max = 32;

    // Adds [left, right), merging with neighbours. False (and no change) when it would need
    // a range more than k_max holds.
    bool add(SackBlock range);
    // Removes everything below `below`.
    void trim_below(std::uint32_t below);
    void clear() { m_count = 0; }

    [[nodiscard]] bool empty() const { return m_count == 0; }
    [[nodiscard]] std::size_t count() const { return m_count; }
    [[nodiscard]] const SackBlock& operator[](std::size_t i) const { return m_ranges[i]; }
    // The range that starts at or before seq and ends after it, if any.
    [[nodiscard]] const SackBlock* find(std::uint32_t seq) const;
    // Bytes in the ranges at or above seq.
    [[nodiscard]] std::uint32_t bytes_above(std::uint32_t seq) const;
    // Bytes of [left, right) covered by the ranges.
    [[nodiscard]] std::uint32_t covered(std::uint32_t left, std::uint32_t right) const;
    [[nodiscard]] std::uint32_t highest() const { return m_count == 0 ? 0 : m_ranges[m_count - 1].right; }

private:
    std::array<SackBlock, k_max> m_ranges{};
    std::size_t m_count = 0;
};

}  // namespace net
