#include "net/interface.hpp"

#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"
#include "net/tcp.hpp"
#include "net/udp_socket.hpp"
#include "net/wire/udp.hpp"

namespace net {

std::uint64_t InterfaceStats::malformed_total() const {
    std::uint64_t total = 0;
    for (auto n : rx_malformed) total += n;
    return total;
}

Interface::Interface(NetworkDevice& device) : m_device(device), m_mac(device.mac()) {}

void Interface::configure(Ipv4Cidr address, std::optional<Ipv4Address> gateway, runtime::Instant) {
    m_address = address;
    m_gateway = gateway;
    // RFC 5227 §3: announce the address so neighbours update stale caches.
    send_arp(ArpOperation::Request, MacAddress{}, address.address, MacAddress::broadcast());
}

void Interface::deconfigure() {
    m_address.reset();
    m_gateway.reset();
}

bool Interface::is_local(Ipv4Address a) const { return m_address && a == m_address->address; }

void Interface::poll(runtime::Instant now) {
    while (PacketBuffer* frame = m_device.receive()) receive(frame, now);
    m_arp.retry_due(
        now, [&](Ipv4Address ip) { send_arp(ArpOperation::Request, MacAddress{}, ip, MacAddress::broadcast()); });
    m_device.flush();
}

void Interface::receive(PacketBuffer* frame, runtime::Instant now) {
    BufferOwner owner(frame);
    ++m_stats.rx_frames;
    auto ethernet = EthernetFrame::parse(frame->bytes());
    if (!ethernet) return count_malformed(ethernet.error());
    MacAddress destination = ethernet->destination();
    if (destination != m_mac && !destination.is_broadcast()) {
        ++m_stats.rx_not_for_us;
        return;
    }
    switch (ethernet->ether_type()) {
        case static_cast<std::uint16_t>(EtherType::Arp): return handle_arp(ethernet->payload(), now);
        case static_cast<std::uint16_t>(EtherType::Ipv4): return handle_ipv4(owner.release(), ethernet->payload(), now);
        default: ++m_stats.rx_unsupported;
    }
}

void Interface::handle_arp(std::span<const std::byte> payload, runtime::Instant now) {
    auto arp = ArpPacket::parse(payload);
    if (!arp) return count_malformed(arp.error());
    bool for_us = is_local(arp->target_ip);
    // RFC 826 "packet reception": update a known sender; add it if the packet is for us.
    PacketBuffer* waiting = for_us ? m_arp.update(arp->sender_ip, arp->sender_mac, now)
                                   : m_arp.refresh(arp->sender_ip, arp->sender_mac, now);
    send_waiting(waiting, arp->sender_mac);
    if (for_us && arp->operation == ArpOperation::Request) {
        send_arp(ArpOperation::Reply, arp->sender_mac, arp->sender_ip, arp->sender_mac);
        ++m_stats.arp_replies_sent;
    }
}

void Interface::handle_ipv4(PacketBuffer* frame, std::span<const std::byte> payload, runtime::Instant now) {
    BufferOwner owner(frame);
    auto ip = Ipv4Packet::parse(payload);
    if (!ip) return count_malformed(ip.error());
    Ipv4Address destination = ip->destination();
    bool broadcast = destination.is_broadcast() || (m_address && destination == m_address->directed_broadcast());
    // Without an address (DHCP in progress) take what reaches our MAC: RFC 2131 §4.1
    // lets a server unicast the offer to the address it is offering.
    if (!is_local(destination) && !broadcast && m_address) {
        ++m_stats.rx_not_for_us;
        return;
    }
    if (ip->is_fragment()) {
        // FIXME: fragment reassembly (issue 5) is not written yet; fragments are dropped.
        ++m_stats.rx_fragments_dropped;
        return;
    }
    switch (ip->protocol()) {
        case static_cast<std::uint8_t>(IpProtocol::Icmp):
            if (!broadcast) handle_icmp(*ip, now);
            return;
        case static_cast<std::uint8_t>(IpProtocol::Udp): return handle_udp(owner.release(), *ip, now);
        case static_cast<std::uint8_t>(IpProtocol::Tcp):
            if (m_tcp != nullptr && !broadcast) return m_tcp->receive(owner.release(), *ip, now);
            [[fallthrough]];
        default:
            ++m_stats.rx_unsupported;
            if (!broadcast) send_unreachable(*ip, UnreachableCode::Protocol, now);
    }
}

void Interface::handle_icmp(const Ipv4Packet& ip, runtime::Instant now) {
    auto icmp = IcmpMessage::parse(ip.payload());
    if (!icmp) return count_malformed(icmp.error());
    if (icmp->type() != static_cast<std::uint8_t>(IcmpType::EchoRequest)) return;
    PacketBuffer* reply = allocate_buffer();
    if (reply == nullptr || !reply->resize(IcmpMessage::k_header_size + icmp->data().size())) {
        release_buffer(reply);
        ++m_stats.tx_no_buffer;
        return;
    }
    IcmpMessage::emit(reply->bytes(), IcmpType::EchoReply, 0, icmp->identifier(), icmp->sequence(), icmp->data());
    ++m_stats.icmp_echo_replies;
    send_ipv4(reply, ip.source(), IpProtocol::Icmp, now);
}

void Interface::handle_udp(PacketBuffer* frame, const Ipv4Packet& ip, runtime::Instant now) {
    BufferOwner owner(frame);
    auto check = frame->metadata.checksum_verified ? UdpDatagram::ChecksumCheck::AlreadyVerified
                                                   : UdpDatagram::ChecksumCheck::Verify;
    auto udp = UdpDatagram::parse(ip.payload(), ip.source(), ip.destination(), check);
    if (!udp) return count_malformed(udp.error());
    UdpSocket* socket = find_socket(udp->destination_port());
    if (socket == nullptr) {
        // RFC 1122 §3.2.2.1: port unreachable, but never in answer to a broadcast.
        if (is_local(ip.destination())) send_unreachable(ip, UnreachableCode::Port, now);
        return;
    }
    // Trim the buffer to the payload, in place.
    auto offset = static_cast<std::size_t>(udp->payload().data() - reinterpret_cast<const std::byte*>(frame->data()));
    if (!frame->pull_front(offset) || !frame->resize(udp->payload().size())) return;
    ++m_stats.udp_delivered;
    socket->deliver(owner.release(), ip.source(), udp->source_port());
}

void Interface::send_unreachable(const Ipv4Packet& ip, UnreachableCode code, runtime::Instant now) {
    // RFC 792: the offending header and the first 8 bytes of its payload.
    std::span<const std::byte> quoted_payload = ip.payload().first(std::min<std::size_t>(8, ip.payload().size()));
    std::size_t quoted = ip.header_length() + quoted_payload.size();
    PacketBuffer* reply = allocate_buffer();
    if (reply == nullptr || !reply->resize(IcmpMessage::k_header_size + quoted)) {
        release_buffer(reply);
        ++m_stats.tx_no_buffer;
        return;
    }
    std::byte* data = reply->data() + IcmpMessage::k_header_size;
    std::memcpy(data, ip.header_bytes().data(), ip.header_length());
    std::memcpy(data + ip.header_length(), quoted_payload.data(), quoted_payload.size());
    IcmpMessage::emit(reply->bytes(), IcmpType::DestinationUnreachable, static_cast<std::uint8_t>(code), 0, 0,
                      std::span<const std::byte>(data, quoted));
    ++m_stats.icmp_unreachable_sent;
    send_ipv4(reply, ip.source(), IpProtocol::Icmp, now);
}

bool Interface::send_ipv4(PacketBuffer* packet, Ipv4Address destination, IpProtocol protocol, runtime::Instant now) {
    BufferOwner owner(packet);
    bool to_broadcast = destination.is_broadcast() || (m_address && destination == m_address->directed_broadcast());
    if (!m_address && !to_broadcast) {
        ++m_stats.tx_no_route;
        return false;
    }
    if (packet->size() + Ipv4Packet::k_min_header > m_device.capabilities().mtu && packet->metadata.segment_size == 0) {
        // FIXME: fragmentation of oversized sends (issue 5); refused with a count for now.
        ++m_stats.tx_too_big;
        return false;
    }
    if (!packet->push_front(Ipv4Packet::k_min_header)) {
        ++m_stats.tx_no_buffer;
        return false;
    }
    Ipv4Packet::emit(packet->bytes(),
                     {.source = m_address ? m_address->address : Ipv4Address::any(),
                      .destination = destination,
                      .protocol = protocol,
                      .payload_length = static_cast<std::uint16_t>(packet->size() - Ipv4Packet::k_min_header),
                      .identification = m_next_ip_id++});
    if (to_broadcast) {
        send_frame(owner.release(), MacAddress::broadcast(), EtherType::Ipv4);
        return true;
    }
    Ipv4Address next_hop = destination;
    if (!m_address->contains(destination)) {
        if (!m_gateway) {
            ++m_stats.tx_no_route;
            return false;
        }
        next_hop = *m_gateway;
    }
    if (auto mac = m_arp.lookup(next_hop, now)) {
        send_frame(owner.release(), *mac, EtherType::Ipv4);
        return true;
    }
    // The Ethernet header is added when the address resolves.
    if (m_arp.enqueue(next_hop, owner.release(), now)) {
        send_arp(ArpOperation::Request, MacAddress{}, next_hop, MacAddress::broadcast());
    }
    return true;
}

void Interface::send_waiting(PacketBuffer* list, MacAddress destination) {
    while (list != nullptr) {
        PacketBuffer* next = list->next;
        list->next = nullptr;
        send_frame(list, destination, EtherType::Ipv4);
        list = next;
    }
}

void Interface::send_frame(PacketBuffer* packet, MacAddress destination, EtherType type) {
    if (!packet->push_front(EthernetFrame::k_header_size)) {
        release_buffer(packet);
        ++m_stats.tx_no_buffer;
        return;
    }
    EthernetFrame::emit(packet->bytes(), destination, m_mac, type);
    m_device.transmit(packet);
}

void Interface::send_arp(ArpOperation op, MacAddress target_mac, Ipv4Address target_ip,
                         MacAddress ethernet_destination) {
    if (!m_address) return;
    PacketBuffer* packet = allocate_buffer();
    if (packet == nullptr || !packet->resize(ArpPacket::k_size)) {
        release_buffer(packet);
        ++m_stats.tx_no_buffer;
        return;
    }
    ArpPacket{op, m_mac, m_address->address, target_mac, target_ip}.emit(packet->bytes());
    send_frame(packet, ethernet_destination, EtherType::Arp);
}

bool Interface::register_socket(UdpSocket& socket) {
    for (auto& slot : m_sockets) {
        if (slot == nullptr) {
            slot = &socket;
            return true;
        }
    }
    return false;
}

void Interface::unregister_socket(UdpSocket& socket) {
    for (auto& slot : m_sockets) {
        if (slot == &socket) slot = nullptr;
    }
}

UdpSocket* Interface::find_socket(std::uint16_t port) {
    for (UdpSocket* s : m_sockets) {
        if (s != nullptr && s->port() == port) return s;
    }
    return nullptr;
}

}  // namespace net
