#pragma once
// The ARP cache (RFC 826, with the timers of RFC 1122 §2.3.2.1 in spirit): IPv4 to MAC
// mappings that age out, and for addresses being resolved a short queue of packets that
// wait for the answer. Fixed size; everything that does not fit is dropped and counted.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "net/address.hpp"
#include "netif/packet_buffer.hpp"
#include "runtime/time.hpp"

namespace net {

struct ArpStats {
    std::uint64_t requests_sent = 0;
    std::uint64_t resolved = 0;
    std::uint64_t evicted = 0;
    std::uint64_t queue_dropped = 0;  // packets dropped: queue full, or never resolved
    std::uint64_t failed = 0;         // resolutions abandoned after the last retry
};

class ArpCache {
public:
    static constexpr std::size_t k_entries = 64;
    static constexpr std::size_t k_pending_per_entry = 4;
    static constexpr runtime::Duration k_reachable_time = std::chrono::seconds(60);
    static constexpr runtime::Duration k_retry_interval = std::chrono::seconds(1);
    static constexpr unsigned k_max_requests = 3;

    ArpCache() = default;
    ArpCache(const ArpCache&) = delete;
    ArpCache& operator=(const ArpCache&) = delete;
    ~ArpCache();

    [[nodiscard]] std::optional<netif::MacAddress> lookup(Ipv4Address ip, runtime::Instant now) const;

    // Records ip -> mac (from a reply, or a request addressed to us). Returns the packets
    // that waited for this address, as an intrusive list, for the caller to send.
    netif::PacketBuffer* update(Ipv4Address ip, netif::MacAddress mac, runtime::Instant now);
    // Refreshes an entry only if it exists (gratuitous ARP, requests not meant for us).
    netif::PacketBuffer* refresh(Ipv4Address ip, netif::MacAddress mac, runtime::Instant now);

    // Queues packet until ip resolves (taking ownership). Returns true if a request should
    // go out now (a new resolution).
    bool enqueue(Ipv4Address ip, netif::PacketBuffer* packet, runtime::Instant now);

    // Addresses whose request should be sent again now; call after poll_at() passes.
    // Entries out of retries are dropped with their packets.
    template <typename F>
    void retry_due(runtime::Instant now, F&& send_request);
    // When something next needs doing (a retry), if anything.
    [[nodiscard]] std::optional<runtime::Instant> poll_at() const;

    [[nodiscard]] const ArpStats& stats() const { return m_stats; }
    [[nodiscard]] std::size_t size() const;

private:
    enum class State : std::uint8_t { Free, Incomplete, Reachable };
    struct Entry {
        State state = State::Free;
        Ipv4Address ip;
        netif::MacAddress mac;
        runtime::Instant expires{};  // Reachable: until then; Incomplete: next retry
        runtime::Instant last_used{};
        unsigned requests = 0;
        netif::PacketBuffer* pending = nullptr;  // oldest first
        std::size_t pending_count = 0;
    };
    Entry* find(Ipv4Address ip);
    const Entry* find(Ipv4Address ip) const;
    Entry& claim(runtime::Instant now);
    void drop_pending(Entry& entry);

    std::array<Entry, k_entries> m_entries{};
    ArpStats m_stats;
};

template <typename F>
void ArpCache::retry_due(runtime::Instant now, F&& send_request) {
    for (Entry& e : m_entries) {
        if (e.state != State::Incomplete || e.expires > now) continue;
        if (e.requests >= k_max_requests) {
            ++m_stats.failed;
            drop_pending(e);
            e = Entry{};
            continue;
        }
        ++e.requests;
        ++m_stats.requests_sent;
        e.expires = now + k_retry_interval;
        send_request(e.ip);
    }
}

}  // namespace net
