#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "net/checksum.hpp"
#include "net/tcp_segmentation.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"

using namespace net;
using namespace net::tcp_flags;

namespace {

const Ipv4Address k_src = Ipv4Address::from_octets(10, 0, 0, 2);
const Ipv4Address k_dst = Ipv4Address::from_octets(10, 0, 0, 1);

// Ethernet + IPv4 + TCP (with timestamps) + payload, as the stack hands a TSO send to a
// device: the TCP checksum field holds only the pseudo-header sum when offloaded.
std::vector<std::byte> super_frame(std::size_t payload, std::uint8_t flags, bool offload) {
    TcpOptions options;
    options.timestamps = TcpTimestamps{1234, 5678};
    std::size_t tcp_header = TcpSegment::header_length(options);
    std::vector<std::byte> frame(14 + 20 + tcp_header + payload);
    frame[12] = std::byte{0x08};  // EtherType IPv4
    for (std::size_t i = 0; i < payload; ++i) frame[14 + 20 + tcp_header + i] = static_cast<std::byte>(i * 13 + 1);
    TcpSegment::emit(std::span(frame).subspan(34),
                     {.source_port = 7,
                      .destination_port = 40000,
                      .sequence = 0xFFFFF000,
                      .acknowledgment = 99,
                      .flags = flags,
                      .window = 512,
                      .options = options},
                     k_src, k_dst, payload, offload);
    Ipv4Packet::emit(std::span(frame).subspan(14), {.source = k_src,
                                                    .destination = k_dst,
                                                    .protocol = IpProtocol::Tcp,
                                                    .payload_length = static_cast<std::uint16_t>(tcp_header + payload),
                                                    .identification = 0xFFFE});
    return frame;
}

struct Piece {
    std::uint16_t id;
    std::uint32_t seq;
    std::uint8_t flags;
    std::vector<std::byte> payload;
};

std::vector<Piece> cut(const std::vector<std::byte>& frame, std::size_t mss) {
    std::vector<Piece> pieces;
    std::vector<std::byte> scratch(2048);
    auto n = segment_tcp4(frame, mss, scratch, [&](std::span<const std::byte> piece) {
        REQUIRE(piece.size() <= 14 + 1500);
        auto ip = Ipv4Packet::parse(piece.subspan(14));  // checks the header checksum
        REQUIRE(ip);
        CHECK(ip->dont_fragment());
        auto tcp = TcpSegment::parse(ip->payload(), ip->source(), ip->destination());  // and the TCP one
        REQUIRE(tcp);
        CHECK(tcp->options().timestamps->value == 1234);
        pieces.push_back({ip->identification(), tcp->sequence(), tcp->flags(),
                          std::vector<std::byte>(tcp->payload().begin(), tcp->payload().end())});
    });
    REQUIRE(n);
    CHECK(*n == pieces.size());
    return pieces;
}

}  // namespace

TEST_CASE("tcp segmentation: a TSO send is cut into MSS-sized segments with their own headers", "[tcp][tso]") {
    std::size_t mss = 1448;
    auto frame = super_frame(3 * mss + 100, k_ack | k_psh | k_fin | k_cwr, true);
    auto pieces = cut(frame, mss);
    REQUIRE(pieces.size() == 4);
    std::vector<std::byte> joined;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        CHECK(pieces[i].seq == static_cast<std::uint32_t>(0xFFFFF000 + i * mss));  // wraps around
        CHECK(pieces[i].id == static_cast<std::uint16_t>(0xFFFE + i));
        CHECK(pieces[i].payload.size() == (i < 3 ? mss : 100));
        bool last = i == 3;
        CHECK(((pieces[i].flags & k_fin) != 0) == last);
        CHECK(((pieces[i].flags & k_psh) != 0) == last);
        CHECK(((pieces[i].flags & k_cwr) != 0) == (i == 0));
        CHECK((pieces[i].flags & k_ack) != 0);
        joined.insert(joined.end(), pieces[i].payload.begin(), pieces[i].payload.end());
    }
    CHECK(std::equal(joined.begin(), joined.end(), frame.end() - static_cast<std::ptrdiff_t>(joined.size())));
}

TEST_CASE("tcp segmentation: an exact multiple, one piece, and no payload", "[tcp][tso]") {
    CHECK(cut(super_frame(2000, k_ack, true), 1000).size() == 2);
    CHECK(cut(super_frame(500, k_ack, true), 1000).size() == 1);
    auto bare = cut(super_frame(0, k_ack | k_fin, true), 1000);
    REQUIRE(bare.size() == 1);
    CHECK((bare[0].flags & k_fin) != 0);
    CHECK(cut(super_frame(700, k_ack, false), 0).size() == 1);  // segment_size 0: only checksums
}

TEST_CASE("tcp segmentation: malformed frames and a small scratch are refused", "[tcp][tso]") {
    std::vector<std::byte> scratch(2048);
    auto ignore = [](std::span<const std::byte>) { FAIL("nothing may be emitted"); };
    auto frame = super_frame(3000, k_ack, true);
    CHECK(segment_tcp4(std::span(frame).first(30), 1000, scratch, ignore).error() == SegmentationError::Malformed);
    auto not_ipv4 = frame;
    not_ipv4[12] = std::byte{0x86};
    CHECK(segment_tcp4(not_ipv4, 1000, scratch, ignore).error() == SegmentationError::Malformed);
    auto long_total = frame;
    long_total[14 + 2] = std::byte{0xFF};  // IPv4 total length beyond the frame
    CHECK(segment_tcp4(long_total, 1000, scratch, ignore).error() == SegmentationError::Malformed);
    auto bad_offset = frame;
    bad_offset[34 + 12] = std::byte{0xF0};  // TCP header of 60 bytes with options that do not parse: still cut
    CHECK(segment_tcp4(bad_offset, 1000, scratch, [](std::span<const std::byte>) {}));
    bad_offset[34 + 12] = std::byte{0x10};  // 4 bytes: shorter than a TCP header
    CHECK(segment_tcp4(bad_offset, 1000, scratch, ignore).error() == SegmentationError::Malformed);
    std::vector<std::byte> small(500);
    CHECK(segment_tcp4(frame, 1000, small, ignore).error() == SegmentationError::ScratchTooSmall);
}

TEST_CASE("tcp segmentation: complete_checksum finishes an offloaded checksum", "[tcp][tso]") {
    auto frame = super_frame(777, k_ack, true);
    REQUIRE(!TcpSegment::parse(std::span(frame).subspan(34), k_src, k_dst));  // only the pseudo-header sum
    REQUIRE(complete_checksum(frame, 34, 16));
    CHECK(TcpSegment::parse(std::span(frame).subspan(34), k_src, k_dst));
    CHECK(!complete_checksum(frame, frame.size() - 1, 16));
    CHECK(!complete_checksum(frame, frame.size() + 1, 0));
}
