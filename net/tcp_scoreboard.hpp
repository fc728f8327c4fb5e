#pragma once
// The sender's record of what is in flight: one entry per segment sent and not yet
// cumulatively acknowledged, each with when it last went out, whether the peer SACKed it
// and whether it is deemed lost. RFC 6675's scoreboard, kept per segment (rather than as
// SACKed ranges) because RACK (RFC 8985) decides loss by each segment's transmission
// time. The entries are contiguous over [SND.UNA, SND.MAX) of the data (and the FIN) and
// in sequence order; capacity is fixed when the connection gets its buffers.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "net/wire/tcp.hpp"
#include "runtime/time.hpp"

namespace net {

struct ScoreboardEntry {
    std::uint32_t start = 0;  // [start, end): a FIN counts as the last byte
    std::uint32_t end = 0;
    runtime::Instant sent_at{};  // the latest transmission
    std::uint16_t transmissions = 0;
    bool sacked = false;
    bool lost = false;  // deemed lost and not sent again since
    [[nodiscard]] std::uint32_t length() const { return end - start; }
    [[nodiscard]] bool retransmitted() const { return transmissions > 1; }
};

class TcpScoreboard {
public:
    // Entries kept free for splitting: a retransmission or a SACK edge inside an entry.
    static constexpr std::size_t k_split_reserve = 8;

    TcpScoreboard() = default;
    TcpScoreboard(const TcpScoreboard&) = delete;
    TcpScoreboard& operator=(const TcpScoreboard&) = delete;
    ~TcpScoreboard();

    // False when the memory is not there. bytes_for() is what `capacity` entries cost.
    [[nodiscard]] bool allocate(std::size_t capacity);
    void free();
    [[nodiscard]] bool allocated() const { return m_entries != nullptr; }
    [[nodiscard]] static std::size_t bytes_for(std::size_t capacity) { return capacity * sizeof(ScoreboardEntry); }
    // The capacity for a send buffer: segments averaging 1 KiB, plus room to split
    // (smaller segments share entries when it is full).
    [[nodiscard]] static std::size_t capacity_for(std::size_t send_buffer) {
        return send_buffer / 1024 + 2 * k_split_reserve;
    }

    // Empty, the next new data to start at `seq`.
    void reset(std::uint32_t seq);

    [[nodiscard]] std::size_t size() const { return m_count; }
    [[nodiscard]] bool empty() const { return m_count == 0; }
    // No room for another new segment (what is in flight is limited by the capacity).
    [[nodiscard]] bool full() const { return m_count + k_split_reserve >= m_capacity; }
    // New segments that fit before it is full.
    [[nodiscard]] std::size_t free_entries() const { return full() ? 0 : m_capacity - m_count - k_split_reserve; }
    [[nodiscard]] const ScoreboardEntry& operator[](std::size_t i) const { return m_entries[m_first + i]; }
    [[nodiscard]] std::uint32_t right() const { return m_right; }  // SND.MAX of the data (and FIN)

    [[nodiscard]] std::uint32_t sacked_bytes() const { return m_sacked_bytes; }
    [[nodiscard]] std::uint32_t lost_bytes() const { return m_lost_bytes; }
    [[nodiscard]] std::size_t sacked_segments() const { return m_sacked_count; }
    // RFC 6675 §4 "pipe" in RACK's terms: sent, neither SACKed nor deemed lost.
    [[nodiscard]] std::uint32_t in_flight() const;

    // A transmission of [start, end) at `now`. From right(): new data, recorded in entries
    // of at most `piece` bytes (the segments the device cuts a TSO send into). Below it:
    // the entries inside are sent again (split at start and end when there is room).
    void on_sent(std::uint32_t start, std::uint32_t end, std::uint32_t piece, runtime::Instant now);

    // The cumulative ACK moved to `ack`: entries below it go. visit(entry) sees each entry
    // acknowledged whole that had not been SACKed. Returns the bytes newly delivered
    // (acknowledged and not SACKed before).
    template <typename Visit>
    std::uint32_t acknowledge(std::uint32_t ack, Visit&& visit);
    // A SACK block: the entries inside it (split at its edges when there is room) are
    // SACKed; visit sees each one newly SACKed. Returns the bytes newly SACKed.
    template <typename Visit>
    std::uint32_t sack(SackBlock block, Visit&& visit);

    void mark_lost(std::size_t i);
    // Every entry that is neither SACKed nor already lost and was sent at or before
    // `sent_by` (RFC 8985 §6.3 on a timeout). Returns how many.
    std::size_t mark_lost_sent_by(runtime::Instant sent_by);
    // The first entry is lost even if the peer SACKed it: at a timeout, SACK information
    // about SND.UNA's segment may have been reneged (RFC 2018 §8).
    void renege_front();
    // Undoes mark_lost for entries not sent again since (a spurious timeout).
    void clear_lost();
    // The first lost entry at or after index `from`.
    [[nodiscard]] std::optional<std::size_t> first_lost(std::size_t from = 0) const;
    // The index of the entry that holds seq, if any.
    [[nodiscard]] std::optional<std::size_t> find(std::uint32_t seq) const;

private:
    ScoreboardEntry& at(std::size_t i) { return m_entries[m_first + i]; }
    void push_back(const ScoreboardEntry& entry);
    // Makes seq the start of an entry if it lies inside one and there is room; false if not.
    bool split_at(std::uint32_t seq);
    void set_sacked(ScoreboardEntry& entry);
    void drop_front();

    ScoreboardEntry* m_entries = nullptr;
    std::size_t m_capacity = 0;
    std::size_t m_first = 0;  // entries live at [m_first, m_first + m_count)
    std::size_t m_count = 0;
    std::uint32_t m_right = 0;
    std::uint32_t m_sacked_bytes = 0;
    std::uint32_t m_lost_bytes = 0;
    std::size_t m_sacked_count = 0;
};

template <typename Visit>
std::uint32_t TcpScoreboard::acknowledge(std::uint32_t ack, Visit&& visit) {
    std::uint32_t delivered = 0;
    while (m_count > 0 && seq_le(at(0).end, ack)) {
        ScoreboardEntry& entry = at(0);
        if (!entry.sacked) {
            delivered += entry.length();
            visit(static_cast<const ScoreboardEntry&>(entry));
        }
        drop_front();
    }
    if (m_count > 0 && seq_lt(at(0).start, ack)) {
        // Part of a segment: the peer took less than we sent at once (or a retransmission
        // of ours was cut shorter than the original).
        ScoreboardEntry& entry = at(0);
        std::uint32_t part = ack - entry.start;
        if (entry.lost) m_lost_bytes -= part;
        if (entry.sacked) {
            m_sacked_bytes -= part;
        } else {
            delivered += part;
        }
        entry.start = ack;
    }
    return delivered;
}

template <typename Visit>
std::uint32_t TcpScoreboard::sack(SackBlock block, Visit&& visit) {
    if (m_count == 0) return 0;
    if (seq_lt(block.left, at(0).start)) block.left = at(0).start;
    if (seq_gt(block.right, m_right)) block.right = m_right;
    if (!seq_lt(block.left, block.right)) return 0;
    (void)split_at(block.left);
    (void)split_at(block.right);
    std::uint32_t newly = 0;
    std::optional<std::size_t> i = find(block.left);
    for (std::size_t k = i.value_or(m_count); k < m_count && seq_le(at(k).end, block.right); ++k) {
        ScoreboardEntry& entry = at(k);
        // An entry reaching below the block's left edge (no room to split) stays unSACKed.
        if (entry.sacked || seq_lt(entry.start, block.left)) continue;
        set_sacked(entry);
        newly += entry.length();
        visit(static_cast<const ScoreboardEntry&>(entry));
    }
    return newly;
}

}  // namespace net
