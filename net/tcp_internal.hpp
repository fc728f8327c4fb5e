#pragma once
// What the TCP sources share among themselves (tcp_connection.cpp, tcp_output.cpp,
// tcp.cpp); not for applications.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "runtime/event_loop.hpp"

namespace net::tcp_detail {

constexpr std::uint32_t k_default_mss = 536;      // RFC 9293 §3.7.1
constexpr std::uint32_t k_min_mss = 64;           // a peer asking for less is clamped
constexpr std::uint32_t k_timestamp_option = 12;  // NOP NOP kind len TSval TSecr
constexpr std::uint32_t k_dup_threshold = 3;      // RFC 5681 §3.2, RFC 6675 DupThresh

inline std::uint32_t min32(std::uint32_t a, std::uint32_t b) { return a < b ? a : b; }

// The smallest window scale that lets the whole buffer be advertised (RFC 7323 §2.3).
inline std::uint8_t window_shift_for(std::size_t buffer) {
    std::uint8_t shift = 0;
    while (shift < 14 && (buffer >> shift) > 0xFFFF) ++shift;
    return shift;
}

// Makes a waiting coroutine ready (the loop resumes it later) and forgets it.
inline void wake(std::coroutine_handle<>& handle) {
    if (handle) runtime::EventLoop::current().schedule(std::exchange(handle, nullptr));
}

}  // namespace net::tcp_detail
