#pragma once
// Signal: how an interrupt handler hands work to the event loop. The handler calls
// notify(), which only sets flags; the loop then resumes the coroutine waiting on the
// signal, or calls its callback. A notify with no one waiting stays pending until the
// next wait. Several notifies before the loop looks count as one.
//
//     runtime::Signal rx;                    // the driver's interrupt handler: rx.notify()
//     for (;;) { co_await rx.wait(); drain_receive_queue(); }

#include <atomic>
#include <coroutine>

#include "runtime/function.hpp"
#include "runtime/time.hpp"
#include "runtime/timer_queue.hpp"

namespace runtime {

class Signal {
public:
    Signal();
    Signal(const Signal&) = delete;
    Signal& operator=(const Signal&) = delete;
    ~Signal();

    // Safe in an interrupt handler.
    void notify() noexcept;

    struct Awaiter {
        explicit Awaiter(Signal& s) : signal(s) {}
        Signal& signal;
        bool await_ready() noexcept { return signal.m_pending.exchange(false, std::memory_order_acquire); }
        void await_suspend(std::coroutine_handle<> waiter) noexcept;
        void await_resume() noexcept {}
        ~Awaiter();
        Awaiter(const Awaiter&) = delete;
        Awaiter& operator=(const Awaiter&) = delete;
    };
    // One coroutine at a time may wait.
    Awaiter wait() { return Awaiter{*this}; }

    // co_await: true when notified, false when deadline came first. It always suspends:
    // with the deadline past, until the next turn of the loop.
    class TimedAwaiter : private TimerEntry {
    public:
        TimedAwaiter(Signal& signal, Instant deadline) : TimerEntry(&fire), m_signal(signal), m_deadline(deadline) {}
        TimedAwaiter(const TimedAwaiter&) = delete;
        TimedAwaiter& operator=(const TimedAwaiter&) = delete;
        ~TimedAwaiter();
        bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> waiter);
        bool await_resume() noexcept;

    private:
        static void fire(TimerEntry& entry);
        Signal& m_signal;
        Instant m_deadline;
        std::coroutine_handle<> m_handle;
        bool m_result = false;
    };
    TimedAwaiter wait_until(Instant deadline) { return TimedAwaiter(*this, deadline); }
    // The callback form: called from the loop after each notify (replaces any waiter).
    void on_notify(InplaceFunction<void()> callback) { m_callback = std::move(callback); }

    // For the event loop: true if any signal was notified since the last call.
    static bool take_any_pending() noexcept;
    static bool any_pending() noexcept;
    // Resumes waiters and runs callbacks of notified signals.
    static void deliver_all();

private:
    bool deliver();

    std::atomic<bool> m_pending{false};
    std::coroutine_handle<> m_waiter;
    InplaceFunction<void()> m_callback;
    Signal* m_next = nullptr;
    Signal* m_previous = nullptr;
};

}  // namespace runtime
