#pragma once
// Network byte order in the type: a Big<T> field holds big-endian bytes and converts on
// access, so no call site has to remember to swap.

#include <bit>
#include <cstdint>
#include <type_traits>

namespace net {

template <typename T>
constexpr T byte_swap(T value) {
    static_assert(std::is_unsigned_v<T>);
    if constexpr (sizeof(T) == 1)
        return value;
    else if constexpr (sizeof(T) == 2)
        return static_cast<T>(__builtin_bswap16(value));
    else if constexpr (sizeof(T) == 4)
        return static_cast<T>(__builtin_bswap32(value));
    else
        return static_cast<T>(__builtin_bswap64(value));
}

template <typename T>
class [[gnu::packed]] Big {
public:
    constexpr Big() = default;
    constexpr Big(T host) : m_raw(to_network(host)) {}  // NOLINT(google-explicit-constructor)
    [[nodiscard]] constexpr T value() const { return to_network(m_raw); }
    constexpr operator T() const { return value(); }  // NOLINT(google-explicit-constructor)

private:
    static constexpr T to_network(T v) {
        if constexpr (std::endian::native == std::endian::little)
            return byte_swap(v);
        else
            return v;
    }
    T m_raw{};
};

using Big16 = Big<std::uint16_t>;
using Big32 = Big<std::uint32_t>;
static_assert(sizeof(Big16) == 2 && sizeof(Big32) == 4);

}  // namespace net
