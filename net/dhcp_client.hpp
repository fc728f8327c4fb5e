#pragma once
// The DHCP client (RFC 2131 §4.4): discover, offer, request, ack; renewal at T1 from the
// server that gave the lease, rebinding at T2 from any server, and a fresh start when the
// lease runs out. Poll-driven like the rest of the stack: poll(now) does what is due and
// poll_at() says when to call again. On every lease it configures the interface.

#include <cstdint>
#include <optional>

#include "net/address.hpp"
#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "net/wire/dhcp.hpp"
#include "runtime/time.hpp"

namespace net {

struct DhcpLease {
    Ipv4Cidr address;
    std::optional<Ipv4Address> router;
    std::optional<Ipv4Address> dns;
    Ipv4Address server;
    runtime::Duration lease_time{};
};

class DhcpClient {
public:
    enum class State { Init, Selecting, Requesting, Bound, Renewing, Rebinding };

    // seed makes the transaction ids and retry jitter differ between machines.
    DhcpClient(Interface& interface, std::uint64_t seed);
    DhcpClient(const DhcpClient&) = delete;
    DhcpClient& operator=(const DhcpClient&) = delete;

    void poll(runtime::Instant now);
    [[nodiscard]] std::optional<runtime::Instant> poll_at() const { return m_next; }
    [[nodiscard]] State state() const { return m_state; }
    [[nodiscard]] const std::optional<DhcpLease>& lease() const { return m_lease; }
    // Counts the leases obtained (a renewal counts too), so callers can see changes.
    [[nodiscard]] std::uint64_t leases_obtained() const { return m_leases_obtained; }
    [[nodiscard]] std::uint64_t messages_ignored() const { return m_ignored; }

private:
    void handle(const DhcpMessage& message, runtime::Instant now);
    void send(DhcpMessageType type, runtime::Instant now);
    void start(runtime::Instant now);
    void bind(const DhcpMessage& ack, runtime::Instant now);
    [[nodiscard]] runtime::Duration backoff();
    [[nodiscard]] std::uint32_t random();

    Interface& m_interface;
    UdpSocket m_socket;
    State m_state = State::Init;
    std::uint64_t m_random_state;
    std::uint32_t m_xid = 0;
    unsigned m_attempts = 0;
    std::optional<runtime::Instant> m_next;
    Ipv4Address m_offered;
    Ipv4Address m_server;
    std::optional<DhcpLease> m_lease;
    runtime::Instant m_lease_start{};
    runtime::Instant m_t1{}, m_t2{}, m_expiry{};
    std::uint64_t m_leases_obtained = 0;
    std::uint64_t m_ignored = 0;
    bool m_bound_socket = false;
};

const char* to_string(DhcpClient::State state);

}  // namespace net
