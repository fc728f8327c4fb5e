#include "net/tcp_isn.hpp"

#include <algorithm>
#include <array>

namespace net {

namespace {

// Domains keep the ISN key and the cookie key apart when both come from one seed.
constexpr std::uint64_t k_isn_domain = 0x6973'6e2d'7266'6336;     // "isn-rfc6"
constexpr std::uint64_t k_cookie_domain = 0x7379'6e63'6f6f'6b69;  // "syncooki"

constexpr unsigned k_mac_shift = 9;
constexpr std::uint32_t k_low_mask = (1U << k_mac_shift) - 1;
constexpr unsigned k_time_bit = 8;
constexpr unsigned k_mss_shift = 5;
constexpr unsigned k_wscale_shift = 1;
constexpr std::uint32_t k_no_wscale = 15;
constexpr std::uint8_t k_max_wscale = 14;  // RFC 7323 §2.3

template <std::size_t N>
struct Message {
    std::array<std::byte, N> bytes{};
    std::size_t length = 0;

    void put(std::uint64_t value, unsigned width) {
        for (unsigned i = width; i-- > 0;) bytes[length++] = static_cast<std::byte>(value >> (8 * i));
    }
    void put(const TcpFourTuple& tuple) {
        put(tuple.local.value, 4);
        put(tuple.local_port, 2);
        put(tuple.remote.value, 4);
        put(tuple.remote_port, 2);
    }
    [[nodiscard]] std::span<const std::byte> span() const { return std::span(bytes).first(length); }
};

std::uint64_t nanoseconds(runtime::Instant now) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, runtime::to_ns(now)));
}

}  // namespace

TcpIsnGenerator::TcpIsnGenerator(std::uint64_t seed) : m_key(siphash_key_from_seed(seed, k_isn_domain)) {}

std::uint32_t TcpIsnGenerator::isn(const TcpFourTuple& tuple, runtime::Instant now) const {
    Message<12> message;
    message.put(tuple);
    auto f = static_cast<std::uint32_t>(siphash24(m_key, message.span()));
    auto m = static_cast<std::uint32_t>(nanoseconds(now) / 4000);  // RFC 6528 §3: 4 us ticks, mod 2^32
    return m + f;
}

TcpSynCookies::TcpSynCookies(std::uint64_t seed) : m_key(siphash_key_from_seed(seed, k_cookie_domain)) {}

std::uint32_t TcpSynCookies::mac(const TcpFourTuple& tuple, std::uint32_t peer_isn, std::uint64_t slot,
                                 std::uint32_t low_bits) const {
    Message<26> message;
    message.put(tuple);
    message.put(peer_isn, 4);
    message.put(slot, 8);
    message.put(low_bits, 2);
    return static_cast<std::uint32_t>(siphash24(m_key, message.span()) >> (64 - (32 - k_mac_shift)));
}

std::uint32_t TcpSynCookies::encode(const TcpFourTuple& tuple, std::uint32_t peer_isn, const SynCookieOptions& options,
                                    runtime::Instant now) const {
    std::uint32_t mss_index = 0;
    for (std::uint32_t i = 0; i < std::size(k_mss_table); ++i) {
        if (k_mss_table[i] <= options.mss) mss_index = i;
    }
    std::uint32_t wscale = options.window_scale ? std::min(*options.window_scale, k_max_wscale) : k_no_wscale;
    std::uint64_t slot = nanoseconds(now) / static_cast<std::uint64_t>(k_slot.count());
    std::uint32_t low = static_cast<std::uint32_t>(slot & 1) << k_time_bit | mss_index << k_mss_shift |
                        wscale << k_wscale_shift | (options.sack_permitted ? 1U : 0U);
    return mac(tuple, peer_isn, slot, low) << k_mac_shift | low;
}

std::optional<SynCookieOptions> TcpSynCookies::decode(const TcpFourTuple& tuple, std::uint32_t peer_isn,
                                                      std::uint32_t cookie, runtime::Instant now) const {
    std::uint32_t low = cookie & k_low_mask;
    std::uint64_t slot = nanoseconds(now) / static_cast<std::uint64_t>(k_slot.count());
    if ((slot & 1) != (low >> k_time_bit & 1)) {
        if (slot == 0) return std::nullopt;  // "the slot before" does not exist
        --slot;
    }
    if (mac(tuple, peer_isn, slot, low) != cookie >> k_mac_shift) return std::nullopt;
    SynCookieOptions options;
    options.mss = k_mss_table[low >> k_mss_shift & 7];
    std::uint32_t wscale = low >> k_wscale_shift & 15;
    if (wscale != k_no_wscale)
        options.window_scale = static_cast<std::uint8_t>(std::min(wscale, std::uint32_t{k_max_wscale}));
    options.sack_permitted = (low & 1) != 0;
    return options;
}

}  // namespace net
