// The split virtqueue (virtio 1.2 §2.7) against a simulated device: layout, rings that wrap,
// batches, indirect tables, refusals, memory ownership.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "test/unit/virtio/fake_dma.hpp"
#include "test/unit/virtio/simulated_device.hpp"
#include "test/unit/virtio/virtqueue_helpers.hpp"
#include "virtio/virtqueue.hpp"

using test::add_readable;
using test::add_writable;
using test::BufferPool;
using test::DeviceChain;
using test::drain;
using test::FakeDma;
using test::make_queue;
using test::none;
using test::SimulatedDevice;
using virtio::QueueError;
using virtio::RingLayout;
using virtio::Segment;
using virtio::Virtqueue;
using virtio::VirtqueueConfig;

TEST_CASE("virtqueue: the three parts have the sizes and alignments of §2.7 for every queue size") {
    for (std::size_t size = 1; size <= virtio::k_max_queue_size; size *= 2) {
        auto modern = virtio::ring_offsets(static_cast<std::uint32_t>(size), RingLayout::Modern);
        CHECK(modern.descriptors == 0);
        CHECK(modern.avail == 16 * size);
        CHECK(modern.used % 4 == 0);
        CHECK(modern.used >= modern.avail + 6 + 2 * size);
        CHECK(modern.total == modern.used + 6 + 8 * size);

        // §2.7.2's virtq_size() with a Queue Align of 4096.
        auto align = [](std::size_t x) { return (x + 4095) & ~std::size_t{4095}; };
        std::size_t legacy_size = align(16 * size + 2 * (3 + size)) + align(6 + 8 * size);
        auto legacy = virtio::ring_offsets(static_cast<std::uint32_t>(size), RingLayout::Legacy);
        CHECK(legacy.used == align(16 * size + 2 * (3 + size)));
        CHECK(legacy.total == legacy_size);
    }
}

TEST_CASE("virtqueue: create accepts powers of two up to 32768 and rejects every other size") {
    FakeDma dma;
    for (std::uint32_t wide : {0u, 3u, 5u, 6u, 12u, 100u, 255u, 257u, 1000u, 32767u, 32769u, 49152u, 65535u}) {
        auto size = static_cast<std::uint16_t>(wide);
        auto queue = Virtqueue::create(dma, {.size = size});
        REQUIRE_FALSE(queue.has_value());
        CHECK(queue.error() == QueueError::BadSize);
    }
    CHECK(dma.allocations == 0);
    for (std::uint64_t size = 1; size <= virtio::k_max_queue_size; size *= 2) {
        Virtqueue queue = make_queue(dma, {.size = static_cast<std::uint16_t>(size), .event_idx = true});
        CHECK(queue.size() == size);
        CHECK(queue.free_descriptors() == size);
        // The areas are device addresses: the CPU reaches them only through translation.
        CHECK(dma.translate(queue.descriptor_area(), 16 * size) == queue.ring_memory().cpu);
        CHECK(queue.descriptor_area() % 4096 == 0);
        CHECK(queue.driver_area() % 2 == 0);
        CHECK(queue.device_area() % 4 == 0);
        CHECK(dma.translate(queue.device_area(), 6 + 8 * size) != nullptr);
    }
    CHECK(dma.live_regions() == 0);
}

TEST_CASE("virtqueue: the ring wraps many times at sizes 1 to 1024, completions in any order") {
    const std::uint16_t size = GENERATE(as<std::uint16_t>{}, 1, 2, 8, 256, 1024);
    const bool event_idx = GENERATE(false, true);
    const bool indirect = GENERATE(false, true);
    CAPTURE(size, event_idx, indirect);

    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = size, .event_idx = event_idx, .indirect = indirect});
    SimulatedDevice device(dma, queue, event_idx);
    BufferPool pool(dma, size);
    std::mt19937 random(size * 7u + (event_idx ? 1u : 0u) + (indirect ? 2u : 0u));

    // Each slot of the pool belongs to at most one buffer in flight; the token names the
    // slot (low 16 bits) and the buffer's generation, so a stale token would show.
    struct InFlight {
        std::vector<Segment> writable;
        std::uint32_t writable_bytes = 0;
    };
    std::map<std::uint64_t, InFlight> in_flight;
    std::vector<std::size_t> free_slots;
    for (std::size_t i = 0; i < size; ++i) free_slots.push_back(i);
    std::vector<DeviceChain> device_holds;
    std::uint64_t generation = 0;
    std::uint64_t completed = 0;
    const std::uint64_t target = 70'000;  // more than 2^16: the 16-bit indices wrap too
    const std::size_t max_segments = std::min<std::size_t>(4, size);
    const std::uint32_t piece = BufferPool::k_slot_bytes / 4;

    auto take_back = [&] {
        for (const auto& done : drain(queue)) {
            auto found = in_flight.find(done.token);
            FAST_REQUIRE(found != in_flight.end());
            FAST_REQUIRE(done.length <= found->second.writable_bytes);
            // The device's first `length` bytes arrived, in segment order.
            std::uint32_t left = done.length;
            for (const Segment& w : found->second.writable) {
                std::uint32_t n = std::min(left, w.length);
                const std::byte* memory = dma.translate(w.device_address, w.length);
                FAST_REQUIRE(std::all_of(memory, memory + n, [](std::byte x) { return x == std::byte{0x5A}; }));
                left -= n;
            }
            free_slots.push_back(done.token & 0xFFFF);
            in_flight.erase(found);
            ++completed;
        }
        FAST_REQUIRE(queue.in_flight() == in_flight.size());
    };

    while (completed < target) {
        // Driver: add a random batch, each buffer 1-4 segments inside its slot.
        std::size_t batch = random() % (size + 1u);
        for (std::size_t b = 0; b < batch && !free_slots.empty(); ++b) {
            std::size_t segments = 1 + random() % max_segments;
            std::size_t readable_count = random() % (segments + 1);
            std::size_t slot = free_slots.back();
            std::vector<Segment> readable;
            InFlight buffer;
            for (std::size_t s = 0; s < segments; ++s) {
                Segment segment = pool.segment(slot, static_cast<std::uint32_t>(s * piece), 1 + random() % piece);
                std::byte* memory = dma.translate(segment.device_address, segment.length);
                FAST_REQUIRE(memory != nullptr);
                if (s < readable_count) {
                    std::memset(memory, static_cast<int>(slot & 0x7F), segment.length);
                    readable.push_back(segment);
                } else {
                    std::memset(memory, 0, segment.length);
                    buffer.writable.push_back(segment);
                    buffer.writable_bytes += segment.length;
                }
            }
            std::uint64_t token = (generation++ << 16) | slot;
            auto added = queue.add_buffer(readable, buffer.writable, token);
            if (!added) {
                REQUIRE(added.error() == QueueError::NotEnoughDescriptors);
                break;
            }
            free_slots.pop_back();
            in_flight[token] = std::move(buffer);
        }
        if (random() % 2 == 0)
            (void)queue.kick_needed();
        else
            queue.publish();

        // Device: take what is there, finish a random subset in random order.
        for (auto& chain : device.pop_all()) device_holds.push_back(std::move(chain));
        std::shuffle(device_holds.begin(), device_holds.end(), random);
        std::size_t finish = device_holds.empty() ? 0 : random() % (device_holds.size() + 1);
        if (queue.in_flight() == size) finish = std::max<std::size_t>(finish, 1);  // keep moving when full
        for (std::size_t i = 0; i < finish; ++i) {
            DeviceChain chain = std::move(device_holds.back());
            device_holds.pop_back();
            std::uint32_t writable = chain.writable_bytes();
            auto length = static_cast<std::uint32_t>(random() % (writable + 1u));
            std::uint32_t left = length;
            for (const auto& segment : chain.segments) {
                std::byte* memory = device.memory(segment);
                if (!segment.device_writes) {
                    // What the driver wrote arrives intact: one byte value per buffer.
                    FAST_REQUIRE(
                        std::all_of(memory, memory + segment.length, [&](std::byte x) { return x == memory[0]; }));
                    continue;
                }
                std::uint32_t n = std::min(left, segment.length);
                std::memset(memory, 0x5A, n);
                left -= n;
            }
            device.push_used(chain.head, length);
            if (random() % 3 == 0) (void)device.publish_used();  // sometimes several per publish
        }
        (void)device.publish_used();
        take_back();
    }
    CHECK(queue.stats().completed == completed);
    CHECK(queue.stats().device_errors == 0);
    CHECK_FALSE(queue.is_broken());

    // Finish everything: then every descriptor (and table) is free again.
    queue.publish();
    for (auto& chain : device.pop_all()) device_holds.push_back(std::move(chain));
    for (const auto& chain : device_holds) device.push_used(chain.head, 0);
    (void)device.publish_used();
    take_back();
    CHECK(queue.in_flight() == 0);
    CHECK(queue.free_descriptors() == size);
    if (indirect && size >= 8) CHECK(queue.stats().indirect > 0);
}

TEST_CASE("virtqueue: a batch is published with one store of avail idx") {
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 64, .event_idx = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, 64);
    for (std::uint64_t i = 0; i < 10; ++i) REQUIRE(add_readable(queue, pool, i, 16, i).has_value());
    CHECK(device.avail_idx() == 0);  // not visible yet
    CHECK(queue.in_flight() == 10);
    CHECK(queue.kick_needed());  // avail_event 0 lies in [0, 10)
    CHECK(device.avail_idx() == 10);
    CHECK(queue.stats().publishes == 1);

    for (std::uint64_t i = 10; i < 15; ++i) REQUIRE(add_readable(queue, pool, i, 16, i).has_value());
    CHECK_FALSE(queue.kick_needed());  // the device asked to hear about index 0 only
    CHECK(device.avail_idx() == 15);
    CHECK(queue.stats().publishes == 2);
    CHECK_FALSE(queue.kick_needed());  // nothing new: no decision, nothing counted
    CHECK(queue.stats().notifications == 1);
    CHECK(queue.stats().notifications_suppressed == 1);

    auto chains = device.pop_all();
    REQUIRE(chains.size() == 15);
    for (std::size_t i = 0; i < chains.size(); ++i) {
        REQUIRE(chains[i].segments.size() == 1);
        CHECK(chains[i].segments[0].address == pool.segment(i, 0, 16).device_address);
        CHECK_FALSE(chains[i].segments[0].device_writes);
    }
}

TEST_CASE("virtqueue: long chains go into indirect tables from the pool (§2.7.5.3)") {
    FakeDma dma;
    VirtqueueConfig config{
        .size = 16, .indirect = true, .indirect_tables = 4, .indirect_table_size = 8, .indirect_threshold = 2};
    Virtqueue queue = make_queue(dma, config);
    SimulatedDevice device(dma, queue, false);
    BufferPool pool(dma, 16);
    std::size_t allocations = dma.allocations;
    auto segments = [&](std::size_t slot, std::size_t count) {
        std::vector<Segment> list;
        for (std::size_t i = 0; i < count; ++i)
            list.push_back(pool.segment(slot, static_cast<std::uint32_t>(i * 8), 8));
        return list;
    };

    SECTION("a chain over the threshold takes one ring descriptor") {
        auto readable = segments(0, 2);
        auto writable = segments(1, 3);
        REQUIRE(queue.add_buffer(readable, writable, 77).has_value());
        CHECK(queue.free_descriptors() == 15);
        queue.publish();
        auto chain = device.pop();
        REQUIRE(chain.has_value());
        CHECK(chain->indirect);
        const auto& desc = device.descriptor(chain->head);
        CHECK(desc.flags == virtio::k_desc_f_indirect);  // not NEXT, not WRITE
        CHECK(desc.length == 5 * 16);
        REQUIRE(chain->segments.size() == 5);
        CHECK(chain->readable_count() == 2);
        for (std::size_t i = 0; i < 5; ++i)
            CHECK(chain->segments[i].address == (i < 2 ? readable[i] : writable[i - 2]).device_address);
        CHECK(device.complete(*chain, 24));
        auto done = drain(queue);
        REQUIRE(done.size() == 1);
        CHECK(done[0].token == 77);
        CHECK(done[0].length == 24);
        CHECK(queue.free_descriptors() == 16);
        CHECK(queue.stats().indirect == 1);
    }
    SECTION("short chains stay direct, too-long ones too, and an empty pool falls back to direct") {
        REQUIRE(queue.add_buffer(segments(0, 2), none(), 1).has_value());  // at the threshold
        CHECK(queue.free_descriptors() == 14);
        for (std::uint64_t t = 0; t < 4; ++t) REQUIRE(queue.add_buffer(segments(1, 3), none(), 10 + t).has_value());
        CHECK(queue.free_descriptors() == 10);
        REQUIRE(queue.add_buffer(segments(2, 3), none(), 20).has_value());  // no table left
        CHECK(queue.free_descriptors() == 7);
        CHECK(queue.stats().indirect == 4);
        queue.publish();
        auto chains = device.pop_all();
        REQUIRE(chains.size() == 6);
        CHECK_FALSE(chains[0].indirect);
        CHECK(chains[4].indirect);
        CHECK_FALSE(chains[5].indirect);
        for (const auto& chain : chains) device.push_used(chain.head, 0);
        (void)device.publish_used();
        CHECK(drain(queue).size() == 6);
        CHECK(queue.free_descriptors() == 16);
        // Tables came back: four more indirect chains fit.
        for (std::uint64_t t = 0; t < 4; ++t) REQUIRE(queue.add_buffer(segments(1, 3), none(), t).has_value());
        CHECK(queue.free_descriptors() == 12);
        REQUIRE(queue.add_buffer(segments(1, 9), none(), 9).has_value());  // longer than a table
        CHECK(queue.free_descriptors() == 3);
    }
    SECTION("when the ring runs short, even a short chain goes indirect") {
        for (std::uint64_t t = 0; t < 15; ++t) REQUIRE(queue.add_buffer(segments(t, 1), none(), t).has_value());
        CHECK(queue.free_descriptors() == 1);
        REQUIRE(queue.add_buffer(segments(15, 1), segments(15, 1), 15).has_value());
        CHECK(queue.free_descriptors() == 0);
        CHECK(queue.stats().indirect == 1);
        auto more = queue.add_buffer(segments(0, 1), none(), 99);
        REQUIRE_FALSE(more.has_value());
        CHECK(more.error() == QueueError::NotEnoughDescriptors);
    }
    CHECK(dma.allocations == allocations);  // no allocation after create()
}

TEST_CASE("virtqueue: indirect settings that cannot work are refused") {
    FakeDma dma;
    auto bad = [&](VirtqueueConfig config) {
        auto queue = Virtqueue::create(dma, config);
        return !queue.has_value() && queue.error() == QueueError::BadConfig;
    };
    CHECK(bad({.size = 16, .indirect = true, .indirect_table_size = 1}));
    CHECK(bad({.size = 16, .indirect = true, .indirect_table_size = 32}));  // longer than the queue
    CHECK(bad({.size = 16, .indirect = true, .indirect_tables = 17}));
    // A queue of one has nothing to gain: the defaults leave indirect off.
    Virtqueue one = make_queue(dma, {.size = 1, .indirect = true});
    CHECK_FALSE(one.indirect());
    Virtqueue defaults = make_queue(dma, {.size = 256, .indirect = true});
    CHECK(defaults.indirect());
}

TEST_CASE("virtqueue: add_buffer refuses impossible buffers without side effects") {
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 4});
    SimulatedDevice device(dma, queue, false);
    BufferPool pool(dma, 4);
    auto error_of = [](const kernel::Result<void, QueueError>& result) {
        REQUIRE_FALSE(result.has_value());
        return result.error();
    };
    Segment ok = pool.segment(0, 0, 8);
    Segment empty = pool.segment(0, 0, 0);
    Segment huge{ok.device_address, 0xFFFF'FFFF};
    std::vector<Segment> five(5, ok);
    CHECK(error_of(queue.add_buffer(none(), none(), 1)) == QueueError::NoSegments);
    CHECK(error_of(queue.add_buffer({&empty, 1}, none(), 1)) == QueueError::EmptySegment);
    CHECK(error_of(queue.add_buffer({&ok, 1}, {&empty, 1}, 1)) == QueueError::EmptySegment);
    CHECK(error_of(queue.add_buffer(five, none(), 1)) == QueueError::ChainTooLong);
    Segment two_huge[] = {huge, huge};
    CHECK(error_of(queue.add_buffer(none(), two_huge, 1)) == QueueError::ChainTooLong);  // over 2^32 bytes
    Segment exactly[] = {huge, Segment{ok.device_address, 1}};
    CHECK(queue.add_buffer(exactly, none(), 1).has_value());  // exactly 2^32 is allowed
    std::vector<Segment> three(3, ok);
    CHECK(error_of(queue.add_buffer(three, none(), 1)) == QueueError::NotEnoughDescriptors);
    CHECK(queue.stats().rejected == 6);
    CHECK(queue.stats().added == 1);
    CHECK(queue.free_descriptors() == 2);
    CHECK(queue.in_flight() == 1);
    queue.publish();
    CHECK(device.avail_idx() == 1);
}

TEST_CASE("virtqueue: memory is given back on failure, on destruction, and kept on a move") {
    SECTION("the first allocation fails") {
        FakeDma dma;
        dma.fail_after(0);
        auto queue = Virtqueue::create(dma, {.size = 64, .indirect = true});
        REQUIRE_FALSE(queue.has_value());
        CHECK(queue.error() == QueueError::OutOfMemory);
        CHECK(dma.live_regions() == 0);
    }
    SECTION("the indirect tables do not fit") {
        FakeDma dma;
        dma.fail_after(1);
        auto queue = Virtqueue::create(dma, {.size = 64, .indirect = true});
        REQUIRE_FALSE(queue.has_value());
        CHECK(queue.error() == QueueError::OutOfMemory);
        CHECK(dma.live_regions() == 0);
    }
    SECTION("moved queues keep their rings") {
        FakeDma dma;
        {
            Virtqueue first = make_queue(dma, {.size = 16, .indirect = true});
            std::uint64_t area = first.descriptor_area();
            Virtqueue second(std::move(first));
            CHECK(second.descriptor_area() == area);
            CHECK(dma.live_regions() == 2);
            BufferPool pool(dma, 1);
            SimulatedDevice device(dma, second, false);
            REQUIRE(add_writable(second, pool, 0, 16, 5).has_value());
            CHECK(second.kick_needed());
            auto chain = device.pop();
            REQUIRE(chain.has_value());
            (void)device.complete(*chain, 16);
            CHECK(drain(second).size() == 1);
        }
        CHECK(dma.live_regions() == 0);
    }
}

TEST_CASE("virtqueue: the legacy layout puts the used ring on its own page") {
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 256, .layout = RingLayout::Legacy});
    CHECK(queue.ring_address() % 4096 == 0);
    CHECK(queue.device_area() - queue.ring_address() == 8192);  // 4096 + 518 bytes, rounded up
    CHECK(queue.ring_memory().size >= 8192 + 2054);
    SimulatedDevice device(dma, queue, false);
    BufferPool pool(dma, 4);
    for (std::uint64_t i = 0; i < 4; ++i) FAST_REQUIRE(add_writable(queue, pool, i, 32, i).has_value());
    CHECK(queue.kick_needed());
    for (const auto& chain : device.pop_all()) (void)device.complete(chain, 32);
    CHECK(drain(queue).size() == 4);
}

TEST_CASE("virtqueue: a full 32768-entry queue goes round twice") {
    FakeDma dma;
    const std::uint16_t size = 32768;
    Virtqueue queue = make_queue(dma, {.size = size, .event_idx = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, 1);
    for (int round = 0; round < 3; ++round) {
        for (std::uint32_t i = 0; i < size; ++i) FAST_REQUIRE(add_writable(queue, pool, 0, 8, i).has_value());
        CHECK(queue.free_descriptors() == 0);
        // avail_event stays 0: every other pass crosses index 0 (mod 2^16) again.
        CHECK(queue.kick_needed() == (round % 2 == 0));
        auto chains = device.pop_all();
        REQUIRE(chains.size() == size);
        for (const auto& chain : chains) device.push_used(chain.head, 8);
        (void)device.publish_used();
        auto done = drain(queue);
        REQUIRE(done.size() == size);
        CHECK(done.front().token == 0);
        CHECK(done.back().token == size - 1);
    }
    CHECK(queue.free_descriptors() == size);
}
