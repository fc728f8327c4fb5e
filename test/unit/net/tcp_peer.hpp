#pragma once
// A scripted TCP peer for the crafted-segment tests and the TCP fuzz target: one TcpLayer
// on an Interface over a FakeDevice. Segments are built by hand (TcpSegment::emit,
// Ipv4Packet::emit, an Ethernet header) and injected; what the layer transmits is parsed
// back. Time is virtual and moves only when a test says so. No Catch2 here: the fuzz
// target includes it too.

#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "net/interface.hpp"
#include "net/tcp.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"
#include "runtime/event_loop.hpp"
#include "test/unit/net/fake_link.hpp"
#include "test/unit/runtime/fake_platform.hpp"

namespace test {

inline const net::Ipv4Address k_local_ip = net::Ipv4Address::from_octets(10, 0, 0, 2);
inline const net::Ipv4Address k_peer_ip = net::Ipv4Address::from_octets(10, 0, 0, 1);
inline constexpr netif::MacAddress k_local_mac{{2, 0, 0, 0, 0, 2}};
inline constexpr netif::MacAddress k_peer_mac{{2, 0, 0, 0, 0, 1}};
inline constexpr std::uint16_t k_local_port = 80;
inline constexpr std::uint16_t k_peer_port = 40000;

// A segment the layer sent, copied out of its frame.
struct SentSegment {
    std::uint16_t source_port = 0, destination_port = 0;
    std::uint32_t seq = 0, ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    net::TcpOptions options;
    std::vector<std::byte> payload;

    [[nodiscard]] bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
    // Exactly these flags.
    [[nodiscard]] bool is(std::uint8_t f) const { return flags == f; }
    [[nodiscard]] std::uint32_t sequence_length() const {
        return static_cast<std::uint32_t>(payload.size()) + (has(net::tcp_flags::k_syn) ? 1 : 0) +
               (has(net::tcp_flags::k_fin) ? 1 : 0);
    }
};

// A segment to inject, from the peer to the layer.
struct Crafted {
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 65535;
    net::TcpOptions options{};
    std::span<const std::byte> payload{};
    std::uint16_t source_port = k_peer_port;
    std::uint16_t destination_port = k_local_port;
};

class TcpPeer {
public:
    explicit TcpPeer(const net::TcpConfig& config = {}, std::size_t buffers = 256)
        : device(k_local_mac, buffers), interface(device), tcp(interface, config, 7) {
        interface.configure({k_local_ip, 24}, std::nullopt, now());
        // The peer asks for our address: the interface learns the peer's MAC from the
        // request, so the layer's segments leave at once instead of waiting for ARP.
        std::vector<std::byte> frame(net::EthernetFrame::k_header_size + net::ArpPacket::k_size);
        net::EthernetFrame::emit(frame, netif::MacAddress::broadcast(), k_peer_mac, net::EtherType::Arp);
        net::ArpPacket{.operation = net::ArpOperation::Request,
                       .sender_mac = k_peer_mac,
                       .sender_ip = k_peer_ip,
                       .target_mac = netif::MacAddress{},
                       .target_ip = k_local_ip}
            .emit(std::span(frame).subspan(net::EthernetFrame::k_header_size));
        device.inject(frame);
        interface.poll(now());
        device.sent.clear();
    }
    TcpPeer(const TcpPeer&) = delete;
    TcpPeer& operator=(const TcpPeer&) = delete;

    [[nodiscard]] runtime::Instant now() { return platform.now(); }

    // Moves the clock by d and runs what is due: the layer's timers, then the interface.
    void advance(runtime::Duration d) {
        platform.advance(d);
        tcp.poll(now());
        interface.poll(now());
    }
    // Moves the clock to `at`, running every timer due on the way at its own time.
    void advance_to(runtime::Instant at) {
        for (int guard = 0; guard < 100'000; ++guard) {
            auto next = tcp.poll_at();
            if (!next || *next > at) break;
            if (*next > now()) platform.advance(*next - now());
            tcp.poll(now());
        }
        if (at > now()) platform.advance(at - now());
        tcp.poll(now());
        interface.poll(now());
    }
    // Jumps to the layer's next deadline and runs it; nullopt if there is none.
    std::optional<runtime::Instant> run_next_timer() {
        auto next = tcp.poll_at();
        if (!next) return std::nullopt;
        if (*next > now()) platform.advance(*next - now());
        tcp.poll(now());
        return next;
    }

    // The frame as it goes on the wire (from the peer to us).
    static std::vector<std::byte> frame_for(const Crafted& s, net::Ipv4Address source = k_peer_ip) {
        std::size_t header = net::TcpSegment::header_length(s.options);
        std::size_t tcp_length = header + s.payload.size();
        constexpr std::size_t k_front = net::EthernetFrame::k_header_size + net::Ipv4Packet::k_min_header;
        std::vector<std::byte> frame(k_front + tcp_length);
        std::span<std::byte> bytes(frame);
        if (!s.payload.empty()) std::memcpy(bytes.subspan(k_front + header).data(), s.payload.data(), s.payload.size());
        net::TcpSegment::emit(bytes.subspan(k_front),
                              {.source_port = s.source_port,
                               .destination_port = s.destination_port,
                               .sequence = s.seq,
                               .acknowledgment = s.ack,
                               .flags = s.flags,
                               .window = s.window,
                               .options = s.options},
                              source, k_local_ip, s.payload.size());
        net::Ipv4Packet::emit(bytes.subspan(net::EthernetFrame::k_header_size),
                              {.source = source,
                               .destination = k_local_ip,
                               .protocol = net::IpProtocol::Tcp,
                               .payload_length = static_cast<std::uint16_t>(tcp_length)});
        net::EthernetFrame::emit(bytes, k_local_mac, k_peer_mac, net::EtherType::Ipv4);
        return frame;
    }

    // Injects the segment and lets the interface deliver it.
    void send(const Crafted& s) {
        device.inject(frame_for(s));
        interface.poll(now());
    }

    // Answers the interface's ARP requests for the peer (its cache entries age out over
    // long virtual waits), which releases the packets queued behind them.
    void answer_arp() {
        for (int round = 0; round < 4; ++round) {
            bool asked = false;
            for (const auto& frame : device.sent) {
                auto ethernet = net::EthernetFrame::parse(frame);
                if (!ethernet || ethernet->ether_type() != static_cast<std::uint16_t>(net::EtherType::Arp)) continue;
                auto arp = net::ArpPacket::parse(ethernet->payload());
                if (arp && arp->operation == net::ArpOperation::Request && arp->target_ip == k_peer_ip) asked = true;
            }
            if (!asked) return;
            std::erase_if(device.sent, [](const std::vector<std::byte>& frame) {
                auto ethernet = net::EthernetFrame::parse(frame);
                return ethernet && ethernet->ether_type() == static_cast<std::uint16_t>(net::EtherType::Arp);
            });
            std::vector<std::byte> reply(net::EthernetFrame::k_header_size + net::ArpPacket::k_size);
            net::EthernetFrame::emit(reply, k_local_mac, k_peer_mac, net::EtherType::Arp);
            net::ArpPacket{.operation = net::ArpOperation::Reply,
                           .sender_mac = k_peer_mac,
                           .sender_ip = k_peer_ip,
                           .target_mac = k_local_mac,
                           .target_ip = k_local_ip}
                .emit(std::span(reply).subspan(net::EthernetFrame::k_header_size));
            device.inject(reply);
            interface.poll(now());
        }
    }

    // What the layer transmitted since the last call (TCP only), oldest first.
    std::vector<SentSegment> take() {
        answer_arp();
        std::vector<SentSegment> out;
        for (const auto& frame : device.sent) {
            auto ethernet = net::EthernetFrame::parse(frame);
            if (!ethernet || ethernet->ether_type() != static_cast<std::uint16_t>(net::EtherType::Ipv4)) continue;
            auto ip = net::Ipv4Packet::parse(ethernet->payload());
            if (!ip || ip->protocol() != static_cast<std::uint8_t>(net::IpProtocol::Tcp)) continue;
            auto segment = net::TcpSegment::parse(ip->payload(), ip->source(), ip->destination());
            if (!segment) {
                ++malformed_sent;  // our own segment failed its checksum or option parsing
                continue;
            }
            SentSegment s;
            s.source_port = segment->source_port();
            s.destination_port = segment->destination_port();
            s.seq = segment->sequence();
            s.ack = segment->acknowledgment();
            s.flags = segment->flags();
            s.window = segment->window();
            s.options = segment->options();
            s.payload.assign(segment->payload().begin(), segment->payload().end());
            out.push_back(std::move(s));
        }
        device.sent.clear();
        return out;
    }

    FakePlatform platform;
    runtime::EventLoop loop{platform};
    FakeDevice device;
    net::Interface interface;
    net::TcpLayer tcp;
    std::size_t malformed_sent = 0;
};

}  // namespace test
