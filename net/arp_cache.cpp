#include "net/arp_cache.hpp"

namespace net {

ArpCache::~ArpCache() {
    for (Entry& e : m_entries) drop_pending(e);
}

ArpCache::Entry* ArpCache::find(Ipv4Address ip) {
    for (Entry& e : m_entries) {
        if (e.state != State::Free && e.ip == ip) return &e;
    }
    return nullptr;
}

const ArpCache::Entry* ArpCache::find(Ipv4Address ip) const { return const_cast<ArpCache*>(this)->find(ip); }

std::size_t ArpCache::size() const {
    std::size_t n = 0;
    for (const Entry& e : m_entries) n += e.state != State::Free ? 1 : 0;
    return n;
}

std::optional<netif::MacAddress> ArpCache::lookup(Ipv4Address ip, runtime::Instant now) const {
    const Entry* e = find(ip);
    if (e == nullptr || e->state != State::Reachable || e->expires <= now) return std::nullopt;
    return e->mac;
}

void ArpCache::drop_pending(Entry& entry) {
    while (entry.pending != nullptr) {
        netif::PacketBuffer* next = entry.pending->next;
        netif::release_buffer(entry.pending);
        ++m_stats.queue_dropped;
        entry.pending = next;
    }
    entry.pending_count = 0;
}

ArpCache::Entry& ArpCache::claim(runtime::Instant now) {
    // A free slot, else an expired one, else the least recently used.
    Entry* victim = nullptr;
    for (Entry& e : m_entries) {
        if (e.state == State::Free) return e;
        if (e.state == State::Reachable && e.expires <= now) victim = &e;
    }
    if (victim == nullptr) {
        victim = &m_entries[0];
        for (Entry& e : m_entries) {
            if (e.last_used < victim->last_used) victim = &e;
        }
    }
    ++m_stats.evicted;
    drop_pending(*victim);
    *victim = Entry{};
    return *victim;
}

netif::PacketBuffer* ArpCache::update(Ipv4Address ip, netif::MacAddress mac, runtime::Instant now) {
    Entry* e = find(ip);
    if (e == nullptr) {
        e = &claim(now);
        e->ip = ip;
    }
    if (e->state == State::Incomplete) ++m_stats.resolved;
    e->state = State::Reachable;
    e->mac = mac;
    e->expires = now + k_reachable_time;
    e->last_used = now;
    e->requests = 0;
    netif::PacketBuffer* released = e->pending;
    e->pending = nullptr;
    e->pending_count = 0;
    return released;
}

netif::PacketBuffer* ArpCache::refresh(Ipv4Address ip, netif::MacAddress mac, runtime::Instant now) {
    if (find(ip) == nullptr) return nullptr;
    return update(ip, mac, now);
}

bool ArpCache::enqueue(Ipv4Address ip, netif::PacketBuffer* packet, runtime::Instant now) {
    Entry* e = find(ip);
    bool fresh = false;
    if (e == nullptr || e->state == State::Reachable) {  // a Reachable entry that expired
        if (e == nullptr) e = &claim(now);
        *e = Entry{};
        e->state = State::Incomplete;
        e->ip = ip;
        e->requests = 1;
        e->expires = now + k_retry_interval;
        ++m_stats.requests_sent;
        fresh = true;
    }
    e->last_used = now;
    if (e->pending_count == k_pending_per_entry) {
        // Keep the newest: drop the oldest waiting packet.
        netif::PacketBuffer* oldest = e->pending;
        e->pending = oldest->next;
        netif::release_buffer(oldest);
        ++m_stats.queue_dropped;
        --e->pending_count;
    }
    packet->next = nullptr;
    netif::PacketBuffer** tail = &e->pending;
    while (*tail != nullptr) tail = &(*tail)->next;
    *tail = packet;
    ++e->pending_count;
    return fresh;
}

std::optional<runtime::Instant> ArpCache::poll_at() const {
    std::optional<runtime::Instant> earliest;
    for (const Entry& e : m_entries) {
        if (e.state == State::Incomplete && (!earliest || e.expires < *earliest)) earliest = e.expires;
    }
    return earliest;
}

}  // namespace net
