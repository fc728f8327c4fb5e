#pragma once
// The fixture and helpers of the crafted-segment tests (tcp_crafted_*_test.cpp).

#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>
#include <vector>

#include "test/unit/net/tcp_peer.hpp"

namespace test::crafted {

using namespace net;
using namespace net::tcp_flags;
using namespace std::chrono_literals;
using test::Crafted;
using test::SentSegment;

constexpr std::uint32_t k_peer_isn = 1'000'000;
constexpr auto k_ack_psh = static_cast<std::uint8_t>(k_ack | k_psh);
constexpr auto k_syn_ack = static_cast<std::uint8_t>(k_syn | k_ack);
constexpr auto k_rst_ack = static_cast<std::uint8_t>(k_rst | k_ack);
constexpr auto k_fin_ack = static_cast<std::uint8_t>(k_fin | k_ack);

inline std::vector<std::byte> bytes(std::size_t n, std::uint8_t first = 0) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(first + i * 7);
    return v;
}

// A read's or write's count; -1 for an error.
inline long value_of(const kernel::Result<std::size_t, TcpError>& result) {
    return result ? static_cast<long>(result.value()) : -1;
}

inline TcpOptions mss_only(std::uint16_t mss = 1460) {
    TcpOptions o;
    o.mss = mss;
    return o;
}

inline TcpOptions everything(std::uint32_t ts_value) {
    TcpOptions o;
    o.mss = 1400;
    o.window_scale = 7;
    o.sack_permitted = true;
    o.timestamps = TcpTimestamps{ts_value, 0};
    return o;
}

// The peer's side of one connection: the numbers it would keep, and helpers that fill the
// ports (and timestamps, once negotiated) into each crafted segment.
// The crafted tests' numbers (window fields, window scales) assume 64 KiB buffers.
inline TcpConfig crafted_config() {
    TcpConfig c;
    c.send_buffer = c.receive_buffer = std::size_t{64} * 1024;
    return c;
}

struct Fixture : test::TcpPeer {
    explicit Fixture(const TcpConfig& config = crafted_config()) : TcpPeer(config) {}

    TcpListener listener{tcp};
    TcpStream stream;
    std::uint16_t our_port = test::k_local_port;
    std::uint16_t their_port = test::k_peer_port;
    std::uint32_t iss = 0;                  // our ISS, from our SYN or SYN-ACK
    std::uint32_t rcv = 0;                  // the peer's next sequence number (our RCV.NXT)
    std::uint32_t snd = 0;                  // our next sequence number as the peer has acknowledged it
    std::optional<std::uint32_t> ts_value;  // the peer's TSval, when timestamps are on
    std::uint32_t ts_echo = 0;              // the last TSval we sent

    void inject(Crafted c) {
        c.source_port = their_port;
        c.destination_port = our_port;
        if (ts_value && !c.options.timestamps) c.options.timestamps = TcpTimestamps{++*ts_value, ts_echo};
        send(c);
    }
    std::vector<SentSegment> take() {
        auto out = TcpPeer::take();
        for (const auto& s : out) {
            if (s.options.timestamps) ts_echo = s.options.timestamps->value;
        }
        return out;
    }
    // Exactly one segment went out; returns it.
    SentSegment take_one() {
        auto out = take();
        REQUIRE(out.size() == 1);
        return out[0];
    }
    // A pure ACK of everything we sent, with the peer's window.
    void ack(std::uint32_t up_to, std::uint16_t window = 65535) {
        inject({.seq = rcv, .ack = up_to, .flags = k_ack, .window = window});
    }
    void data(std::uint32_t seq, std::span<const std::byte> payload, std::uint8_t flags = k_ack) {
        inject({.seq = seq, .ack = snd, .flags = flags, .payload = payload});
    }

    // Passive open: SYN, our SYN-ACK checked, the final ACK, the stream accepted.
    void open_passive(const TcpOptions& syn_options = mss_only()) {
        REQUIRE(listener.listen(test::k_local_port));
        if (syn_options.timestamps) ts_value = syn_options.timestamps->value;
        send({.seq = k_peer_isn, .flags = k_syn, .options = syn_options});
        SentSegment syn_ack = take_one();
        REQUIRE(syn_ack.is(k_syn_ack));
        REQUIRE(syn_ack.ack == k_peer_isn + 1);
        iss = syn_ack.seq;
        snd = iss + 1;
        rcv = k_peer_isn + 1;
        inject({.seq = rcv, .ack = snd, .flags = k_ack});
        auto accepted = listener.try_accept();
        REQUIRE(accepted);
        stream = std::move(*accepted);
        REQUIRE(stream.state() == TcpState::Established);
        REQUIRE(take().empty());
    }

    // Active open: our SYN checked, the peer's SYN-ACK, our ACK.
    void open_active(const TcpOptions& syn_ack_options = mss_only()) {
        auto connected = tcp.start_connect(test::k_peer_ip, test::k_peer_port);
        REQUIRE(connected);
        stream = std::move(*connected);
        SentSegment syn = take_one();
        REQUIRE(syn.is(k_syn));
        iss = syn.seq;
        our_port = syn.source_port;
        snd = iss + 1;
        rcv = k_peer_isn + 1;
        if (syn_ack_options.timestamps) ts_value = syn_ack_options.timestamps->value;
        inject({.seq = k_peer_isn, .ack = snd, .flags = k_syn_ack, .options = syn_ack_options});
        REQUIRE(stream.state() == TcpState::Established);
        SentSegment ack = take_one();
        REQUIRE(ack.is(k_ack));
        REQUIRE(ack.seq == snd);
        REQUIRE(ack.ack == rcv);
    }

    std::vector<std::byte> read_all() {
        std::vector<std::byte> out(70000);
        auto n = stream.try_read(out);
        REQUIRE(n);
        out.resize(*n);
        return out;
    }
};

}  // namespace test::crafted
