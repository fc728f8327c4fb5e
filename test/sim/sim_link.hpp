#pragma once
// SimLink: a simulated Ethernet link between two network devices, for the simulation tests.
//
// Each direction has a propagation delay, a bandwidth (a frame takes size / bandwidth to
// put on the wire and frames queue behind each other, in a bounded queue that tail-drops),
// random loss, duplication and reordering drawn from a seeded generator, and a predicate
// that drops chosen frames. Everything is counted.
//
// Time is virtual: the link schedules each arrival as an "interrupt" on test::FakePlatform
// at the frame's arrival time. The arrival copies the frame into a buffer of the receiving
// device's own pool and calls its receive hook, as a NIC's interrupt handler would, so a
// net::Stack on a runtime::EventLoop over that platform sees it exactly then.
//
//     test::FakePlatform platform;
//     sim::SimLink link(platform, 42, sim::LinkConfig::symmetric({.delay = 5ms, .bits_per_second = 10'000'000}));
//     net::Stack a(link.a(), signal_a, config_a, 1), b(link.b(), signal_b, config_b, 2);
//
// Same seed, same configuration, same traffic: the same run, to the nanosecond.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "netif/device.hpp"
#include "runtime/time.hpp"
#include "test/sim/sim_random.hpp"
#include "test/unit/runtime/fake_platform.hpp"

namespace sim {

enum class Direction : std::uint8_t { AToB, BToA };
constexpr std::size_t index(Direction d) { return static_cast<std::size_t>(d); }
constexpr Direction reverse(Direction d) { return d == Direction::AToB ? Direction::BToA : Direction::AToB; }
const char* to_string(Direction d);

// One direction of the link.
struct DirectionConfig {
    runtime::Duration delay{0};         // propagation delay
    std::uint64_t bits_per_second = 0;  // 0: no limit, a frame takes no time to send
    std::size_t queue_limit = 1000;     // frames waiting or being sent; more are tail-dropped
    Probability loss;                   // a frame vanishes on the wire (after using its bandwidth)
    Probability duplicate;              // a frame arrives twice
    Probability reorder;                // a frame is held back reorder_delay longer, so that
    runtime::Duration reorder_delay = std::chrono::milliseconds(1);  // later frames overtake it
    // One bit flipped past the Ethernet header: damage the FCS does not catch (a faulty
    // middlebox), left for the IP, UDP and TCP checksums to find.
    Probability corrupt;

    // How long a frame of `bytes` occupies the wire: rounded up to a whole nanosecond.
    [[nodiscard]] runtime::Duration serialization_time(std::size_t bytes) const;
};

struct LinkConfig {
    DirectionConfig a_to_b;
    DirectionConfig b_to_a;
    static LinkConfig symmetric(const DirectionConfig& both) { return {both, both}; }
};

// Per direction. Every frame sent ends up counted exactly once among the drops, the
// deliveries and what is still in flight: see balanced().
struct LinkCounters {
    std::uint64_t sent = 0;  // frames the sending device put on the link
    std::uint64_t sent_bytes = 0;
    std::uint64_t queue_drops = 0;  // tail-dropped: the queue was full
    std::uint64_t lost = 0;         // random loss
    std::uint64_t filtered = 0;     // dropped by the drop predicate
    std::uint64_t duplicated = 0;   // extra copies made (each is delivered too)
    std::uint64_t reordered = 0;    // frames held back by reorder_delay
    std::uint64_t corrupted = 0;    // frames with a bit flipped (delivered all the same)
    std::uint64_t delivered = 0;    // frames handed to the receiving device, copies included
    std::uint64_t delivered_bytes = 0;
    std::uint64_t out_of_order = 0;  // delivered after a frame that was sent later
    std::uint64_t rx_dropped = 0;    // arrived, but the receiving device had no buffer for it
    std::uint64_t in_flight = 0;     // on their way (copies included)
    std::uint64_t max_queue = 0;     // the deepest the queue has been

    [[nodiscard]] bool balanced() const {
        return sent + duplicated == queue_drops + lost + filtered + delivered + rx_dropped + in_flight;
    }
    LinkCounters& operator+=(const LinkCounters& other);
    bool operator==(const LinkCounters&) const = default;
};

// A frame as the drop predicate and the trace see it.
struct FrameView {
    Direction direction;
    std::uint64_t sequence;            // per direction, from 0, in the order sent (a copy keeps it)
    runtime::Instant time;             // when it was sent (predicate), or when the event happened
    std::span<const std::byte> bytes;  // the Ethernet frame, without FCS
};

// What happened to a frame. Sent means it got into the queue; HeldBack that it will
// arrive reorder_delay late; Corrupted comes with the damaged bytes; every copy of a frame has its own Delivered or
// RxDropped.
enum class TraceKind : std::uint8_t {
    Sent,
    QueueDrop,
    Filtered,
    Lost,
    HeldBack,
    Corrupted,
    Duplicated,
    Delivered,
    RxDropped,
};
const char* to_string(TraceKind kind);

struct TraceEvent {
    TraceKind kind;
    FrameView frame;
};

class SimLink;

// One end of the link: a netif::NetworkDevice with its own buffer pool. transmit() queues
// (up to k_tx_ring frames, like a NIC's ring; more are dropped and counted in
// stats().tx_dropped) and flush() hands the batch to the link.
class SimEndpoint final : public netif::NetworkDevice {
public:
    static constexpr std::size_t k_buffer_size = 2048;
    static constexpr std::size_t k_headroom = 128;
    static constexpr std::size_t k_tx_ring = 256;

    SimEndpoint(SimLink& link, Direction outgoing, netif::MacAddress mac, std::size_t buffers);
    SimEndpoint(const SimEndpoint&) = delete;
    SimEndpoint& operator=(const SimEndpoint&) = delete;
    ~SimEndpoint();

    [[nodiscard]] netif::MacAddress mac() const override { return m_mac; }
    [[nodiscard]] netif::DeviceCapabilities capabilities() const override { return m_capabilities; }
    [[nodiscard]] bool link_up() const override { return true; }
    netif::PacketBuffer* receive() override;
    bool transmit(netif::PacketBuffer* frame) override;
    void flush() override;
    netif::PacketBuffer* allocate_tx_buffer() override;
    netif::PacketBuffer* allocate_tso_buffer() override;

    // Offers checksum offload and TCP segmentation offload as a NIC would: frames that ask
    // for them are completed and cut (net/tcp_segmentation.hpp) on their way to the link.
    // TSO sends use a few large buffers of their own (k_tso_buffers by default; with 0, TSO
    // is offered but no large buffer is ever free, as when a NIC's are all in flight).
    static constexpr std::size_t k_tso_buffers = 8;
    static constexpr std::size_t k_tso_packet = 65535;
    void enable_offloads(std::size_t tso_buffers = k_tso_buffers);
    // TSO sends the endpoint cut, and the frames it made of them.
    [[nodiscard]] std::uint64_t tso_sends() const { return m_tso_sends; }
    [[nodiscard]] std::uint64_t tso_frames() const { return m_tso_frames; }
    [[nodiscard]] const netif::DeviceStats& stats() const override { return m_stats; }
    void set_receive_hook(void (*hook)(void* context), void* context) override;

    [[nodiscard]] const netif::BufferPool& pool() const { return *m_pool; }
    // Frames received and not yet taken by receive().
    [[nodiscard]] std::size_t rx_pending() const { return m_rx_count; }

private:
    friend class SimLink;
    // A frame arrives from the link; false if it had to be dropped (counted).
    bool arrive(std::span<const std::byte> bytes);

    SimLink& m_link;
    Direction m_outgoing;
    netif::MacAddress m_mac;
    std::vector<std::byte> m_memory;
    std::unique_ptr<netif::BufferPool> m_pool;
    netif::DeviceCapabilities m_capabilities;
    std::vector<std::byte> m_tso_memory;
    std::unique_ptr<netif::BufferPool> m_tso_pool;
    std::vector<std::byte> m_scratch;
    std::uint64_t m_tso_sends = 0;
    std::uint64_t m_tso_frames = 0;
    netif::PacketBuffer* m_rx_head = nullptr;  // intrusive FIFOs through netif::PacketBuffer::next
    netif::PacketBuffer* m_rx_tail = nullptr;
    std::size_t m_rx_count = 0;
    netif::PacketBuffer* m_tx_head = nullptr;
    netif::PacketBuffer* m_tx_tail = nullptr;
    std::size_t m_tx_count = 0;
    void (*m_hook)(void*) = nullptr;
    void* m_hook_context = nullptr;
    netif::DeviceStats m_stats;
};

class SimLink {
public:
    using DropPredicate = std::function<bool(const FrameView&)>;
    using TraceHook = std::function<void(const TraceEvent&)>;

    static constexpr netif::MacAddress k_mac_a{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0A}};
    static constexpr netif::MacAddress k_mac_b{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0B}};

    // Each endpoint gets a pool of buffers_per_endpoint buffers of 2 KiB.
    SimLink(test::FakePlatform& platform, std::uint64_t seed, const LinkConfig& config,
            std::size_t buffers_per_endpoint = 512);
    SimLink(const SimLink&) = delete;
    SimLink& operator=(const SimLink&) = delete;
    ~SimLink();

    SimEndpoint& a() { return m_a; }
    SimEndpoint& b() { return m_b; }
    // The endpoint that sends in direction d.
    SimEndpoint& sender(Direction d) { return d == Direction::AToB ? m_a : m_b; }

    [[nodiscard]] const DirectionConfig& config(Direction d) const { return m_lanes[index(d)].config; }
    // Takes effect for frames sent from now on; frames on their way keep their times.
    void set_config(Direction d, const DirectionConfig& config) { m_lanes[index(d)].config = config; }
    [[nodiscard]] const LinkCounters& counters(Direction d) const { return m_lanes[index(d)].counters; }
    [[nodiscard]] LinkCounters total() const;

    // Frames for which predicate says true are dropped on the wire (after using their
    // bandwidth) and counted as filtered. An empty function drops nothing.
    void drop_if(Direction d, DropPredicate predicate) { m_lanes[index(d)].drop = std::move(predicate); }
    // Called for everything that happens to a frame, in virtual-time order.
    void on_trace(TraceHook hook) { m_trace = std::move(hook); }

    [[nodiscard]] runtime::Instant now() const { return m_platform.now(); }

private:
    friend class SimEndpoint;
    struct Lane {
        DirectionConfig config;
        Random random;
        LinkCounters counters;
        std::deque<runtime::Instant> queue;  // when each queued frame is fully on the wire
        runtime::Instant wire_free_at;       // when the last queued frame is
        std::uint64_t next_sequence = 0;
        std::uint64_t highest_delivered = 0;
        bool delivered_any = false;
        DropPredicate drop;
    };
    struct InFlight {
        Direction direction;
        std::uint64_t sequence;
        std::vector<std::byte> bytes;
    };

    // From an endpoint's flush(): the frame enters the link now.
    void send(Direction d, std::span<const std::byte> bytes);
    void schedule(Direction d, std::uint64_t sequence, std::span<const std::byte> bytes, runtime::Instant at);
    void arrive(std::uint64_t id);
    void trace(TraceKind kind, Direction d, std::uint64_t sequence, std::span<const std::byte> bytes);

    test::FakePlatform& m_platform;
    std::array<Lane, 2> m_lanes;
    SimEndpoint m_a;
    SimEndpoint m_b;
    std::map<std::uint64_t, InFlight> m_in_flight;  // by id, for the platform's callbacks
    std::uint64_t m_next_id = 0;
    TraceHook m_trace;
    // The platform's scheduled callbacks hold a weak reference: a link destroyed before
    // its frames arrive is not touched.
    std::shared_ptr<SimLink*> m_self;
};

}  // namespace sim
