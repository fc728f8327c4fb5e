// Notification suppression in both directions (virtio 1.2 §2.7.7, §2.7.10), with and
// without VIRTIO_F_EVENT_IDX, down to a device on another thread.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <thread>
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
using virtio::Segment;
using virtio::Virtqueue;

TEST_CASE("virtqueue: with EVENT_IDX the driver notifies exactly when avail idx passes avail_event (§2.7.10)") {
    FakeDma dma;
    const std::uint16_t size = 128;
    Virtqueue queue = make_queue(dma, {.size = size, .event_idx = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, size);
    std::mt19937 random(11);
    std::uint16_t published = 0;
    std::uint64_t expected_kicks = 0;
    std::uint64_t expected_quiet = 0;
    for (int round = 0; round < 20'000; ++round) {
        // The device names a nearby index it wants to hear about, behind or ahead.
        auto event = static_cast<std::uint16_t>(published + static_cast<int>(random() % 40) - 10);
        device.set_avail_event(event);
        std::size_t batch = 1 + random() % 8;
        std::size_t added = 0;
        for (; added < batch && queue.free_descriptors() > 0; ++added)
            FAST_REQUIRE(add_readable(queue, pool, queue.in_flight(), 8, 0).has_value());
        // §2.7.10 in its own words: notify if one of the new entries was placed at the
        // avail idx equal to avail_event.
        bool expected = false;
        for (std::size_t i = 0; i < added; ++i) expected |= static_cast<std::uint16_t>(published + i) == event;
        bool kicked = queue.kick_needed();
        if (added > 0) {
            CHECK(kicked == expected);
            ++(expected ? expected_kicks : expected_quiet);
        }
        published = static_cast<std::uint16_t>(published + added);
        // The device finishes everything now and then.
        if (random() % 4 == 0) {
            for (const auto& chain : device.pop_all()) device.push_used(chain.head, 0);
            (void)device.publish_used();
            (void)drain(queue);
        }
    }
    CHECK(queue.stats().notifications == expected_kicks);
    CHECK(queue.stats().notifications_suppressed == expected_quiet);
    CHECK(expected_kicks > 1000);
    CHECK(expected_quiet > 1000);
}

TEST_CASE("virtqueue: a device that waits on avail_event is never left asleep") {
    // QEMU's pattern: after draining, an idle device sets avail_event to its position and
    // sleeps until notified. A busy device polls and leaves avail_event behind. Whatever
    // the driver adds while the device sleeps must bring a notification.
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 32, .event_idx = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, 32);
    std::mt19937 random(5);
    bool device_sleeps = true;
    std::uint64_t kicks = 0;
    std::uint64_t quiet_while_busy = 0;
    for (int round = 0; round < 5000; ++round) {
        std::size_t batch = 1 + random() % 5;
        for (std::size_t i = 0; i < batch && queue.free_descriptors() > 0; ++i)
            FAST_REQUIRE(add_writable(queue, pool, i, 32, i).has_value());
        bool kicked = queue.kick_needed();
        kicks += kicked ? 1 : 0;
        if (device_sleeps) {
            REQUIRE(kicked);
        } else if (!kicked) {
            ++quiet_while_busy;
        }
        for (const auto& chain : device.pop_all()) device.push_used(chain.head, 4);
        device_sleeps = random() % 2 == 0;
        if (device_sleeps) device.set_avail_event(device.last_avail());
        (void)device.publish_used();
        (void)drain(queue);
    }
    CHECK(kicks == queue.stats().notifications);
    CHECK(quiet_while_busy > 100);
}

TEST_CASE("virtqueue: used_event asks for an interrupt after the next buffer or after N more (§2.7.7)") {
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 64, .event_idx = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, 64);
    for (std::uint64_t i = 0; i < 40; ++i) REQUIRE(add_writable(queue, pool, i, 64, i).has_value());
    queue.publish();
    auto chains = device.pop_all();
    REQUIRE(chains.size() == 40);
    std::size_t next = 0;
    auto finish_one = [&] { return device.complete(chains[next++], 1); };

    SECTION("after the next, and again after draining") {
        CHECK_FALSE(queue.enable_interrupts());
        CHECK(device.used_event() == 0);
        CHECK(finish_one());
        CHECK(drain(queue).size() == 1);  // the empty check moves used_event up to 1
        CHECK(device.used_event() == 1);
        CHECK(finish_one());
        CHECK(finish_one() == false);  // not drained yet: nothing more asked for
        CHECK(drain(queue).size() == 2);
        CHECK(finish_one());
    }
    SECTION("after N more") {
        CHECK_FALSE(queue.enable_interrupts_after(4));
        CHECK(device.used_event() == 3);
        CHECK_FALSE(finish_one());
        CHECK_FALSE(finish_one());
        CHECK_FALSE(finish_one());
        CHECK(drain(queue).size() == 3);  // draining early keeps the request for 4
        CHECK(device.used_event() == 3);
        CHECK(finish_one());
        CHECK(drain(queue).size() == 1);  // passed: back to "after the next"
        CHECK(device.used_event() == 4);
        CHECK(finish_one());
    }
    SECTION("N is capped at what the device holds") {
        CHECK_FALSE(queue.enable_interrupts_after(1000));
        CHECK(device.used_event() == 39);
        for (int i = 0; i < 39; ++i) CHECK_FALSE(finish_one());
        CHECK(finish_one());
    }
    SECTION("returns true when that many are already there") {
        (void)finish_one();
        (void)finish_one();
        CHECK(queue.enable_interrupts_after(2));
        CHECK_FALSE(queue.enable_interrupts_after(3));
    }
    SECTION("disabled: no interrupts, and flags stay 0") {
        queue.disable_interrupts();
        for (int i = 0; i < 30; ++i) CHECK_FALSE(finish_one());
        CHECK(drain(queue).size() == 30);
        CHECK(drain(queue).empty());  // polling does not re-arm
        CHECK_FALSE(finish_one());
        CHECK(device.avail_flags() == 0);
        CHECK(queue.enable_interrupts());  // one arrived while off
    }
    CHECK(device.avail_flags() == 0);  // §2.7.7: with EVENT_IDX the driver keeps flags 0
}

TEST_CASE("virtqueue: interrupts that follow §2.7.7 never leave a sleeping driver behind") {
    // A NAPI-style driver against a device that finishes random batches. Whenever the
    // driver sleeps, the device's next publish must interrupt it.
    const bool event_idx = GENERATE(false, true);
    CAPTURE(event_idx);
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 64, .event_idx = event_idx});
    SimulatedDevice device(dma, queue, event_idx);
    BufferPool pool(dma, 64);
    std::mt19937 random(9);
    std::vector<DeviceChain> holds;
    bool asleep = false;
    std::uint64_t wakeups = 0;
    for (int round = 0; round < 5000; ++round) {
        while (queue.free_descriptors() > 0) FAST_REQUIRE(add_writable(queue, pool, 0, 16, 0).has_value());
        if (queue.kick_needed() || random() % 2 == 0)
            for (auto& chain : device.pop_all()) holds.push_back(std::move(chain));
        std::size_t finish = holds.empty() ? 0 : 1 + random() % holds.size();
        for (std::size_t i = 0; i < finish; ++i) {
            device.push_used(holds.back().head, 0);
            holds.pop_back();
        }
        bool interrupt = device.publish_used();
        if (asleep && finish > 0) REQUIRE(interrupt);
        if (interrupt || !asleep) {
            ++wakeups;
            // Poll with interrupts off, then re-enable and re-check before sleeping.
            queue.disable_interrupts();
            do {
                (void)drain(queue);
            } while (queue.enable_interrupts());
            asleep = true;
        }
    }
    CHECK(wakeups > 500);
    if (event_idx) CHECK(device.used_event() == static_cast<std::uint16_t>(queue.stats().completed));
}

TEST_CASE("virtqueue: without EVENT_IDX the flags suppress notifications both ways") {
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 16, .event_idx = false});
    SimulatedDevice device(dma, queue, false);
    BufferPool pool(dma, 16);

    REQUIRE(add_writable(queue, pool, 0, 8, 0).has_value());
    CHECK(queue.kick_needed());  // used->flags is 0
    device.set_no_notify(true);
    REQUIRE(add_writable(queue, pool, 1, 8, 1).has_value());
    REQUIRE(add_writable(queue, pool, 2, 8, 2).has_value());
    CHECK_FALSE(queue.kick_needed());
    device.set_no_notify(false);
    REQUIRE(add_writable(queue, pool, 3, 8, 3).has_value());
    CHECK(queue.kick_needed());
    CHECK(queue.stats().notifications == 2);
    CHECK(queue.stats().notifications_suppressed == 1);

    auto chains = device.pop_all();
    REQUIRE(chains.size() == 4);
    CHECK(device.complete(chains[0], 8));  // interrupts on by default
    queue.disable_interrupts();
    CHECK(device.avail_flags() == virtio::k_avail_f_no_interrupt);
    CHECK_FALSE(device.complete(chains[1], 8));
    CHECK(drain(queue).size() == 2);
    CHECK_FALSE(queue.enable_interrupts());
    CHECK(device.avail_flags() == 0);
    CHECK(device.complete(chains[2], 8));
    queue.disable_interrupts();
    CHECK_FALSE(device.complete(chains[3], 8));
    CHECK(queue.enable_interrupts_after(5));  // no event index: "after the next", and one is there
    CHECK(drain(queue).size() == 2);
    CHECK(device.used_event() == 0);  // never written without EVENT_IDX
}

TEST_CASE("virtqueue: enabling interrupts re-checks for buffers used while they were off") {
    const bool event_idx = GENERATE(false, true);
    CAPTURE(event_idx);
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 8, .event_idx = event_idx});
    SimulatedDevice device(dma, queue, event_idx);
    BufferPool pool(dma, 8);
    for (std::uint64_t i = 0; i < 4; ++i) REQUIRE(add_writable(queue, pool, i, 8, i).has_value());
    queue.publish();
    auto chains = device.pop_all();

    queue.disable_interrupts();
    CHECK_FALSE(device.complete(chains[0], 1));  // used before the driver re-enabled
    CHECK(queue.has_used());
    CHECK(queue.enable_interrupts());  // so the driver must not wait for an interrupt
    CHECK(drain(queue).size() == 1);
    CHECK_FALSE(queue.enable_interrupts());
    CHECK(device.complete(chains[1], 1));
    CHECK(queue.has_used());
}

TEST_CASE("virtqueue: a device on another thread, both sides sleeping until notified, loses nothing") {
    // Real concurrency: the device runs on its own thread and sleeps when idle until the
    // driver notifies it; the driver sleeps until the device interrupts it. Each side
    // re-checks after asking to be woken, so a missing fence or a wrong event index shows
    // up as a stall (caught by the timeout), not as silence.
    const bool event_idx = GENERATE(false, true);
    CAPTURE(event_idx);
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 64, .event_idx = event_idx, .indirect = true});
    SimulatedDevice device(dma, queue, event_idx);
    BufferPool pool(dma, 1);
    constexpr std::uint64_t k_buffers = 100'000;
    const auto timeout = std::chrono::seconds(20);

    std::atomic<bool> notified{false};
    std::atomic<bool> interrupted{false};
    std::atomic<bool> stop{false};
    std::atomic<bool> device_stalled{false};
    auto wait_for = [&](std::atomic<bool>& flag) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!flag.exchange(false, std::memory_order_acq_rel)) {
            if (stop.load() || std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::yield();
        }
        return true;
    };

    std::thread device_thread([&] {
        std::mt19937 random(1);
        while (!stop.load()) {
            bool worked = false;
            while (auto chain = device.pop()) {
                device.push_used(chain->head, 0);
                if (random() % 4 == 0 && device.publish_used()) interrupted.store(true, std::memory_order_release);
                worked = true;
            }
            if (device.publish_used()) interrupted.store(true, std::memory_order_release);
            if (worked) continue;
            // Idle: ask to be notified, then look once more before sleeping (§2.7.10).
            if (event_idx)
                device.set_avail_event(device.last_avail());
            else
                device.set_no_notify(false);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            if (device.pending_avail() != 0) continue;
            if (!wait_for(notified) && !stop.load()) {
                device_stalled = true;
                return;
            }
            if (!event_idx) device.set_no_notify(true);  // busy now: no notifications needed
        }
    });

    std::uint64_t added = 0;
    std::uint64_t completed = 0;
    std::mt19937 random(2);
    bool driver_stalled = false;
    while (completed < k_buffers && !device_stalled) {
        while (added < k_buffers && queue.free_descriptors() > 0) {
            Segment segments[3] = {pool.segment(0, 0, 8), pool.segment(0, 8, 8), pool.segment(0, 16, 8)};
            std::size_t count = 1 + random() % 3;
            if (!queue.add_buffer(none(), {segments, count}, added).has_value()) break;
            ++added;
            if (random() % 8 == 0 && queue.kick_needed()) notified.store(true, std::memory_order_release);
        }
        if (queue.kick_needed()) notified.store(true, std::memory_order_release);
        std::size_t got = drain(queue).size();
        completed += got;
        if (got > 0 || completed == k_buffers) continue;
        // Nothing to do: ask for an interrupt, re-check, sleep; poll with them off.
        if (queue.enable_interrupts()) continue;
        if (!wait_for(interrupted)) {
            driver_stalled = true;
            break;
        }
        queue.disable_interrupts();
    }
    stop = true;
    device_thread.join();
    CHECK_FALSE(device_stalled);
    CHECK_FALSE(driver_stalled);
    CHECK(completed == k_buffers);
    CHECK_FALSE(queue.is_broken());
    INFO("notifications " << queue.stats().notifications << ", suppressed " << queue.stats().notifications_suppressed
                          << "; interrupts " << device.interrupts << ", suppressed " << device.interrupts_suppressed);
    if (event_idx) {
        // Even on one CPU: a batch crosses avail_event once, and so does a run of completions
        // used_event.
        CHECK(queue.stats().notifications_suppressed > 0);
        CHECK(device.interrupts_suppressed > 0);
    }
}

namespace {
int g_platform_fences = 0;
void count_fence() { ++g_platform_fences; }
}  // namespace

// The platform's fence (the kernel's under QEMU's TCG) runs where the protocol needs a
// store-load barrier: between publishing and reading avail_event, and between writing
// used_event and reading the used index again.
TEST_CASE("virtqueue: a platform ring fence runs at each notification decision") {
    FakeDma dma;
    Virtqueue queue = make_queue(dma, {.size = 16, .event_idx = true});
    SimulatedDevice device(dma, queue, true);
    BufferPool pool(dma, 16);
    g_platform_fences = 0;
    virtio::set_ring_fence(count_fence);
    REQUIRE(add_readable(queue, pool, 0, 64, 1));
    (void)queue.kick_needed();
    CHECK(g_platform_fences == 1);
    (void)queue.enable_interrupts();
    CHECK(g_platform_fences == 2);
    virtio::set_ring_fence(nullptr);
    REQUIRE(add_readable(queue, pool, 1, 64, 2));
    (void)queue.kick_needed();
    CHECK(g_platform_fences == 2);
}
