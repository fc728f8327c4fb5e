#include "net/dhcp_client.hpp"

#include <algorithm>
#include <array>

namespace net {
namespace {

using namespace std::chrono_literals;
constexpr runtime::Duration k_first_retry = 4s;  // RFC 2131 §4.1
constexpr runtime::Duration k_max_retry = 64s;
constexpr runtime::Duration k_min_renew_retry = 60s;  // RFC 2131 §4.4.5
constexpr unsigned k_max_requests = 4;                // then start over with a discover

}  // namespace

const char* to_string(DhcpClient::State state) {
    switch (state) {
        case DhcpClient::State::Init: return "init";
        case DhcpClient::State::Selecting: return "selecting";
        case DhcpClient::State::Requesting: return "requesting";
        case DhcpClient::State::Bound: return "bound";
        case DhcpClient::State::Renewing: return "renewing";
        case DhcpClient::State::Rebinding: return "rebinding";
    }
    return "unknown";
}

DhcpClient::DhcpClient(Interface& interface, std::uint64_t seed)
    : m_interface(interface), m_socket(interface), m_random_state(seed | 1) {}

std::uint32_t DhcpClient::random() {
    // xorshift64*: good enough for transaction ids and jitter.
    m_random_state ^= m_random_state >> 12;
    m_random_state ^= m_random_state << 25;
    m_random_state ^= m_random_state >> 27;
    return static_cast<std::uint32_t>((m_random_state * 0x2545F4914F6CDD1Dull) >> 32);
}

runtime::Duration DhcpClient::backoff() {
    // 4 s, 8 s, ... up to 64 s, each randomized by up to a second either way.
    runtime::Duration base = std::min(k_first_retry * (1 << std::min(m_attempts, 4u)), k_max_retry);
    auto jitter = std::chrono::milliseconds(static_cast<std::int64_t>(random() % 2001) - 1000);
    return base + jitter;
}

void DhcpClient::start(runtime::Instant now) {
    m_state = State::Selecting;
    m_xid = random();
    m_attempts = 0;
    send(DhcpMessageType::Discover, now);
}

void DhcpClient::send(DhcpMessageType type, runtime::Instant now) {
    DhcpMessage m;
    m.type = type;
    m.xid = m_xid;
    m.client_mac = m_interface.mac();
    bool renewing = m_state == State::Renewing || m_state == State::Rebinding;
    if (renewing && m_lease) m.client_ip = m_lease->address.address;
    if (type == DhcpMessageType::Request && m_state == State::Requesting) {
        m.requested_ip = m_offered;
        m.server_id = m_server;
    }
    std::array<std::byte, DhcpMessage::k_max_size> buffer{};
    std::size_t length = m.emit(buffer, !renewing);
    Ipv4Address destination = m_state == State::Renewing ? m_server : Ipv4Address::broadcast();
    (void)m_socket.send_to(destination, DhcpMessage::k_server_port, std::span(buffer.data(), length), now);
    if (m_state == State::Renewing || m_state == State::Rebinding) {
        runtime::Instant limit = m_state == State::Renewing ? m_t2 : m_expiry;
        m_next = now + std::max((limit - now) / 2, k_min_renew_retry);
        if (*m_next > limit) m_next = limit;
    } else {
        m_next = now + backoff();
    }
    ++m_attempts;
}

void DhcpClient::bind(const DhcpMessage& ack, runtime::Instant now) {
    std::uint32_t lease_seconds = ack.lease_seconds.value_or(3600);
    if (lease_seconds == 0xFFFFFFFF) lease_seconds = 0x7FFFFFFF;  // "infinite"
    std::uint8_t prefix = 24;
    if (ack.subnet_mask) {
        prefix = static_cast<std::uint8_t>(__builtin_popcount(ack.subnet_mask->value));
    }
    DhcpLease lease{{ack.your_ip, prefix},
                    ack.router,
                    ack.dns,
                    ack.server_id.value_or(m_server),
                    std::chrono::seconds(lease_seconds)};
    bool changed = !m_lease || m_lease->address != lease.address || m_lease->router != lease.router;
    m_lease = lease;
    m_server = lease.server;
    m_lease_start = now;
    // RFC 2131 §4.4.5: T1 defaults to half the lease, T2 to seven eighths.
    auto seconds = [](std::uint32_t s) { return runtime::Duration(std::chrono::seconds(s)); };
    m_t1 = now + seconds(ack.renewal_seconds.value_or(lease_seconds / 2));
    m_t2 =
        now + seconds(ack.rebinding_seconds.value_or(static_cast<std::uint32_t>(std::uint64_t{lease_seconds} * 7 / 8)));
    m_expiry = now + lease.lease_time;
    if (m_t2 > m_expiry) m_t2 = m_expiry;
    if (m_t1 > m_t2) m_t1 = m_t2;
    m_state = State::Bound;
    m_next = m_t1;
    ++m_leases_obtained;
    if (changed) m_interface.configure(lease.address, lease.router, now);
}

void DhcpClient::handle(const DhcpMessage& message, runtime::Instant now) {
    if (message.xid != m_xid || message.client_mac != m_interface.mac()) {
        ++m_ignored;
        return;
    }
    switch (m_state) {
        case State::Selecting:
            if (message.type != DhcpMessageType::Offer || message.your_ip.is_any() || !message.server_id) break;
            m_offered = message.your_ip;
            m_server = *message.server_id;
            m_state = State::Requesting;
            m_attempts = 0;
            send(DhcpMessageType::Request, now);
            return;
        case State::Requesting:
        case State::Renewing:
        case State::Rebinding:
            if (message.type == DhcpMessageType::Ack && !message.your_ip.is_any()) {
                bind(message, now);
                return;
            }
            if (message.type == DhcpMessageType::Nak) {
                m_lease.reset();
                m_interface.deconfigure();
                start(now);
                return;
            }
            break;
        default: break;
    }
    ++m_ignored;
}

void DhcpClient::poll(runtime::Instant now) {
    if (!m_bound_socket) {
        if (!m_socket.bind(DhcpMessage::k_client_port)) return;
        m_bound_socket = true;
    }
    while (auto datagram = m_socket.try_receive()) {
        if (datagram->source_port != DhcpMessage::k_server_port) {
            ++m_ignored;
            continue;
        }
        auto message = DhcpMessage::parse(datagram->payload());
        if (!message) {
            ++m_ignored;
            continue;
        }
        handle(*message, now);
    }
    if (m_state == State::Init) return start(now);
    if (!m_next || now < *m_next) return;
    switch (m_state) {
        case State::Selecting: send(DhcpMessageType::Discover, now); break;
        case State::Requesting:
            if (m_attempts >= k_max_requests)
                start(now);
            else
                send(DhcpMessageType::Request, now);
            break;
        case State::Bound:
            m_state = State::Renewing;
            m_xid = random();
            send(DhcpMessageType::Request, now);
            break;
        case State::Renewing:
            if (now >= m_t2) m_state = State::Rebinding;
            send(DhcpMessageType::Request, now);
            break;
        case State::Rebinding:
            if (now >= m_expiry) {
                // The lease is gone: stop using the address and start again.
                m_lease.reset();
                m_interface.deconfigure();
                start(now);
            } else {
                send(DhcpMessageType::Request, now);
            }
            break;
        case State::Init: break;
    }
}

}  // namespace net
