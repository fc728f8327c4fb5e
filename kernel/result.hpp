#pragma once
// Errors are values: Result<T, E> holds either a T or an error E, and TRY propagates the
// error to the caller (a GNU statement expression, as in SerenityOS's AK/Try.h).

#include <new>
#include <type_traits>
#include <utility>

namespace kernel {

namespace detail {
// A Result used against its state: value() of an error, error() of a value. A broken
// invariant of the caller; the kernel and the hosted target panic with `what`, the host
// tests throw.
[[noreturn]] void broken_result(const char* what);
}  // namespace detail

template <typename E>
struct Err {
    E error;
};

template <typename E>
constexpr Err<E> err(E error) {
    return Err<E>{error};
}

template <typename T, typename E>
class [[nodiscard]] Result {
public:
    using ValueType = T;
    using ErrorType = E;

    constexpr Result(T value) : m_ok(true) {
        new (&m_value) T(std::move(value));
    }  // NOLINT(google-explicit-constructor)
    template <typename F>
    constexpr Result(Err<F> e) : m_ok(false) {
        new (&m_error) E(e.error);
    }  // NOLINT(google-explicit-constructor)
    Result(const Result& other) : m_ok(other.m_ok) {
        if (m_ok)
            new (&m_value) T(other.m_value);
        else
            new (&m_error) E(other.m_error);
    }
    Result(Result&& other) noexcept : m_ok(other.m_ok) {
        if (m_ok)
            new (&m_value) T(std::move(other.m_value));
        else
            new (&m_error) E(other.m_error);
    }
    Result& operator=(const Result& other) {
        if (this != &other) {
            this->~Result();
            new (this) Result(other);
        }
        return *this;
    }
    Result& operator=(Result&& other) noexcept {
        if (this != &other) {
            this->~Result();
            new (this) Result(std::move(other));
        }
        return *this;
    }
    ~Result() {
        if (m_ok) m_value.~T();
    }

    [[nodiscard]] constexpr bool has_value() const { return m_ok; }
    constexpr explicit operator bool() const { return m_ok; }
    constexpr T& value() & { return checked_value(); }
    constexpr const T& value() const& {
        if (!m_ok) detail::broken_result("Result: value() of an error");
        return m_value;
    }
    constexpr T&& value() && { return std::move(checked_value()); }
    constexpr T release_value() { return std::move(checked_value()); }
    constexpr T value_or(T fallback) const { return m_ok ? m_value : fallback; }
    constexpr E error() const {
        if (m_ok) detail::broken_result("Result: error() of a value");
        return m_error;
    }
    constexpr T* operator->() { return &checked_value(); }
    constexpr T& operator*() { return checked_value(); }

private:
    constexpr T& checked_value() {
        if (!m_ok) detail::broken_result("Result: value() of an error");
        return m_value;
    }

    union {
        T m_value;
        E m_error;
    };
    bool m_ok;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
public:
    using ValueType = void;
    using ErrorType = E;

    constexpr Result() = default;
    template <typename F>
    constexpr Result(Err<F> e) : m_ok(false), m_error(e.error) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] constexpr bool has_value() const { return m_ok; }
    constexpr explicit operator bool() const { return m_ok; }
    constexpr void value() const {
        if (!m_ok) detail::broken_result("Result: value() of an error");
    }
    constexpr void release_value() const { value(); }
    constexpr E error() const {
        if (m_ok) detail::broken_result("Result: error() of a value");
        return m_error;
    }

private:
    bool m_ok = true;
    E m_error{};
};

}  // namespace kernel

// Evaluates a Result; on error returns the error from the enclosing function, otherwise
// yields the value.
#define TRY(expression)                                              \
    ({                                                               \
        auto&& try_result_ = (expression);                           \
        if (!try_result_) return ::kernel::err(try_result_.error()); \
        std::move(try_result_).release_value();                      \
    })
