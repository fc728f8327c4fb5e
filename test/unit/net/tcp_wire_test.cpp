#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "net/checksum.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"

using namespace net;

namespace {
const Ipv4Address k_src = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address k_dst = Ipv4Address::from_octets(10, 0, 0, 2);
}  // namespace

TEST_CASE("tcp: a SYN with the options Linux sends parses") {
    // The options of a Linux SYN: mss 1460, sackOK, TS val 1 ecr 0, nop, wscale 7.
    const std::uint8_t options[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    std::vector<std::byte> segment(40);
    TcpHeader h{40000, 7, 1000, 0, (40 / 4) << 4, tcp_flags::k_syn, 64240, 0, 0};
    std::memcpy(segment.data(), &h, sizeof h);
    std::memcpy(segment.data() + 20, options, sizeof options);
    Checksum sum;
    add_pseudo_header(sum, k_src, k_dst, IpProtocol::Tcp, 40);
    sum.add(segment);
    Big16 checksum = sum.finish();
    std::memcpy(segment.data() + 16, &checksum, 2);

    auto s = TcpSegment::parse(segment, k_src, k_dst);
    REQUIRE(s);
    CHECK(s->has(tcp_flags::k_syn));
    CHECK(s->sequence_length() == 1);
    CHECK(s->options().mss == 1460);
    CHECK(s->options().sack_permitted);
    CHECK(s->options().timestamps->value == 1);
    CHECK(s->options().window_scale == 7);
    CHECK(s->payload().empty());
}

TEST_CASE("tcp: emit and parse agree, with every option and data") {
    TcpOptions syn;
    syn.mss = 1460;
    syn.window_scale = 9;
    syn.sack_permitted = true;
    syn.timestamps = TcpTimestamps{1, 0};
    CHECK(syn.length() == 20);  // MSS 4, WS 4, SACK-permitted + TS 12
    TcpOptions o;
    o.timestamps = TcpTimestamps{123456, 654321};
    o.sack = {SackBlock{100, 200}, SackBlock{300, 400}, SackBlock{500, 600}, SackBlock{700, 800}};
    o.sack_count = 4;
    CHECK(o.length() == 40);  // TS 12, then room for three SACK blocks (28)
    syn.sack_count = 4;
    syn.sack = o.sack;
    CHECK(syn.length() == 40);  // two blocks fit beside the SYN's options
    std::vector<std::byte> segment(TcpSegment::header_length(o) + 5);
    std::memcpy(segment.data() + TcpSegment::header_length(o), "hello", 5);
    std::size_t header = TcpSegment::emit(
        segment, {1234, 80, 0xFFFFFFF0, 42, tcp_flags::k_ack | tcp_flags::k_psh, 512, o}, k_src, k_dst, 5);
    CHECK(header == 60);
    CHECK(TcpOptions{.sack = o.sack, .sack_count = 4}.length() == 36);  // four blocks without timestamps
    auto s = TcpSegment::parse(segment, k_src, k_dst);
    REQUIRE(s);
    CHECK(s->sequence() == 0xFFFFFFF0);
    CHECK(s->acknowledgment() == 42);
    CHECK(s->window() == 512);
    CHECK(s->options().sack_count == 3);
    CHECK(s->options().sack[2] == SackBlock{500, 600});
    CHECK(s->options().timestamps->echo == 654321);
    CHECK(s->payload().size() == 5);
    auto other = Ipv4Address::from_octets(10, 0, 0, 3);
    CHECK(TcpSegment::parse(segment, other, k_dst).error() == ParseError::BadChecksum);  // wrong pseudo-header
}

TEST_CASE("tcp: malformed headers and options are refused") {
    std::vector<std::byte> segment(24);
    TcpHeader h{1, 2, 3, 4, (24 / 4) << 4, tcp_flags::k_ack, 100, 0, 0};
    std::memcpy(segment.data(), &h, sizeof h);
    auto parse = [&](std::vector<std::byte> bytes) {
        return TcpSegment::parse(bytes, k_src, k_dst, TcpSegment::ChecksumCheck::AlreadyVerified);
    };
    auto with_options = [&](std::initializer_list<std::uint8_t> options) {
        auto copy = segment;
        std::size_t i = 20;
        for (auto b : options) copy[i++] = std::byte{b};
        return copy;
    };
    CHECK(parse(with_options({1, 1, 1, 0})).has_value());                        // NOPs and the end
    CHECK(parse(with_options({1, 1, 2, 4})).error() == ParseError::Malformed);   // MSS overruns
    CHECK(parse(with_options({99, 0, 0, 0})).error() == ParseError::Malformed);  // length 0
    CHECK(parse(with_options({2, 3, 5, 0})).error() == ParseError::Malformed);   // MSS of length 3
    CHECK(parse(with_options({3, 3, 200, 0}))->options().window_scale == 14);    // clamped
    CHECK(parse(with_options({77, 4, 0, 0})).has_value());                       // unknown, skipped
    auto short_offset = segment;
    short_offset[12] = std::byte{4 << 4};
    CHECK(parse(short_offset).error() == ParseError::BadHeaderLength);
    auto long_offset = segment;
    long_offset[12] = std::byte{15 << 4};
    CHECK(parse(long_offset).error() == ParseError::BadHeaderLength);
    CHECK(parse(std::vector<std::byte>(19)).error() == ParseError::Truncated);
}

TEST_CASE("tcp: sequence arithmetic wraps") {
    CHECK(seq_lt(0xFFFFFFF0, 0x10));
    CHECK(seq_gt(0x10, 0xFFFFFFF0));
    CHECK(seq_le(5, 5));
    CHECK_FALSE(seq_lt(0x10, 0xFFFFFFF0));
}

TEST_CASE("tcp: with checksum offload only the pseudo-header sum is stored") {
    std::vector<std::byte> segment(20 + 3, std::byte{7});
    TcpSegment::emit(segment, {1, 2, 3, 4, tcp_flags::k_ack, 10, {}}, k_src, k_dst, 3, true);
    // What a device does for NEEDS_CSUM: sum from csum_start, store the complement.
    Checksum device;
    device.add(segment);
    Big16 final_checksum = device.finish();
    std::memcpy(segment.data() + 16, &final_checksum, 2);
    CHECK(TcpSegment::parse(segment, k_src, k_dst).has_value());
}
