#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "kernel/heap.hpp"

using kernel::Heap;
using kernel::HeapError;

namespace {

class VectorSource final : public Heap::ChunkSource {
public:
    explicit VectorSource(std::size_t limit) : m_limit(limit) {}
    std::span<std::byte> grow(std::size_t min_bytes) override {
        std::size_t bytes = std::max<std::size_t>(min_bytes, std::size_t{64} * 1024);
        if (m_given + bytes > m_limit) return {};
        m_given += bytes;
        m_chunks.emplace_back(bytes + 16);
        return {m_chunks.back().data(), m_chunks.back().size()};
    }
    std::size_t chunks() const { return m_chunks.size(); }

private:
    std::size_t m_limit;
    std::size_t m_given = 0;
    std::vector<std::vector<std::byte>> m_chunks;
};

}  // namespace

TEST_CASE("heap: allocations are aligned, distinct and writable; free returns everything") {
    VectorSource source(1 << 20);
    Heap heap(&source);
    std::vector<void*> blocks;
    for (std::size_t size : {1u, 15u, 16u, 17u, 100u, 1000u, 4096u, 5000u}) {
        void* p = heap.allocate(size);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % 16 == 0);
        CHECK(heap.usable_size(p) >= size);
        std::memset(p, 0xAB, size);
        blocks.push_back(p);
    }
    CHECK(heap.stats().allocations == blocks.size());
    for (void* p : blocks) CHECK(heap.release(p).has_value());
    CHECK(heap.stats().allocations == 0);
    CHECK(heap.stats().used_bytes == 0);
    // Everything merged back: one allocation of nearly the whole chunk fits again.
    CHECK(heap.allocate(heap.stats().chunk_bytes - 64) != nullptr);
    CHECK(source.chunks() == 1);
}

TEST_CASE("heap: over-aligned allocations") {
    VectorSource source(1 << 20);
    Heap heap(&source);
    for (std::size_t alignment : {32u, 64u, 256u, 4096u}) {
        void* p = heap.allocate(100, alignment);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % alignment == 0);
        CHECK(heap.release(p).has_value());
    }
    CHECK(heap.allocate(8, 3) == nullptr);  // not a power of two
    CHECK(heap.stats().failed_allocations == 1);
    CHECK(heap.stats().used_bytes == 0);
}

TEST_CASE("heap: out of memory is a null pointer, not a crash") {
    VectorSource source(std::size_t{128} * 1024);
    Heap heap(&source);
    std::vector<void*> blocks;
    while (void* p = heap.allocate(10000)) blocks.push_back(p);
    CHECK(blocks.size() >= 10);
    CHECK(heap.stats().failed_allocations == 1);
    CHECK(heap.allocate(std::size_t{1} << 50) == nullptr);
    for (void* p : blocks) CHECK(heap.release(p).has_value());
}

TEST_CASE("heap: double free, foreign pointers and overwritten headers are reported") {
    VectorSource source(1 << 20);
    Heap heap(&source);
    void* a = heap.allocate(64);
    void* b = heap.allocate(64);
    CHECK(heap.release(a).has_value());
    CHECK(heap.release(a).error() == HeapError::DoubleFree);
    int on_stack = 0;
    CHECK(heap.release(&on_stack).error() == HeapError::NotFromHeap);
    CHECK(heap.release(nullptr).has_value());
    // An overflow from the block before b tramples b's header.
    std::memset(static_cast<std::byte*>(b) - 16, 0x47, 16);
    CHECK(heap.release(b).error() == HeapError::Corrupted);
}

TEST_CASE("heap: random allocate/free keeps data intact and accounting exact") {
    VectorSource source(64 << 20);
    Heap heap(&source);
    std::mt19937 random(1234);
    struct Live {
        unsigned char* p;
        std::size_t size;
        unsigned char tag;
    };
    std::vector<Live> live;
    for (int step = 0; step < 20000; ++step) {
        if (live.empty() || random() % 3 != 0) {
            std::size_t size = 1 + random() % (random() % 8 == 0 ? 20000 : 300);
            std::size_t alignment = std::size_t{16} << (random() % 4);
            auto* p = static_cast<unsigned char*>(heap.allocate(size, alignment));
            REQUIRE(p != nullptr);
            REQUIRE(reinterpret_cast<std::uintptr_t>(p) % alignment == 0);
            auto tag = static_cast<unsigned char>(step);
            std::memset(p, tag, size);
            live.push_back({p, size, tag});
        } else {
            std::size_t i = random() % live.size();
            for (std::size_t k = 0; k < live[i].size; ++k) REQUIRE(live[i].p[k] == live[i].tag);
            REQUIRE(heap.release(live[i].p).has_value());
            live[i] = live.back();
            live.pop_back();
        }
    }
    CHECK(heap.stats().allocations == live.size());
    for (auto& l : live) REQUIRE(heap.release(l.p).has_value());
    CHECK(heap.stats().used_bytes == 0);
}
