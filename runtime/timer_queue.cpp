#include "runtime/timer_queue.hpp"

#include <new>
#include <utility>

namespace runtime {

TimerEntry::~TimerEntry() { cancel(); }

void TimerEntry::cancel() {
    if (m_queue != nullptr) m_queue->cancel(*this);
}

TimerQueue::~TimerQueue() {
    for (std::size_t i = 0; i < m_size; ++i) m_heap[i]->m_queue = nullptr;
    delete[] m_heap;
}

bool TimerQueue::before(const TimerEntry* a, const TimerEntry* b) {
    if (a->m_deadline != b->m_deadline) return a->m_deadline < b->m_deadline;
    return a->m_sequence < b->m_sequence;
}

void TimerQueue::place(std::size_t slot, TimerEntry* entry) {
    m_heap[slot] = entry;
    entry->m_slot = slot;
}

void TimerQueue::sift_up(std::size_t slot) {
    TimerEntry* entry = m_heap[slot];
    while (slot > 0) {
        std::size_t parent = (slot - 1) / 2;
        if (!before(entry, m_heap[parent])) break;
        place(slot, m_heap[parent]);
        slot = parent;
    }
    place(slot, entry);
}

void TimerQueue::sift_down(std::size_t slot) {
    TimerEntry* entry = m_heap[slot];
    for (;;) {
        std::size_t child = 2 * slot + 1;
        if (child >= m_size) break;
        if (child + 1 < m_size && before(m_heap[child + 1], m_heap[child])) ++child;
        if (!before(m_heap[child], entry)) break;
        place(slot, m_heap[child]);
        slot = child;
    }
    place(slot, entry);
}

bool TimerQueue::grow() {
    std::size_t capacity = m_capacity == 0 ? 16 : m_capacity * 2;
    auto** heap = new (std::nothrow) TimerEntry*[capacity];
    if (heap == nullptr) return false;
    for (std::size_t i = 0; i < m_size; ++i) heap[i] = m_heap[i];
    delete[] m_heap;
    m_heap = heap;
    m_capacity = capacity;
    return true;
}

bool TimerQueue::arm(TimerEntry& entry, Instant deadline) {
    if (entry.m_queue != nullptr) entry.m_queue->cancel(entry);
    if (m_size == m_capacity && !grow()) return false;
    entry.m_queue = this;
    entry.m_deadline = deadline;
    entry.m_sequence = m_next_sequence++;
    place(m_size++, &entry);
    sift_up(m_size - 1);
    return true;
}

void TimerQueue::remove_at(std::size_t slot) {
    TimerEntry* removed = m_heap[slot];
    removed->m_queue = nullptr;
    --m_size;
    if (slot == m_size) return;
    place(slot, m_heap[m_size]);
    // The moved entry may belong above or below its new slot.
    if (slot > 0 && before(m_heap[slot], m_heap[(slot - 1) / 2]))
        sift_up(slot);
    else
        sift_down(slot);
}

void TimerQueue::cancel(TimerEntry& entry) {
    if (entry.m_queue != this) return;
    remove_at(entry.m_slot);
}

std::size_t TimerQueue::fire_due(Instant now) {
    std::size_t fired = 0;
    while (m_size > 0 && m_heap[0]->m_deadline <= now) {
        TimerEntry* entry = m_heap[0];
        remove_at(0);
        ++fired;
        entry->m_fire(*entry);  // may re-arm itself or touch other timers
    }
    return fired;
}

}  // namespace runtime
