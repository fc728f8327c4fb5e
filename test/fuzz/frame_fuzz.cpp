// libFuzzer target: a few Ethernet frames arrive at a configured interface that has a UDP
// socket open and large buffers for reassembly, and at one running DHCP. Any crash,
// sanitizer report or leaked buffer is a finding.
//
// An input is a sequence of frames, each behind a 2-byte big-endian length (a length
// longer than what is left takes the rest; a last lone byte is a frame of its own). If the length's top bit is set, the
// harness repairs the IPv4 header checksum of that frame first, so that mutations reach what lies behind it (fragment
// reassembly above all) instead of dying at the checksum. 10 ms pass between frames. At the end time runs on until ARP
// and reassembly have given up on everything, and every buffer must be back in its pool. Each input gets a fresh stack,
// so a crash reproduces from its input alone. test/fuzz/corpus/frames/ holds seeds (test/fuzz/make_corpus.py writes
// them).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "net/checksum.hpp"
#include "net/dhcp_client.hpp"
#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "test/unit/net/fake_link.hpp"

namespace {

struct Target {
    test::FakeDevice device{netif::MacAddress{{2, 0, 0, 0, 0, 1}}, 16};
    test::FakeDevice peer{netif::MacAddress{{2, 0, 0, 0, 0, 2}}, 16};
    // Small limits so that inputs can reach them.
    static constexpr net::ReassemblyConfig k_reassembly{.max_datagrams = 3, .max_bytes = std::size_t{16} * 1024};
    net::Interface interface { device, k_reassembly };
    net::Interface dhcp_interface{peer};
    net::UdpSocket socket{interface};
    net::DhcpClient dhcp{dhcp_interface, 1};
    runtime::Instant now = runtime::instant_from_ns(1'000'000'000);

    Target() {
        if (!interface.enable_large_datagrams(4)) std::abort();
        interface.configure({net::Ipv4Address::from_octets(10, 0, 0, 2), 24},
                            net::Ipv4Address::from_octets(10, 0, 0, 1), now);
        if (!socket.bind(7)) std::abort();
    }

    void poll() {
        interface.poll(now);
        dhcp_interface.poll(now);
        dhcp.poll(now);
        while (auto datagram = socket.try_receive()) (void)datagram->payload();
        device.sent.clear();
        peer.sent.clear();
    }

    void frame(std::span<const std::byte> bytes) {
        device.inject(bytes);
        peer.inject(bytes);  // the same bytes at an interface still asking DHCP
        poll();
        now += std::chrono::milliseconds(10);
    }
};

// Recomputes the checksum of the IPv4 header (if the frame has one) in place.
void repair_ipv4_checksum(std::span<std::byte> frame) {
    if (frame.size() < 14 + 20) return;
    std::size_t header_length = std::size_t{static_cast<std::uint8_t>(frame[14]) & 0x0Fu} * 4;
    if (header_length < 20 || 14 + header_length > frame.size()) return;
    frame[24] = std::byte{0};
    frame[25] = std::byte{0};
    std::uint16_t sum = net::internet_checksum(frame.subspan(14, header_length));
    frame[24] = static_cast<std::byte>(sum >> 8);
    frame[25] = static_cast<std::byte>(sum & 0xFF);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Target target;
    auto input = std::as_bytes(std::span(data, size));
    std::byte frame[2048];
    while (!input.empty()) {
        std::size_t length = input.size();
        bool repair = false;
        if (input.size() >= 2) {
            auto prefix = static_cast<std::size_t>((std::to_integer<unsigned>(input[0]) << 8) |
                                                   std::to_integer<unsigned>(input[1]));
            repair = (prefix & 0x8000u) != 0;
            length = std::min(prefix & 0x7FFFu, input.size() - 2);
            input = input.subspan(2);
        }
        std::size_t kept = std::min(length, sizeof frame);  // longer than any device buffer: cut
        std::memcpy(frame, input.data(), kept);
        input = input.subspan(length);
        std::span<std::byte> bytes(frame, kept);
        if (repair) repair_ipv4_checksum(bytes);
        target.frame(bytes);
    }
    // ARP gives up after three seconds, reassembly after 30 (its time exceeded message
    // then waits for ARP in turn).
    for (int second = 0; second < 40; ++second) {
        target.now += std::chrono::seconds(1);
        target.poll();
    }
    // Every buffer must be back in its pool: nothing the frames did may leak one.
    if (target.device.pool().stats().free != target.device.pool().stats().buffers) std::abort();
    if (target.peer.pool().stats().free != target.peer.pool().stats().buffers) std::abort();
    const netif::BufferPool* large = target.interface.large_pool();
    if (large->stats().free != large->stats().buffers) std::abort();
    if (target.interface.reassembly_stats().reassembled > target.interface.reassembly_stats().fragments) std::abort();
    return 0;
}
