// Fragmentation and reassembly through two interfaces over the fake link: big UDP
// datagrams and pings, lost fragments, and pools that run dry.

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "net/wire/icmp.hpp"
#include "test/unit/net/fake_link.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

const Ipv4Address k_a = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address k_b = Ipv4Address::from_octets(10, 0, 0, 2);

std::vector<std::byte> pattern(std::size_t size) {
    std::vector<std::byte> bytes(size);
    std::mt19937 random(static_cast<unsigned>(size));
    for (auto& b : bytes) b = static_cast<std::byte>(random());
    return bytes;
}

struct LargeHosts {
    test::FakeDevice device_a;
    test::FakeDevice device_b;
    Interface a{device_a};
    Interface b{device_b};
    runtime::Instant now = runtime::instant_from_ns(1'000'000'000);

    explicit LargeHosts(std::size_t buffers_a = 64, bool large = true)
        : device_a(netif::MacAddress{{2, 0, 0, 0, 0, 0xA}}, buffers_a),
          device_b(netif::MacAddress{{2, 0, 0, 0, 0, 0xB}}, 64) {
        device_a.connect(device_b);
        device_b.connect(device_a);
        if (large) {
            REQUIRE(a.enable_large_datagrams(4));
            REQUIRE(b.enable_large_datagrams(4));
            CHECK(a.enable_large_datagrams(1).error() == Interface::Error::AlreadyEnabled);
        }
        a.configure({k_a, 24}, std::nullopt, now);
        b.configure({k_b, 24}, std::nullopt, now);
        pump();
    }
    void pump() {
        for (int i = 0; i < 10; ++i) {
            a.poll(now);
            b.poll(now);
        }
    }
    static std::size_t ipv4_frames(const test::FakeDevice& device) {
        std::size_t n = 0;
        for (const auto& frame : device.sent)
            n += frame.size() > 14 && frame[12] == std::byte{0x08} && frame[13] == std::byte{0};
        return n;
    }
    void check_no_leaks() {
        for (auto* device : {&device_a, &device_b})
            CHECK(device->pool().stats().free == device->pool().stats().buffers);
        for (auto* i : {&a, &b}) {
            if (i->large_pool() != nullptr) CHECK(i->large_pool()->stats().free == i->large_pool()->stats().buffers);
        }
    }
};

}  // namespace

TEST_CASE("fragments: UDP datagrams of 9000 and 65507 bytes cross the link", "[fragments]") {
    LargeHosts hosts;
    UdpSocket server(hosts.b);
    UdpSocket client(hosts.a);
    REQUIRE(server.bind(7));
    REQUIRE(client.bind(5000));
    std::size_t size = GENERATE(std::size_t{1473}, std::size_t{9000}, std::size_t{65507});
    auto data = pattern(size);
    // The first send waits for ARP as one datagram and is cut up when the address resolves.
    REQUIRE(client.send_to(k_b, 7, data, hosts.now));
    hosts.pump();
    auto got = server.try_receive();
    REQUIRE(got);
    CHECK(got->source == k_a);
    CHECK(got->source_port == 5000);
    REQUIRE(got->payload().size() == size);
    CHECK(std::equal(data.begin(), data.end(), got->payload().begin()));
    std::size_t fragments = (size + 8 + 1479) / 1480;
    CHECK(hosts.a.stats().tx_fragments == fragments);
    CHECK(hosts.b.reassembly_stats().reassembled == 1);

    // And back, now that both know each other.
    REQUIRE(server.send_to(got->source, got->source_port, got->payload(), hosts.now));
    got.reset();
    hosts.pump();
    auto echoed = client.try_receive();
    REQUIRE(echoed);
    REQUIRE(echoed->payload().size() == size);
    CHECK(std::equal(data.begin(), data.end(), echoed->payload().begin()));
    echoed.reset();
    CHECK(hosts.a.stats().malformed_total() == 0);
    CHECK(hosts.b.stats().malformed_total() == 0);
    hosts.check_no_leaks();
}

TEST_CASE("fragments: a ping with 4000 bytes of data is answered", "[fragments]") {
    LargeHosts hosts;
    auto data = pattern(4000);
    netif::PacketBuffer* request = hosts.a.allocate_buffer(IcmpMessage::k_header_size + data.size());
    REQUIRE(request != nullptr);
    IcmpMessage::emit(request->bytes(), IcmpType::EchoRequest, 0, 1, 1, data);
    REQUIRE(hosts.a.send_ipv4(request, k_b, IpProtocol::Icmp, hosts.now));
    hosts.pump();
    CHECK(hosts.b.reassembly_stats().reassembled == 1);
    CHECK(hosts.b.stats().icmp_echo_replies == 1);
    CHECK(hosts.b.stats().tx_fragments == 3);
    // The reply's fragments, put together at a, carry the same data.
    CHECK(hosts.a.reassembly_stats().reassembled == 1);
    std::vector<std::byte> reply;
    for (const auto& frame : hosts.device_b.sent) {
        auto ip = Ipv4Packet::parse(std::span(frame).subspan(14));
        if (ip && ip->protocol() == 1) reply.insert(reply.end(), ip->payload().begin(), ip->payload().end());
    }
    auto icmp = IcmpMessage::parse(reply);
    REQUIRE(icmp);
    CHECK(icmp->type() == static_cast<std::uint8_t>(IcmpType::EchoReply));
    CHECK(std::equal(data.begin(), data.end(), icmp->data().begin(), icmp->data().end()));
    hosts.check_no_leaks();
}

TEST_CASE("fragments: a lost fragment times out with ICMP time exceeded", "[fragments]") {
    LargeHosts hosts;
    UdpSocket client(hosts.a);
    UdpSocket server(hosts.b);
    REQUIRE(client.bind(5000));
    REQUIRE(server.bind(7));
    int fragment = 0;
    hosts.device_a.drop_filter = [&](std::span<const std::byte> frame) {
        auto ip = Ipv4Packet::parse(frame.subspan(14));
        return ip && ip->is_fragment() && ++fragment == 2;  // the second fragment is lost
    };
    auto data = pattern(4000);
    REQUIRE(client.send_to(k_b, 7, data, hosts.now));
    hosts.pump();
    CHECK(!server.try_receive());
    REQUIRE(hosts.b.poll_at());
    CHECK(*hosts.b.poll_at() == hosts.now + 30s);
    hosts.now += 30s;
    hosts.pump();
    CHECK(hosts.b.reassembly_stats().timeouts == 1);
    CHECK(hosts.b.stats().icmp_time_exceeded_sent == 1);
    // The error quotes the first fragment's header and 8 bytes: the UDP header.
    const auto& last = hosts.device_b.sent.back();
    auto ip = Ipv4Packet::parse(std::span(last).subspan(14));
    REQUIRE(ip);
    auto icmp = IcmpMessage::parse(ip->payload());
    REQUIRE(icmp);
    CHECK(icmp->type() == static_cast<std::uint8_t>(IcmpType::TimeExceeded));
    CHECK(icmp->code() == 1);
    CHECK(icmp->data().size() == 28);
    hosts.check_no_leaks();
}

TEST_CASE("fragments: sends that cannot go out whole send nothing", "[fragments]") {
    const std::byte one[] = {std::byte{1}};
    auto data = pattern(65507);
    SECTION("don't fragment") {
        LargeHosts hosts;
        netif::PacketBuffer* packet = hosts.a.allocate_buffer(3000);
        REQUIRE(packet != nullptr);
        std::memset(packet->data(), 0, packet->size());
        packet->metadata.dont_fragment = true;
        CHECK(hosts.a.try_send_ipv4(packet, k_b, IpProtocol::Udp, hosts.now).error() == Interface::SendError::TooBig);
        CHECK(hosts.a.stats().tx_too_big == 1);
        hosts.check_no_leaks();
    }
    SECTION("more than 65507 bytes of UDP") {
        LargeHosts hosts;
        UdpSocket client(hosts.a);
        REQUIRE(client.bind(5000));
        auto more = pattern(65508);
        CHECK(client.send_to(k_b, 7, more, hosts.now).error() == UdpSocket::Error::TooBig);
    }
    SECTION("too few device buffers for the fragments") {
        LargeHosts hosts(8);
        UdpSocket client(hosts.a);
        REQUIRE(client.bind(5000));
        REQUIRE(client.send_to(k_b, 9, one, hosts.now));  // resolves b
        hosts.pump();
        std::size_t before = LargeHosts::ipv4_frames(hosts.device_a);
        CHECK(client.send_to(k_b, 9, data, hosts.now).error() == UdpSocket::Error::NoBuffer);
        CHECK(LargeHosts::ipv4_frames(hosts.device_a) == before);
        CHECK(hosts.a.stats().tx_fragment_failed == 1);
        hosts.check_no_leaks();
    }
    SECTION("without large buffers") {
        LargeHosts hosts(64, false);
        UdpSocket client(hosts.a);
        REQUIRE(client.bind(5000));
        CHECK(client.send_to(k_b, 9, std::span(data).first(3000), hosts.now).error() == UdpSocket::Error::NoBuffer);
        // One device buffer is still enough for what fits in one frame.
        REQUIRE(client.send_to(k_b, 9, std::span(data).first(1472), hosts.now));
        hosts.pump();
        // Fragments arriving here are dropped and counted.
        REQUIRE(hosts.b.enable_large_datagrams(2));  // so that b can send them
        UdpSocket other(hosts.b);
        REQUIRE(other.bind(9));
        REQUIRE(other.send_to(k_a, 5000, std::span(data).first(3000), hosts.now));
        hosts.pump();
        CHECK(hosts.a.reassembly_stats().no_buffer == 3);
        CHECK(!client.try_receive());
        hosts.check_no_leaks();
    }
}
