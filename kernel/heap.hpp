#pragma once
// The kernel heap behind operator new: boundary-tagged blocks in chunks of memory that a
// ChunkSource provides (frames from the frame allocator in the kernel, a buffer in tests),
// free blocks kept in power-of-two bins and merged with their neighbours when freed.
// Not for the packet path: buffers there come from pools.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/result.hpp"

namespace kernel {

enum class HeapError { NotFromHeap, DoubleFree, Corrupted };
const char* to_string(HeapError error);

class Heap {
public:
    static constexpr std::size_t k_min_alignment = 16;

    class ChunkSource {
    public:
        // Memory of at least min_bytes (16-byte aligned), or an empty span.
        virtual std::span<std::byte> grow(std::size_t min_bytes) = 0;

    protected:
        ChunkSource() = default;
        ChunkSource(const ChunkSource&) = default;
        ChunkSource& operator=(const ChunkSource&) = default;
        ~ChunkSource() = default;
    };

    struct Stats {
        std::size_t chunk_bytes = 0;  // all memory the heap holds
        std::size_t used_bytes = 0;   // in allocated blocks, headers included
        std::size_t peak_used_bytes = 0;
        std::size_t allocations = 0;  // live
        std::size_t failed_allocations = 0;
    };

    struct Block;  // defined in heap.cpp

    explicit Heap(ChunkSource* source = nullptr) : m_source(source) {}
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // Hands the heap a chunk of memory (at least 64 bytes).
    void add_memory(std::span<std::byte> memory);
    // nullptr when no memory is left; alignment must be a power of two.
    [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = k_min_alignment);
    Result<void, HeapError> release(void* pointer);
    // Bytes usable at pointer (at least the size asked for).
    [[nodiscard]] std::size_t usable_size(const void* pointer) const;
    [[nodiscard]] const Stats& stats() const { return m_stats; }
    [[nodiscard]] std::size_t free_bytes() const { return m_stats.chunk_bytes - m_stats.used_bytes; }

private:
    static constexpr std::size_t k_bins = 48;

    Block* find_fit(std::size_t block_size, std::size_t alignment);
    Block* carve(Block* block, std::size_t block_size, std::size_t alignment);
    void insert_free(Block* block);
    void remove_free(Block* block);
    Block* merge(Block* block);
    [[nodiscard]] bool owns(const void* pointer) const;

    ChunkSource* m_source;
    std::array<Block*, k_bins> m_bins{};
    Stats m_stats;
    // Lowest and highest address of any chunk: a cheap first check in release().
    std::uintptr_t m_low = UINTPTR_MAX;
    std::uintptr_t m_high = 0;
};

}  // namespace kernel
