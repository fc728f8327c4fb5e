// A device that breaks the rules of the used ring (virtio 1.2 §2.7.8) gets clear errors,
// never a crash; the queue comes back after a reset.

#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "test/unit/virtio/fake_dma.hpp"
#include "test/unit/virtio/simulated_device.hpp"
#include "test/unit/virtio/virtqueue_helpers.hpp"
#include "virtio/virtqueue.hpp"

using test::add_writable;
using test::BufferPool;
using test::drain;
using test::FakeDma;
using test::make_queue;
using test::none;
using test::SimulatedDevice;
using virtio::QueueError;
using virtio::Segment;
using virtio::Virtqueue;

TEST_CASE("virtqueue: a misbehaving device gets a clear error and a broken queue, never a crash") {
    FakeDma dma;
    const std::uint16_t size = 8;
    Virtqueue queue = make_queue(dma, {.size = size, .event_idx = true, .indirect = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, size);
    // Three buffers: a two-segment one (ids 0 and 1), then writable ones of 100 bytes.
    Segment pair[] = {pool.segment(0, 0, 8), pool.segment(0, 8, 8)};
    REQUIRE(queue.add_buffer(pair, none(), 100).has_value());
    REQUIRE(add_writable(queue, pool, 1, 100, 101).has_value());
    REQUIRE(add_writable(queue, pool, 2, 100, 102).has_value());
    queue.publish();
    auto chains = device.pop_all();
    REQUIRE(chains.size() == 3);
    REQUIRE(chains[0].head == 0);

    QueueError expected = QueueError::Broken;
    SECTION("used id beyond the queue") {
        device.push_used(size + 3, 0);
        expected = QueueError::UsedIdOutOfRange;
    }
    SECTION("used id far beyond 16 bits") {
        device.push_used(0xFFFF'FFFF, 0);
        expected = QueueError::UsedIdOutOfRange;
    }
    SECTION("used id of a free descriptor") {
        device.push_used(7, 0);
        expected = QueueError::UsedIdNotInUse;
    }
    SECTION("used id inside a chain, not its head") {
        device.push_used(1, 0);
        expected = QueueError::UsedIdNotInUse;
    }
    SECTION("the same buffer returned twice") {
        device.push_used(chains[1].head, 10);
        device.push_used(chains[1].head, 10);
        expected = QueueError::UsedIdNotInUse;
    }
    SECTION("more bytes written than the buffer holds") {
        device.push_used(chains[1].head, 101);
        expected = QueueError::UsedLengthTooLong;
    }
    SECTION("bytes written into a device-readable buffer") {
        device.push_used(chains[0].head, 1);
        expected = QueueError::UsedLengthTooLong;
    }
    SECTION("used idx past the buffers the device holds") {
        device.write_used_idx(4);
        expected = QueueError::UsedIndexJump;
    }
    SECTION("used idx a whole ring ahead") {
        device.write_used_idx(size + 1);
        expected = QueueError::UsedIndexJump;
    }
    SECTION("used idx going backwards") {
        device.write_used_idx(0xFFFF);
        expected = QueueError::UsedIndexJump;
    }
    (void)device.publish_used();

    // The good entries before the bad one still come out; then the specific error.
    std::vector<Virtqueue::Token> returned;
    kernel::Result<std::optional<Virtqueue::Completion>, QueueError> next = queue.get_used();
    while (next.has_value() && next.value()) {
        returned.push_back(next.value()->token);
        next = queue.get_used();
    }
    REQUIRE_FALSE(next.has_value());
    CHECK(next.error() == expected);
    CAPTURE(virtio::to_string(expected));
    CHECK(queue.is_broken());
    CHECK(queue.broken_reason() == expected);
    CHECK(queue.stats().device_errors == 1);
    // From now on: Broken, everywhere.
    auto again = queue.get_used();
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error() == QueueError::Broken);
    auto add = add_writable(queue, pool, 3, 8, 103);
    REQUIRE_FALSE(add.has_value());
    CHECK(add.error() == QueueError::Broken);
    CHECK(queue.has_used());  // so a poller comes to get_used() and sees the error
    CHECK(queue.enable_interrupts());

    // After a device reset: every buffer still in flight comes back once, then the queue
    // works again from scratch.
    std::set<Virtqueue::Token> tokens(returned.begin(), returned.end());
    while (auto token = queue.detach_unused()) CHECK(tokens.insert(*token).second);
    CHECK(tokens == std::set<Virtqueue::Token>{100, 101, 102});
    CHECK(queue.in_flight() == 0);
    CHECK(queue.free_descriptors() == size);
    queue.reset();
    CHECK_FALSE(queue.is_broken());
    SimulatedDevice fresh(dma, queue, true);
    REQUIRE(add_writable(queue, pool, 3, 8, 103).has_value());
    CHECK(queue.kick_needed());
    auto chain = fresh.pop();
    REQUIRE(chain.has_value());
    CHECK(fresh.complete(*chain, 8));
    auto done = drain(queue);
    REQUIRE(done.size() == 1);
    CHECK(done[0].token == 103);
}
