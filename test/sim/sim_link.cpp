#include "test/sim/sim_link.hpp"

#include <algorithm>
#include <cstring>

#include "net/tcp_segmentation.hpp"

namespace sim {

const char* to_string(Direction d) { return d == Direction::AToB ? "a->b" : "b->a"; }

const char* to_string(TraceKind kind) {
    switch (kind) {
        case TraceKind::Sent: return "sent";
        case TraceKind::QueueDrop: return "queue-drop";
        case TraceKind::Filtered: return "filtered";
        case TraceKind::Lost: return "lost";
        case TraceKind::HeldBack: return "held-back";
        case TraceKind::Corrupted: return "corrupted";
        case TraceKind::Duplicated: return "duplicated";
        case TraceKind::Delivered: return "delivered";
        case TraceKind::RxDropped: return "rx-dropped";
    }
    return "?";
}

runtime::Duration DirectionConfig::serialization_time(std::size_t bytes) const {
    if (bits_per_second == 0) return runtime::Duration(0);
    constexpr std::uint64_t k_ns_per_second = 1'000'000'000;
    // bytes * 8e9 stays far below 2^64 for any frame (65535 * 8e9 < 2^59).
    std::uint64_t bit_ns = std::uint64_t{bytes} * 8 * k_ns_per_second;
    return runtime::Duration(static_cast<std::int64_t>((bit_ns + bits_per_second - 1) / bits_per_second));
}

LinkCounters& LinkCounters::operator+=(const LinkCounters& other) {
    sent += other.sent;
    sent_bytes += other.sent_bytes;
    queue_drops += other.queue_drops;
    lost += other.lost;
    filtered += other.filtered;
    duplicated += other.duplicated;
    reordered += other.reordered;
    corrupted += other.corrupted;
    delivered += other.delivered;
    delivered_bytes += other.delivered_bytes;
    out_of_order += other.out_of_order;
    rx_dropped += other.rx_dropped;
    in_flight += other.in_flight;
    max_queue = std::max(max_queue, other.max_queue);
    return *this;
}

// --- the endpoints ---

SimEndpoint::SimEndpoint(SimLink& link, Direction outgoing, netif::MacAddress mac, std::size_t buffers)
    : m_link(link), m_outgoing(outgoing), m_mac(mac), m_memory(buffers * k_buffer_size) {
    auto pool = netif::BufferPool::create(m_memory, 0x4000'0000, k_buffer_size, k_headroom);
    if (!pool) throw test::FatalError("SimEndpoint: cannot make its buffer pool");
    m_pool.reset(pool.value());
}

SimEndpoint::~SimEndpoint() {
    // Buffers go back to the pool before it goes.
    for (netif::PacketBuffer* list : {m_rx_head, m_tx_head}) {
        while (list != nullptr) {
            netif::PacketBuffer* next = list->next;
            netif::release_buffer(list);
            list = next;
        }
    }
}

netif::PacketBuffer* SimEndpoint::receive() {
    netif::PacketBuffer* frame = m_rx_head;
    if (frame == nullptr) return nullptr;
    m_rx_head = frame->next;
    if (m_rx_head == nullptr) m_rx_tail = nullptr;
    frame->next = nullptr;
    --m_rx_count;
    return frame;
}

void SimEndpoint::enable_offloads(std::size_t tso_buffers) {
    m_capabilities.tx_checksum_offload = true;
    m_capabilities.max_tso_segment = k_tso_packet;
    m_scratch.resize(k_buffer_size);
    if (tso_buffers == 0) return;
    std::size_t size = k_headroom + 14 + k_tso_packet + 1;
    m_tso_memory.resize(tso_buffers * size);
    auto pool = netif::BufferPool::create(m_tso_memory, 0x8000'0000, size, k_headroom);
    if (!pool) throw test::FatalError("SimEndpoint: cannot make its TSO buffer pool");
    m_tso_pool.reset(pool.value());
}

netif::PacketBuffer* SimEndpoint::allocate_tso_buffer() { return m_tso_pool ? m_tso_pool->allocate() : nullptr; }

bool SimEndpoint::transmit(netif::PacketBuffer* frame) {
    // An Ethernet header and an MTU's worth of payload (or a TSO send's worth, when
    // offered and asked for); a real NIC refuses more.
    constexpr std::size_t k_ethernet_header = 14;
    std::size_t largest = frame->metadata.segment_size != 0 && m_capabilities.max_tso_segment != 0
                              ? m_capabilities.max_tso_segment
                              : capabilities().mtu;
    bool offload_refused =
        (frame->metadata.needs_checksum || frame->metadata.segment_size != 0) && !m_capabilities.tx_checksum_offload;
    if (frame->size() > largest + k_ethernet_header || offload_refused) {
        ++m_stats.tx_errors;
        netif::release_buffer(frame);
        return false;
    }
    if (m_tx_count == k_tx_ring) {
        ++m_stats.tx_dropped;
        netif::release_buffer(frame);
        return false;
    }
    frame->next = nullptr;
    if (m_tx_tail != nullptr)
        m_tx_tail->next = frame;
    else
        m_tx_head = frame;
    m_tx_tail = frame;
    ++m_tx_count;
    return true;
}

void SimEndpoint::flush() {
    while (netif::PacketBuffer* frame = m_tx_head) {
        m_tx_head = frame->next;
        frame->next = nullptr;
        --m_tx_count;
        ++m_stats.tx_packets;
        m_stats.tx_bytes += frame->size();
        // The link keeps its own copy, so the buffer is free again at once (as if the
        // device had copied it out).
        const netif::PacketMetadata& meta = frame->metadata;
        if (meta.segment_size != 0) {
            auto pieces = net::segment_tcp4(frame->bytes(), meta.segment_size, m_scratch,
                                            [&](std::span<const std::byte> piece) { m_link.send(m_outgoing, piece); });
            if (pieces) {
                ++m_tso_sends;
                m_tso_frames += *pieces;
            } else {
                ++m_stats.tx_errors;
            }
        } else if (meta.needs_checksum) {
            if (net::complete_checksum(frame->bytes(), meta.checksum_start, meta.checksum_offset))
                m_link.send(m_outgoing, frame->bytes());
            else
                ++m_stats.tx_errors;
        } else {
            m_link.send(m_outgoing, frame->bytes());
        }
        netif::release_buffer(frame);
    }
    m_tx_tail = nullptr;
}

netif::PacketBuffer* SimEndpoint::allocate_tx_buffer() { return m_pool->allocate(); }

void SimEndpoint::set_receive_hook(void (*hook)(void*), void* context) {
    m_hook = hook;
    m_hook_context = context;
}

bool SimEndpoint::arrive(std::span<const std::byte> bytes) {
    netif::PacketBuffer* frame = m_pool->allocate();
    if (frame == nullptr) {
        ++m_stats.rx_dropped;
        return false;
    }
    frame->reset(0);
    if (!frame->resize(bytes.size())) {
        ++m_stats.rx_errors;
        netif::release_buffer(frame);
        return false;
    }
    std::memcpy(frame->data(), bytes.data(), bytes.size());
    if (m_rx_tail != nullptr)
        m_rx_tail->next = frame;
    else
        m_rx_head = frame;
    m_rx_tail = frame;
    ++m_rx_count;
    ++m_stats.rx_packets;
    m_stats.rx_bytes += bytes.size();
    if (m_hook != nullptr) m_hook(m_hook_context);
    return true;
}

// --- the link ---

namespace {
// Each direction draws from its own generator, so traffic one way does not change the
// fate of frames the other way.
std::uint64_t lane_seed(std::uint64_t seed, Direction d) {
    std::uint64_t state = seed ^ (0xA5A5'0000'0000'0000ULL + index(d));
    return Random::splitmix64(state);
}
}  // namespace

SimLink::SimLink(test::FakePlatform& platform, std::uint64_t seed, const LinkConfig& config,
                 std::size_t buffers_per_endpoint)
    : m_platform(platform),
      m_lanes{Lane{config.a_to_b, Random(lane_seed(seed, Direction::AToB)), {}, {}, {}, 0, 0, false, {}},
              Lane{config.b_to_a, Random(lane_seed(seed, Direction::BToA)), {}, {}, {}, 0, 0, false, {}}},
      m_a(*this, Direction::AToB, k_mac_a, buffers_per_endpoint),
      m_b(*this, Direction::BToA, k_mac_b, buffers_per_endpoint),
      m_self(std::make_shared<SimLink*>(this)) {}

SimLink::~SimLink() = default;

LinkCounters SimLink::total() const {
    LinkCounters sum = m_lanes[0].counters;
    sum += m_lanes[1].counters;
    return sum;
}

void SimLink::trace(TraceKind kind, Direction d, std::uint64_t sequence, std::span<const std::byte> bytes) {
    if (m_trace) m_trace(TraceEvent{kind, FrameView{d, sequence, now(), bytes}});
}

void SimLink::send(Direction d, std::span<const std::byte> bytes) {
    Lane& lane = m_lanes[index(d)];
    const DirectionConfig& config = lane.config;
    runtime::Instant t = now();
    std::uint64_t sequence = lane.next_sequence++;
    ++lane.counters.sent;
    lane.counters.sent_bytes += bytes.size();

    // The same draws for every frame, whatever happens to it, so that turning one effect
    // on does not change which frames another one picks.
    bool lose = lane.random.chance(config.loss);
    bool duplicate = lane.random.chance(config.duplicate);
    bool hold_back = lane.random.chance(config.reorder);
    bool corrupt = lane.random.chance(config.corrupt);
    std::uint64_t corrupt_at = lane.random.next();

    // The queue holds the frame being sent and those waiting behind it.
    while (!lane.queue.empty() && lane.queue.front() <= t) lane.queue.pop_front();
    if (lane.queue.size() >= config.queue_limit) {
        ++lane.counters.queue_drops;
        trace(TraceKind::QueueDrop, d, sequence, bytes);
        return;
    }
    runtime::Instant on_wire = std::max(t, lane.wire_free_at) + config.serialization_time(bytes.size());
    lane.wire_free_at = on_wire;
    lane.queue.push_back(on_wire);
    lane.counters.max_queue = std::max<std::uint64_t>(lane.counters.max_queue, lane.queue.size());
    trace(TraceKind::Sent, d, sequence, bytes);

    if (lane.drop && lane.drop(FrameView{d, sequence, t, bytes})) {
        ++lane.counters.filtered;
        trace(TraceKind::Filtered, d, sequence, bytes);
        return;
    }
    if (lose) {
        ++lane.counters.lost;
        trace(TraceKind::Lost, d, sequence, bytes);
        return;
    }
    runtime::Instant arrival = on_wire + config.delay;
    if (hold_back) {
        ++lane.counters.reordered;
        trace(TraceKind::HeldBack, d, sequence, bytes);
        arrival += config.reorder_delay;
    }
    std::vector<std::byte> damaged;
    constexpr std::size_t k_ethernet_header = 14;
    if (corrupt && bytes.size() > k_ethernet_header) {
        damaged.assign(bytes.begin(), bytes.end());
        std::uint64_t bit = corrupt_at % ((bytes.size() - k_ethernet_header) * 8);
        damaged[k_ethernet_header + bit / 8] ^= std::byte{static_cast<std::uint8_t>(1U << (bit % 8))};
        ++lane.counters.corrupted;
        trace(TraceKind::Corrupted, d, sequence, damaged);
    }
    schedule(d, sequence, damaged.empty() ? bytes : std::span<const std::byte>(damaged), arrival);
    if (duplicate) {
        // The copy arrives right behind the original, undamaged.
        ++lane.counters.duplicated;
        trace(TraceKind::Duplicated, d, sequence, bytes);
        schedule(d, sequence, bytes, arrival);
    }
}

void SimLink::schedule(Direction d, std::uint64_t sequence, std::span<const std::byte> bytes, runtime::Instant at) {
    std::uint64_t id = m_next_id++;
    m_in_flight.emplace(id, InFlight{d, sequence, std::vector<std::byte>(bytes.begin(), bytes.end())});
    ++m_lanes[index(d)].counters.in_flight;
    // Callbacks due at the same time run in the order scheduled (FakePlatform keeps them in
    // a multimap), so a copy follows its original and equal arrivals keep their order.
    m_platform.interrupt_at(at, [self = std::weak_ptr<SimLink*>(m_self), id] {
        if (auto link = self.lock()) (*link)->arrive(id);
    });
}

void SimLink::arrive(std::uint64_t id) {
    auto it = m_in_flight.find(id);
    if (it == m_in_flight.end()) return;
    InFlight frame = std::move(it->second);
    m_in_flight.erase(it);
    Lane& lane = m_lanes[index(frame.direction)];
    --lane.counters.in_flight;
    SimEndpoint& receiver = frame.direction == Direction::AToB ? m_b : m_a;
    if (!receiver.arrive(frame.bytes)) {
        ++lane.counters.rx_dropped;
        trace(TraceKind::RxDropped, frame.direction, frame.sequence, frame.bytes);
        return;
    }
    ++lane.counters.delivered;
    lane.counters.delivered_bytes += frame.bytes.size();
    if (lane.delivered_any && frame.sequence < lane.highest_delivered) ++lane.counters.out_of_order;
    lane.highest_delivered = std::max(lane.highest_delivered, frame.sequence);
    lane.delivered_any = true;
    trace(TraceKind::Delivered, frame.direction, frame.sequence, frame.bytes);
}

}  // namespace sim
