// Two stacks over the simulated link, with what the stack speaks today (ARP, ping, UDP):
// exact timing without loss, and loss, duplication, reordering and a full queue, each
// counted both by the link and by the receiver, on a seeded virtual clock.
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "net/udp_socket.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmp.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/parse_error.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/signal.hpp"
#include "test/sim/sim_network.hpp"

using namespace std::chrono_literals;
using sim::Direction;
using sim::Probability;
using sim::SimNetwork;

namespace {

constexpr std::uint16_t k_port = 7;
constexpr std::size_t k_udp_overhead = 14 + 20 + 8;  // Ethernet, IPv4 and UDP headers

// A datagram's payload: its sequence number, then bytes that depend on it, so that the
// receiver can tell which one it got and that it arrived intact.
std::vector<std::byte> make_payload(std::uint32_t sequence, std::size_t size) {
    std::vector<std::byte> payload(std::max<std::size_t>(size, sizeof sequence));
    std::memcpy(payload.data(), &sequence, sizeof sequence);
    for (std::size_t i = sizeof sequence; i < payload.size(); ++i)
        payload[i] = static_cast<std::byte>(std::size_t{sequence} * 31 + i);
    return payload;
}

struct Arrival {
    std::uint32_t sequence;
    runtime::Instant at;
    bool intact;
};

Arrival decode(std::span<const std::byte> payload, runtime::Instant at) {
    std::uint32_t sequence = 0;
    if (payload.size() < sizeof sequence) return {~0u, at, false};
    std::memcpy(&sequence, payload.data(), sizeof sequence);
    auto expected = make_payload(sequence, payload.size());
    return {sequence, at, std::equal(payload.begin(), payload.end(), expected.begin(), expected.end())};
}

// Server: takes datagrams on k_port until `quiet` passes without one; returns how many.
runtime::Task<int> udp_sink(net::Interface& interface, runtime::Duration quiet, std::vector<Arrival>& log) {
    runtime::Signal arrived;
    net::UdpSocket socket(interface);
    if (!socket.bind(k_port)) co_return -1;
    socket.on_receive([&arrived] { arrived.notify(); });
    for (;;) {
        while (auto datagram = socket.try_receive()) log.push_back(decode(datagram->payload(), runtime::now()));
        if (!co_await arrived.wait_until(runtime::now() + quiet)) break;
    }
    co_return static_cast<int>(log.size());
}

struct Burst {
    std::uint32_t count;
    std::size_t size;            // payload bytes per datagram
    runtime::Duration interval;  // between sends; 0: all at once
};

// Client: sends the burst to k_port; returns how many it sent.
runtime::Task<int> udp_burst(net::Interface& interface, net::Ipv4Address to, Burst burst,
                             std::vector<runtime::Instant>& sent_at) {
    net::UdpSocket socket(interface);
    if (!socket.bind(0)) co_return -1;
    for (std::uint32_t i = 0; i < burst.count; ++i) {
        if (!socket.send_to(to, k_port, make_payload(i, burst.size), runtime::now())) co_return -1;
        sent_at.push_back(runtime::now());
        if (burst.interval > 0ns) co_await runtime::sleep(burst.interval);
    }
    co_return static_cast<int>(burst.count);
}

// Server: sends `count` datagrams back where they came from.
runtime::Task<int> udp_echo(net::Interface& interface, int count) {
    net::UdpSocket socket(interface);
    if (!socket.bind(k_port)) co_return -1;
    for (int i = 0; i < count; ++i) {
        net::Datagram datagram = co_await socket.receive();
        if (!socket.send_to(datagram.source, datagram.source_port, datagram.payload(), runtime::now())) co_return -1;
    }
    co_return count;
}

// Client: `count` round trips through udp_echo, timed; -1 if a reply came back wrong.
runtime::Task<int> udp_round_trips(net::Interface& interface, net::Ipv4Address to, int count, std::size_t size,
                                   std::vector<runtime::Duration>& round_trips) {
    net::UdpSocket socket(interface);
    if (!socket.bind(0)) co_return -1;
    for (int i = 0; i < count; ++i) {
        auto payload = make_payload(static_cast<std::uint32_t>(i), size);
        runtime::Instant sent = runtime::now();
        if (!socket.send_to(to, k_port, payload, sent)) co_return -1;
        net::Datagram reply = co_await socket.receive();
        auto bytes = reply.payload();
        if (!std::equal(bytes.begin(), bytes.end(), payload.begin(), payload.end())) co_return -1;
        round_trips.push_back(runtime::now() - sent);
    }
    co_return count;
}

// One UDP round trip over a clean link, so that both sides know each other's MAC before
// the measured part begins. The link's settings are put back afterwards.
void warm_up(SimNetwork& net) {
    const sim::DirectionConfig a_to_b = net.link().config(Direction::AToB);
    const sim::DirectionConfig b_to_a = net.link().config(Direction::BToA);
    for (Direction d : {Direction::AToB, Direction::BToA}) {
        sim::DirectionConfig clean = net.link().config(d);
        clean.loss = clean.duplicate = clean.reorder = Probability{};
        net.link().set_config(d, clean);
    }
    std::vector<runtime::Duration> round_trips;
    sim::RunResult result =
        net.run(udp_round_trips(net.a(), SimNetwork::k_address_b, 1, 32, round_trips), udp_echo(net.b(), 1), 10s);
    REQUIRE(result.finished);
    REQUIRE(result.client == 1);
    net.link().set_config(Direction::AToB, a_to_b);
    net.link().set_config(Direction::BToA, b_to_a);
}

struct BurstOutcome {
    std::uint64_t first_frame = 0;  // the link's sequence number (a->b) of the first datagram
    std::vector<runtime::Instant> sent_at;
    std::vector<Arrival> arrivals;
    sim::RunResult result;

    [[nodiscard]] runtime::Duration completion() const { return arrivals.back().at - sent_at.front(); }
    [[nodiscard]] bool all_intact() const {
        return std::all_of(arrivals.begin(), arrivals.end(), [](const Arrival& a) { return a.intact; });
    }
    // How many times each sequence number arrived.
    [[nodiscard]] std::map<std::uint32_t, int> copies() const {
        std::map<std::uint32_t, int> n;
        for (const Arrival& a : arrivals) ++n[a.sequence];
        return n;
    }
};

// A burst from a to b after a warm-up; the server stops after `quiet` without a datagram.
BurstOutcome run_burst(SimNetwork& net, Burst burst, runtime::Duration quiet = 50ms) {
    warm_up(net);
    BurstOutcome outcome;
    outcome.first_frame = net.link().counters(Direction::AToB).sent;
    outcome.result = net.run(udp_burst(net.a(), SimNetwork::k_address_b, burst, outcome.sent_at),
                             udp_sink(net.b(), quiet, outcome.arrivals), 60s);
    return outcome;
}

std::uint64_t payload_bytes(const BurstOutcome& outcome, const Burst& burst) {
    return outcome.arrivals.size() * burst.size;
}

}  // namespace

TEST_CASE("sim UDP: without loss every datagram arrives at delay + size/bandwidth, queued behind the last", "[sim]") {
    SimNetwork net(1, sim::LinkConfig::symmetric({.delay = 2ms, .bits_per_second = 8'000'000}));
    const Burst burst{50, 458, 0ns};  // 500-byte frames: 500 us each at a byte a microsecond
    BurstOutcome outcome = run_burst(net, burst);
    REQUIRE(outcome.result.finished);
    CHECK(outcome.result.client == 50);
    CHECK(outcome.result.server == 50);
    REQUIRE(outcome.arrivals.size() == 50);
    const runtime::Duration frame_time =
        net.link().config(Direction::AToB).serialization_time(burst.size + k_udp_overhead);
    CHECK(frame_time == 500us);
    for (std::uint32_t i = 0; i < 50; ++i) {
        CHECK(outcome.arrivals[i].sequence == i);
        CHECK(outcome.arrivals[i].at - outcome.sent_at.front() == (i + 1) * frame_time + 2ms);
    }
    CHECK(outcome.all_intact());
    CHECK(outcome.completion() == 50 * 500us + 2ms);
    const sim::LinkCounters& c = net.link().counters(Direction::AToB);
    CHECK(c.lost + c.duplicated + c.reordered + c.queue_drops + c.rx_dropped == 0);
    CHECK(c.max_queue == 50);
    CHECK(net.link().total().balanced());
    sim::ResultsTable::global().add(net.row("UDP burst, clean", payload_bytes(outcome, burst), outcome.completion()));
}

TEST_CASE("sim UDP: with 10% loss about a tenth of the datagrams are lost, each one counted", "[sim]") {
    sim::DirectionConfig lossy{.delay = 1ms, .bits_per_second = 10'000'000, .loss = Probability::percent(10)};
    SimNetwork net(2, {lossy, {.delay = 1ms, .bits_per_second = 10'000'000}});
    const Burst burst{2000, 100, 200us};
    BurstOutcome outcome = run_burst(net, burst);
    REQUIRE(outcome.result.finished);
    CHECK(outcome.result.client == 2000);
    std::uint64_t lost = 2000 - outcome.arrivals.size();
    CHECK(lost == net.link().counters(Direction::AToB).lost);
    // Binomial(2000, 0.1): mean 200, standard deviation 13.4; this allows 4.5 of them.
    CHECK(lost >= 140);
    CHECK(lost <= 260);
    // Nothing else happened to them: the survivors are in order, intact and not doubled.
    CHECK(std::is_sorted(outcome.arrivals.begin(), outcome.arrivals.end(),
                         [](const Arrival& x, const Arrival& y) { return x.sequence < y.sequence; }));
    CHECK(outcome.copies().size() == outcome.arrivals.size());
    CHECK(outcome.all_intact());
    CHECK(net.link().counters(Direction::BToA).lost == 0);
    CHECK(net.link().total().balanced());
    CHECK(net.link().b().pool().stats().free == net.link().b().pool().stats().buffers);
    sim::ResultsTable::global().add(
        net.row("UDP paced, 10% loss", payload_bytes(outcome, burst), outcome.completion()));
}

TEST_CASE("sim UDP: duplicated datagrams arrive twice, as many as the link says it copied", "[sim]") {
    SimNetwork net(3, sim::LinkConfig::symmetric(
                          {.delay = 1ms, .bits_per_second = 10'000'000, .duplicate = Probability::percent(10)}));
    const Burst burst{2000, 100, 200us};
    BurstOutcome outcome = run_burst(net, burst);
    REQUIRE(outcome.result.finished);
    auto copies = outcome.copies();
    CHECK(copies.size() == 2000);  // every one arrived
    std::uint64_t doubled = 0;
    for (const auto& [sequence, n] : copies) {
        CHECK(n <= 2);
        if (n == 2) ++doubled;
    }
    CHECK(doubled == net.link().counters(Direction::AToB).duplicated);
    CHECK(outcome.arrivals.size() == 2000 + doubled);
    CHECK(doubled >= 140);
    CHECK(doubled <= 260);
    CHECK(outcome.all_intact());
    CHECK(net.link().total().balanced());
    sim::ResultsTable::global().add(net.row("UDP paced, 10% dup", payload_bytes(outcome, burst), outcome.completion()));
}

TEST_CASE("sim UDP: a datagram held back is overtaken by later ones; all arrive", "[sim]") {
    SimNetwork net(
        4,
        sim::LinkConfig::symmetric(
            {.delay = 1ms, .bits_per_second = 10'000'000, .reorder = Probability::percent(10), .reorder_delay = 1ms}));
    std::vector<std::uint64_t> held_back;  // the link's sequence numbers
    net.link().on_trace([&held_back](const sim::TraceEvent& e) {
        if (e.kind == sim::TraceKind::HeldBack && e.frame.direction == Direction::AToB)
            held_back.push_back(e.frame.sequence);
    });
    const Burst burst{2000, 100, 100us};  // nine datagrams go by while one is held back 1 ms
    BurstOutcome outcome = run_burst(net, burst);
    REQUIRE(outcome.result.finished);
    CHECK(outcome.copies().size() == 2000);
    CHECK(outcome.arrivals.size() == 2000);
    std::uint64_t late = 0;
    std::uint32_t highest = 0;
    for (const Arrival& a : outcome.arrivals) {
        if (a.sequence < highest) ++late;
        highest = std::max(highest, a.sequence);
    }
    const sim::LinkCounters& c = net.link().counters(Direction::AToB);
    CHECK(late == c.out_of_order);
    CHECK(held_back.size() == c.reordered);
    // A held-back datagram is overtaken if one of the nine after it exists and was not held
    // back too (those near the end of the burst have nothing behind them).
    std::uint64_t overtaken = 0;
    for (std::uint64_t frame : held_back) {
        std::uint64_t sequence = frame - outcome.first_frame;
        for (std::uint64_t later = sequence + 1; later <= sequence + 9 && later < 2000; ++later) {
            if (std::find(held_back.begin(), held_back.end(), later + outcome.first_frame) == held_back.end()) {
                ++overtaken;
                break;
            }
        }
    }
    CHECK(late == overtaken);
    CHECK(c.reordered >= 140);
    CHECK(c.reordered <= 260);
    CHECK(outcome.all_intact());
    CHECK(net.link().total().balanced());
    sim::ResultsTable::global().add(
        net.row("UDP paced, 10% reorder", payload_bytes(outcome, burst), outcome.completion()));
}

TEST_CASE("sim UDP: a corrupted datagram is dropped by a checksum and counted, never delivered", "[sim]") {
    SimNetwork net(10, sim::LinkConfig::symmetric(
                           {.delay = 1ms, .bits_per_second = 10'000'000, .corrupt = Probability::percent(10)}));
    const Burst burst{2000, 100, 200us};
    BurstOutcome outcome = run_burst(net, burst);
    REQUIRE(outcome.result.finished);
    const sim::LinkCounters& c = net.link().counters(Direction::AToB);
    CHECK(c.corrupted >= 140);
    CHECK(c.corrupted <= 260);
    CHECK(c.delivered == c.sent);  // corrupted frames are delivered: the stack must notice
    CHECK(outcome.all_intact());
    // A flipped bit in the IPv4 header fails its checksum or its length checks, one in the
    // UDP header or payload fails the UDP checksum: all counted as malformed.
    CHECK(outcome.arrivals.size() + net.b().stats().malformed_total() == 2000);
    CHECK(net.b().stats().malformed_total() == c.corrupted);
    CHECK(net.b().stats().rx_malformed[static_cast<std::size_t>(net::ParseError::BadChecksum)] > 0);
    // Every buffer is back in its pool: nothing leaked on the way to a drop.
    CHECK(net.link().a().pool().stats().free == net.link().a().pool().stats().buffers);
    CHECK(net.link().b().pool().stats().free == net.link().b().pool().stats().buffers);
    sim::ResultsTable::global().add(
        net.row("UDP paced, 10% corrupt", payload_bytes(outcome, burst), outcome.completion()));
}

TEST_CASE("sim UDP: a full queue tail-drops; what got in arrives on time", "[sim]") {
    sim::DirectionConfig narrow{.delay = 1ms, .bits_per_second = 1'000'000, .queue_limit = 8};
    SimNetwork net(5, sim::LinkConfig::symmetric(narrow));
    const Burst burst{40, 100, 0ns};  // 142-byte frames: 1136 us each at 1 Mbit/s
    BurstOutcome outcome = run_burst(net, burst);
    REQUIRE(outcome.result.finished);
    REQUIRE(outcome.arrivals.size() == 8);
    for (std::uint32_t i = 0; i < 8; ++i) {
        CHECK(outcome.arrivals[i].sequence == i);
        CHECK(outcome.arrivals[i].at - outcome.sent_at.front() == (i + 1) * 1136us + 1ms);
    }
    const sim::LinkCounters& c = net.link().counters(Direction::AToB);
    CHECK(c.queue_drops == 32);
    CHECK(c.max_queue == 8);
    CHECK(c.balanced());
    CHECK(net.a().device().stats().tx_packets == c.sent);  // the device sent them all
    sim::ResultsTable::global().add(
        net.row("UDP burst, 8-frame queue", payload_bytes(outcome, burst), outcome.completion()));
}

namespace {

using TraceRecord = std::tuple<sim::TraceKind, Direction, std::uint64_t, std::int64_t, std::uint64_t>;

std::uint64_t fnv1a(std::span<const std::byte> bytes) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (std::byte b : bytes) hash = (hash ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ULL;
    return hash;
}

struct Recorded {
    std::vector<TraceRecord> trace;
    std::vector<Arrival> arrivals;
    sim::LinkCounters counters;
};

// Everything, both ways, with a queue that overflows: what happened to each frame and when.
Recorded record_run(std::uint64_t seed) {
    Recorded recorded;
    sim::DirectionConfig rough{.delay = 1ms,
                               .bits_per_second = 10'000'000,
                               .queue_limit = 20,
                               .loss = Probability::percent(5),
                               .duplicate = Probability::percent(5),
                               .reorder = Probability::percent(5),
                               .corrupt = Probability::percent(5)};
    SimNetwork net(seed, sim::LinkConfig::symmetric(rough));
    net.link().on_trace([&recorded](const sim::TraceEvent& e) {
        recorded.trace.emplace_back(e.kind, e.frame.direction, e.frame.sequence, runtime::to_ns(e.frame.time),
                                    fnv1a(e.frame.bytes));
    });
    // 142-byte frames every 50 us over a link that takes 113.6 us each: the queue fills.
    BurstOutcome outcome = run_burst(net, {300, 100, 50us});
    REQUIRE(outcome.result.finished);
    recorded.arrivals = outcome.arrivals;
    recorded.counters = net.link().total();
    CHECK(recorded.counters.balanced());
    CHECK(recorded.counters.queue_drops > 0);
    CHECK(recorded.counters.lost > 0);
    CHECK(recorded.counters.duplicated > 0);
    CHECK(recorded.counters.reordered > 0);
    CHECK(recorded.counters.corrupted > 0);
    return recorded;
}

}  // namespace

TEST_CASE("sim UDP: the same seed gives the same run, to the nanosecond; another seed does not", "[sim]") {
    Recorded first = record_run(7);
    Recorded again = record_run(7);
    Recorded other = record_run(8);
    CHECK(first.trace.size() > 300);
    CHECK(first.trace == again.trace);
    CHECK(first.counters == again.counters);
    CHECK(first.arrivals.size() == again.arrivals.size());
    for (std::size_t i = 0; i < std::min(first.arrivals.size(), again.arrivals.size()); ++i) {
        CHECK(first.arrivals[i].sequence == again.arrivals[i].sequence);
        CHECK(first.arrivals[i].at == again.arrivals[i].at);
    }
    CHECK(first.trace != other.trace);
    CHECK_FALSE(first.counters == other.counters);
}

TEST_CASE("sim UDP: an echo's round trip on the virtual clock is twice the one-way time", "[sim]") {
    SimNetwork net(6, sim::LinkConfig::symmetric({.delay = 5ms, .bits_per_second = 8'000'000}));
    warm_up(net);
    std::vector<runtime::Duration> round_trips;
    constexpr std::size_t k_size = 100;
    sim::RunResult result =
        net.run(udp_round_trips(net.a(), SimNetwork::k_address_b, 5, k_size, round_trips), udp_echo(net.b(), 5), 10s);
    REQUIRE(result.finished);
    CHECK(result.client == 5);
    CHECK(result.server == 5);
    const runtime::Duration one_way =
        5ms + net.link().config(Direction::AToB).serialization_time(k_size + k_udp_overhead);
    CHECK(one_way == 5142us);
    REQUIRE(round_trips.size() == 5);
    for (runtime::Duration rtt : round_trips) CHECK(rtt == 2 * one_way);
    CHECK(result.client_time == 10 * one_way);
    sim::ResultsTable::global().add(net.row("UDP echo x5", k_size * 2 * 5, result.client_time));
}

namespace {

// Watches the link for echo replies reaching a.
struct PingWatch {
    runtime::Signal replied;
    std::vector<std::pair<std::uint16_t, runtime::Instant>> replies;  // sequence, when

    void observe(const sim::TraceEvent& e) {
        if (e.kind != sim::TraceKind::Delivered || e.frame.direction != Direction::BToA) return;
        auto ethernet = net::EthernetFrame::parse(e.frame.bytes);
        if (!ethernet || ethernet->ether_type() != static_cast<std::uint16_t>(net::EtherType::Ipv4)) return;
        auto ip = net::Ipv4Packet::parse(ethernet->payload());
        if (!ip || ip->protocol() != static_cast<std::uint8_t>(net::IpProtocol::Icmp)) return;
        auto icmp = net::IcmpMessage::parse(ip->payload());
        if (!icmp || icmp->type() != static_cast<std::uint8_t>(net::IcmpType::EchoReply)) return;
        replies.emplace_back(icmp->sequence(), e.frame.time);
        replied.notify();  // like an interrupt handler: only the signal
    }
};

constexpr std::size_t k_ping_data = 32;

// Client: pings b `count` times, one at a time; the round trip of each goes to `round_trips`.
runtime::Task<int> ping(net::Interface& interface, net::Ipv4Address to, int count, PingWatch& watch,
                        std::vector<runtime::Duration>& round_trips) {
    co_await runtime::sleep(10ms);  // let both gratuitous ARPs pass first
    std::array<std::byte, k_ping_data> data{};
    for (int i = 0; i < count; ++i) {
        netif::PacketBuffer* packet = interface.allocate_buffer();
        if (packet == nullptr || !packet->resize(net::IcmpMessage::k_header_size + data.size())) co_return -1;
        auto sequence = static_cast<std::uint16_t>(i + 1);
        net::IcmpMessage::emit(packet->bytes(), net::IcmpType::EchoRequest, 0, 0x5157, sequence, data);
        runtime::Instant sent = runtime::now();
        if (!interface.send_ipv4(packet, to, net::IpProtocol::Icmp, sent)) co_return -1;
        interface.device().flush();
        while (watch.replies.empty() || watch.replies.back().first != sequence) {
            if (!co_await watch.replied.wait_until(sent + 5s)) co_return -1;
        }
        round_trips.push_back(watch.replies.back().second - sent);
    }
    co_return count;
}

}  // namespace

TEST_CASE("sim ping: the first echo waits for ARP, the next ones take twice the one-way time", "[sim]") {
    SimNetwork net(9, sim::LinkConfig::symmetric({.delay = 5ms, .bits_per_second = 8'000'000}));
    PingWatch watch;
    net.link().on_trace([&watch](const sim::TraceEvent& e) { watch.observe(e); });
    std::vector<runtime::Duration> round_trips;
    sim::RunResult result = net.run(ping(net.a(), SimNetwork::k_address_b, 3, watch, round_trips), 10s);
    REQUIRE(result.finished);
    CHECK(result.client == 3);
    REQUIRE(round_trips.size() == 3);
    const sim::DirectionConfig& config = net.link().config(Direction::AToB);
    const runtime::Duration arp = 5ms + config.serialization_time(42);  // an ARP packet, unpadded
    const runtime::Duration echo = 5ms + config.serialization_time(14 + 20 + 8 + k_ping_data);
    // Request and reply for a's ARP (b learns a's address from the request), then the echo.
    CHECK(round_trips[0] == 2 * arp + 2 * echo);
    CHECK(round_trips[1] == 2 * echo);
    CHECK(round_trips[2] == 2 * echo);
    CHECK(net.b().stats().icmp_echo_replies == 3);
    CHECK(net.a().arp_stats().requests_sent == 1);
}

namespace {

// A client that waits for a datagram nobody sends.
runtime::Task<int> wait_forever(net::Interface& interface) {
    net::UdpSocket socket(interface);
    if (!socket.bind(9)) co_return -1;
    net::Datagram never = co_await socket.receive();
    co_return static_cast<int>(never.payload().size());
}

}  // namespace

TEST_CASE("sim harness: a run that does not finish stops at its virtual-time limit; the next run works", "[sim]") {
    SimNetwork net(11, sim::LinkConfig::symmetric({.delay = 1ms}));
    runtime::Instant start = net.now();
    sim::RunResult stuck = net.run(wait_forever(net.a()), udp_echo(net.b(), 1), 3s);
    CHECK_FALSE(stuck.finished);
    CHECK_FALSE(stuck.client.has_value());
    CHECK_FALSE(stuck.server.has_value());
    CHECK(stuck.elapsed == 3s);
    CHECK(net.now() - start == 3s);
    // The stuck tasks are still there (and still hold ports 9 and 7); others run alongside.
    std::vector<runtime::Duration> round_trips;
    sim::RunResult after = net.run(udp_round_trips(net.a(), SimNetwork::k_address_b, 1, 10, round_trips), 1s);
    CHECK(after.finished);
    CHECK(after.client == 1);  // the stuck echo server answered it
    REQUIRE(round_trips.size() == 1);
    CHECK(round_trips[0] == 4ms);  // no bandwidth limit: an ARP round trip, then the echo's
}
