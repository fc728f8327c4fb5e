#include "kernel/heap.hpp"

#include <algorithm>
#include <bit>
#include <new>

namespace kernel {

// Every block starts with this header; a free block also holds its bin links.
// size includes the header and is a multiple of 16; the low bits carry flags.
struct Heap::Block {
    std::size_t size_and_flags;
    std::size_t previous_size;  // 0 for the first block of a chunk
    Block* next_free;
    Block* previous_free;

    static constexpr std::size_t k_in_use = 1;
    static constexpr std::size_t k_end_of_chunk = 2;  // the sentinel that closes a chunk
    static constexpr std::size_t k_magic_mask = 0xC;  // must stay clear: a cheap corruption check

    [[nodiscard]] std::size_t size() const { return size_and_flags & ~std::size_t{15}; }
    [[nodiscard]] bool in_use() const { return (size_and_flags & k_in_use) != 0; }
    [[nodiscard]] bool is_sentinel() const { return (size_and_flags & k_end_of_chunk) != 0; }
    [[nodiscard]] std::byte* payload() { return reinterpret_cast<std::byte*>(this) + k_header; }
    Block* next() { return reinterpret_cast<Block*>(reinterpret_cast<std::byte*>(this) + size()); }
    Block* previous() { return reinterpret_cast<Block*>(reinterpret_cast<std::byte*>(this) - previous_size); }
    static Block* from_payload(const void* p) {
        return reinterpret_cast<Block*>(const_cast<std::byte*>(static_cast<const std::byte*>(p)) - k_header);
    }

    static constexpr std::size_t k_header = 16;
    static constexpr std::size_t k_min_size = 32;
};

namespace {

using Block = Heap::Block;

std::size_t round_up(std::size_t value, std::size_t to) { return (value + to - 1) & ~(to - 1); }

std::size_t bin_for(std::size_t block_size) {
    auto bin = static_cast<std::size_t>(std::bit_width(block_size)) - 6;  // 32..63 -> 0
    return std::min<std::size_t>(bin, 47);
}

Block* make_block(std::byte* at, std::size_t size, std::size_t previous_size, std::size_t flags) {
    auto* block = reinterpret_cast<Block*>(at);
    block->size_and_flags = size | flags;
    block->previous_size = previous_size;
    return block;
}

}  // namespace

const char* to_string(HeapError error) {
    switch (error) {
        case HeapError::NotFromHeap: return "pointer was not allocated from the heap";
        case HeapError::DoubleFree: return "block freed twice";
        case HeapError::Corrupted: return "heap block header corrupted (a write past the end of an allocation?)";
    }
    return "unknown heap error";
}

void Heap::add_memory(std::span<std::byte> memory) {
    auto begin = round_up(reinterpret_cast<std::uintptr_t>(memory.data()), k_min_alignment);
    auto end = (reinterpret_cast<std::uintptr_t>(memory.data()) + memory.size()) & ~std::uintptr_t{15};
    if (end <= begin || end - begin < Block::k_min_size + Block::k_header) return;
    std::size_t size = end - begin - Block::k_header;  // the sentinel header closes the chunk
    auto* first = make_block(reinterpret_cast<std::byte*>(begin), size, 0, 0);
    make_block(reinterpret_cast<std::byte*>(begin + size), 0, size, Block::k_in_use | Block::k_end_of_chunk);
    m_stats.chunk_bytes += size;
    m_low = std::min(m_low, begin);
    m_high = std::max(m_high, end);
    insert_free(first);
}

void Heap::insert_free(Block* block) {
    std::size_t bin = bin_for(block->size());
    block->previous_free = nullptr;
    block->next_free = m_bins[bin];
    if (m_bins[bin] != nullptr) m_bins[bin]->previous_free = block;
    m_bins[bin] = block;
}

void Heap::remove_free(Block* block) {
    if (block->previous_free != nullptr)
        block->previous_free->next_free = block->next_free;
    else
        m_bins[bin_for(block->size())] = block->next_free;
    if (block->next_free != nullptr) block->next_free->previous_free = block->previous_free;
}

Heap::Block* Heap::find_fit(std::size_t block_size, std::size_t alignment) {
    // An aligned request may have to skip a leading piece that becomes a free block.
    std::size_t needed = alignment > k_min_alignment ? block_size + alignment + Block::k_min_size : block_size;
    for (std::size_t bin = bin_for(needed); bin < k_bins; ++bin) {
        for (Block* b = m_bins[bin]; b != nullptr; b = b->next_free) {
            if (b->size() >= needed) return b;
        }
    }
    return nullptr;
}

Heap::Block* Heap::carve(Block* block, std::size_t block_size, std::size_t alignment) {
    remove_free(block);
    if (alignment > k_min_alignment) {
        auto payload = reinterpret_cast<std::uintptr_t>(block->payload());
        std::uintptr_t aligned = round_up(payload, alignment);
        if (aligned != payload && aligned - payload < Block::k_min_size) aligned += alignment;
        if (aligned != payload) {
            // Split off the leading gap as a free block of its own.
            std::size_t gap = aligned - payload;
            std::size_t rest = block->size() - gap;
            Block* next = block->next();
            auto* lead = block;
            lead->size_and_flags = gap;
            block = make_block(reinterpret_cast<std::byte*>(lead) + gap, rest, gap, 0);
            next->previous_size = rest;
            insert_free(lead);
        }
    }
    std::size_t remaining = block->size() - block_size;
    if (remaining >= Block::k_min_size) {
        Block* next = block->next();
        Block* tail = make_block(reinterpret_cast<std::byte*>(block) + block_size, remaining, block_size, 0);
        next->previous_size = remaining;
        block->size_and_flags = block_size;
        insert_free(tail);
    }
    block->size_and_flags |= Block::k_in_use;
    return block;
}

void* Heap::allocate(std::size_t size, std::size_t alignment) {
    if (!std::has_single_bit(alignment) || size > (std::size_t{1} << 46)) {
        ++m_stats.failed_allocations;
        return nullptr;
    }
    alignment = std::max(alignment, k_min_alignment);
    std::size_t block_size = std::max(round_up(size + Block::k_header, 16), Block::k_min_size);
    Block* block = find_fit(block_size, alignment);
    if (block == nullptr && m_source != nullptr) {
        std::size_t want = block_size + alignment + 2 * Block::k_min_size + Block::k_header;
        auto chunk = m_source->grow(want);
        if (!chunk.empty()) add_memory(chunk);
        block = find_fit(block_size, alignment);
    }
    if (block == nullptr) {
        ++m_stats.failed_allocations;
        return nullptr;
    }
    block = carve(block, block_size, alignment);
    m_stats.used_bytes += block->size();
    m_stats.peak_used_bytes = std::max(m_stats.peak_used_bytes, m_stats.used_bytes);
    ++m_stats.allocations;
    return block->payload();
}

bool Heap::owns(const void* pointer) const {
    auto address = reinterpret_cast<std::uintptr_t>(pointer);
    return address % k_min_alignment == 0 && address >= m_low + Block::k_header && address < m_high;
}

Heap::Block* Heap::merge(Block* block) {
    Block* next = block->next();
    if (!next->in_use()) {
        remove_free(next);
        block->size_and_flags = block->size() + next->size();
        block->next()->previous_size = block->size();
    }
    if (block->previous_size != 0) {
        Block* previous = block->previous();
        if (!previous->in_use()) {
            remove_free(previous);
            previous->size_and_flags = previous->size() + block->size();
            previous->next()->previous_size = previous->size();
            block = previous;
        }
    }
    return block;
}

Result<void, HeapError> Heap::release(void* pointer) {
    if (pointer == nullptr) return {};
    if (!owns(pointer)) return err(HeapError::NotFromHeap);
    Block* block = Block::from_payload(pointer);
    if ((block->size_and_flags & Block::k_magic_mask) != 0 || block->is_sentinel() ||
        block->size() < Block::k_min_size || reinterpret_cast<std::uintptr_t>(block) + block->size() >= m_high) {
        return err(HeapError::Corrupted);
    }
    if (!block->in_use()) return err(HeapError::DoubleFree);
    Block* next = block->next();
    if (next->previous_size != block->size()) return err(HeapError::Corrupted);
    m_stats.used_bytes -= block->size();
    --m_stats.allocations;
    block->size_and_flags = block->size();
    insert_free(merge(block));
    return {};
}

std::size_t Heap::usable_size(const void* pointer) const {
    return Block::from_payload(pointer)->size() - Block::k_header;
}

}  // namespace kernel
