#pragma once
// Task<T>: a lazily started coroutine that produces a T (or nothing, for Task<void>).
//
//     runtime::Task<int> answer() { co_await runtime::sleep(10ms); co_return 42; }
//     runtime::Task<void> caller() { int x = co_await answer(); ... }
//
// A task starts when it is awaited (or spawned, see event_loop.hpp) and resumes its
// awaiter when it finishes (symmetric transfer: no stack growth along a chain of awaits).
// Destroying a Task that has not finished destroys its frame, and with it everything the
// frame holds: a pending sleep is cancelled by its own destructor.
//
// Frames come from ::operator new(size, std::nothrow), the kernel heap in the unikernel.
// If a frame cannot be allocated, the Task is invalid (valid() == false), the failure is
// counted, and awaiting it stops with a message naming the problem: there is no
// exception to throw.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <utility>

namespace runtime {

namespace detail {

// Ends the program with a message (kernel panic; abort when hosted). Defined per target.
[[noreturn]] void fatal(const char* message);
// Coroutine frames that could not be allocated since start.
std::uint64_t& frame_allocation_failures();

inline void* allocate_frame(std::size_t size) noexcept {
    void* frame = ::operator new(size, std::nothrow);
    if (frame == nullptr) ++frame_allocation_failures();
    return frame;
}

struct PromiseBase {
    std::coroutine_handle<> continuation;

    static void* operator new(std::size_t size) noexcept { return allocate_frame(size); }
    static void operator delete(void* frame) noexcept { ::operator delete(frame); }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) noexcept {
            auto next = self.promise().continuation;
            return next ? next : std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    // fatal() never returns in the kernel; the host tests' fatal() throws to report.
    void unhandled_exception() noexcept {  // NOLINT(bugprone-exception-escape)
        fatal("an exception escaped a task");
    }
};

template <typename T>
struct Promise;

}  // namespace detail

template <typename T = void>
class [[nodiscard]] Task {
public:
    using promise_type = detail::Promise<T>;
    using Handle = std::coroutine_handle<promise_type>;

    Task() = default;
    explicit Task(Handle handle) : m_handle(handle) {}
    Task(Task&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            if (m_handle) m_handle.destroy();
            m_handle = std::exchange(other.m_handle, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (m_handle) m_handle.destroy();
    }

    // False when the frame could not be allocated.
    [[nodiscard]] bool valid() const { return static_cast<bool>(m_handle); }
    [[nodiscard]] bool done() const { return m_handle && m_handle.done(); }

    struct Awaiter {
        Handle handle;
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            handle.promise().continuation = awaiting;
            return handle;
        }
        T await_resume() {
            if constexpr (!std::is_void_v<T>) return std::move(*handle.promise().value);
        }
    };
    Awaiter operator co_await() const& { return Awaiter{checked()}; }
    Awaiter operator co_await() && { return Awaiter{checked()}; }

    // The value of a finished task.
    T result() {
        if constexpr (!std::is_void_v<T>) return std::move(*m_handle.promise().value);
    }
    Handle handle() const { return m_handle; }

private:
    Handle checked() const {
        if (!m_handle) detail::fatal("awaited a task whose coroutine frame could not be allocated (out of memory)");
        return m_handle;
    }
    Handle m_handle;
};

namespace detail {

template <typename T>
struct Promise : PromiseBase {
    std::optional<T> value;
    Task<T> get_return_object() noexcept { return Task<T>(std::coroutine_handle<Promise>::from_promise(*this)); }
    static Task<T> get_return_object_on_allocation_failure() noexcept { return Task<T>(); }
    template <typename U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
};

template <>
struct Promise<void> : PromiseBase {
    Task<void> get_return_object() noexcept { return Task<void>(std::coroutine_handle<Promise>::from_promise(*this)); }
    static Task<void> get_return_object_on_allocation_failure() noexcept { return Task<void>(); }
    void return_void() noexcept {}
};

}  // namespace detail
}  // namespace runtime
