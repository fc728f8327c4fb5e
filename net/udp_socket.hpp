#pragma once
// UDP sockets: bind to a port, send datagrams, receive them with their source.
//
//     net::UdpSocket socket(interface);
//     TRY(socket.bind(7));
//     for (;;) {
//         auto datagram = co_await socket.receive();
//         (void)socket.send_to(datagram.source, datagram.source_port, datagram.payload(), runtime::now());
//     }
//
// Received datagrams wait in a bounded queue (a full queue drops and counts); the
// payload stays in the buffer it arrived in, with no copy.

#include <array>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <span>

#include "kernel/result.hpp"
#include "net/address.hpp"
#include "netif/packet_buffer.hpp"
#include "runtime/function.hpp"
#include "runtime/time.hpp"

namespace net {

class Interface;

struct Datagram {
    netif::BufferOwner buffer;  // its bytes are exactly the payload
    Ipv4Address source;
    std::uint16_t source_port = 0;
    [[nodiscard]] std::span<const std::byte> payload() const { return buffer.get()->bytes(); }
};

class UdpSocket {
public:
    static constexpr std::size_t k_queue = 32;
    // 65535 less the IPv4 and UDP headers. Datagrams longer than the MTU allows go out in
    // fragments and need Interface::enable_large_datagrams (else NoBuffer).
    static constexpr std::size_t k_max_payload = 65507;
    enum class Error { PortInUse, TooManySockets, NotBound, AlreadyBound, NoBuffer, TooBig, NoRoute };

    explicit UdpSocket(Interface& interface) : m_interface(interface) {}
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    ~UdpSocket();

    // port 0 picks a free ephemeral port.
    kernel::Result<void, Error> bind(std::uint16_t port);
    [[nodiscard]] std::uint16_t port() const { return m_port; }
    kernel::Result<void, Error> send_to(Ipv4Address destination, std::uint16_t port, std::span<const std::byte> data,
                                        runtime::Instant now);

    std::optional<Datagram> try_receive();

    class ReceiveAwaiter {
    public:
        explicit ReceiveAwaiter(UdpSocket& socket) : m_socket(socket) {}
        ReceiveAwaiter(const ReceiveAwaiter&) = delete;
        ReceiveAwaiter& operator=(const ReceiveAwaiter&) = delete;
        ~ReceiveAwaiter();
        bool await_ready() { return m_socket.m_count != 0; }
        void await_suspend(std::coroutine_handle<> handle) { m_socket.m_waiter = handle; }
        Datagram await_resume() { return *m_socket.try_receive(); }

    private:
        UdpSocket& m_socket;
    };
    // co_await: the next datagram. One coroutine at a time may wait.
    ReceiveAwaiter receive() { return ReceiveAwaiter(*this); }
    // The callback form: called from the event loop when datagrams arrive.
    void on_receive(runtime::InplaceFunction<void()> callback) { m_callback = std::move(callback); }

    [[nodiscard]] std::uint64_t dropped() const { return m_dropped; }

private:
    friend class Interface;
    // From the interface: takes ownership of buffer (already trimmed to the payload).
    void deliver(netif::PacketBuffer* buffer, Ipv4Address source, std::uint16_t source_port);

    struct Queued {
        netif::PacketBuffer* buffer;
        Ipv4Address source;
        std::uint16_t source_port;
    };
    Interface& m_interface;
    std::uint16_t m_port = 0;
    std::array<Queued, k_queue> m_queue{};
    std::size_t m_head = 0;
    std::size_t m_count = 0;
    std::coroutine_handle<> m_waiter;
    runtime::InplaceFunction<void()> m_callback;
    std::uint64_t m_dropped = 0;
};

const char* to_string(UdpSocket::Error error);

}  // namespace net
