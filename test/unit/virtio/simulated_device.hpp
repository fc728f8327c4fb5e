#pragma once
// The device's side of a split virtqueue, for host tests: reads the rings the driver
// wrote (through device addresses only, translated by FakeDma), walks and checks each
// descriptor chain against the spec, returns buffers through the used ring, and decides
// on interrupts the way §2.7.7 tells a device to. Spec violations by the driver throw.
//
// It also misbehaves on request: raw writes of used entries and of the used index.

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "test/unit/virtio/fake_dma.hpp"
#include "virtio/virtqueue.hpp"

namespace test {

struct DeviceSegment {
    std::uint64_t address = 0;
    std::uint32_t length = 0;
    bool device_writes = false;
};

struct DeviceChain {
    std::uint16_t head = 0;
    bool indirect = false;  // the chain sat in an indirect table
    std::vector<DeviceSegment> segments;

    [[nodiscard]] std::uint32_t writable_bytes() const {
        std::uint32_t total = 0;
        for (const auto& s : segments)
            if (s.device_writes) total += s.length;
        return total;
    }
    [[nodiscard]] std::size_t readable_count() const {
        std::size_t count = 0;
        for (const auto& s : segments) count += s.device_writes ? 0 : 1;
        return count;
    }
};

struct DriverBug : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class SimulatedDevice {
public:
    SimulatedDevice(const FakeDma& dma, const virtio::Virtqueue& queue, bool event_idx)
        : m_dma(dma), m_size(queue.size()), m_event_idx(event_idx) {
        m_desc = reinterpret_cast<virtio::VirtqDesc*>(
            map(queue.descriptor_area(), virtio::descriptor_table_bytes(m_size), "descriptor table"));
        auto* avail = map(queue.driver_area(), virtio::avail_ring_bytes(m_size), "available ring");
        auto* used = map(queue.device_area(), virtio::used_ring_bytes(m_size), "used ring");
        m_avail = reinterpret_cast<virtio::VirtqAvailHeader*>(avail);
        m_avail_ring = reinterpret_cast<std::uint16_t*>(avail + 4);
        m_used = reinterpret_cast<virtio::VirtqUsedHeader*>(used);
        m_used_ring = reinterpret_cast<virtio::VirtqUsedElem*>(used + 4);
        check(queue.descriptor_area() % 16 == 0 && queue.driver_area() % 2 == 0 && queue.device_area() % 4 == 0,
              "ring parts misaligned (§2.7)");
    }

    // --- Available side ----------------------------------------------------------------
    [[nodiscard]] std::uint16_t avail_idx() const { return load(m_avail->idx, std::memory_order_acquire); }
    [[nodiscard]] std::uint16_t last_avail() const { return m_last_avail; }
    [[nodiscard]] std::uint16_t pending_avail() const { return static_cast<std::uint16_t>(avail_idx() - m_last_avail); }

    // The next chain the driver made available, or nullopt.
    std::optional<DeviceChain> pop() {
        std::uint16_t idx = avail_idx();
        if (idx == m_last_avail) return std::nullopt;
        check(static_cast<std::uint16_t>(idx - m_last_avail) <= m_size, "avail idx ran more than a queue ahead");
        std::uint16_t head = load(m_avail_ring[m_last_avail & (m_size - 1)]);
        ++m_last_avail;
        return walk(head);
    }
    std::vector<DeviceChain> pop_all() {
        std::vector<DeviceChain> chains;
        while (auto chain = pop()) chains.push_back(std::move(*chain));
        return chains;
    }

    // What the device tells the driver about notifications (§2.7.10).
    void set_no_notify(bool no_notify) {
        store(m_used->flags, static_cast<std::uint16_t>(no_notify ? virtio::k_used_f_no_notify : 0));
    }
    void set_avail_event(std::uint16_t event) { store(avail_event_field(), event); }

    // --- Used side ---------------------------------------------------------------------
    // Writes a used element; the driver sees it after publish_used().
    void push_used(std::uint32_t id, std::uint32_t length) {
        auto& element = m_used_ring[m_used_next & (m_size - 1)];
        store(element.id, id);
        store(element.length, length);
        ++m_used_next;
    }
    // Publishes the used idx and decides on an interrupt (§2.7.7). True if it interrupts.
    bool publish_used() {
        std::uint16_t old = m_used_published;
        if (old == m_used_next) return false;
        store(m_used->idx, m_used_next, std::memory_order_release);
        m_used_published = m_used_next;
        std::atomic_thread_fence(std::memory_order_seq_cst);
        bool interrupt = false;
        if (m_event_idx) {
            check(load(m_avail->flags) == 0, "driver set avail flags with EVENT_IDX (§2.7.7)");
            interrupt = virtio::need_event(load(used_event_field()), m_used_published, old);
        } else {
            interrupt = (load(m_avail->flags) & virtio::k_avail_f_no_interrupt) == 0;
        }
        ++(interrupt ? interrupts : interrupts_suppressed);
        return interrupt;
    }
    bool complete(const DeviceChain& chain, std::uint32_t length) {
        push_used(chain.head, length);
        return publish_used();
    }

    // --- Misbehaviour ------------------------------------------------------------------
    void write_used_element(std::uint16_t slot, std::uint32_t id, std::uint32_t length) {
        store(m_used_ring[slot & (m_size - 1)].id, id);
        store(m_used_ring[slot & (m_size - 1)].length, length);
    }
    void write_used_idx(std::uint16_t idx) { store(m_used->idx, idx, std::memory_order_release); }
    [[nodiscard]] std::uint16_t used_idx() const { return m_used_published; }

    // --- Memory and driver-written fields ----------------------------------------------
    [[nodiscard]] std::byte* memory(const DeviceSegment& segment) const {
        return map(segment.address, segment.length, "buffer");
    }
    [[nodiscard]] std::uint16_t used_event() const { return load(used_event_field()); }
    [[nodiscard]] std::uint16_t avail_flags() const { return load(m_avail->flags); }
    [[nodiscard]] const virtio::VirtqDesc& descriptor(std::uint16_t index) const { return m_desc[index]; }

    std::uint64_t interrupts = 0;
    std::uint64_t interrupts_suppressed = 0;

private:
    template <typename T>
    static T load(T& field, std::memory_order order = std::memory_order_relaxed) {
        return std::atomic_ref<T>(field).load(order);
    }
    template <typename T>
    static void store(T& field, T value, std::memory_order order = std::memory_order_relaxed) {
        std::atomic_ref<T>(field).store(value, order);
    }
    static void check(bool condition, const char* what) {
        if (!condition) throw DriverBug(what);
    }
    [[nodiscard]] std::byte* map(std::uint64_t address, std::uint64_t length, const char* what) const {
        std::byte* cpu = m_dma.translate(address, length);
        if (cpu == nullptr) throw DriverBug(std::string("device cannot reach the ") + what + " at its device address");
        return cpu;
    }
    [[nodiscard]] std::uint16_t& used_event_field() const { return m_avail_ring[m_size]; }
    [[nodiscard]] std::uint16_t& avail_event_field() const {
        return *reinterpret_cast<std::uint16_t*>(&m_used_ring[m_size]);
    }

    // §2.7.5, §2.7.5.3: follows a chain, checking what a device may assume.
    DeviceChain walk(std::uint16_t head) {
        check(head < m_size, "avail ring names a descriptor beyond the queue");
        DeviceChain chain;
        chain.head = head;
        std::uint16_t index = head;
        for (std::uint32_t steps = 0;; ++steps) {
            check(steps < m_size, "descriptor chain loops or is longer than the queue");
            virtio::VirtqDesc desc = m_desc[index];
            if ((desc.flags & virtio::k_desc_f_indirect) != 0) {
                check((desc.flags & virtio::k_desc_f_next) == 0, "INDIRECT together with NEXT (§2.7.5.3.1)");
                walk_table(desc, chain);
                break;
            }
            add(chain, desc);
            if ((desc.flags & virtio::k_desc_f_next) == 0) break;
            check(desc.next < m_size, "next beyond the queue");
            index = desc.next;
        }
        return chain;
    }
    void walk_table(const virtio::VirtqDesc& desc, DeviceChain& chain) {
        check(desc.length % 16 == 0 && desc.length > 0, "indirect table length not a multiple of 16");
        std::uint32_t count = desc.length / 16;
        check(count <= m_size, "indirect chain longer than the queue (§2.7.5.3.1)");
        auto* table = reinterpret_cast<const virtio::VirtqDesc*>(map(desc.address, desc.length, "indirect table"));
        chain.indirect = true;
        std::uint32_t index = 0;
        for (std::uint32_t steps = 0;; ++steps) {
            check(steps < count && index < count, "indirect chain loops or leaves its table");
            const virtio::VirtqDesc& entry = table[index];
            check((entry.flags & virtio::k_desc_f_indirect) == 0, "INDIRECT inside an indirect table (§2.7.5.3.1)");
            add(chain, entry);
            if ((entry.flags & virtio::k_desc_f_next) == 0) break;
            index = entry.next;
        }
    }
    void add(DeviceChain& chain, const virtio::VirtqDesc& desc) {
        bool writes = (desc.flags & virtio::k_desc_f_write) != 0;
        check(writes || chain.segments.empty() || !chain.segments.back().device_writes,
              "device-readable descriptor after a device-writable one (§2.7.4.2)");
        DeviceSegment segment{desc.address, desc.length, writes};
        (void)memory(segment);  // the device must be able to reach it
        chain.segments.push_back(segment);
    }

    const FakeDma& m_dma;
    std::uint16_t m_size;
    bool m_event_idx;
    virtio::VirtqDesc* m_desc = nullptr;
    virtio::VirtqAvailHeader* m_avail = nullptr;
    std::uint16_t* m_avail_ring = nullptr;
    virtio::VirtqUsedHeader* m_used = nullptr;
    virtio::VirtqUsedElem* m_used_ring = nullptr;
    std::uint16_t m_last_avail = 0;
    std::uint16_t m_used_next = 0;
    std::uint16_t m_used_published = 0;
};

}  // namespace test
