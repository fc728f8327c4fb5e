#pragma once
// Helpers shared by the virtqueue tests: a queue made or the test fails, a pool of data
// buffers the simulated device can reach, and one-segment add and drain shorthands.

#include <catch2/catch.hpp>
#include <cstdint>
#include <span>
#include <vector>

#include "test/unit/virtio/fake_dma.hpp"
#include "virtio/virtqueue.hpp"

// REQUIRE for checks made millions of times: Catch's assertion machinery costs
// microseconds under ASan; this reports only failures.
#define FAST_REQUIRE(condition)                        \
    do {                                               \
        if (!(condition)) FAIL("failed: " #condition); \
    } while (false)

namespace test {

inline virtio::Virtqueue make_queue(FakeDma& dma, const virtio::VirtqueueConfig& config) {
    auto queue = virtio::Virtqueue::create(dma, config);
    REQUIRE(queue.has_value());
    return queue.release_value();
}

// Data buffers the device can reach: slot i is k_slot_bytes at slot * k_slot_bytes.
class BufferPool {
public:
    static constexpr std::uint32_t k_slot_bytes = 256;

    BufferPool(FakeDma& dma, std::size_t slots) {
        auto buffer = virtio::DmaBuffer::allocate(dma, slots * k_slot_bytes, 64);
        REQUIRE(buffer.has_value());
        m_memory = buffer.release_value();
    }
    [[nodiscard]] virtio::Segment segment(std::size_t slot, std::uint32_t offset, std::uint32_t length) const {
        return virtio::Segment{m_memory.device_address_at(slot * k_slot_bytes + offset), length};
    }
    [[nodiscard]] std::byte* cpu(std::size_t slot) const { return m_memory.cpu() + slot * k_slot_bytes; }

private:
    virtio::DmaBuffer m_memory;
};

inline std::span<const virtio::Segment> none() { return {}; }

// A buffer of one device-readable segment: `length` bytes at the start of `slot`.
inline kernel::Result<void, virtio::QueueError> add_readable(virtio::Virtqueue& queue, const BufferPool& pool,
                                                             std::size_t slot, std::uint32_t length,
                                                             virtio::Virtqueue::Token token) {
    virtio::Segment segment = pool.segment(slot, 0, length);
    return queue.add_buffer({&segment, 1}, none(), token);
}

// A buffer of one device-writable segment: `length` bytes at the start of `slot`.
inline kernel::Result<void, virtio::QueueError> add_writable(virtio::Virtqueue& queue, const BufferPool& pool,
                                                             std::size_t slot, std::uint32_t length,
                                                             virtio::Virtqueue::Token token) {
    virtio::Segment segment = pool.segment(slot, 0, length);
    return queue.add_buffer(none(), {&segment, 1}, token);
}

// Drains every completion, failing the test on an error.
inline std::vector<virtio::Virtqueue::Completion> drain(virtio::Virtqueue& queue) {
    std::vector<virtio::Virtqueue::Completion> done;
    for (;;) {
        auto next = queue.get_used();
        FAST_REQUIRE(next.has_value());
        if (!next.value()) return done;
        done.push_back(*next.value());
    }
}

}  // namespace test
