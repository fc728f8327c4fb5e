#pragma once
// One network interface: Ethernet, ARP, IPv4, ICMP echo and UDP over a netif::NetworkDevice.
// Single-threaded and driven by the event loop: poll(now) handles everything received and
// everything due; poll_at() says when to call again. Every malformed frame is counted
// under its reason and dropped.
//
// Datagrams larger than one device buffer (reassembled fragments, big UDP or ICMP sends)
// live in a separate pool of large buffers that enable_large_datagrams() sets up; without
// it fragments are dropped (counted) and sends are limited to one device buffer.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "net/address.hpp"
#include "net/arp_cache.hpp"
#include "net/ipv4_reassembly.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmp.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/parse_error.hpp"
#include "netif/device.hpp"
#include "runtime/time.hpp"

namespace net {

class TcpLayer;
class UdpSocket;

struct InterfaceStats {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_not_for_us = 0;              // another host's unicast MAC or IP
    std::uint64_t rx_unsupported = 0;             // EtherTypes and IP protocols we do not speak
    std::array<std::uint64_t, 7> rx_malformed{};  // by ParseError
    std::uint64_t arp_replies_sent = 0;
    std::uint64_t icmp_echo_replies = 0;
    std::uint64_t icmp_unreachable_sent = 0;
    std::uint64_t udp_delivered = 0;
    std::uint64_t udp_queue_full = 0;
    std::uint64_t tx_no_buffer = 0;  // a reply dropped for want of a buffer
    std::uint64_t tx_no_route = 0;
    std::uint64_t tx_too_big = 0;               // too big for the device and "don't fragment", or > 65535
    std::uint64_t tx_fragmented = 0;            // datagrams sent as fragments
    std::uint64_t tx_fragments = 0;             // the fragments
    std::uint64_t tx_fragment_failed = 0;       // datagrams dropped: not every fragment got a buffer
    std::uint64_t icmp_time_exceeded_sent = 0;  // reassembly time-outs answered (RFC 792 code 1)

    [[nodiscard]] std::uint64_t malformed_total() const;
};

class Interface {
public:
    static constexpr std::size_t k_max_udp_sockets = 32;

    enum class Error { NoMemory, AlreadyEnabled };
    enum class SendError { NoRoute, TooBig, NoBuffer };
    // A large buffer: a whole 65535-byte datagram with head-room for the link's headers.
    static constexpr std::size_t k_large_buffer_headroom = 128;
    static constexpr std::size_t k_large_buffer_size = k_large_buffer_headroom + Ipv4Reassembler::k_buffer_bytes;

    explicit Interface(netif::NetworkDevice& device, const ReassemblyConfig& reassembly = {});
    Interface(const Interface&) = delete;
    Interface& operator=(const Interface&) = delete;
    ~Interface();

    // Takes memory for `buffers` large buffers (k_large_buffer_size each) from the heap,
    // once: they hold datagrams being reassembled and sends bigger than a device buffer.
    kernel::Result<void, Error> enable_large_datagrams(std::size_t buffers);

    // Sets the address (and announces it with a gratuitous ARP) and the default gateway.
    void configure(Ipv4Cidr address, std::optional<Ipv4Address> gateway, runtime::Instant now);
    // Forgets the address (a DHCP lease ran out): only broadcasts go out until configured.
    void deconfigure();
    [[nodiscard]] std::optional<Ipv4Cidr> address() const { return m_address; }
    [[nodiscard]] std::optional<Ipv4Address> gateway() const { return m_gateway; }
    [[nodiscard]] netif::MacAddress mac() const { return m_mac; }
    [[nodiscard]] netif::NetworkDevice& device() { return m_device; }

    // Handles every frame the device has, and ARP retries that are due.
    void poll(runtime::Instant now);
    // Handles one received frame (takes ownership).
    void receive(netif::PacketBuffer* frame, runtime::Instant now);
    [[nodiscard]] std::optional<runtime::Instant> poll_at() const;

    // Headers' worth of head-room that a buffer for send_ipv4 must leave.
    static constexpr std::size_t k_headroom = 14 + 20;
    // Sends packet (its bytes are the IP payload, with k_headroom in front) to destination.
    // Takes ownership. A packet longer than the MTU goes out in fragments unless its
    // metadata.dont_fragment is set. False when it had to be dropped (no route, too big,
    // no buffers for the fragments); a packet waiting for ARP counts as sent.
    bool send_ipv4(netif::PacketBuffer* packet, Ipv4Address destination, IpProtocol protocol, runtime::Instant now) {
        return try_send_ipv4(packet, destination, protocol, now).has_value();
    }
    // The same, saying why it failed. Fragment buffers are taken when the frame leaves:
    // a datagram waiting for ARP that cannot get them later is dropped and counted
    // (tx_fragment_failed).
    kernel::Result<void, SendError> try_send_ipv4(netif::PacketBuffer* packet, Ipv4Address destination,
                                                  IpProtocol protocol, runtime::Instant now);
    // A buffer with head-room for Ethernet + IPv4, or nullptr.
    netif::PacketBuffer* allocate_buffer() { return m_device.allocate_tx_buffer(); }
    // A buffer holding `size` bytes of IP payload (contents undefined): a device buffer
    // when it fits in one, else a large buffer; nullptr when none is free or size is more
    // than a 65535-byte datagram holds.
    netif::PacketBuffer* allocate_buffer(std::size_t size);

    // TCP segments go to this layer (TcpLayer registers itself); without one they are
    // answered with protocol unreachable.
    void set_tcp(TcpLayer* tcp) { m_tcp = tcp; }

    [[nodiscard]] const InterfaceStats& stats() const { return m_stats; }
    [[nodiscard]] const ArpStats& arp_stats() const { return m_arp.stats(); }
    [[nodiscard]] const ReassemblyStats& reassembly_stats() const { return m_reassembly.stats(); }
    // nullptr until enable_large_datagrams.
    [[nodiscard]] const netif::BufferPool* large_pool() const { return m_large.pool; }

private:
    friend class UdpSocket;
    void handle_arp(std::span<const std::byte> payload, runtime::Instant now);
    void handle_ipv4(netif::PacketBuffer* frame, std::span<const std::byte> payload, runtime::Instant now);
    // The protocol dispatch of a whole datagram (one that came whole or was reassembled).
    void deliver_ipv4(netif::PacketBuffer* packet, const Ipv4Packet& ip, runtime::Instant now);
    void handle_icmp(const Ipv4Packet& ip, runtime::Instant now);
    void handle_udp(netif::PacketBuffer* frame, const Ipv4Packet& ip, runtime::Instant now);
    void send_arp(ArpOperation op, netif::MacAddress target_mac, Ipv4Address target_ip,
                  netif::MacAddress ethernet_destination);
    void send_unreachable(const Ipv4Packet& ip, UnreachableCode code, runtime::Instant now);
    // RFC 792: an error quoting the offending header and the first 8 bytes of its payload.
    void send_icmp_error(IcmpType type, std::uint8_t code, std::span<const std::byte> header,
                         std::span<const std::byte> payload, runtime::Instant now);
    // Sends an IPv4 packet whose next hop is known, in fragments if it is too big.
    void send_resolved(netif::PacketBuffer* packet, netif::MacAddress destination);
    [[nodiscard]] bool is_broadcast(Ipv4Address a) const;
    void send_frame(netif::PacketBuffer* packet, netif::MacAddress destination, EtherType type);
    void send_waiting(netif::PacketBuffer* list, netif::MacAddress destination);
    [[nodiscard]] bool is_local(Ipv4Address a) const;
    void count_malformed(ParseError e) { ++m_stats.rx_malformed[static_cast<std::size_t>(e)]; }
    bool register_socket(UdpSocket& socket);
    void unregister_socket(UdpSocket& socket);
    UdpSocket* find_socket(std::uint16_t port);

    // Owns the large buffers' memory and pool. Declared before everything that may hold a
    // large buffer (the ARP queue, the reassembler) so that it is destroyed after them.
    struct LargeBuffers {
        LargeBuffers() = default;
        LargeBuffers(const LargeBuffers&) = delete;
        LargeBuffers& operator=(const LargeBuffers&) = delete;
        ~LargeBuffers();
        std::byte* memory = nullptr;
        netif::BufferPool* pool = nullptr;
    };

    LargeBuffers m_large;
    netif::NetworkDevice& m_device;
    netif::MacAddress m_mac;
    std::optional<Ipv4Cidr> m_address;
    std::optional<Ipv4Address> m_gateway;
    ArpCache m_arp;
    Ipv4Reassembler m_reassembly;
    std::array<UdpSocket*, k_max_udp_sockets> m_sockets{};
    TcpLayer* m_tcp = nullptr;
    std::uint16_t m_next_ip_id = 1;
    InterfaceStats m_stats;
};

}  // namespace net
