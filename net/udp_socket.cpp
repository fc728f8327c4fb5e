#include "net/udp_socket.hpp"

#include <cstring>

#include "net/interface.hpp"
#include "net/wire/udp.hpp"
#include "runtime/event_loop.hpp"

namespace net {

const char* to_string(UdpSocket::Error error) {
    switch (error) {
        case UdpSocket::Error::PortInUse: return "port in use";
        case UdpSocket::Error::TooManySockets: return "too many sockets";
        case UdpSocket::Error::NotBound: return "socket not bound";
        case UdpSocket::Error::AlreadyBound: return "socket already bound";
        case UdpSocket::Error::NoBuffer: return "no packet buffer";
        case UdpSocket::Error::TooBig: return "datagram too big";
        case UdpSocket::Error::NoRoute: return "no route";
    }
    return "unknown UDP error";
}

UdpSocket::~UdpSocket() {
    if (m_port != 0) m_interface.unregister_socket(*this);
    while (m_count != 0) {
        netif::release_buffer(m_queue[m_head].buffer);
        m_head = (m_head + 1) % k_queue;
        --m_count;
    }
}

kernel::Result<void, UdpSocket::Error> UdpSocket::bind(std::uint16_t port) {
    if (m_port != 0) return kernel::err(Error::AlreadyBound);
    if (port == 0) {
        // RFC 6335 §6: the dynamic range.
        for (std::uint32_t candidate = 49152; candidate <= 65535 && port == 0; ++candidate) {
            if (m_interface.find_socket(static_cast<std::uint16_t>(candidate)) == nullptr) {
                port = static_cast<std::uint16_t>(candidate);
            }
        }
        if (port == 0) return kernel::err(Error::PortInUse);
    } else if (m_interface.find_socket(port) != nullptr) {
        return kernel::err(Error::PortInUse);
    }
    m_port = port;
    if (!m_interface.register_socket(*this)) {
        m_port = 0;
        return kernel::err(Error::TooManySockets);
    }
    return {};
}

kernel::Result<void, UdpSocket::Error> UdpSocket::send_to(Ipv4Address destination, std::uint16_t port,
                                                          std::span<const std::byte> data, runtime::Instant now) {
    if (m_port == 0) return kernel::err(Error::NotBound);
    if (data.size() > k_max_payload) return kernel::err(Error::TooBig);
    // Bigger than a device buffer: a large buffer, sent in fragments.
    netif::PacketBuffer* packet = m_interface.allocate_buffer(UdpDatagram::k_header_size + data.size());
    if (packet == nullptr) return kernel::err(Error::NoBuffer);
    if (!data.empty()) std::memcpy(packet->data() + UdpDatagram::k_header_size, data.data(), data.size());
    auto source = m_interface.address() ? m_interface.address()->address : Ipv4Address::any();
    UdpDatagram::emit(packet->bytes(), source, destination, m_port, port, data.size());
    if (auto sent = m_interface.try_send_ipv4(packet, destination, IpProtocol::Udp, now); !sent) {
        switch (sent.error()) {
            case Interface::SendError::NoRoute: return kernel::err(Error::NoRoute);
            case Interface::SendError::TooBig: return kernel::err(Error::TooBig);
            case Interface::SendError::NoBuffer: return kernel::err(Error::NoBuffer);
        }
    }
    m_interface.device().flush();
    return {};
}

void UdpSocket::deliver(netif::PacketBuffer* buffer, Ipv4Address source, std::uint16_t source_port) {
    if (m_count == k_queue) {
        netif::release_buffer(buffer);
        ++m_dropped;
        return;
    }
    m_queue[(m_head + m_count) % k_queue] = {buffer, source, source_port};
    ++m_count;
    if (m_waiter)
        runtime::EventLoop::current().schedule(std::exchange(m_waiter, nullptr));
    else if (m_callback)
        m_callback();
}

std::optional<Datagram> UdpSocket::try_receive() {
    if (m_count == 0) return std::nullopt;
    Queued q = m_queue[m_head];
    m_head = (m_head + 1) % k_queue;
    --m_count;
    return Datagram{netif::BufferOwner(q.buffer), q.source, q.source_port};
}

UdpSocket::ReceiveAwaiter::~ReceiveAwaiter() { m_socket.m_waiter = nullptr; }

}  // namespace net
