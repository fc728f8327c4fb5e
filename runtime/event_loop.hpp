#pragma once
// The event loop: runs ready coroutines to completion, fires due timers, delivers signals
// from interrupt handlers, and when nothing is left to do arms the platform's timer for
// the earliest deadline and sleeps. One loop, one vCPU; nothing here is thread-safe
// except Signal::notify.

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "runtime/function.hpp"
#include "runtime/platform.hpp"
#include "runtime/signal.hpp"
#include "runtime/task.hpp"
#include "runtime/time.hpp"
#include "runtime/timer_queue.hpp"

namespace runtime {

struct LoopStats {
    std::uint64_t iterations = 0;
    std::uint64_t sleeps = 0;   // times the loop waited on the platform
    std::uint64_t resumes = 0;  // coroutines resumed from the ready queue
    std::uint64_t timers_fired = 0;
    std::uint64_t tasks_spawned = 0;
    std::uint64_t tasks_live = 0;  // spawned and not finished
    std::uint64_t spawn_failures = 0;
};

namespace detail {
struct SpawnedPromise;
}

class EventLoop {
public:
    explicit EventLoop(Platform& platform);
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    // Destroys every spawned task that has not finished (their frames' destructors run).
    ~EventLoop();

    // The loop being constructed or run; fatal if there is none.
    static EventLoop& current();

    // Runs until main finishes; returns its value.
    template <typename T>
    T run(Task<T> main);

    [[nodiscard]] Instant now() { return m_platform.now(); }
    TimerQueue& timers() { return m_timers; }
    // Makes a suspended coroutine ready; it runs on a later turn of the loop.
    void schedule(std::coroutine_handle<> handle);
    [[nodiscard]] const LoopStats& stats() const { return m_stats; }
    LoopStats& stats() { return m_stats; }

private:
    friend struct detail::SpawnedPromise;
    void run_until(bool (*finished)(void*), void* context);
    void turn();
    [[nodiscard]] bool has_work();
    bool grow_ready_queue();

    Platform& m_platform;
    TimerQueue m_timers;
    std::coroutine_handle<>* m_ready = nullptr;  // ring buffer
    std::size_t m_ready_capacity = 0;
    std::size_t m_ready_head = 0;
    std::size_t m_ready_count = 0;
    detail::SpawnedPromise* m_spawned = nullptr;  // every live spawned task
    LoopStats m_stats;
};

// --- sleeping ---

class SleepAwaiter : private TimerEntry {
public:
    SleepAwaiter(EventLoop& loop, Instant deadline) : TimerEntry(&fire), m_loop(loop), m_deadline(deadline) {}
    bool await_ready() { return m_deadline <= m_loop.now(); }
    void await_suspend(std::coroutine_handle<> handle);
    void await_resume() noexcept {}

private:
    static void fire(TimerEntry& entry);
    EventLoop& m_loop;
    Instant m_deadline;
    std::coroutine_handle<> m_handle;
};

// co_await sleep(10ms): resumes after at least that long.
SleepAwaiter sleep(Duration duration);
SleepAwaiter sleep_until(Instant deadline);
Instant now();

// --- spawning and joining ---

namespace detail {

struct JoinStateBase {
    unsigned references = 1;  // the JoinHandle's; a StateReference adds its own
    bool done = false;
    std::coroutine_handle<> joiner;
    JoinStateBase() = default;
    JoinStateBase(const JoinStateBase&) = delete;
    JoinStateBase& operator=(const JoinStateBase&) = delete;
    virtual ~JoinStateBase() = default;
    void release() {
        if (--references == 0) delete this;
    }
};

template <typename T>
struct JoinState final : JoinStateBase {
    std::optional<T> value;
};
template <>
struct JoinState<void> final : JoinStateBase {};

struct SpawnedTask {
    using promise_type = SpawnedPromise;
    std::coroutine_handle<SpawnedPromise> handle;
};

struct SpawnedPromise {
    SpawnedPromise();
    ~SpawnedPromise();
    SpawnedPromise(const SpawnedPromise&) = delete;
    SpawnedPromise& operator=(const SpawnedPromise&) = delete;
    static void* operator new(std::size_t size) noexcept { return allocate_frame(size); }
    static void operator delete(void* frame) noexcept { ::operator delete(frame); }
    static SpawnedTask get_return_object_on_allocation_failure() noexcept { return {}; }
    SpawnedTask get_return_object() noexcept { return {std::coroutine_handle<SpawnedPromise>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }  // the frame frees itself
    void return_void() noexcept {}
    void unhandled_exception() noexcept {  // NOLINT(bugprone-exception-escape): see PromiseBase
        fatal("an exception escaped a spawned task");
    }

    EventLoop* loop;
    SpawnedPromise* next = nullptr;
    SpawnedPromise* previous = nullptr;
};

// The spawned frame's reference to the join state. It is a parameter of run_spawned, so
// it lives exactly as long as the frame: released when the task finishes, when the loop
// destroys the task unfinished, or (as the caller's temporary) when no frame could be made.
class StateReference {
public:
    explicit StateReference(JoinStateBase* state) : m_state(state) { ++m_state->references; }
    StateReference(StateReference&& other) noexcept : m_state(std::exchange(other.m_state, nullptr)) {}
    StateReference(const StateReference&) = delete;
    StateReference& operator=(const StateReference&) = delete;
    StateReference& operator=(StateReference&&) = delete;
    ~StateReference() {
        if (m_state != nullptr) m_state->release();
    }
    [[nodiscard]] JoinStateBase* get() const { return m_state; }

private:
    JoinStateBase* m_state;
};

template <typename T>
SpawnedTask run_spawned(Task<T> task, StateReference reference) {
    auto* state = static_cast<JoinState<T>*>(reference.get());
    if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
    } else {
        state->value.emplace(co_await std::move(task));
    }
    state->done = true;
    if (state->joiner) EventLoop::current().schedule(state->joiner);
}

}  // namespace detail

// What spawn returns: co_await it for the task's value. Dropping it leaves the task
// running on its own.
template <typename T>
class [[nodiscard]] JoinHandle {
public:
    JoinHandle() = default;
    explicit JoinHandle(detail::JoinState<T>* state) : m_state(state) {}
    JoinHandle(JoinHandle&& other) noexcept : m_state(std::exchange(other.m_state, nullptr)) {}
    JoinHandle& operator=(JoinHandle&& other) noexcept {
        if (this != &other) {
            if (m_state != nullptr) m_state->release();
            m_state = std::exchange(other.m_state, nullptr);
        }
        return *this;
    }
    JoinHandle(const JoinHandle&) = delete;
    JoinHandle& operator=(const JoinHandle&) = delete;
    ~JoinHandle() {
        if (m_state != nullptr) m_state->release();
    }

    // False when the task could not be started for lack of memory.
    [[nodiscard]] bool valid() const { return m_state != nullptr; }
    [[nodiscard]] bool done() const { return m_state != nullptr && m_state->done; }

    bool await_ready() const {
        if (m_state == nullptr) detail::fatal("joined a task that could not be spawned (out of memory)");
        return m_state->done;
    }
    void await_suspend(std::coroutine_handle<> joiner) { m_state->joiner = joiner; }
    T await_resume() {
        if constexpr (!std::is_void_v<T>) return std::move(*m_state->value);
    }

private:
    detail::JoinState<T>* m_state = nullptr;
};

// Starts task on the current loop; it runs on the loop's next turn. If memory runs out
// the task is not started, the handle is invalid and stats().spawn_failures counts it.
template <typename T>
JoinHandle<T> spawn(Task<T> task) {
    EventLoop& loop = EventLoop::current();
    if (!task.valid()) {
        ++loop.stats().spawn_failures;
        return {};
    }
    auto* state = new (std::nothrow) detail::JoinState<T>();
    if (state == nullptr) {
        ++loop.stats().spawn_failures;
        return {};
    }
    detail::SpawnedTask spawned = detail::run_spawned<T>(std::move(task), detail::StateReference(state));
    if (!spawned.handle) {
        state->release();  // the handle's reference; the frame's never existed
        ++loop.stats().spawn_failures;
        return {};
    }
    ++loop.stats().tasks_spawned;
    loop.schedule(spawned.handle);
    return JoinHandle<T>(state);
}

template <typename T>
T EventLoop::run(Task<T> main) {
    JoinHandle<T> handle = spawn(std::move(main));
    if (!handle.valid()) detail::fatal("the main task could not be started (out of memory)");
    run_until([](void* h) { return static_cast<JoinHandle<T>*>(h)->done(); }, &handle);
    return handle.await_resume();
}

// --- callbacks, for those who prefer them to coroutines ---

// A timer that calls a function: once after a delay, at a time, or every period. The
// function is called from the event loop. Destroying or cancelling stops it.
class Timer : private TimerEntry {
public:
    using Callback = InplaceFunction<void()>;

    Timer() : TimerEntry(&fire) {}
    Timer(Duration delay, Callback callback) : Timer() { start_after(delay, std::move(callback)); }

    void start_after(Duration delay, Callback callback);
    void start_at(Instant deadline, Callback callback);
    // First call after one period; later calls keep to the period's grid (no drift), and
    // periods missed while the loop was busy are skipped, not run in a burst.
    void start_every(Duration period, Callback callback);
    void cancel() { TimerEntry::cancel(); }
    [[nodiscard]] bool active() const { return armed(); }

private:
    static void fire(TimerEntry& entry);
    void arm(Instant deadline);
    Callback m_callback;
    Duration m_period{0};
};

// The callback form of sleep: runtime::after(100ms, [] { ... }) returns the Timer that
// owns the callback; keep it alive as long as the call should happen.
inline Timer after(Duration delay, Timer::Callback callback) { return Timer(delay, std::move(callback)); }

}  // namespace runtime
