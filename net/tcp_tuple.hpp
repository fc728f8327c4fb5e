#pragma once
// The four numbers that name a TCP connection (RFC 9293 §3.3.2: "a pair of sockets").

#include <cstdint>

#include "net/address.hpp"

namespace net {

struct TcpFourTuple {
    Ipv4Address local;
    std::uint16_t local_port = 0;
    Ipv4Address remote;
    std::uint16_t remote_port = 0;

    constexpr bool operator==(const TcpFourTuple&) const = default;
};

}  // namespace net
