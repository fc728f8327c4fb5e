#include "runtime/event_loop.hpp"

#include <new>

namespace runtime {
namespace {

EventLoop* g_current = nullptr;
// Coroutines resumed per turn before timers and signals get a look in, so a busy task
// cannot starve the timers.
constexpr std::size_t k_resumes_per_turn = 64;

}  // namespace

namespace detail {

std::uint64_t& frame_allocation_failures() {
    static std::uint64_t failures = 0;
    return failures;
}

SpawnedPromise::SpawnedPromise() : loop(&EventLoop::current()) {
    next = loop->m_spawned;
    if (next != nullptr) next->previous = this;
    loop->m_spawned = this;
    ++loop->m_stats.tasks_live;
}

SpawnedPromise::~SpawnedPromise() {
    if (previous != nullptr)
        previous->next = next;
    else
        loop->m_spawned = next;
    if (next != nullptr) next->previous = previous;
    --loop->m_stats.tasks_live;
}

}  // namespace detail

EventLoop::EventLoop(Platform& platform) : m_platform(platform) {
    if (g_current != nullptr) detail::fatal("a second event loop was created while one exists");
    g_current = this;
}

EventLoop::~EventLoop() {
    while (m_spawned != nullptr) {
        std::coroutine_handle<detail::SpawnedPromise>::from_promise(*m_spawned).destroy();
    }
    delete[] m_ready;
    g_current = nullptr;
}

EventLoop& EventLoop::current() {
    if (g_current == nullptr) detail::fatal("no event loop: create a runtime::EventLoop (or use runtime::run)");
    return *g_current;
}

bool EventLoop::grow_ready_queue() {
    std::size_t capacity = m_ready_capacity == 0 ? 64 : m_ready_capacity * 2;
    auto* ready = new (std::nothrow) std::coroutine_handle<>[capacity];
    if (ready == nullptr) return false;
    // The queue holds at most m_ready_capacity handles, so an unallocated one is empty.
    if (m_ready_capacity != 0) {
        for (std::size_t i = 0; i < m_ready_count; ++i) ready[i] = m_ready[(m_ready_head + i) % m_ready_capacity];
    }
    delete[] m_ready;
    m_ready = ready;
    m_ready_capacity = capacity;
    m_ready_head = 0;
    return true;
}

void EventLoop::schedule(std::coroutine_handle<> handle) {
    if (m_ready_count == m_ready_capacity && !grow_ready_queue()) {
        // Dropping a ready coroutine would hang whatever waits on it: there is no safe
        // way on from here.
        detail::fatal("event loop: out of memory for the ready queue");
    }
    m_ready[(m_ready_head + m_ready_count) % m_ready_capacity] = handle;
    ++m_ready_count;
}

// Checked by the platform with wake-ups held off, right before it sleeps. A timer that
// came due counts as work: its interrupt may already have been taken (between arming and
// the check), and then nothing else would wake the sleep.
bool EventLoop::has_work() {
    return m_ready_count != 0 || Signal::any_pending() || (!m_timers.empty() && m_timers.earliest() <= now());
}

void EventLoop::turn() {
    ++m_stats.iterations;
    for (std::size_t n = 0; n < k_resumes_per_turn && m_ready_count != 0; ++n) {
        std::coroutine_handle<> handle = m_ready[m_ready_head];
        m_ready_head = (m_ready_head + 1) % m_ready_capacity;
        --m_ready_count;
        ++m_stats.resumes;
        handle.resume();
    }
    Signal::deliver_all();
    if (!m_timers.empty()) m_stats.timers_fired += m_timers.fire_due(now());
}

void EventLoop::run_until(bool (*finished)(void*), void* context) {
    while (!finished(context)) {
        turn();
        m_platform.turn_done();
        if (finished(context) || has_work()) continue;
        std::optional<Instant> deadline;
        if (!m_timers.empty()) {
            deadline = m_timers.earliest();
            if (*deadline <= now()) continue;
        }
        ++m_stats.sleeps;
        m_platform.arm_timer(deadline);
        m_platform.wait([](void* loop) { return static_cast<EventLoop*>(loop)->has_work(); }, this);
    }
}

void SleepAwaiter::await_suspend(std::coroutine_handle<> handle) {
    m_handle = handle;
    if (!m_loop.timers().arm(*this, m_deadline)) detail::fatal("sleep: out of memory for the timer queue");
}

void SleepAwaiter::fire(TimerEntry& entry) {
    auto& self = static_cast<SleepAwaiter&>(entry);
    self.m_loop.schedule(self.m_handle);
}

SleepAwaiter sleep(Duration duration) {
    EventLoop& loop = EventLoop::current();
    return {loop, loop.now() + duration};
}

SleepAwaiter sleep_until(Instant deadline) { return {EventLoop::current(), deadline}; }
Instant now() { return EventLoop::current().now(); }

void Timer::start_after(Duration delay, Callback callback) {
    m_callback = std::move(callback);
    m_period = Duration(0);
    arm(EventLoop::current().now() + delay);
}

void Timer::start_at(Instant deadline, Callback callback) {
    m_callback = std::move(callback);
    m_period = Duration(0);
    arm(deadline);
}

void Timer::start_every(Duration period, Callback callback) {
    if (period <= Duration(0)) detail::fatal("Timer::start_every: the period must be positive");
    m_callback = std::move(callback);
    m_period = period;
    arm(EventLoop::current().now() + period);
}

void Timer::arm(Instant deadline) {
    if (!EventLoop::current().timers().arm(*this, deadline)) detail::fatal("Timer: out of memory for the timer queue");
}

void Timer::fire(TimerEntry& entry) {
    auto& self = static_cast<Timer&>(entry);
    if (self.m_period > Duration(0)) {
        Instant next = self.deadline() + self.m_period;
        Instant now = EventLoop::current().now();
        if (next <= now) next += ((now - next) / self.m_period + 1) * self.m_period;
        self.arm(next);
    }
    // Called last, on a copy: the callback may cancel, restart or destroy the timer.
    Callback callback = self.m_callback;
    callback();
}

}  // namespace runtime
