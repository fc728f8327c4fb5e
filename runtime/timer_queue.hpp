#pragma once
// The event loop's timers: an intrusive binary min-heap ordered by deadline, then by the
// order of arming (equal deadlines fire first-armed first). Entries live in their owners
// (a sleeping coroutine's frame, a Timer object); the heap holds pointers and each entry
// knows its slot, so cancelling is O(log n). The pointer array only grows (the heap is
// touched only when more timers are armed at once than ever before).

#include <cstddef>
#include <cstdint>

#include "runtime/time.hpp"

namespace runtime {

class TimerQueue;

class TimerEntry {
public:
    using Fire = void (*)(TimerEntry& entry);

    explicit TimerEntry(Fire fire) : m_fire(fire) {}
    TimerEntry(const TimerEntry&) = delete;
    TimerEntry& operator=(const TimerEntry&) = delete;
    ~TimerEntry();

    [[nodiscard]] bool armed() const { return m_queue != nullptr; }
    [[nodiscard]] Instant deadline() const { return m_deadline; }
    void cancel();

private:
    friend class TimerQueue;
    Fire m_fire;
    TimerQueue* m_queue = nullptr;
    Instant m_deadline{};
    std::uint64_t m_sequence = 0;
    std::size_t m_slot = 0;
};

class TimerQueue {
public:
    TimerQueue() = default;
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;
    ~TimerQueue();

    // Arms (or re-arms) entry for deadline. Returns false only if memory for the heap ran
    // out, in which case the entry is left unarmed.
    [[nodiscard]] bool arm(TimerEntry& entry, Instant deadline);
    void cancel(TimerEntry& entry);
    // Fires, in order, every entry due at or before now. An entry's fire function may arm
    // or cancel timers (including re-arming itself). Returns how many fired.
    std::size_t fire_due(Instant now);

    [[nodiscard]] bool empty() const { return m_size == 0; }
    [[nodiscard]] std::size_t size() const { return m_size; }
    [[nodiscard]] Instant earliest() const { return m_heap[0]->m_deadline; }

private:
    [[nodiscard]] static bool before(const TimerEntry* a, const TimerEntry* b);
    void place(std::size_t slot, TimerEntry* entry);
    void sift_up(std::size_t slot);
    void sift_down(std::size_t slot);
    void remove_at(std::size_t slot);
    [[nodiscard]] bool grow();

    TimerEntry** m_heap = nullptr;
    std::size_t m_size = 0;
    std::size_t m_capacity = 0;
    std::uint64_t m_next_sequence = 0;
};

}  // namespace runtime
