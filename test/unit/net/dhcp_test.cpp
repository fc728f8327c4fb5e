#include <array>
#include <catch2/catch.hpp>
#include <cstring>

#include "net/dhcp_client.hpp"
#include "net/interface.hpp"
#include "net/stack.hpp"
#include "net/udp_socket.hpp"
#include "net/wire/dhcp.hpp"
#include "runtime/runtime.hpp"
#include "test/unit/net/fake_link.hpp"
#include "test/unit/runtime/fake_platform.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

const Ipv4Address k_server = Ipv4Address::from_octets(10, 0, 2, 2);
const Ipv4Address k_offer = Ipv4Address::from_octets(10, 0, 2, 15);

// A DHCP server written for the test: offers k_offer with a 100 s lease.
class TestServer {
public:
    explicit TestServer(Interface& interface) : m_socket(interface) { REQUIRE(m_socket.bind(67)); }

    void poll(runtime::Instant now) {
        while (auto d = m_socket.try_receive()) {
            ++received;
            if (!answering) continue;
            auto request = parse_request(d->payload());
            if (!request) continue;
            bool discover = request->type == 1;
            if (request->type == 3) ++requests;
            if (request->ciaddr != 0) ++renewals;
            reply(discover ? 2 : (nak_next ? 6 : 5), request->xid, request->mac, now);
        }
    }

    bool answering = true;
    bool nak_next = false;
    int received = 0;
    int requests = 0;
    int renewals = 0;

private:
    struct Request {
        std::uint8_t type;
        std::uint32_t xid;
        std::uint32_t ciaddr;
        netif::MacAddress mac;
    };
    static std::optional<Request> parse_request(std::span<const std::byte> bytes) {
        if (bytes.size() < 243) return std::nullopt;
        DhcpHeader h;
        std::memcpy(&h, bytes.data(), sizeof h);
        Request r{std::to_integer<std::uint8_t>(bytes[242]), h.xid, h.ciaddr, {}};
        std::memcpy(r.mac.bytes.data(), h.chaddr, 6);
        return r;
    }
    void reply(std::uint8_t type, std::uint32_t xid, netif::MacAddress mac, runtime::Instant now) {
        std::array<std::byte, 300> out{};
        DhcpHeader h{};
        h.op = 2;
        h.htype = 1;
        h.hlen = 6;
        h.xid = xid;
        h.yiaddr = k_offer.value;
        std::memcpy(h.chaddr, mac.bytes.data(), 6);
        h.magic_cookie = DhcpMessage::k_magic_cookie;
        std::memcpy(out.data(), &h, sizeof h);
        const std::uint8_t options[] = {53, 1, type, 54, 4, 10, 0, 2,  2, 1, 4, 255, 255, 255,
                                        0,  3, 4,    10, 0, 2,  2, 51, 4, 0, 0, 0,   100, 255};
        std::memcpy(out.data() + sizeof h, options, sizeof options);
        REQUIRE(m_socket.send_to(Ipv4Address::broadcast(), 68, std::span(out.data(), sizeof h + sizeof options), now));
    }
    UdpSocket m_socket;
};

struct Network {
    test::FakeDevice client_device{netif::MacAddress{{0x52, 0x54, 0, 0x12, 0x34, 0x56}}};
    test::FakeDevice server_device{netif::MacAddress{{0x52, 0x55, 10, 0, 2, 2}}};
    Interface client{client_device};
    Interface server_interface{server_device};
    runtime::Instant now = runtime::instant_from_ns(0);

    Network() {
        client_device.connect(server_device);
        server_device.connect(client_device);
        server_interface.configure({k_server, 24}, std::nullopt, now);
    }
    void run(DhcpClient& dhcp, TestServer& server, runtime::Duration for_how_long) {
        runtime::Instant end = now + for_how_long;
        while (now < end) {
            for (int i = 0; i < 3; ++i) {
                client.poll(now);
                server_interface.poll(now);
                dhcp.poll(now);
                server.poll(now);
            }
            now += 100ms;
        }
    }
};

}  // namespace

TEST_CASE("dhcp: discover, offer, request, ack configures the interface") {
    Network net;
    TestServer server(net.server_interface);
    DhcpClient dhcp(net.client, 7);
    net.run(dhcp, server, 1s);
    REQUIRE(dhcp.state() == DhcpClient::State::Bound);
    CHECK(net.client.address() == Ipv4Cidr{k_offer, 24});
    CHECK(net.client.gateway() == k_server);
    CHECK(dhcp.lease()->lease_time == 100s);
    CHECK(dhcp.leases_obtained() == 1);
}

TEST_CASE("dhcp: renews at T1 by unicast, rebinds at T2, starts over when the lease ends") {
    Network net;
    TestServer server(net.server_interface);
    DhcpClient dhcp(net.client, 7);
    net.run(dhcp, server, 1s);
    REQUIRE(dhcp.state() == DhcpClient::State::Bound);
    net.run(dhcp, server, 50s);  // past T1 = 50 s
    CHECK(server.renewals == 1);
    CHECK(dhcp.leases_obtained() == 2);
    CHECK(dhcp.state() == DhcpClient::State::Bound);

    server.answering = false;
    net.run(dhcp, server, 50s);  // past the new T1: renewing gets no answer
    CHECK(dhcp.state() == DhcpClient::State::Renewing);
    net.run(dhcp, server, 40s);  // past T2 = 87.5 s
    CHECK(dhcp.state() == DhcpClient::State::Rebinding);
    net.run(dhcp, server, 15s);  // past the end of the lease
    CHECK(dhcp.state() == DhcpClient::State::Selecting);
    CHECK_FALSE(net.client.address().has_value());

    server.answering = true;
    net.run(dhcp, server, 70s);  // the next discover (within a 64 s backoff) is answered
    CHECK(dhcp.state() == DhcpClient::State::Bound);
    CHECK(net.client.address() == Ipv4Cidr{k_offer, 24});
}

TEST_CASE("dhcp: retransmissions back off; a NAK starts over; junk is ignored") {
    Network net;
    TestServer server(net.server_interface);
    server.answering = false;
    DhcpClient dhcp(net.client, 99);
    net.run(dhcp, server, 30s);
    // Discovers at about 0, 4, 12, 28 s (each +-1 s).
    CHECK(server.received >= 3);
    CHECK(server.received <= 5);
    CHECK(dhcp.state() == DhcpClient::State::Selecting);

    server.answering = true;
    server.nak_next = true;
    net.run(dhcp, server, 65s);
    CHECK(dhcp.state() != DhcpClient::State::Bound);  // every request is refused
    server.nak_next = false;
    net.run(dhcp, server, 65s);
    CHECK(dhcp.state() == DhcpClient::State::Bound);
}

TEST_CASE("dhcp: message parser rejects truncated options and wrong kinds") {
    std::array<std::byte, 300> buffer{};
    DhcpHeader h{};
    h.op = 2;
    h.htype = 1;
    h.hlen = 6;
    h.magic_cookie = DhcpMessage::k_magic_cookie;
    std::memcpy(buffer.data(), &h, sizeof h);
    const std::uint8_t good[] = {53, 1, 5, 51, 4, 0, 0, 1, 0, 255};
    std::memcpy(buffer.data() + 240, good, sizeof good);
    auto parsed = DhcpMessage::parse(std::span(buffer).first(250));
    REQUIRE(parsed);
    CHECK(parsed->type == DhcpMessageType::Ack);
    CHECK(parsed->lease_seconds == 256u);
    CHECK(DhcpMessage::parse(std::span(buffer).first(246)).error() == ParseError::Truncated);  // option cut short
    CHECK(DhcpMessage::parse(std::span(buffer).first(239)).error() == ParseError::Truncated);
    auto no_type = buffer;
    no_type[240] = std::byte{12};  // host name instead of a message type
    CHECK(DhcpMessage::parse(std::span(no_type).first(250)).error() == ParseError::Malformed);
    auto request = buffer;
    request[0] = std::byte{1};
    CHECK(DhcpMessage::parse(std::span(request).first(250)).error() == ParseError::Unsupported);
}

TEST_CASE("stack: configuration from the command line") {
    kernel::CommandLine c;
    c.parse("img ip=10.0.0.2/24 gw=10.0.0.1");
    auto config = StackConfig::from_command_line(c);
    REQUIRE(config);
    CHECK(config->address == Ipv4Cidr{Ipv4Address::from_octets(10, 0, 0, 2), 24});
    CHECK(config->gateway == Ipv4Address::from_octets(10, 0, 0, 1));
    kernel::CommandLine none;
    none.parse("img");
    CHECK_FALSE(StackConfig::from_command_line(none)->address.has_value());
    for (const char* bad : {"img ip=10.0.0.2", "img ip=10.0.0.2/24 gw=10.0.0", "img gw=10.0.0.1", "img ip=1.2.3.4/0"}) {
        kernel::CommandLine line;
        line.parse(bad);
        CHECK_FALSE(StackConfig::from_command_line(line).has_value());
    }
}

TEST_CASE("stack: Linux's ip= form, as Firecracker and urunc pass it") {
    auto configure = [](const char* text) {
        kernel::CommandLine line;
        line.parse(text, false);
        return StackConfig::from_command_line(line);
    };
    auto config = configure("ip=172.16.0.2::172.16.0.1:255.255.255.252::eth0:off");
    REQUIRE(config);
    CHECK(config->address == Ipv4Cidr{Ipv4Address::from_octets(172, 16, 0, 2), 30});
    CHECK(config->gateway == Ipv4Address::from_octets(172, 16, 0, 1));

    // All ten fields; the server, hostname, device and name servers are not used.
    config = configure("ip=10.1.2.3:10.1.2.1:10.1.2.254:255.255.0.0:guest:eth0:none:10.1.2.53:0.0.0.0:10.1.2.123");
    REQUIRE(config);
    CHECK(config->address == Ipv4Cidr{Ipv4Address::from_octets(10, 1, 2, 3), 16});
    CHECK(config->gateway == Ipv4Address::from_octets(10, 1, 2, 254));

    // No netmask: the address's class, as Linux does. No gateway: none.
    config = configure("ip=192.168.7.9:::");
    REQUIRE(config);
    CHECK(config->address == Ipv4Cidr{Ipv4Address::from_octets(192, 168, 7, 9), 24});
    CHECK_FALSE(config->gateway.has_value());
    CHECK(configure("ip=10.0.0.5::::")->address->prefix_length == 8);
    CHECK(configure("ip=172.20.0.5::::")->address->prefix_length == 16);

    // gw= overrides the form's gateway.
    config = configure("ip=10.0.0.2::10.0.0.1:255.255.255.0 gw=10.0.0.254");
    REQUIRE(config);
    CHECK(config->gateway == Ipv4Address::from_octets(10, 0, 0, 254));

    // DHCP: a word alone, or as the autoconf field (the address is then not used).
    for (const char* dhcp : {"ip=dhcp", "ip=on", "ip=any", "ip=bootp", "ip=::::::dhcp", "ip=10.0.0.2:::::eth0:dhcp"}) {
        config = configure(dhcp);
        REQUIRE(config);
        CHECK_FALSE(config->address.has_value());
    }
    CHECK(configure("ip=dhcp gw=10.0.0.1").error() == StackConfig::Error::GatewayWithoutAddress);

    for (const char* bad : {"ip=10.0.0.2", "ip=off", "ip=10.0.0.2::10.0.0.1:255.0.255.0",
                            "ip=10.0.0.2::10.0.0.1:0.0.0.0", "ip=10.0.0.2::10.0.0:255.255.255.0",
                            "ip=::10.0.0.1:255.255.255.0", "ip=0.0.0.0::::", "ip=10.0.0.2:::::eth0:sometimes",
                            "ip=224.0.0.1::::", "ip=1:2:3:4:5:6:7:8:9:10:11", "ip=10.0.0.2::::::off:junk:::"}) {
        INFO(bad);
        CHECK(configure(bad).error() == StackConfig::Error::BadAddress);
    }
}

TEST_CASE("stack: runs on the event loop, gets a lease, answers on the device's signal") {
    Network net;
    TestServer server(net.server_interface);
    test::FakePlatform platform;
    runtime::EventLoop loop(platform);
    runtime::Signal device_signal;
    Stack stack(net.client_device, device_signal, {}, 5);
    auto main = [&]() -> runtime::Task<int> {
        // The server side and the wire, polled as their own little machine.
        runtime::Timer other_side;
        other_side.start_every(5ms, [&] {
            net.server_interface.poll(runtime::now());
            server.poll(runtime::now());
            device_signal.notify();  // frames for the client: its "interrupt"
        });
        auto running = runtime::spawn(stack.run());
        bool configured = co_await stack.wait_configured(10s);
        stack.stop();
        co_await running;
        co_return configured ? 0 : 1;
    };
    CHECK(loop.run(main()) == 0);
    CHECK(stack.interface().address() == Ipv4Cidr{k_offer, 24});
    CHECK(stack.dhcp()->state() == DhcpClient::State::Bound);
}
