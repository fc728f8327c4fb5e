#pragma once
// One network interface: Ethernet, ARP, IPv4, ICMP echo and UDP over a NetworkDevice.
// Single-threaded and driven by the event loop: poll(now) handles everything received and
// everything due; poll_at() says when to call again. Every malformed frame is counted
// under its reason and dropped.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "net/address.hpp"
#include "net/arp_cache.hpp"
#include "net/device.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmp.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/parse_error.hpp"
#include "runtime/time.hpp"

namespace net {

class TcpLayer;
class UdpSocket;

struct InterfaceStats {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_not_for_us = 0;   // another host's unicast MAC or IP
    std::uint64_t rx_unsupported = 0;  // EtherTypes and IP protocols we do not speak
    std::uint64_t rx_fragments_dropped = 0;
    std::array<std::uint64_t, 7> rx_malformed{};  // by ParseError
    std::uint64_t arp_replies_sent = 0;
    std::uint64_t icmp_echo_replies = 0;
    std::uint64_t icmp_unreachable_sent = 0;
    std::uint64_t udp_delivered = 0;
    std::uint64_t udp_queue_full = 0;
    std::uint64_t tx_no_buffer = 0;  // a reply dropped for want of a buffer
    std::uint64_t tx_no_route = 0;
    std::uint64_t tx_too_big = 0;

    [[nodiscard]] std::uint64_t malformed_total() const;
};

class Interface {
public:
    static constexpr std::size_t k_max_udp_sockets = 32;

    explicit Interface(NetworkDevice& device);
    Interface(const Interface&) = delete;
    Interface& operator=(const Interface&) = delete;

    // Sets the address (and announces it with a gratuitous ARP) and the default gateway.
    void configure(Ipv4Cidr address, std::optional<Ipv4Address> gateway, runtime::Instant now);
    // Forgets the address (a DHCP lease ran out): only broadcasts go out until configured.
    void deconfigure();
    [[nodiscard]] std::optional<Ipv4Cidr> address() const { return m_address; }
    [[nodiscard]] std::optional<Ipv4Address> gateway() const { return m_gateway; }
    [[nodiscard]] MacAddress mac() const { return m_mac; }
    [[nodiscard]] NetworkDevice& device() { return m_device; }

    // Handles every frame the device has, and ARP retries that are due.
    void poll(runtime::Instant now);
    // Handles one received frame (takes ownership).
    void receive(PacketBuffer* frame, runtime::Instant now);
    [[nodiscard]] std::optional<runtime::Instant> poll_at() const { return m_arp.poll_at(); }

    // Headers' worth of head-room that a buffer for send_ipv4 must leave.
    static constexpr std::size_t k_headroom = 14 + 20;
    // Sends packet (its bytes are the IP payload, with k_headroom in front) to destination.
    // Takes ownership. False when it had to be dropped (no route, too big); a packet
    // waiting for ARP counts as sent.
    bool send_ipv4(PacketBuffer* packet, Ipv4Address destination, IpProtocol protocol, runtime::Instant now);
    // A buffer with head-room for Ethernet + IPv4, or nullptr.
    PacketBuffer* allocate_buffer() { return m_device.allocate_tx_buffer(); }

    // TCP segments go to this layer (TcpLayer registers itself); without one they are
    // answered with protocol unreachable.
    void set_tcp(TcpLayer* tcp) { m_tcp = tcp; }

    [[nodiscard]] const InterfaceStats& stats() const { return m_stats; }
    [[nodiscard]] const ArpStats& arp_stats() const { return m_arp.stats(); }

private:
    friend class UdpSocket;
    void handle_arp(std::span<const std::byte> payload, runtime::Instant now);
    void handle_ipv4(PacketBuffer* frame, std::span<const std::byte> payload, runtime::Instant now);
    void handle_icmp(const Ipv4Packet& ip, runtime::Instant now);
    void handle_udp(PacketBuffer* frame, const Ipv4Packet& ip, runtime::Instant now);
    void send_arp(ArpOperation op, MacAddress target_mac, Ipv4Address target_ip, MacAddress ethernet_destination);
    void send_unreachable(const Ipv4Packet& ip, UnreachableCode code, runtime::Instant now);
    void send_frame(PacketBuffer* packet, MacAddress destination, EtherType type);
    void send_waiting(PacketBuffer* list, MacAddress destination);
    [[nodiscard]] bool is_local(Ipv4Address a) const;
    void count_malformed(ParseError e) { ++m_stats.rx_malformed[static_cast<std::size_t>(e)]; }
    bool register_socket(UdpSocket& socket);
    void unregister_socket(UdpSocket& socket);
    UdpSocket* find_socket(std::uint16_t port);

    NetworkDevice& m_device;
    MacAddress m_mac;
    std::optional<Ipv4Cidr> m_address;
    std::optional<Ipv4Address> m_gateway;
    ArpCache m_arp;
    std::array<UdpSocket*, k_max_udp_sockets> m_sockets{};
    TcpLayer* m_tcp = nullptr;
    std::uint16_t m_next_ip_id = 1;
    InterfaceStats m_stats;
};

}  // namespace net
