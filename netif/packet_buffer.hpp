#pragma once
// Packet buffers: fixed-size buffers from a pool made once, with head-room so each layer
// can prepend its header in place. Nothing on the packet path allocates; a pool that runs
// dry makes the caller drop (and count) the packet.
//
// Each buffer's memory is device-visible: the pool is built over a region whose device
// (physical) address is known, so a driver can hand buffers to the NIC without copying.

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/result.hpp"

namespace netif {

class BufferPool;

// What the device said about a received packet, or what it should do with one we send.
struct PacketMetadata {
    bool checksum_verified = false;     // rx: the device checked the L4 checksum
    bool needs_checksum = false;        // tx: the device fills in the L4 checksum
    std::uint16_t checksum_start = 0;   // tx: from here (offset in the frame)...
    std::uint16_t checksum_offset = 0;  // ...store it this far past checksum_start
    std::uint16_t segment_size = 0;     // tx: TCP segmentation offload, 0 = none
    bool dont_fragment = false;         // tx: refuse (tx_too_big) rather than fragment
};

class PacketBuffer {
public:
    PacketBuffer(const PacketBuffer&) = delete;
    PacketBuffer& operator=(const PacketBuffer&) = delete;

    [[nodiscard]] std::byte* data() { return m_storage + m_head; }
    [[nodiscard]] std::size_t size() const { return m_size; }
    [[nodiscard]] std::span<std::byte> bytes() { return {m_storage + m_head, m_size}; }
    [[nodiscard]] std::span<const std::byte> bytes() const { return {m_storage + m_head, m_size}; }
    [[nodiscard]] std::size_t headroom() const { return m_head; }
    [[nodiscard]] std::size_t tailroom() const { return m_capacity - m_head - m_size; }
    [[nodiscard]] std::size_t capacity() const { return m_capacity; }
    [[nodiscard]] std::uint64_t device_address() const { return m_device_address + m_head; }
    // The pool the buffer returns to.
    [[nodiscard]] const BufferPool* pool() const { return m_pool; }

    // Grows the packet at the front by n bytes (for a header); false if no head-room.
    [[nodiscard]] bool push_front(std::size_t n);
    // Drops n bytes from the front (a parsed header); false if the packet is shorter.
    [[nodiscard]] bool pull_front(std::size_t n);
    // Sets the length, keeping the start; false if it does not fit.
    [[nodiscard]] bool resize(std::size_t n);
    // Empties the buffer and puts the start `headroom` bytes in.
    void reset(std::size_t headroom);

    PacketMetadata metadata;
    PacketBuffer* next = nullptr;  // for whoever holds the buffer: queues are intrusive

private:
    friend class BufferPool;
    friend void release_buffer(PacketBuffer* buffer);
    PacketBuffer() = default;
    std::byte* m_storage = nullptr;
    std::uint64_t m_device_address = 0;
    std::size_t m_capacity = 0;
    std::size_t m_head = 0;
    std::size_t m_size = 0;
    BufferPool* m_pool = nullptr;
};

struct PoolStats {
    std::size_t buffers = 0;
    std::size_t free = 0;
    std::size_t lowest_free = 0;  // high-water mark of use
    std::uint64_t exhausted = 0;  // allocations refused because the pool was empty
};

class BufferPool {
public:
    enum class Error { NoMemory, BadSize };

    // count buffers of buffer_size bytes carved from memory (whose first byte the device
    // sees at device_address); new buffers start with `headroom` bytes of head-room. The
    // descriptors come from the heap, once.
    static kernel::Result<BufferPool*, Error> create(std::span<std::byte> memory, std::uint64_t device_address,
                                                     std::size_t buffer_size, std::size_t headroom);
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;
    ~BufferPool();

    // nullptr when empty (counted in stats().exhausted).
    [[nodiscard]] PacketBuffer* allocate();
    void release(PacketBuffer* buffer);
    [[nodiscard]] const PoolStats& stats() const { return m_stats; }
    [[nodiscard]] std::size_t buffer_size() const { return m_buffer_size; }
    [[nodiscard]] std::size_t default_headroom() const { return m_headroom; }

private:
    BufferPool() = default;
    PacketBuffer* m_buffers = nullptr;
    PacketBuffer* m_free = nullptr;
    std::size_t m_buffer_size = 0;
    std::size_t m_headroom = 0;
    PoolStats m_stats;
};

// Returns a buffer to its pool when it goes out of scope, unless released first.
class BufferOwner {
public:
    BufferOwner() = default;
    explicit BufferOwner(PacketBuffer* buffer) : m_buffer(buffer) {}
    BufferOwner(BufferOwner&& other) noexcept : m_buffer(other.release()) {}
    BufferOwner& operator=(BufferOwner&& other) noexcept;
    BufferOwner(const BufferOwner&) = delete;
    BufferOwner& operator=(const BufferOwner&) = delete;
    ~BufferOwner();

    PacketBuffer* get() const { return m_buffer; }
    PacketBuffer* operator->() const { return m_buffer; }
    explicit operator bool() const { return m_buffer != nullptr; }
    PacketBuffer* release() {
        PacketBuffer* b = m_buffer;
        m_buffer = nullptr;
        return b;
    }

private:
    PacketBuffer* m_buffer = nullptr;
};

void release_buffer(PacketBuffer* buffer);

}  // namespace netif
