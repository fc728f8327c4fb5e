#pragma once
// InplaceFunction<R(Args...), N>: a callable stored inside the object (at most N bytes of
// captures), so callbacks never touch the heap. A capture that does not fit is a compile
// error, not an allocation.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace runtime {

template <typename Signature, std::size_t Capacity = 48>
class InplaceFunction;

template <typename R, typename... Args, std::size_t Capacity>
class InplaceFunction<R(Args...), Capacity> {
public:
    InplaceFunction() = default;
    InplaceFunction(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)

    template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InplaceFunction>>>
    InplaceFunction(F&& f) {  // NOLINT(google-explicit-constructor)
        using Stored = std::decay_t<F>;
        static_assert(sizeof(Stored) <= Capacity, "callback captures too much for InplaceFunction");
        static_assert(alignof(Stored) <= alignof(std::max_align_t), "callback over-aligned");
        new (m_storage) Stored(std::forward<F>(f));
        m_ops = &ops_for<Stored>;
    }

    InplaceFunction(const InplaceFunction& other) {
        if (other.m_ops != nullptr) other.m_ops->copy(m_storage, other.m_storage);
        m_ops = other.m_ops;
    }
    InplaceFunction(InplaceFunction&& other) noexcept {
        if (other.m_ops != nullptr) other.m_ops->move(m_storage, other.m_storage);
        m_ops = other.m_ops;
    }
    InplaceFunction& operator=(const InplaceFunction& other) {
        if (this != &other) {
            reset();
            if (other.m_ops != nullptr) other.m_ops->copy(m_storage, other.m_storage);
            m_ops = other.m_ops;
        }
        return *this;
    }
    InplaceFunction& operator=(InplaceFunction&& other) noexcept {
        if (this != &other) {
            reset();
            if (other.m_ops != nullptr) other.m_ops->move(m_storage, other.m_storage);
            m_ops = other.m_ops;
        }
        return *this;
    }
    ~InplaceFunction() { reset(); }

    explicit operator bool() const { return m_ops != nullptr; }
    R operator()(Args... args) const { return m_ops->call(m_storage, std::forward<Args>(args)...); }
    void reset() {
        if (m_ops != nullptr) m_ops->destroy(m_storage);
        m_ops = nullptr;
    }

private:
    struct Ops {
        R (*call)(const void*, Args&&...);
        void (*copy)(void*, const void*);
        void (*move)(void*, void*);
        void (*destroy)(void*);
    };
    // Constant-initialized (the lambdas convert to function pointers at compile time).
    template <typename F>
    // NOLINTNEXTLINE(bugprone-dynamic-static-initializers)
    static constexpr Ops ops_for = {
        [](const void* f, Args&&... args) -> R {
            return (*const_cast<F*>(static_cast<const F*>(f)))(std::forward<Args>(args)...);
        },
        [](void* to, const void* from) { new (to) F(*static_cast<const F*>(from)); },
        [](void* to, void* from) { new (to) F(std::move(*static_cast<F*>(from))); },
        [](void* f) { static_cast<F*>(f)->~F(); },
    };

    alignas(std::max_align_t) mutable unsigned char m_storage[Capacity]{};
    const Ops* m_ops = nullptr;
};

}  // namespace runtime
