#pragma once
// The driver's side of a split virtqueue (virtio 1.2 §2.7), independent of the transport.
//
//     auto queue = TRY(virtio::Virtqueue::create(dma, {.size = 256, .event_idx = true}));
//     // transport: tell the device descriptor_area(), driver_area(), device_area() (or,
//     // legacy, ring_address() >> 12), enable the queue.
//     TRY(queue.add_buffer(readable, writable, token));   // any number of times: a batch
//     if (queue.kick_needed()) transport.notify(queue_index);
//     ...
//     while (auto done = TRY(queue.get_used())) release(done->token, done->length);
//
// The transport owns the registers and the notification; this class owns the rings and
// decides when a notification is due. Every value the device writes (used ids, lengths,
// the used index) is checked before use: a device that breaks the rules gets a clear
// error, the queue stops (is_broken()), and nothing is read or written out of bounds.
//
// Memory ordering (§2.7.13, §2.7.14): descriptors and ring entries are published with a
// release store of avail->idx; used entries are read after an acquire load of used->idx;
// a full fence (std::atomic_thread_fence(seq_cst), MFENCE) orders our index or event
// stores before the loads that decide a notification, so that neither side can miss the
// other's update.
//
// One owner, one vCPU: the methods are not safe to call concurrently with each other.
// No allocation after create().

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <span>
#include <utility>

#include "kernel/result.hpp"
#include "virtio/dma.hpp"
#include "virtio/virtqueue_layout.hpp"

namespace virtio {

// The store-load barrier of the notification protocol (§2.7.13.3, §2.7.13.4): a ring index
// written, then the other side's event index read. It is always a CPU fence; a platform
// whose device emulation needs more adds its own here. The kernel does under QEMU's TCG,
// which (before QEMU 8.1) drops guest fences when it runs one vCPU although its device
// emulation runs in other host threads: a notification or an interrupt was then lost now
// and then, and a queue stalled for good (virtio/pci_driver.cpp).
using RingFence = void (*)();
void set_ring_fence(RingFence fence);

enum class QueueError {
    // create()
    BadSize,      // not a power of two in 1..32768 (§2.7)
    BadConfig,    // indirect table settings that cannot work
    OutOfMemory,  // DMA or heap memory for the rings and bookkeeping
    // add_buffer()
    NoSegments,            // a buffer needs at least one segment (§2.7.13.1)
    EmptySegment,          // a segment of length 0
    ChainTooLong,          // more segments than any descriptor chain may hold, or over 2^32 bytes (§2.7.5.2)
    NotEnoughDescriptors,  // try again after get_used() returns some
    // Device misbehaviour: the queue is broken from then on.
    UsedIdOutOfRange,   // used id >= queue size
    UsedIdNotInUse,     // used id is not the head of a chain the device holds
    UsedLengthTooLong,  // used length > the chain's device-writable bytes
    UsedIndexJump,      // used idx moved past the buffers the device was given (or backwards)
    Broken,             // an earlier device error broke the queue; reset the device and the queue
};
const char* to_string(QueueError error);

// One physically contiguous piece of a buffer, as the device addresses it.
struct Segment {
    std::uint64_t device_address = 0;
    std::uint32_t length = 0;
};

struct VirtqueueConfig {
    std::uint16_t size = 0;  // Queue Size: a power of two, at most what the device offers
    RingLayout layout = RingLayout::Modern;
    bool event_idx = false;  // VIRTIO_F_EVENT_IDX was negotiated (§2.7.7, §2.7.10)
    bool indirect = false;   // VIRTIO_F_INDIRECT_DESC was negotiated (§2.7.5.3)
    // Indirect tables, all allocated by create(): how many, and descriptors in each.
    // 0 means the default: min(size, 64) tables of min(size, 16) descriptors.
    std::uint16_t indirect_tables = 0;
    std::uint16_t indirect_table_size = 0;
    // Chains of more segments than this go into an indirect table (when one is free);
    // shorter chains go indirect only when the ring is short of free descriptors.
    std::uint16_t indirect_threshold = 2;
};

struct VirtqueueStats {
    std::uint64_t added = 0;                     // buffers accepted by add_buffer()
    std::uint64_t completed = 0;                 // buffers returned by get_used()
    std::uint64_t indirect = 0;                  // buffers that went into an indirect table
    std::uint64_t rejected = 0;                  // add_buffer() calls that failed
    std::uint64_t publishes = 0;                 // avail->idx stores (one per batch)
    std::uint64_t notifications = 0;             // kick_needed() said yes
    std::uint64_t notifications_suppressed = 0;  // kick_needed() said no: the device did not ask
    std::uint64_t device_errors = 0;             // misbehaviour seen (the first breaks the queue)
};

namespace detail {

// An array from the heap, taken by create() and given back by the destructor. The
// driver's own bookkeeping lives here, away from memory the device can write.
template <typename T>
class HeapArray {
public:
    HeapArray() = default;
    static HeapArray make(std::size_t count) {
        HeapArray array;
        array.m_data = new (std::nothrow) T[count == 0 ? 1 : count]();
        return array;
    }
    HeapArray(HeapArray&& other) noexcept : m_data(std::exchange(other.m_data, nullptr)) {}
    HeapArray& operator=(HeapArray&& other) noexcept {
        if (this != &other) {
            delete[] m_data;
            m_data = std::exchange(other.m_data, nullptr);
        }
        return *this;
    }
    HeapArray(const HeapArray&) = delete;
    HeapArray& operator=(const HeapArray&) = delete;
    ~HeapArray() { delete[] m_data; }

    [[nodiscard]] bool valid() const { return m_data != nullptr; }
    T& operator[](std::size_t index) { return m_data[index]; }
    const T& operator[](std::size_t index) const { return m_data[index]; }

private:
    T* m_data = nullptr;
};

}  // namespace detail

class Virtqueue {
public:
    // Given with a buffer and handed back when the device returns it: an index into the
    // driver's pool, or a pointer (std::bit_cast<std::uint64_t>(pointer)).
    using Token = std::uint64_t;

    struct Completion {
        Token token = 0;
        std::uint32_t length = 0;  // bytes the device wrote, checked against the writable segments
    };

    // Allocates the rings (zeroed: flags 0 as §2.7.10 asks, indices 0) and the indirect
    // tables from `dma`, and the bookkeeping from the heap. `dma` must outlive the queue.
    static kernel::Result<Virtqueue, QueueError> create(DmaAllocator& dma, const VirtqueueConfig& config);

    // Moving keeps the rings where they are (the device may hold their addresses).
    Virtqueue(Virtqueue&& other) noexcept = default;
    Virtqueue& operator=(Virtqueue&&) = delete;
    Virtqueue(const Virtqueue&) = delete;
    Virtqueue& operator=(const Virtqueue&) = delete;
    ~Virtqueue() = default;

    // --- For the transport ---------------------------------------------------------------
    [[nodiscard]] std::uint16_t size() const { return m_size; }
    // Device addresses of the three parts (virtio 1.x: queue_desc, queue_driver, queue_device).
    [[nodiscard]] std::uint64_t descriptor_area() const { return m_ring.device_address_at(m_offsets.descriptors); }
    [[nodiscard]] std::uint64_t driver_area() const { return m_ring.device_address_at(m_offsets.avail); }
    [[nodiscard]] std::uint64_t device_area() const { return m_ring.device_address_at(m_offsets.used); }
    // The start of the whole block, 4096-aligned: with RingLayout::Legacy, the legacy
    // interface's queue address is this >> 12 (§2.7.2).
    [[nodiscard]] std::uint64_t ring_address() const { return m_ring.device_address(); }
    [[nodiscard]] const DmaRegion& ring_memory() const { return m_ring.region(); }
    [[nodiscard]] RingLayout layout() const { return m_layout; }

    // --- Giving buffers to the device (§2.7.13) ------------------------------------------
    // Writes one buffer's descriptor chain (device-readable segments first, then the
    // device-writable ones, §2.7.4) and its avail ring entry. The device does not see it
    // until publish() or kick_needed(). Fails without side effects.
    kernel::Result<void, QueueError> add_buffer(std::span<const Segment> readable, std::span<const Segment> writable,
                                                Token token);
    // Makes every buffer added since the last publish visible: one release store of
    // avail->idx for the whole batch (§2.7.13.3).
    void publish();
    // Publishes, then says whether the transport must notify the device of what was
    // published since the last call (§2.7.13.4, §2.7.10): with EVENT_IDX when the new
    // avail idx passed the device's avail_event, else unless the device set
    // VIRTQ_USED_F_NO_NOTIFY. The caller notifies when this returns true.
    [[nodiscard]] bool kick_needed();

    // --- Taking buffers back (§2.7.14) ---------------------------------------------------
    // The next buffer the device has finished with, nullopt when there is none, or an error
    // when the device wrote something impossible (the queue is then broken). With
    // interrupts enabled, nullopt also means the device has been asked (and re-checked,
    // §2.7.14's note) to interrupt for the next buffer; a caller that stops before nullopt
    // has no interrupt promised and must come back by itself.
    kernel::Result<std::optional<Completion>, QueueError> get_used();
    // True if get_used() has something (or an error) to return.
    [[nodiscard]] bool has_used();

    // --- Used buffer notifications (§2.7.7) ----------------------------------------------
    // Asks the device not to interrupt (for polling). Only a hint: spurious interrupts can
    // still come.
    void disable_interrupts();
    // Asks for an interrupt when the next buffer is used. Returns true if buffers arrived
    // before the request could take effect: the caller must poll again instead of waiting,
    // or it could wait forever (§2.7.14's note).
    [[nodiscard]] bool enable_interrupts();
    // With EVENT_IDX: asks for an interrupt only once `count` more buffers are used
    // (at most the buffers the device holds, so the interrupt does come). Returns true if
    // that many have already arrived. Without EVENT_IDX it is enable_interrupts().
    [[nodiscard]] bool enable_interrupts_after(std::uint16_t count);

    // --- State ---------------------------------------------------------------------------
    [[nodiscard]] std::uint16_t free_descriptors() const { return m_free_count; }
    // Buffers added and not yet returned by get_used().
    [[nodiscard]] std::uint32_t in_flight() const { return m_in_flight; }
    [[nodiscard]] bool is_broken() const { return m_broken.has_value(); }
    // The device error that broke the queue.
    [[nodiscard]] std::optional<QueueError> broken_reason() const { return m_broken; }
    [[nodiscard]] const VirtqueueStats& stats() const { return m_stats; }
    [[nodiscard]] bool event_idx() const { return m_event_idx; }
    [[nodiscard]] bool indirect() const { return m_indirect_count > 0; }

    // --- After a device reset ------------------------------------------------------------
    // Only once the device no longer uses the queue (it was reset, or never started):
    // hands back the token of one buffer still in flight, so its memory can be reused;
    // nullopt when none is left.
    std::optional<Token> detach_unused();
    // Back to the state create() left: zeroed rings, every descriptor free, not broken.
    // Buffers still in flight are forgotten (detach_unused() them first); stats() carry on.
    void reset();

private:
    static constexpr std::uint16_t k_no_table = 0xFFFF;

    // What the driver remembers about the chain headed by a descriptor.
    struct ChainState {
        Token token = 0;
        std::uint64_t writable_bytes = 0;  // the most the device may report as used length
        std::uint16_t last = 0;            // the chain's last descriptor in the table
        std::uint16_t descriptors = 0;     // table descriptors it holds (1 when indirect)
        std::uint16_t table = k_no_table;  // its indirect table
        bool in_use = false;
    };

    enum class InterruptMode : std::uint8_t { Enabled, Disabled, Delayed };

    Virtqueue() = default;

    [[nodiscard]] bool should_go_indirect(std::size_t segments) const;
    std::uint16_t write_direct(std::span<const Segment> readable, std::span<const Segment> writable);
    std::uint16_t write_indirect(std::span<const Segment> readable, std::span<const Segment> writable);
    void free_chain(std::uint16_t head);
    // Reads used->idx (acquire) and checks it; false and broken on an impossible value.
    bool refresh_used_index();
    kernel::Err<QueueError> fail(QueueError error);
    // Writes used_event or the avail flags for the current interrupt mode; true if it wrote.
    bool write_interrupt_request(std::uint16_t used_event);
    void initialise_rings();

    DmaBuffer m_ring;
    DmaBuffer m_tables;  // the indirect tables, one after another
    RingOffsets m_offsets;
    RingLayout m_layout = RingLayout::Modern;
    detail::HeapArray<ChainState> m_chains;          // [size], by head descriptor
    detail::HeapArray<std::uint16_t> m_next;         // [size], the next free descriptor
    detail::HeapArray<std::uint16_t> m_free_tables;  // [indirect tables], a stack

    // Views into m_ring.
    VirtqDesc* m_desc = nullptr;
    VirtqAvailHeader* m_avail = nullptr;
    std::uint16_t* m_avail_ring = nullptr;
    std::uint16_t* m_used_event = nullptr;
    VirtqUsedHeader* m_used = nullptr;
    VirtqUsedElem* m_used_ring = nullptr;
    std::uint16_t* m_avail_event = nullptr;

    std::uint16_t m_size = 0;
    bool m_event_idx = false;
    std::uint16_t m_indirect_count = 0;  // tables; 0 without VIRTIO_F_INDIRECT_DESC
    std::uint16_t m_indirect_size = 0;   // descriptors per table
    std::uint16_t m_indirect_threshold = 0;
    std::uint16_t m_free_table_count = 0;

    std::uint16_t m_free_head = 0;
    std::uint16_t m_free_count = 0;
    std::uint32_t m_in_flight = 0;

    std::uint16_t m_avail_next = 0;       // avail idx after the buffers added so far
    std::uint16_t m_avail_published = 0;  // what avail->idx holds
    std::uint16_t m_kick_base = 0;        // avail idx at the last kick decision
    std::uint32_t m_unkicked = 0;         // buffers published since then

    std::uint16_t m_last_used = 0;  // the next used entry to take
    std::uint16_t m_used_seen = 0;  // used->idx as last read (and checked)
    InterruptMode m_interrupts = InterruptMode::Enabled;
    std::uint16_t m_event_written = 0;  // last used_event written (EVENT_IDX)
    std::uint16_t m_delayed_event = 0;  // used_event asked for by enable_interrupts_after()
    std::uint16_t m_detach_cursor = 0;  // where detach_unused() looks next

    std::optional<QueueError> m_broken;
    VirtqueueStats m_stats;
};

}  // namespace virtio
