#include "net/ipv4_reassembly.hpp"

#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"

namespace net {

Ipv4Reassembler::Ipv4Reassembler(const ReassemblyConfig& config) : m_config(config) {
    m_config.max_datagrams = std::min(m_config.max_datagrams, k_slots);
}

Ipv4Reassembler::~Ipv4Reassembler() {
    for (Slot& slot : m_slots) {
        if (slot.used) drop(slot);
    }
}

std::size_t Ipv4Reassembler::in_progress() const {
    return static_cast<std::size_t>(
        std::count_if(m_slots.begin(), m_slots.end(), [](const Slot& s) { return s.used; }));
}

std::optional<runtime::Instant> Ipv4Reassembler::poll_at() const {
    std::optional<runtime::Instant> earliest;
    for (const Slot& slot : m_slots) {
        if (slot.used && (!earliest || slot.deadline < *earliest)) earliest = slot.deadline;
    }
    return earliest;
}

void Ipv4Reassembler::drop(Slot& slot) {
    netif::release_buffer(slot.buffer);
    m_bytes_held -= slot.bytes;
    slot = Slot{};
}

Ipv4Reassembler::Slot* Ipv4Reassembler::find_or_start(const Ipv4Packet& fragment, runtime::Instant now) {
    // RFC 791 §3.2: source, destination, protocol and identification name the datagram.
    Slot* free = nullptr;
    for (Slot& slot : m_slots) {
        if (slot.used && slot.source == fragment.source() && slot.destination == fragment.destination() &&
            slot.protocol == fragment.protocol() && slot.identification == fragment.identification()) {
            return &slot;
        }
        if (!slot.used && free == nullptr) free = &slot;
    }
    if (in_progress() >= m_config.max_datagrams || free == nullptr) {
        ++m_stats.table_full;
        return nullptr;
    }
    netif::PacketBuffer* buffer = m_pool != nullptr ? m_pool->allocate() : nullptr;
    if (buffer == nullptr || !buffer->resize(k_buffer_bytes)) {
        netif::release_buffer(buffer);
        ++m_stats.no_buffer;
        return nullptr;
    }
    free->used = true;
    free->source = fragment.source();
    free->destination = fragment.destination();
    free->protocol = fragment.protocol();
    free->identification = fragment.identification();
    // RFC 1122 §3.3.2: a fixed time-out from the first fragment, not one from the TTL.
    free->deadline = now + m_config.timeout;
    free->buffer = buffer;
    return free;
}

netif::PacketBuffer* Ipv4Reassembler::add(const Ipv4Packet& fragment, runtime::Instant now) {
    ++m_stats.fragments;
    std::span<const std::byte> data = fragment.payload();
    std::size_t offset = fragment.fragment_offset();
    std::size_t end = offset + data.size();
    bool last = !fragment.more_fragments();
    // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes.
    if (!last && (data.empty() || data.size() % 8 != 0)) {
        ++m_stats.malformed;
        return nullptr;
    }
    Slot* slot = find_or_start(fragment, now);
    if (slot == nullptr) return nullptr;
    // The datagram may not exceed 65535 bytes with its header ("ping of death").
    std::size_t header_length = offset == 0 ? fragment.header_length() : Ipv4Packet::k_min_header;
    std::size_t first_header = slot->header_length != 0 ? slot->header_length : header_length;
    if (end + first_header > k_max_datagram || (slot->total && *slot->total + first_header > k_max_datagram)) {
        ++m_stats.too_big;
        drop(*slot);
        return nullptr;
    }
    // The last fragment fixes the length; nothing may disagree with it.
    bool inconsistent =
        last ? ((slot->total && *slot->total != end) || slot->end_seen > end) : (slot->total && end > *slot->total);
    // Bytes already received must arrive again unchanged.
    std::byte* payload = slot->buffer->data() + k_max_header;
    std::size_t new_blocks = 0;
    std::size_t first_block = offset / 8;
    std::size_t end_block = (end + 7) / 8;
    for (std::size_t block = first_block; block < end_block && !inconsistent; ++block) {
        if (!has_block(*slot, block)) {
            ++new_blocks;
            continue;
        }
        std::size_t from = block * 8;
        std::size_t to = std::min(from + 8, end);
        inconsistent = std::memcmp(payload + from, data.data() + (from - offset), to - from) != 0;
    }
    if (inconsistent) {
        ++m_stats.overlaps;
        drop(*slot);
        return nullptr;
    }
    if (new_blocks == 0 && (!last || slot->total)) {
        ++m_stats.duplicates;
        return nullptr;
    }
    std::size_t new_bytes = new_blocks * 8;
    if (m_bytes_held + new_bytes > m_config.max_bytes) {
        ++m_stats.memory_limit;
        if (slot->blocks == 0 && !slot->total) drop(*slot);  // started for nothing
        return nullptr;
    }
    if (!data.empty()) std::memcpy(payload + offset, data.data(), data.size());
    for (std::size_t block = first_block; block < end_block; ++block) {
        slot->received[block / 64] |= std::uint64_t{1} << (block % 64);
    }
    slot->blocks += new_blocks;
    slot->bytes += new_bytes;
    m_bytes_held += new_bytes;
    slot->end_seen = std::max(slot->end_seen, end);
    if (last) slot->total = end;
    if (offset == 0 && slot->header_length == 0) {
        slot->header_length = fragment.header_length();
        std::memcpy(slot->header.data(), fragment.header_bytes().data(), slot->header_length);
    }
    if (slot->total && slot->blocks == (*slot->total + 7) / 8) return complete(*slot);
    return nullptr;
}

netif::PacketBuffer* Ipv4Reassembler::complete(Slot& slot) {
    // Every block up to the end is here, so the first fragment (block 0) is too.
    std::size_t total = slot.header_length + *slot.total;
    netif::PacketBuffer* datagram = slot.buffer;
    if (!datagram->pull_front(k_max_header - slot.header_length) || !datagram->resize(total)) {
        // Cannot happen: the buffer was sized for k_buffer_bytes. Drop rather than trust it.
        ++m_stats.too_big;
        drop(slot);
        return nullptr;
    }
    std::memcpy(datagram->data(), slot.header.data(), slot.header_length);
    Ipv4Header header;
    std::memcpy(&header, datagram->data(), sizeof header);
    header.total_length = static_cast<std::uint16_t>(total);
    header.flags_fragment = static_cast<std::uint16_t>(header.flags_fragment & Ipv4Packet::k_dont_fragment);
    header.checksum = 0;
    std::memcpy(datagram->data(), &header, sizeof header);
    header.checksum = internet_checksum(std::span<const std::byte>(datagram->data(), slot.header_length));
    std::memcpy(datagram->data(), &header, sizeof header);
    slot.buffer = nullptr;
    m_bytes_held -= slot.bytes;
    slot = Slot{};
    ++m_stats.reassembled;
    return datagram;
}

}  // namespace net
