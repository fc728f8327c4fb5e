#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "net/checksum.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmp.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/udp.hpp"

using namespace net;

namespace {

std::vector<std::byte> hex(const std::string& text) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < text.size();) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        out.push_back(static_cast<std::byte>(std::stoi(text.substr(i, 2), nullptr, 16)));
        i += 2;
    }
    return out;
}

class StringSink final : public kernel::fmt::Sink {
public:
    void write(std::string_view text) override { out.append(text); }
    std::string out;
};

template <typename T>
std::string to_text(const T& value) {
    StringSink sink;
    kernel::fmt::format_to(sink, "{}", value);
    return sink.out;
}

// A captured IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) with its real checksum 0xb861.
const std::string k_ipv4_header = "45000073000040004011b861c0a80001c0a800c7";

}  // namespace

TEST_CASE("addresses parse strictly and print") {
    CHECK(Ipv4Address::parse("10.0.2.15") == Ipv4Address::from_octets(10, 0, 2, 15));
    for (const char* bad : {"", "10.0.2", "10.0.2.15.", "256.0.0.1", "1.2.3.4x", "1..2.3", "1234.1.1.1", " 1.2.3.4"}) {
        CHECK_FALSE(Ipv4Address::parse(bad).has_value());
    }
    auto cidr = Ipv4Cidr::parse("10.0.0.2/24");
    REQUIRE(cidr);
    CHECK(cidr->contains(Ipv4Address::from_octets(10, 0, 0, 200)));
    CHECK_FALSE(cidr->contains(Ipv4Address::from_octets(10, 0, 1, 1)));
    CHECK(cidr->directed_broadcast() == Ipv4Address::from_octets(10, 0, 0, 255));
    CHECK(Ipv4Cidr::parse("0.0.0.0/0")->mask() == 0);
    CHECK_FALSE(Ipv4Cidr::parse("10.0.0.2/33").has_value());
    CHECK_FALSE(Ipv4Cidr::parse("10.0.0.2").has_value());
    CHECK(to_text(*cidr) == "10.0.0.2/24");
    CHECK(to_text(netif::MacAddress{{0x52, 0x54, 0, 0x12, 0x34, 0x56}}) == "52:54:00:12:34:56");
}

TEST_CASE("checksum: RFC 1071 example, any alignment and length, incremental update") {
    // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to 0xddf2 (checksum 0x220d).
    CHECK(internet_checksum(hex("0001f203f4f5f6f7")) == 0x220d);
    CHECK(internet_checksum(hex(k_ipv4_header)) == 0);
    std::mt19937 random(1);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<std::byte> data(random() % 1500);
        for (auto& b : data) b = static_cast<std::byte>(random());
        std::uint32_t naive = 0;
        for (std::size_t i = 0; i < data.size(); i += 2) {
            naive += (std::to_integer<std::uint32_t>(data[i]) << 8) |
                     (i + 1 < data.size() ? std::to_integer<std::uint32_t>(data[i + 1]) : 0);
        }
        while (naive >> 16) naive = (naive & 0xFFFF) + (naive >> 16);
        REQUIRE(internet_checksum(data) == static_cast<std::uint16_t>(~naive));
    }
    // Decrementing the TTL of the captured header: update and recompute agree.
    auto header = hex(k_ipv4_header);
    std::uint16_t old_word =
        static_cast<std::uint16_t>((std::to_integer<int>(header[8]) << 8) | std::to_integer<int>(header[9]));
    header[8] = std::byte{0x3f};
    std::uint16_t new_word = static_cast<std::uint16_t>((0x3f << 8) | std::to_integer<int>(header[9]));
    std::uint16_t updated = checksum_update(0xb861, old_word, new_word);
    header[10] = header[11] = std::byte{0};
    CHECK(updated == internet_checksum(header));
}

TEST_CASE("ethernet: parse and emit; runts are truncated") {
    std::vector<std::byte> frame(60);
    EthernetFrame::emit(frame, netif::MacAddress::broadcast(), netif::MacAddress{{2, 0, 0, 0, 0, 1}}, EtherType::Arp);
    auto parsed = EthernetFrame::parse(frame);
    REQUIRE(parsed);
    CHECK(parsed->destination().is_broadcast());
    CHECK(parsed->ether_type() == 0x0806);
    CHECK(parsed->payload().size() == 46);
    CHECK(EthernetFrame::parse(std::span(frame).first(13)).error() == ParseError::Truncated);
}

TEST_CASE("arp: request round trip; other hardware or odd sizes are refused") {
    ArpPacket request{ArpOperation::Request,
                      netif::MacAddress{{2, 0, 0, 0, 0, 1}},
                      Ipv4Address::from_octets(10, 0, 0, 1),
                      {},
                      Ipv4Address::from_octets(10, 0, 0, 2)};
    std::vector<std::byte> bytes(ArpPacket::k_size);
    request.emit(bytes);
    auto parsed = ArpPacket::parse(bytes);
    REQUIRE(parsed);
    CHECK(parsed->operation == ArpOperation::Request);
    CHECK(parsed->target_ip == Ipv4Address::from_octets(10, 0, 0, 2));
    CHECK(parsed->sender_mac == request.sender_mac);
    auto odd = bytes;
    odd[4] = std::byte{8};  // hardware address length
    CHECK(ArpPacket::parse(odd).error() == ParseError::Malformed);
    auto token_ring = bytes;
    token_ring[1] = std::byte{6};
    CHECK(ArpPacket::parse(token_ring).error() == ParseError::Unsupported);
    CHECK(ArpPacket::parse(std::span(bytes).first(27)).error() == ParseError::Truncated);
}

TEST_CASE("ipv4: a captured header validates; every broken field is caught") {
    auto packet = hex(k_ipv4_header);
    packet.resize(0x73);  // total length 115: the payload follows
    auto parsed = Ipv4Packet::parse(packet);
    REQUIRE(parsed);
    CHECK(parsed->source() == Ipv4Address::from_octets(192, 168, 0, 1));
    CHECK(parsed->protocol() == 17);
    CHECK(parsed->dont_fragment());
    CHECK_FALSE(parsed->is_fragment());
    CHECK(parsed->payload().size() == 95);

    auto padded = packet;
    padded.resize(200);  // trailing bytes (link padding) are not payload
    CHECK(Ipv4Packet::parse(padded)->payload().size() == 95);

    auto v6 = packet;
    v6[0] = std::byte{0x65};
    CHECK(Ipv4Packet::parse(v6).error() == ParseError::BadVersion);
    auto short_ihl = packet;
    short_ihl[0] = std::byte{0x44};
    CHECK(Ipv4Packet::parse(short_ihl).error() == ParseError::BadHeaderLength);
    auto long_ihl = packet;
    long_ihl[0] = std::byte{0x4F};
    CHECK(Ipv4Packet::parse(std::span(long_ihl).first(40)).error() == ParseError::BadHeaderLength);
    CHECK(Ipv4Packet::parse(std::span(packet).first(100)).error() == ParseError::BadTotalLength);
    auto tiny_total = packet;
    tiny_total[2] = std::byte{0};
    tiny_total[3] = std::byte{10};
    CHECK(Ipv4Packet::parse(tiny_total).error() == ParseError::BadTotalLength);
    auto corrupt = packet;
    corrupt[12] ^= std::byte{1};
    CHECK(Ipv4Packet::parse(corrupt).error() == ParseError::BadChecksum);
    CHECK(Ipv4Packet::parse(std::span(packet).first(19)).error() == ParseError::Truncated);
}

TEST_CASE("ipv4 + icmp: an echo request built here parses back, fragments are recognised") {
    std::vector<std::byte> packet(20 + 8 + 4);
    const std::byte data[] = {std::byte{'p'}, std::byte{'i'}, std::byte{'n'}, std::byte{'g'}};
    IcmpMessage::emit(std::span(packet).subspan(20), IcmpType::EchoRequest, 0, 0x1234, 7, data);
    Ipv4Packet::emit(packet, {.source = Ipv4Address::from_octets(10, 0, 0, 1),
                              .destination = Ipv4Address::from_octets(10, 0, 0, 2),
                              .protocol = IpProtocol::Icmp,
                              .payload_length = 12,
                              .fragment_offset = 1480,
                              .more_fragments = true});
    auto ip = Ipv4Packet::parse(packet);
    REQUIRE(ip);
    CHECK(ip->is_fragment());
    CHECK(ip->fragment_offset() == 1480);
    auto icmp = IcmpMessage::parse(ip->payload());
    REQUIRE(icmp);
    CHECK(icmp->type() == 8);
    CHECK(icmp->identifier() == 0x1234);
    CHECK(icmp->sequence() == 7);
    CHECK(icmp->data().size() == 4);
    packet[30] ^= std::byte{0xFF};
    CHECK(IcmpMessage::parse(Ipv4Packet::parse(packet)->payload()).error() == ParseError::BadChecksum);
}

TEST_CASE("udp: checksum with the pseudo-header, zero means none, lengths are checked") {
    auto src = Ipv4Address::from_octets(10, 0, 0, 1);
    auto dst = Ipv4Address::from_octets(10, 0, 0, 2);
    std::vector<std::byte> datagram(8 + 5);
    std::memcpy(datagram.data() + 8, "hello", 5);
    UdpDatagram::emit(datagram, src, dst, 5000, 7, 5);
    auto parsed = UdpDatagram::parse(datagram, src, dst);
    REQUIRE(parsed);
    CHECK(parsed->destination_port() == 7);
    CHECK(parsed->payload().size() == 5);
    // The same bytes from another source fail the pseudo-header check.
    CHECK(UdpDatagram::parse(datagram, Ipv4Address::from_octets(10, 0, 0, 9), dst).error() == ParseError::BadChecksum);
    CHECK(UdpDatagram::parse(datagram, Ipv4Address::from_octets(10, 0, 0, 9), dst,
                             UdpDatagram::ChecksumCheck::AlreadyVerified));
    auto no_checksum = datagram;
    no_checksum[6] = no_checksum[7] = std::byte{0};
    no_checksum[9] ^= std::byte{1};
    CHECK(UdpDatagram::parse(no_checksum, src, dst).has_value());
    auto long_length = datagram;
    long_length[5] = std::byte{14};
    CHECK(UdpDatagram::parse(long_length, src, dst).error() == ParseError::BadTotalLength);
    auto short_length = datagram;
    short_length[5] = std::byte{7};
    CHECK(UdpDatagram::parse(short_length, src, dst).error() == ParseError::BadTotalLength);
}
