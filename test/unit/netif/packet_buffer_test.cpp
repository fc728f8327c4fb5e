#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "kernel/format.hpp"
#include "netif/mac_address.hpp"
#include "netif/packet_buffer.hpp"

using netif::BufferOwner;
using netif::BufferPool;
using netif::PacketBuffer;

namespace {

struct Pool {
    std::vector<std::byte> memory;
    BufferPool* pool;

    Pool(std::size_t bytes, std::size_t buffer_size, std::size_t headroom)
        : memory(bytes), pool(BufferPool::create(memory, 0x10000, buffer_size, headroom).value()) {}
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool() { delete pool; }
};

}  // namespace

TEST_CASE("packet buffers: a pool carves whole buffers and refuses sizes that cannot work", "[netif]") {
    Pool p((std::size_t{4} * 2048) + 100, 2048, 64);  // the 100 bytes left over make no buffer
    CHECK(p.pool->stats().buffers == 4);
    CHECK(p.pool->stats().free == 4);
    CHECK(p.pool->buffer_size() == 2048);
    CHECK(p.pool->default_headroom() == 64);

    std::vector<std::byte> memory(4096);
    CHECK(BufferPool::create(memory, 0, 0, 0).error() == BufferPool::Error::BadSize);
    CHECK(BufferPool::create(memory, 0, 2048, 2048).error() == BufferPool::Error::BadSize);  // no room for data
    CHECK(BufferPool::create(memory, 0, 8192, 64).error() == BufferPool::Error::BadSize);    // not one buffer
}

TEST_CASE("packet buffers: an empty pool returns nullptr and counts it; released buffers come back", "[netif]") {
    Pool p(std::size_t{3} * 512, 512, 32);
    std::array<PacketBuffer*, 3> held{};
    for (auto& b : held) b = p.pool->allocate();
    for (auto* b : held) REQUIRE(b != nullptr);
    CHECK(held[0] != held[1]);
    CHECK(p.pool->allocate() == nullptr);
    CHECK(p.pool->allocate() == nullptr);
    CHECK(p.pool->stats().exhausted == 2);
    CHECK(p.pool->stats().free == 0);
    CHECK(p.pool->stats().lowest_free == 0);

    netif::release_buffer(held[1]);
    netif::release_buffer(nullptr);  // nothing to release
    CHECK(p.pool->stats().free == 1);
    CHECK(p.pool->allocate() == held[1]);
    for (auto* b : held) netif::release_buffer(b);
    CHECK(p.pool->stats().free == 3);
    CHECK(p.pool->stats().lowest_free == 0);  // the high-water mark stays
}

TEST_CASE("packet buffers: head-room for headers, bounds on every resize", "[netif]") {
    Pool p(std::size_t{2} * 256, 256, 40);
    PacketBuffer* b = p.pool->allocate();
    REQUIRE(b != nullptr);
    CHECK(b->pool() == p.pool);
    CHECK(b->headroom() == 40);
    CHECK(b->size() == 0);
    CHECK(b->tailroom() == 216);
    CHECK(b->capacity() == 256);
    CHECK(b->device_address() == 0x10000 + 40);  // the first buffer, at its data start

    REQUIRE(b->resize(100));
    CHECK(b->tailroom() == 116);
    CHECK_FALSE(b->resize(217));  // past the end
    CHECK(b->size() == 100);

    REQUIRE(b->push_front(14));  // an Ethernet header
    CHECK(b->headroom() == 26);
    CHECK(b->size() == 114);
    CHECK(b->device_address() == 0x10000 + 26);
    CHECK_FALSE(b->push_front(27));
    CHECK(b->headroom() == 26);

    REQUIRE(b->pull_front(34));
    CHECK(b->size() == 80);
    CHECK_FALSE(b->pull_front(81));
    CHECK(b->size() == 80);

    // A buffer comes out of the pool empty, with the pool's head-room, whatever it held.
    b->metadata.segment_size = 1448;
    netif::release_buffer(b);
    PacketBuffer* again = p.pool->allocate();
    PacketBuffer* other = p.pool->allocate();
    REQUIRE(other != nullptr);
    PacketBuffer* reused = again == b ? again : other;
    CHECK(reused->headroom() == 40);
    CHECK(reused->size() == 0);
    netif::release_buffer(again);
    netif::release_buffer(other);
}

TEST_CASE("packet buffers: an owner returns its buffer once, unless released", "[netif]") {
    Pool p(std::size_t{2} * 256, 256, 0);
    {
        BufferOwner owner(p.pool->allocate());
        REQUIRE(owner);
        CHECK(p.pool->stats().free == 1);
        BufferOwner moved(std::move(owner));
        CHECK_FALSE(owner);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
        BufferOwner assigned;
        assigned = std::move(moved);
        CHECK(p.pool->stats().free == 1);
    }
    CHECK(p.pool->stats().free == 2);

    PacketBuffer* kept = nullptr;
    {
        BufferOwner owner(p.pool->allocate());
        kept = owner.release();
    }
    CHECK(p.pool->stats().free == 1);
    netif::release_buffer(kept);
    CHECK(p.pool->stats().free == 2);
}

TEST_CASE("mac addresses: broadcast, multicast, zero and formatting", "[netif]") {
    netif::MacAddress mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x5a}};
    CHECK_FALSE(mac.is_broadcast());
    CHECK_FALSE(mac.is_multicast());
    CHECK_FALSE(mac.is_zero());
    CHECK(netif::MacAddress::broadcast().is_broadcast());
    CHECK(netif::MacAddress::broadcast().is_multicast());
    CHECK(netif::MacAddress{{0x33, 0x33, 0, 0, 0, 1}}.is_multicast());
    CHECK(netif::MacAddress{}.is_zero());

    std::array<char, 32> text{};
    kernel::fmt::BufferSink sink(text);
    kernel::fmt::format_to(sink, "[{}]", mac);
    CHECK(std::string(sink.view()) == "[52:54:00:12:34:5a]");
}
