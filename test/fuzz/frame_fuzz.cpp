// libFuzzer target: arbitrary bytes arrive as an Ethernet frame at a configured interface
// that has a UDP socket open and a DHCP client running. Any crash, sanitizer report or
// leaked buffer is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "net/dhcp_client.hpp"
#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "test/unit/net/fake_link.hpp"

namespace {

struct Target {
    test::FakeDevice device{net::MacAddress{{2, 0, 0, 0, 0, 1}}, 16};
    test::FakeDevice peer{net::MacAddress{{2, 0, 0, 0, 0, 2}}, 16};
    net::Interface interface { device };
    net::Interface dhcp_interface{peer};
    net::UdpSocket socket{interface};
    net::DhcpClient dhcp{dhcp_interface, 1};
    runtime::Instant now = runtime::instant_from_ns(1'000'000'000);

    Target() {
        interface.configure({net::Ipv4Address::from_octets(10, 0, 0, 2), 24},
                            net::Ipv4Address::from_octets(10, 0, 0, 1), now);
        if (!socket.bind(7)) std::abort();
    }
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Target target;
    auto frame = std::as_bytes(std::span(data, size));
    target.device.inject(frame);
    target.interface.poll(target.now);
    target.peer.inject(frame);  // the same bytes at an interface still asking DHCP
    target.dhcp_interface.poll(target.now);
    target.dhcp.poll(target.now);
    while (auto datagram = target.socket.try_receive()) (void)datagram->payload();
    target.now += std::chrono::milliseconds(10);
    target.device.sent.clear();
    target.peer.sent.clear();
    // Every buffer must be back in its pool: nothing the packet did may leak one.
    if (target.device.pool().stats().free != target.device.pool().stats().buffers) std::abort();
    return 0;
}
