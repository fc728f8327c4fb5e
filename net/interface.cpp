#include "net/interface.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "net/checksum.hpp"
#include "net/ipv4_fragmentation.hpp"
#include "net/tcp.hpp"
#include "net/udp_socket.hpp"
#include "net/wire/udp.hpp"

namespace net {

std::uint64_t InterfaceStats::malformed_total() const {
    std::uint64_t total = 0;
    for (auto n : rx_malformed) total += n;
    return total;
}

Interface::Interface(netif::NetworkDevice& device, const ReassemblyConfig& reassembly)
    : m_device(device), m_mac(device.mac()), m_reassembly(reassembly) {}

Interface::~Interface() = default;

Interface::LargeBuffers::~LargeBuffers() {
    delete pool;
    delete[] memory;
}

kernel::Result<void, Interface::Error> Interface::enable_large_datagrams(std::size_t buffers) {
    if (m_large.pool != nullptr) return kernel::err(Error::AlreadyEnabled);
    if (buffers == 0 || buffers > std::numeric_limits<std::size_t>::max() / k_large_buffer_size) {
        return kernel::err(Error::NoMemory);
    }
    std::size_t bytes = buffers * k_large_buffer_size;
    auto* memory = new (std::nothrow) std::byte[bytes];
    if (memory == nullptr) return kernel::err(Error::NoMemory);
    // Device address 0: large buffers never reach a device; fragments are copied out.
    auto pool = netif::BufferPool::create({memory, bytes}, 0, k_large_buffer_size, k_large_buffer_headroom);
    if (!pool) {
        delete[] memory;
        return kernel::err(Error::NoMemory);
    }
    m_large.memory = memory;
    m_large.pool = pool.value();
    m_reassembly.set_pool(m_large.pool);
    return {};
}

std::optional<runtime::Instant> Interface::poll_at() const {
    auto arp = m_arp.poll_at();
    auto reassembly = m_reassembly.poll_at();
    if (!arp || (reassembly && *reassembly < *arp)) return reassembly;
    return arp;
}

netif::PacketBuffer* Interface::allocate_buffer(std::size_t size) {
    if (size > Ipv4Reassembler::k_max_payload) return nullptr;
    netif::PacketBuffer* buffer = m_device.allocate_tx_buffer();
    if (buffer != nullptr && buffer->resize(size)) return buffer;
    netif::release_buffer(buffer);
    buffer = m_large.pool != nullptr ? m_large.pool->allocate() : nullptr;
    if (buffer != nullptr && buffer->resize(size)) return buffer;
    netif::release_buffer(buffer);
    return nullptr;
}

void Interface::configure(Ipv4Cidr address, std::optional<Ipv4Address> gateway, runtime::Instant) {
    m_address = address;
    m_gateway = gateway;
    // RFC 5227 §3: announce the address so neighbours update stale caches.
    send_arp(ArpOperation::Request, netif::MacAddress{}, address.address, netif::MacAddress::broadcast());
}

void Interface::deconfigure() {
    m_address.reset();
    m_gateway.reset();
}

bool Interface::is_local(Ipv4Address a) const { return m_address && a == m_address->address; }

bool Interface::is_broadcast(Ipv4Address a) const {
    return a.is_broadcast() || (m_address && a == m_address->directed_broadcast());
}

void Interface::poll(runtime::Instant now) {
    while (netif::PacketBuffer* frame = m_device.receive()) receive(frame, now);
    m_arp.retry_due(now, [&](Ipv4Address ip) {
        send_arp(ArpOperation::Request, netif::MacAddress{}, ip, netif::MacAddress::broadcast());
    });
    m_reassembly.expire(now, [&](std::span<const std::byte> header, std::span<const std::byte> payload) {
        // RFC 1122 §3.3.2, RFC 792: time exceeded, code 1, if fragment zero arrived; never
        // about a datagram sent to a broadcast address (RFC 1122 §3.2.2).
        Ipv4Header h;
        std::memcpy(&h, header.data(), sizeof h);
        if (!is_local(Ipv4Address{h.destination})) return;
        send_icmp_error(IcmpType::TimeExceeded, 1, header, payload, now);
        ++m_stats.icmp_time_exceeded_sent;
    });
    m_device.flush();
}

void Interface::receive(netif::PacketBuffer* frame, runtime::Instant now) {
    netif::BufferOwner owner(frame);
    ++m_stats.rx_frames;
    auto ethernet = EthernetFrame::parse(frame->bytes());
    if (!ethernet) return count_malformed(ethernet.error());
    netif::MacAddress destination = ethernet->destination();
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
    netif::PacketBuffer* waiting = for_us ? m_arp.update(arp->sender_ip, arp->sender_mac, now)
                                          : m_arp.refresh(arp->sender_ip, arp->sender_mac, now);
    send_waiting(waiting, arp->sender_mac);
    if (for_us && arp->operation == ArpOperation::Request) {
        send_arp(ArpOperation::Reply, arp->sender_mac, arp->sender_ip, arp->sender_mac);
        ++m_stats.arp_replies_sent;
    }
}

void Interface::handle_ipv4(netif::PacketBuffer* frame, std::span<const std::byte> payload, runtime::Instant now) {
    netif::BufferOwner owner(frame);
    auto ip = Ipv4Packet::parse(payload);
    if (!ip) return count_malformed(ip.error());
    Ipv4Address destination = ip->destination();
    bool broadcast = is_broadcast(destination);
    // Without an address (DHCP in progress) take what reaches our MAC: RFC 2131 §4.1
    // lets a server unicast the offer to the address it is offering.
    if (!is_local(destination) && !broadcast && m_address) {
        ++m_stats.rx_not_for_us;
        return;
    }
    if (ip->is_fragment()) {
        // The fragment's bytes are copied; its frame goes back to the device now.
        netif::PacketBuffer* datagram = m_reassembly.add(*ip, now);
        owner = netif::BufferOwner();
        if (datagram == nullptr) return;
        netif::BufferOwner whole(datagram);
        auto reassembled = Ipv4Packet::parse(datagram->bytes());
        if (!reassembled) return count_malformed(reassembled.error());
        return deliver_ipv4(whole.release(), *reassembled, now);
    }
    deliver_ipv4(owner.release(), *ip, now);
}

void Interface::deliver_ipv4(netif::PacketBuffer* packet, const Ipv4Packet& ip, runtime::Instant now) {
    netif::BufferOwner owner(packet);
    bool broadcast = is_broadcast(ip.destination());
    switch (ip.protocol()) {
        case static_cast<std::uint8_t>(IpProtocol::Icmp):
            if (!broadcast) handle_icmp(ip, now);
            return;
        case static_cast<std::uint8_t>(IpProtocol::Udp): return handle_udp(owner.release(), ip, now);
        case static_cast<std::uint8_t>(IpProtocol::Tcp):
            if (m_tcp != nullptr && !broadcast) return m_tcp->receive(owner.release(), ip, now);
            [[fallthrough]];
        default:
            ++m_stats.rx_unsupported;
            if (!broadcast) send_unreachable(ip, UnreachableCode::Protocol, now);
    }
}

void Interface::handle_icmp(const Ipv4Packet& ip, runtime::Instant now) {
    auto icmp = IcmpMessage::parse(ip.payload());
    if (!icmp) return count_malformed(icmp.error());
    if (icmp->type() != static_cast<std::uint8_t>(IcmpType::EchoRequest)) return;
    netif::PacketBuffer* reply = allocate_buffer(IcmpMessage::k_header_size + icmp->data().size());
    if (reply == nullptr) {
        ++m_stats.tx_no_buffer;
        return;
    }
    IcmpMessage::emit(reply->bytes(), IcmpType::EchoReply, 0, icmp->identifier(), icmp->sequence(), icmp->data());
    ++m_stats.icmp_echo_replies;
    send_ipv4(reply, ip.source(), IpProtocol::Icmp, now);
}

void Interface::handle_udp(netif::PacketBuffer* frame, const Ipv4Packet& ip, runtime::Instant now) {
    netif::BufferOwner owner(frame);
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
    send_icmp_error(IcmpType::DestinationUnreachable, static_cast<std::uint8_t>(code), ip.header_bytes(), ip.payload(),
                    now);
    ++m_stats.icmp_unreachable_sent;
}

void Interface::send_icmp_error(IcmpType type, std::uint8_t code, std::span<const std::byte> header,
                                std::span<const std::byte> payload, runtime::Instant now) {
    // RFC 792: the offending header and the first 8 bytes of its payload.
    std::span<const std::byte> quoted_payload = payload.first(std::min<std::size_t>(8, payload.size()));
    std::size_t quoted = header.size() + quoted_payload.size();
    netif::PacketBuffer* reply = allocate_buffer();
    if (reply == nullptr || !reply->resize(IcmpMessage::k_header_size + quoted)) {
        netif::release_buffer(reply);
        ++m_stats.tx_no_buffer;
        return;
    }
    std::byte* data = reply->data() + IcmpMessage::k_header_size;
    std::memcpy(data, header.data(), header.size());
    std::memcpy(data + header.size(), quoted_payload.data(), quoted_payload.size());
    IcmpMessage::emit(reply->bytes(), type, code, 0, 0, std::span<const std::byte>(data, quoted));
    Ipv4Header h;
    std::memcpy(&h, header.data(), sizeof h);
    send_ipv4(reply, Ipv4Address{h.source}, IpProtocol::Icmp, now);
}

kernel::Result<void, Interface::SendError> Interface::try_send_ipv4(netif::PacketBuffer* packet,
                                                                    Ipv4Address destination, IpProtocol protocol,
                                                                    runtime::Instant now) {
    netif::BufferOwner owner(packet);
    bool to_broadcast = is_broadcast(destination);
    if (!m_address && !to_broadcast) {
        ++m_stats.tx_no_route;
        return kernel::err(SendError::NoRoute);
    }
    bool too_big =
        packet->size() + Ipv4Packet::k_min_header > m_device.capabilities().mtu && packet->metadata.segment_size == 0;
    if ((too_big && packet->metadata.dont_fragment) ||
        packet->size() + Ipv4Packet::k_min_header > Ipv4Reassembler::k_max_datagram) {
        ++m_stats.tx_too_big;
        return kernel::err(SendError::TooBig);
    }
    if (!packet->push_front(Ipv4Packet::k_min_header)) {
        ++m_stats.tx_no_buffer;
        return kernel::err(SendError::NoBuffer);
    }
    // A datagram that will be fragmented says so: fragments never carry "don't fragment".
    Ipv4Packet::emit(packet->bytes(),
                     {.source = m_address ? m_address->address : Ipv4Address::any(),
                      .destination = destination,
                      .protocol = protocol,
                      .payload_length = static_cast<std::uint16_t>(packet->size() - Ipv4Packet::k_min_header),
                      .identification = m_next_ip_id++,
                      .dont_fragment = !too_big});
    std::uint64_t failed = m_stats.tx_fragment_failed + m_stats.tx_no_buffer;
    auto sent = [&]() -> kernel::Result<void, SendError> {
        if (m_stats.tx_fragment_failed + m_stats.tx_no_buffer != failed) return kernel::err(SendError::NoBuffer);
        return {};
    };
    if (to_broadcast) {
        send_resolved(owner.release(), netif::MacAddress::broadcast());
        return sent();
    }
    Ipv4Address next_hop = destination;
    if (!m_address->contains(destination)) {
        if (!m_gateway) {
            ++m_stats.tx_no_route;
            return kernel::err(SendError::NoRoute);
        }
        next_hop = *m_gateway;
    }
    if (auto mac = m_arp.lookup(next_hop, now)) {
        send_resolved(owner.release(), *mac);
        return sent();
    }
    // The Ethernet header is added (and a big datagram cut up) when the address resolves.
    if (m_arp.enqueue(next_hop, owner.release(), now)) {
        send_arp(ArpOperation::Request, netif::MacAddress{}, next_hop, netif::MacAddress::broadcast());
    }
    return {};
}

void Interface::send_waiting(netif::PacketBuffer* list, netif::MacAddress destination) {
    while (list != nullptr) {
        netif::PacketBuffer* next = list->next;
        list->next = nullptr;
        send_resolved(list, destination);
        list = next;
    }
}

void Interface::send_resolved(netif::PacketBuffer* packet, netif::MacAddress destination) {
    bool large = m_large.pool != nullptr && packet->pool() == m_large.pool;
    if (!large && (packet->size() <= m_device.capabilities().mtu || packet->metadata.segment_size != 0)) {
        return send_frame(packet, destination, EtherType::Ipv4);
    }
    // Too big for the link, or in a large buffer the device cannot see: copied into device
    // buffers, as fragments if need be (a datagram that fits is one "fragment" whose
    // header keeps its "don't fragment" bit).
    netif::BufferOwner owner(packet);
    std::size_t mtu = m_device.capabilities().mtu;
    std::span<const std::byte> datagram = packet->bytes();
    netif::PacketBuffer* fragments = nullptr;
    if (datagram.size() <= mtu) {
        fragments = allocate_buffer();
        if (fragments != nullptr && fragments->resize(datagram.size())) {
            std::memcpy(fragments->data(), datagram.data(), datagram.size());
            return send_frame(fragments, destination, EtherType::Ipv4);
        }
        netif::release_buffer(fragments);
        ++m_stats.tx_no_buffer;
        return;
    }
    auto list = fragment_ipv4(datagram, mtu, m_device);
    if (!list) {
        ++m_stats.tx_fragment_failed;
        return;
    }
    ++m_stats.tx_fragmented;
    for (netif::PacketBuffer* fragment = list.value(); fragment != nullptr;) {
        netif::PacketBuffer* next = fragment->next;
        fragment->next = nullptr;
        ++m_stats.tx_fragments;
        send_frame(fragment, destination, EtherType::Ipv4);
        fragment = next;
    }
}

void Interface::send_frame(netif::PacketBuffer* packet, netif::MacAddress destination, EtherType type) {
    if (!packet->push_front(EthernetFrame::k_header_size)) {
        netif::release_buffer(packet);
        ++m_stats.tx_no_buffer;
        return;
    }
    EthernetFrame::emit(packet->bytes(), destination, m_mac, type);
    m_device.transmit(packet);
}

void Interface::send_arp(ArpOperation op, netif::MacAddress target_mac, Ipv4Address target_ip,
                         netif::MacAddress ethernet_destination) {
    if (!m_address) return;
    netif::PacketBuffer* packet = allocate_buffer();
    if (packet == nullptr || !packet->resize(ArpPacket::k_size)) {
        netif::release_buffer(packet);
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
