// The link on its own: raw frames between its two devices, with the virtual clock driven
// by hand (no event loop, no stack).
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "test/sim/sim_link.hpp"

using namespace std::chrono_literals;
using sim::Direction;

namespace {

// Sends a frame of `size` bytes from `from`, its first byte `tag` (to tell frames apart).
bool send_frame(sim::SimEndpoint& from, std::size_t size, std::uint8_t tag) {
    netif::PacketBuffer* frame = from.allocate_tx_buffer();
    REQUIRE(frame != nullptr);
    REQUIRE(frame->resize(size));
    std::memset(frame->data(), 0x5A, size);
    frame->data()[0] = std::byte{tag};
    bool queued = from.transmit(frame);
    from.flush();
    return queued;
}

// Lets virtual time run until nothing is on its way.
void run_until_idle(test::FakePlatform& platform, sim::SimLink& link) {
    platform.arm_timer(std::nullopt);
    while (link.total().in_flight != 0) platform.wait([](void*) { return false; }, nullptr);
}

struct Received {
    std::uint8_t tag;
    runtime::Instant at;
};

// Takes every frame the device holds, noting when it was taken.
void drain(sim::SimEndpoint& device, runtime::Instant now, std::vector<Received>& into) {
    while (netif::PacketBuffer* frame = device.receive()) {
        into.push_back({std::to_integer<std::uint8_t>(frame->data()[0]), now});
        netif::release_buffer(frame);
    }
}

}  // namespace

TEST_CASE("sim link: serialization time is size over bandwidth, rounded up to a nanosecond", "[sim]") {
    sim::DirectionConfig config;
    CHECK(config.serialization_time(1500) == 0ns);  // no bandwidth limit
    config.bits_per_second = 8'000'000;             // a byte a microsecond
    CHECK(config.serialization_time(1500) == 1500us);
    config.bits_per_second = 1'000'000'000;
    CHECK(config.serialization_time(1) == 8ns);
    config.bits_per_second = 3'000'000'000;  // 8/3 ns a byte
    CHECK(config.serialization_time(1) == 3ns);
    CHECK(config.serialization_time(3) == 8ns);
}

TEST_CASE("sim link: frames arrive in order at their virtual time, each behind the last", "[sim]") {
    test::FakePlatform platform;
    sim::SimLink link(platform, 1, sim::LinkConfig::symmetric({.delay = 3ms, .bits_per_second = 8'000'000}));
    int hooks = 0;
    link.b().set_receive_hook([](void* count) { ++*static_cast<int*>(count); }, &hooks);
    runtime::Instant start = platform.now();
    std::vector<Received> received;
    for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(send_frame(link.a(), 100, i));
    CHECK(link.counters(Direction::AToB).max_queue == 5);
    platform.arm_timer(std::nullopt);
    while (link.total().in_flight != 0) {
        platform.wait([](void*) { return false; }, nullptr);
        drain(link.b(), platform.now(), received);
    }
    REQUIRE(received.size() == 5);
    for (std::uint8_t i = 0; i < 5; ++i) {
        CHECK(received[i].tag == i);
        // 100 bytes at a byte a microsecond, queued behind i others, then 3 ms of wire.
        CHECK(received[i].at - start == (i + 1) * 100us + 3ms);
    }
    CHECK(hooks == 5);
    const sim::LinkCounters& c = link.counters(Direction::AToB);
    CHECK(c.sent == 5);
    CHECK(c.delivered == 5);
    CHECK(c.delivered_bytes == 500);
    CHECK(c.out_of_order == 0);
    CHECK(c.balanced());
    CHECK(link.counters(Direction::BToA).sent == 0);
    CHECK(link.a().stats().tx_packets == 5);
    CHECK(link.b().stats().rx_packets == 5);
}

TEST_CASE("sim link: the drop predicate drops exactly the frames it picks, after they used the wire", "[sim]") {
    test::FakePlatform platform;
    sim::SimLink link(platform, 1, sim::LinkConfig::symmetric({.bits_per_second = 8'000'000}));
    link.drop_if(Direction::AToB, [](const sim::FrameView& f) { return f.sequence == 1 || f.sequence == 3; });
    std::vector<sim::TraceKind> trace;
    link.on_trace([&](const sim::TraceEvent& e) {
        if (e.frame.sequence == 1) trace.push_back(e.kind);
    });
    runtime::Instant start = platform.now();
    for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(send_frame(link.a(), 100, i));
    std::vector<Received> received;
    platform.arm_timer(std::nullopt);
    while (link.total().in_flight != 0) {
        platform.wait([](void*) { return false; }, nullptr);
        drain(link.b(), platform.now(), received);
    }
    REQUIRE(received.size() == 3);
    CHECK(received[0].tag == 0);
    CHECK(received[1].tag == 2);
    CHECK(received[1].at - start == 300us);  // behind frames 0 and 1: a dropped frame used its time
    CHECK(received[2].tag == 4);
    CHECK(link.counters(Direction::AToB).filtered == 2);
    CHECK(link.counters(Direction::AToB).balanced());
    CHECK(trace == std::vector{sim::TraceKind::Sent, sim::TraceKind::Filtered});
}

TEST_CASE("sim link: a receiver out of buffers drops and counts; an oversized frame is refused", "[sim]") {
    test::FakePlatform platform;
    sim::SimLink link(platform, 1, sim::LinkConfig::symmetric({.delay = 1ms}), 8);
    // The sender's pool is 8 buffers too, but each is free again once sent.
    for (std::uint8_t i = 0; i < 20; ++i) REQUIRE(send_frame(link.a(), 60, i));
    run_until_idle(platform, link);
    const sim::LinkCounters& c = link.counters(Direction::AToB);
    CHECK(c.delivered == 8);
    CHECK(c.rx_dropped == 12);
    CHECK(c.balanced());
    CHECK(link.b().stats().rx_dropped == 12);
    CHECK(link.b().rx_pending() == 8);
    std::vector<Received> received;
    drain(link.b(), platform.now(), received);
    CHECK(received.size() == 8);
    CHECK(link.b().pool().stats().free == 8);
    CHECK(link.a().pool().stats().free == 8);

    CHECK_FALSE(send_frame(link.a(), 1515, 0xFF));  // 1500 bytes of MTU and a 14-byte header
    CHECK(link.a().stats().tx_errors == 1);
    CHECK(link.counters(Direction::AToB).sent == 20);
    CHECK(link.a().pool().stats().free == 8);
}

TEST_CASE("sim link: the send ring refuses frames past its size until flushed", "[sim]") {
    test::FakePlatform platform;
    sim::SimLink link(platform, 1, sim::LinkConfig{}, 2 * sim::SimEndpoint::k_tx_ring);
    for (std::size_t i = 0; i < sim::SimEndpoint::k_tx_ring + 3; ++i) {
        netif::PacketBuffer* frame = link.a().allocate_tx_buffer();
        REQUIRE(frame != nullptr);
        REQUIRE(frame->resize(60));
        CHECK(link.a().transmit(frame) == (i < sim::SimEndpoint::k_tx_ring));
    }
    CHECK(link.a().stats().tx_dropped == 3);
    link.a().flush();
    CHECK(link.counters(Direction::AToB).sent == sim::SimEndpoint::k_tx_ring);
    run_until_idle(platform, link);
    CHECK(link.counters(Direction::AToB).delivered == sim::SimEndpoint::k_tx_ring);
}

TEST_CASE("sim link: a link destroyed with frames on their way is not touched when they come due", "[sim]") {
    test::FakePlatform platform;
    {
        sim::SimLink link(platform, 1, sim::LinkConfig::symmetric({.delay = 1ms}));
        REQUIRE(send_frame(link.a(), 60, 1));
    }
    platform.arm_timer(std::nullopt);
    runtime::Instant before = platform.now();
    platform.wait([](void*) { return false; }, nullptr);  // runs the orphaned arrival
    CHECK(platform.now() - before == 1ms);
}
