#include "virtio/virtqueue.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace virtio {

namespace {

constexpr std::uint16_t k_default_indirect_tables = 64;
constexpr std::uint16_t k_default_indirect_table_size = 16;
// §2.7.5.2: a chain may not describe more than 2^32 bytes.
constexpr std::uint64_t k_max_chain_bytes = std::uint64_t{1} << 32;

// Fields the device also touches go through atomic_ref: exactly one access of the full
// width each time, which the compiler may not split, repeat or merge. A value read from
// the device is read once, so the value checked is the value used.
template <typename T>
T load_relaxed(T& field) {
    return std::atomic_ref<T>(field).load(std::memory_order_relaxed);
}
template <typename T>
T load_acquire(T& field) {
    return std::atomic_ref<T>(field).load(std::memory_order_acquire);
}
template <typename T>
void store_relaxed(T& field, T value) {
    std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}
template <typename T>
void store_release(T& field, T value) {
    std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

// A full (store-load) barrier: orders an earlier store to the rings before a later load
// from them, which release and acquire cannot do. Clang makes it MFENCE on x86-64 (even
// with -mno-sse2); the KVM of our development hosts runs that in ring 0 (checked with a
// test image, unlike the SSE arithmetic docs/kvm-on-this-host.md warns about).
// A platform may add to it (set_ring_fence).
RingFence g_ring_fence = nullptr;
void full_fence() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (g_ring_fence != nullptr) g_ring_fence();
}

// a is at or after b, in 16-bit ring arithmetic.
bool at_or_after(std::uint16_t a, std::uint16_t b) { return static_cast<std::uint16_t>(a - b) < 0x8000; }

template <typename T>
T* at(const DmaBuffer& buffer, std::size_t offset) {
    return reinterpret_cast<T*>(buffer.cpu() + offset);
}

}  // namespace

void set_ring_fence(RingFence fence) { g_ring_fence = fence; }

const char* to_string(QueueError error) {
    switch (error) {
        case QueueError::BadSize: return "queue size is not a power of two in 1..32768";
        case QueueError::BadConfig: return "indirect table settings cannot work with this queue size";
        case QueueError::OutOfMemory: return "out of memory for the virtqueue";
        case QueueError::NoSegments: return "a buffer without segments";
        case QueueError::EmptySegment: return "a segment of length 0";
        case QueueError::ChainTooLong: return "too many segments or bytes for one descriptor chain";
        case QueueError::NotEnoughDescriptors: return "not enough free descriptors";
        case QueueError::UsedIdOutOfRange: return "device returned a used id beyond the queue size";
        case QueueError::UsedIdNotInUse: return "device returned a used id that it does not hold";
        case QueueError::UsedLengthTooLong: return "device reported more bytes written than the buffer holds";
        case QueueError::UsedIndexJump: return "device moved the used index past the buffers it was given";
        case QueueError::Broken: return "the virtqueue is broken by an earlier device error";
    }
    return "unknown virtqueue error";
}

kernel::Result<Virtqueue, QueueError> Virtqueue::create(DmaAllocator& dma, const VirtqueueConfig& config) {
    if (!is_valid_split_queue_size(config.size)) return kernel::err(QueueError::BadSize);
    Virtqueue queue;
    queue.m_size = config.size;
    queue.m_layout = config.layout;
    queue.m_event_idx = config.event_idx;

    // A one-descriptor table would gain nothing, and no chain may be longer than the queue
    // (§2.7.5.3.1), so a queue of 1 has no use for indirect tables.
    bool defaults = config.indirect_tables == 0 && config.indirect_table_size == 0;
    if (config.indirect && !(defaults && config.size < 2)) {
        std::uint16_t tables =
            config.indirect_tables != 0 ? config.indirect_tables : std::min(config.size, k_default_indirect_tables);
        std::uint16_t table_size = config.indirect_table_size != 0
                                       ? config.indirect_table_size
                                       : std::min(config.size, k_default_indirect_table_size);
        // More tables than descriptors could never all be in use.
        if (table_size < 2 || table_size > config.size || tables > config.size)
            return kernel::err(QueueError::BadConfig);
        queue.m_indirect_count = tables;
        queue.m_indirect_size = table_size;
        queue.m_indirect_threshold = config.indirect_threshold;
    }

    queue.m_offsets = ring_offsets(config.size, config.layout);
    // Page-aligned in both layouts: the legacy interface takes a page number (§2.7.2), and
    // nothing else shares the pages the device writes.
    auto ring = DmaBuffer::allocate(dma, queue.m_offsets.total, k_legacy_queue_align);
    if (!ring) return kernel::err(QueueError::OutOfMemory);
    queue.m_ring = ring.release_value();
    if (queue.m_indirect_count > 0) {
        std::size_t bytes = std::size_t{queue.m_indirect_count} * queue.m_indirect_size * sizeof(VirtqDesc);
        auto tables = DmaBuffer::allocate(dma, bytes, alignof(VirtqDesc));
        if (!tables) return kernel::err(QueueError::OutOfMemory);
        queue.m_tables = tables.release_value();
    }
    queue.m_chains = detail::HeapArray<ChainState>::make(config.size);
    queue.m_next = detail::HeapArray<std::uint16_t>::make(config.size);
    queue.m_free_tables = detail::HeapArray<std::uint16_t>::make(queue.m_indirect_count);
    if (!queue.m_chains.valid() || !queue.m_next.valid() || !queue.m_free_tables.valid())
        return kernel::err(QueueError::OutOfMemory);

    // §2.7.6 and §2.7.8: the event fields sit right after each ring.
    queue.m_desc = at<VirtqDesc>(queue.m_ring, queue.m_offsets.descriptors);
    queue.m_avail = at<VirtqAvailHeader>(queue.m_ring, queue.m_offsets.avail);
    queue.m_avail_ring = at<std::uint16_t>(queue.m_ring, queue.m_offsets.avail + sizeof(VirtqAvailHeader));
    queue.m_used_event = queue.m_avail_ring + config.size;
    queue.m_used = at<VirtqUsedHeader>(queue.m_ring, queue.m_offsets.used);
    queue.m_used_ring = at<VirtqUsedElem>(queue.m_ring, queue.m_offsets.used + sizeof(VirtqUsedHeader));
    queue.m_avail_event = at<std::uint16_t>(
        queue.m_ring, queue.m_offsets.used + sizeof(VirtqUsedHeader) + sizeof(VirtqUsedElem) * config.size);
    queue.initialise_rings();
    return queue;
}

void Virtqueue::initialise_rings() {
    // Zero: no flags, indices 0, used_event 0 (§2.7.10 asks for used->flags 0).
    std::memset(m_ring.cpu(), 0, m_ring.size());
    for (std::uint32_t i = 0; i < m_size; ++i) {
        m_next[i] = static_cast<std::uint16_t>(i + 1 < m_size ? i + 1 : 0);
        m_chains[i] = ChainState{};
    }
    m_free_head = 0;
    m_free_count = m_size;
    for (std::uint16_t i = 0; i < m_indirect_count; ++i) m_free_tables[i] = i;
    m_free_table_count = m_indirect_count;
    m_in_flight = 0;
    m_avail_next = m_avail_published = m_kick_base = 0;
    m_unkicked = 0;
    m_last_used = m_used_seen = 0;
    m_interrupts = InterruptMode::Enabled;
    m_event_written = 0;
    m_delayed_event = 0;
    m_detach_cursor = 0;
    m_broken.reset();
}

void Virtqueue::reset() { initialise_rings(); }

// --- Giving buffers to the device --------------------------------------------------------

kernel::Result<void, QueueError> Virtqueue::add_buffer(std::span<const Segment> readable,
                                                       std::span<const Segment> writable, Token token) {
    auto reject = [this](QueueError error) {
        ++m_stats.rejected;
        return kernel::err(error);
    };
    if (m_broken) return reject(QueueError::Broken);
    std::size_t segments = readable.size() + writable.size();
    if (segments == 0) return reject(QueueError::NoSegments);
    if (segments > m_size) return reject(QueueError::ChainTooLong);
    std::uint64_t total = 0;
    std::uint64_t writable_bytes = 0;
    for (const Segment& segment : readable) {
        if (segment.length == 0) return reject(QueueError::EmptySegment);
        total += segment.length;
    }
    for (const Segment& segment : writable) {
        if (segment.length == 0) return reject(QueueError::EmptySegment);
        writable_bytes += segment.length;
    }
    total += writable_bytes;
    if (total > k_max_chain_bytes) return reject(QueueError::ChainTooLong);

    bool indirect = should_go_indirect(segments);
    if (m_free_count == 0 || (!indirect && segments > m_free_count)) return reject(QueueError::NotEnoughDescriptors);
    std::uint16_t head = indirect ? write_indirect(readable, writable) : write_direct(readable, writable);

    ChainState& chain = m_chains[head];
    chain.token = token;
    chain.writable_bytes = writable_bytes;
    chain.in_use = true;
    // §2.7.13.2. The slot is free: fewer than `size` buffers are in flight, and the
    // device reads the ring in order, so it has read the entry this one replaces.
    m_avail_ring[m_avail_next & (m_size - 1)] = head;
    ++m_avail_next;
    ++m_in_flight;
    ++m_stats.added;
    return {};
}

bool Virtqueue::should_go_indirect(std::size_t segments) const {
    if (m_free_table_count == 0 || segments < 2 || segments > m_indirect_size) return false;
    return segments > m_indirect_threshold || segments > m_free_count;
}

// §2.7.13.1: takes the descriptors off the free list in its order; the list's links are
// the chain's links, so freeing the chain later puts it back in one step.
std::uint16_t Virtqueue::write_direct(std::span<const Segment> readable, std::span<const Segment> writable) {
    std::size_t count = readable.size() + writable.size();
    std::uint16_t head = m_free_head;
    std::uint16_t index = head;
    std::uint16_t last = head;
    for (std::size_t i = 0; i < count; ++i) {
        bool device_writes = i >= readable.size();
        const Segment& segment = device_writes ? writable[i - readable.size()] : readable[i];
        bool more = i + 1 < count;
        std::uint16_t flags =
            static_cast<std::uint16_t>((device_writes ? k_desc_f_write : 0) | (more ? k_desc_f_next : 0));
        m_desc[index] =
            VirtqDesc{segment.device_address, segment.length, flags, more ? m_next[index] : std::uint16_t{0}};
        last = index;
        index = m_next[index];
    }
    m_free_head = index;
    m_free_count = static_cast<std::uint16_t>(m_free_count - count);
    ChainState& chain = m_chains[head];
    chain.last = last;
    chain.descriptors = static_cast<std::uint16_t>(count);
    chain.table = k_no_table;
    return head;
}

// §2.7.5.3: the whole chain in a table of its own, one descriptor in the ring pointing at
// it with VIRTQ_DESC_F_INDIRECT alone (never with NEXT or WRITE).
std::uint16_t Virtqueue::write_indirect(std::span<const Segment> readable, std::span<const Segment> writable) {
    std::size_t count = readable.size() + writable.size();
    std::uint16_t table = m_free_tables[--m_free_table_count];
    std::size_t table_offset = std::size_t{table} * m_indirect_size * sizeof(VirtqDesc);
    VirtqDesc* entries = at<VirtqDesc>(m_tables, table_offset);
    for (std::size_t i = 0; i < count; ++i) {
        bool device_writes = i >= readable.size();
        const Segment& segment = device_writes ? writable[i - readable.size()] : readable[i];
        bool more = i + 1 < count;
        std::uint16_t flags =
            static_cast<std::uint16_t>((device_writes ? k_desc_f_write : 0) | (more ? k_desc_f_next : 0));
        entries[i] =
            VirtqDesc{segment.device_address, segment.length, flags, static_cast<std::uint16_t>(more ? i + 1 : 0)};
    }
    std::uint16_t head = m_free_head;
    m_free_head = m_next[head];
    --m_free_count;
    m_desc[head] = VirtqDesc{m_tables.device_address_at(table_offset),
                             static_cast<std::uint32_t>(count * sizeof(VirtqDesc)), k_desc_f_indirect, 0};
    ChainState& chain = m_chains[head];
    chain.last = head;
    chain.descriptors = 1;
    chain.table = table;
    ++m_stats.indirect;
    return head;
}

void Virtqueue::publish() {
    if (m_avail_next == m_avail_published) return;
    // §2.7.13.3: the release orders every descriptor and ring entry written before it.
    store_release(m_avail->idx, m_avail_next);
    m_unkicked += static_cast<std::uint16_t>(m_avail_next - m_avail_published);
    m_avail_published = m_avail_next;
    ++m_stats.publishes;
}

bool Virtqueue::kick_needed() {
    publish();
    if (m_unkicked == 0) return false;
    // §2.7.13.4: the idx store must be visible before we read what the device asked for,
    // or the device could go to sleep on the old idx while we skip the notification.
    full_fence();
    bool needed = false;
    if (!m_event_idx) {
        needed = (load_relaxed(m_used->flags) & k_used_f_no_notify) == 0;
    } else if (m_unkicked >= 0x10000) {
        needed = true;  // the 16-bit window cannot tell whether avail_event was passed
    } else {
        needed = need_event(load_relaxed(*m_avail_event), m_avail_published, m_kick_base);
    }
    m_kick_base = m_avail_published;
    m_unkicked = 0;
    ++(needed ? m_stats.notifications : m_stats.notifications_suppressed);
    return needed;
}

// --- Taking buffers back -------------------------------------------------------------------

kernel::Err<QueueError> Virtqueue::fail(QueueError error) {
    if (!m_broken) m_broken = error;
    ++m_stats.device_errors;
    return kernel::err(error);
}

bool Virtqueue::refresh_used_index() {
    // §2.7.14: acquire, so the entries up to idx are read after idx is.
    std::uint16_t index = load_acquire(m_used->idx);
    // The device can only return what it was given: buffers published and not yet taken
    // back. Anything further (or an index that went backwards) is a broken device.
    auto arrived = static_cast<std::uint16_t>(index - m_last_used);
    auto outstanding = static_cast<std::uint16_t>(m_avail_published - m_last_used);
    if (arrived > outstanding) {
        (void)fail(QueueError::UsedIndexJump);
        return false;
    }
    m_used_seen = index;
    return true;
}

kernel::Result<std::optional<Virtqueue::Completion>, QueueError> Virtqueue::get_used() {
    using Maybe = std::optional<Completion>;
    if (m_broken) return kernel::err(QueueError::Broken);
    if (m_last_used == m_used_seen) {
        if (!refresh_used_index()) return kernel::err(*m_broken);
        if (m_last_used == m_used_seen) {
            // Empty. With EVENT_IDX the device only interrupts when it writes the entry
            // at used_event, so before saying "nothing" move used_event up to here, then
            // look once more: the device may have written an entry before it could see
            // the new used_event (§2.7.7, §2.7.14's note).
            if (!m_event_idx || m_interrupts == InterruptMode::Disabled) return Maybe{};
            std::uint16_t target = m_last_used;
            if (m_interrupts == InterruptMode::Delayed && at_or_after(m_delayed_event, m_last_used))
                target = m_delayed_event;
            else
                m_interrupts = InterruptMode::Enabled;
            if (!write_interrupt_request(target)) return Maybe{};
            full_fence();
            if (!refresh_used_index()) return kernel::err(*m_broken);
            if (m_last_used == m_used_seen) return Maybe{};
        }
    }

    VirtqUsedElem& element = m_used_ring[m_last_used & (m_size - 1)];
    std::uint32_t id = load_relaxed(element.id);
    std::uint32_t length = load_relaxed(element.length);
    if (id >= m_size) return fail(QueueError::UsedIdOutOfRange);
    ChainState& chain = m_chains[id];
    if (!chain.in_use) return fail(QueueError::UsedIdNotInUse);
    // §2.7.8: len counts bytes written into the buffer, so it cannot exceed the
    // device-writable part; trusting a larger one would let a reader run past the buffer.
    if (length > chain.writable_bytes) return fail(QueueError::UsedLengthTooLong);
    Token token = chain.token;
    free_chain(static_cast<std::uint16_t>(id));
    ++m_last_used;
    ++m_stats.completed;
    return Maybe{Completion{token, length}};
}

bool Virtqueue::has_used() {
    if (m_broken || m_last_used != m_used_seen) return true;
    if (!refresh_used_index()) return true;  // get_used() reports the error
    return m_last_used != m_used_seen;
}

void Virtqueue::free_chain(std::uint16_t head) {
    ChainState& chain = m_chains[head];
    // The chain's own links (m_next, never the device-visible table) lead from head to
    // last, so the whole chain goes back on the free list at once.
    m_next[chain.last] = m_free_head;
    m_free_head = head;
    m_free_count = static_cast<std::uint16_t>(m_free_count + chain.descriptors);
    if (chain.table != k_no_table) m_free_tables[m_free_table_count++] = chain.table;
    chain = ChainState{};
    --m_in_flight;
}

// --- Used buffer notifications (§2.7.7) ----------------------------------------------------

bool Virtqueue::write_interrupt_request(std::uint16_t used_event) {
    if (m_event_idx) {
        // §2.7.7: with EVENT_IDX the driver keeps avail->flags 0 and speaks through used_event.
        if (used_event == m_event_written) return false;
        store_relaxed(*m_used_event, used_event);
        m_event_written = used_event;
        return true;
    }
    auto flags = static_cast<std::uint16_t>(m_interrupts == InterruptMode::Disabled ? k_avail_f_no_interrupt : 0);
    if (load_relaxed(m_avail->flags) == flags) return false;
    store_relaxed(m_avail->flags, flags);
    return true;
}

void Virtqueue::disable_interrupts() {
    m_interrupts = InterruptMode::Disabled;
    // With EVENT_IDX: an event index just behind what we have taken, which the device
    // reaches only after wrapping all 2^16 indices (at worst one spurious interrupt then).
    (void)write_interrupt_request(static_cast<std::uint16_t>(m_last_used - 1));
}

bool Virtqueue::enable_interrupts() {
    m_interrupts = InterruptMode::Enabled;
    (void)write_interrupt_request(m_last_used);
    // The device may have used a buffer before it could see the request; re-check after
    // a full fence (store then load), as in §2.7.14's note.
    full_fence();
    return has_used();
}

bool Virtqueue::enable_interrupts_after(std::uint16_t count) {
    if (!m_event_idx) return enable_interrupts();
    // Never ask for more than the device holds, or the interrupt would never come.
    auto outstanding = static_cast<std::uint16_t>(m_avail_published - m_last_used);
    count = std::clamp<std::uint16_t>(count, 1, std::max<std::uint16_t>(outstanding, 1));
    m_interrupts = InterruptMode::Delayed;
    m_delayed_event = static_cast<std::uint16_t>(m_last_used + count - 1);
    (void)write_interrupt_request(m_delayed_event);
    full_fence();
    if (m_broken || !refresh_used_index()) return true;
    // If the device already wrote the entry at the event index, the interrupt for it may
    // have been decided before our request: the caller must look now.
    return static_cast<std::uint16_t>(m_used_seen - m_last_used) >= count;
}

// --- After a device reset ------------------------------------------------------------------

std::optional<Virtqueue::Token> Virtqueue::detach_unused() {
    for (std::uint32_t i = 0; i < m_size; ++i) {
        auto head = static_cast<std::uint16_t>((m_detach_cursor + i) & (m_size - 1));
        if (!m_chains[head].in_use) continue;
        Token token = m_chains[head].token;
        free_chain(head);
        m_detach_cursor = static_cast<std::uint16_t>(head + 1);
        return token;
    }
    return std::nullopt;
}

}  // namespace virtio
