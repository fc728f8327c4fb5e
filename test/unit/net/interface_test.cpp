#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>

#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "net/wire/icmp.hpp"
#include "runtime/runtime.hpp"
#include "test/unit/net/fake_link.hpp"
#include "test/unit/runtime/fake_platform.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

const Ipv4Address k_a = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address k_b = Ipv4Address::from_octets(10, 0, 0, 2);

struct TwoHosts {
    test::FakeDevice device_a{netif::MacAddress{{2, 0, 0, 0, 0, 0xA}}};
    test::FakeDevice device_b{netif::MacAddress{{2, 0, 0, 0, 0, 0xB}}};
    Interface a{device_a};
    Interface b{device_b};
    runtime::Instant now = runtime::instant_from_ns(1'000'000'000);

    TwoHosts() {
        device_a.connect(device_b);
        device_b.connect(device_a);
        a.configure({k_a, 24}, std::nullopt, now);
        b.configure({k_b, 24}, std::nullopt, now);
        pump();
    }
    // Lets frames cross the wire until both sides are quiet.
    void pump() {
        for (int i = 0; i < 10; ++i) {
            a.poll(now);
            b.poll(now);
        }
    }
    void ping(Interface& from, Ipv4Address to, std::uint16_t sequence) {
        netif::PacketBuffer* p = from.allocate_buffer();
        const std::byte data[] = {std::byte{1}, std::byte{2}, std::byte{3}};
        REQUIRE(p->resize(IcmpMessage::k_header_size + sizeof data));
        IcmpMessage::emit(p->bytes(), IcmpType::EchoRequest, 0, 99, sequence, data);
        REQUIRE(from.send_ipv4(p, to, IpProtocol::Icmp, now));
    }
};

}  // namespace

TEST_CASE("interface: ARP resolves, ping is answered") {
    TwoHosts hosts;
    hosts.ping(hosts.a, k_b, 1);  // waits for ARP
    CHECK(hosts.a.arp_stats().requests_sent == 1);
    hosts.pump();
    CHECK(hosts.b.stats().arp_replies_sent == 1);
    CHECK(hosts.b.stats().icmp_echo_replies == 1);
    hosts.ping(hosts.a, k_b, 2);  // resolved now: no new request
    hosts.pump();
    CHECK(hosts.a.arp_stats().requests_sent == 1);
    CHECK(hosts.b.stats().icmp_echo_replies == 2);
    CHECK(hosts.a.stats().malformed_total() == 0);
    CHECK(hosts.b.stats().malformed_total() == 0);
}

TEST_CASE("interface: UDP echo through sockets on the event loop") {
    TwoHosts hosts;
    test::FakePlatform platform;
    runtime::EventLoop loop(platform);
    UdpSocket server(hosts.b);
    UdpSocket client(hosts.a);
    REQUIRE(server.bind(7));
    REQUIRE(client.bind(0));
    CHECK(client.port() >= 49152);
    CHECK(UdpSocket(hosts.b).bind(7).error() == UdpSocket::Error::PortInUse);

    auto echo = [&]() -> runtime::Task<void> {
        for (int i = 0; i < 3; ++i) {
            Datagram d = co_await server.receive();
            REQUIRE(server.send_to(d.source, d.source_port, d.payload(), hosts.now));
        }
    };
    auto main = [&]() -> runtime::Task<int> {
        // The link's "interrupts": a poll every millisecond, as a driver's signal would.
        runtime::Timer link;
        link.start_every(1ms, [&] { hosts.pump(); });
        auto server_task = runtime::spawn(echo());
        int replies = 0;
        for (int i = 0; i < 3; ++i) {
            std::string text = "hello " + std::to_string(i);
            REQUIRE(client.send_to(k_b, 7, std::as_bytes(std::span(text.data(), text.size())), hosts.now));
            Datagram reply = co_await client.receive();
            CHECK(reply.source == k_b);
            CHECK(reply.source_port == 7);
            CHECK(std::string(reinterpret_cast<const char*>(reply.payload().data()), reply.payload().size()) == text);
            ++replies;
        }
        co_await server_task;
        co_return replies;
    };
    CHECK(loop.run(main()) == 3);
    CHECK(hosts.b.stats().udp_delivered == 3);
}

TEST_CASE("interface: a closed UDP port answers port unreachable; broadcasts get no answer") {
    TwoHosts hosts;
    UdpSocket client(hosts.a);
    REQUIRE(client.bind(5000));
    const std::byte data[] = {std::byte{0}};
    REQUIRE(client.send_to(k_b, 9999, data, hosts.now));
    hosts.pump();
    CHECK(hosts.b.stats().icmp_unreachable_sent == 1);
    REQUIRE(client.send_to(Ipv4Address::broadcast(), 9999, data, hosts.now));
    hosts.pump();
    CHECK(hosts.b.stats().icmp_unreachable_sent == 1);
}

TEST_CASE("interface: no route without a gateway; ARP gives up and drops what waited") {
    TwoHosts hosts;
    UdpSocket client(hosts.a);
    REQUIRE(client.bind(5000));
    const std::byte data[] = {std::byte{0}};
    CHECK(client.send_to(Ipv4Address::from_octets(8, 8, 8, 8), 53, data, hosts.now).error() ==
          UdpSocket::Error::NoRoute);
    // An address on the link that nobody has: six packets queue, four are kept.
    for (int i = 0; i < 6; ++i) REQUIRE(client.send_to(Ipv4Address::from_octets(10, 0, 0, 77), 53, data, hosts.now));
    CHECK(hosts.a.arp_stats().queue_dropped == 2);
    for (int second = 1; second <= 4; ++second) {
        hosts.now += 1s;
        hosts.pump();
    }
    CHECK(hosts.a.arp_stats().requests_sent == 3);
    CHECK(hosts.a.arp_stats().failed == 1);
    CHECK(hosts.a.arp_stats().queue_dropped == 6);
    CHECK(hosts.device_a.pool().stats().free == hosts.device_a.pool().stats().buffers);  // nothing leaked
}

TEST_CASE("interface: random and truncated frames are counted and dropped, never crash") {
    TwoHosts hosts;
    std::uint64_t frames_before = hosts.b.stats().rx_frames;
    std::mt19937 random(42);
    std::vector<std::byte> frame;
    for (int i = 0; i < 20000; ++i) {
        frame.assign(random() % 200, std::byte{0});
        for (auto& byte : frame) byte = static_cast<std::byte>(random());
        if (frame.size() >= 14 && random() % 2 == 0) {
            // Aim at our MAC and a protocol we parse, to get past the first checks.
            std::memcpy(frame.data(), hosts.device_b.mac().bytes.data(), 6);
            frame[12] = std::byte{0x08};
            frame[13] = random() % 2 == 0 ? std::byte{0x00} : std::byte{0x06};
            if (frame.size() > 14 && random() % 2 == 0) frame[14] = std::byte{0x45};
        }
        hosts.device_b.inject(frame);
        hosts.b.poll(hosts.now);
    }
    CHECK(hosts.b.stats().rx_frames - frames_before == 20000);
    CHECK(hosts.b.stats().malformed_total() > 1000);
    CHECK(hosts.device_b.pool().stats().free == hosts.device_b.pool().stats().buffers);
}
