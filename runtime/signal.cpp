#include "runtime/signal.hpp"

#include <utility>

#include "runtime/event_loop.hpp"

namespace runtime {
namespace {

// Every live signal, so the loop can find the notified ones; and one flag that says
// "look": interrupt handlers touch only the atomics.
Signal* g_signals = nullptr;
std::atomic<bool> g_any_pending{false};

}  // namespace

Signal::Signal() {
    m_next = g_signals;
    if (g_signals != nullptr) g_signals->m_previous = this;
    g_signals = this;
}

Signal::~Signal() {
    if (m_previous != nullptr)
        m_previous->m_next = m_next;
    else
        g_signals = m_next;
    if (m_next != nullptr) m_next->m_previous = m_previous;
}

void Signal::notify() noexcept {
    m_pending.store(true, std::memory_order_release);
    g_any_pending.store(true, std::memory_order_release);
}

void Signal::Awaiter::await_suspend(std::coroutine_handle<> waiter) noexcept { signal.m_waiter = waiter; }

Signal::Awaiter::~Awaiter() {
    // A waiter destroyed while suspended (its task was destroyed) must not be resumed.
    signal.m_waiter = nullptr;
}

Signal::TimedAwaiter::~TimedAwaiter() {
    if (m_signal.m_waiter == m_handle) m_signal.m_waiter = nullptr;
}

bool Signal::TimedAwaiter::await_ready() noexcept {
    // A deadline already past still suspends: the timer fires at the end of this turn and
    // the waiter resumes in the next. A task that polls on deadlines (the network stack
    // with output waiting for transmit buffers) thus lets the other tasks run and the turn
    // end, where the kernel's deferred device stores go out (kernel/gates/deferred.hpp).
    if (m_signal.m_pending.exchange(false, std::memory_order_acquire)) return m_result = true;
    return false;
}

void Signal::TimedAwaiter::await_suspend(std::coroutine_handle<> waiter) {
    m_handle = waiter;
    m_signal.m_waiter = waiter;
    if (!EventLoop::current().timers().arm(*this, m_deadline))
        detail::fatal("Signal: out of memory for the timer queue");
}

bool Signal::TimedAwaiter::await_resume() noexcept {
    // Woken by the signal if the timer is still waiting to fire (or fired too late, see fire).
    if (armed()) {
        m_result = true;
        cancel();
    }
    return m_result;
}

void Signal::TimedAwaiter::fire(TimerEntry& entry) {
    auto& self = static_cast<TimedAwaiter&>(entry);
    // If the signal already handed the waiter to the loop, it must not be resumed twice.
    if (self.m_signal.m_waiter != self.m_handle) {
        self.m_result = true;
        return;
    }
    self.m_signal.m_waiter = nullptr;
    EventLoop::current().schedule(self.m_handle);
}

bool Signal::take_any_pending() noexcept { return g_any_pending.exchange(false, std::memory_order_acquire); }
bool Signal::any_pending() noexcept { return g_any_pending.load(std::memory_order_acquire); }

bool Signal::deliver() {
    if (!m_waiter && !m_callback) return false;  // stays pending for the next wait
    if (!m_pending.exchange(false, std::memory_order_acquire)) return false;
    if (m_waiter) {
        // Resumed on the loop's next turn, not here: it may destroy signals we are visiting.
        EventLoop::current().schedule(std::exchange(m_waiter, nullptr));
        return false;
    }
    m_callback();
    return true;  // the callback may have created or destroyed signals
}

void Signal::deliver_all() {
    if (!take_any_pending()) return;
    // Each delivery clears a pending flag, so restarting after a callback terminates.
    Signal* s = g_signals;
    while (s != nullptr) {
        if (s->deliver())
            s = g_signals;
        else
            s = s->m_next;
    }
}

}  // namespace runtime
