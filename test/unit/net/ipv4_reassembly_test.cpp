#include "net/ipv4_reassembly.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "net/ipv4_fragmentation.hpp"
#include "test/unit/net/fake_link.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

const Ipv4Address k_source = Ipv4Address::from_octets(10, 0, 0, 1);
const Ipv4Address k_destination = Ipv4Address::from_octets(10, 0, 0, 2);
constexpr std::size_t k_large = 128 + Ipv4Reassembler::k_buffer_bytes;

std::vector<std::byte> pattern(std::size_t size, unsigned seed = 1) {
    std::vector<std::byte> bytes(size);
    std::mt19937 random(seed);
    for (auto& b : bytes) b = static_cast<std::byte>(random());
    return bytes;
}

// One fragment as it arrives: a header and `data` at byte offset `offset`.
std::vector<std::byte> fragment_bytes(std::span<const std::byte> data, std::size_t offset, bool more,
                                      std::uint16_t id = 7, IpProtocol protocol = IpProtocol::Udp) {
    std::vector<std::byte> bytes(Ipv4Packet::k_min_header + data.size());
    Ipv4Packet::emit(bytes, {.source = k_source,
                             .destination = k_destination,
                             .protocol = protocol,
                             .payload_length = static_cast<std::uint16_t>(data.size()),
                             .identification = id,
                             .dont_fragment = false,
                             .fragment_offset = static_cast<std::uint16_t>(offset),
                             .more_fragments = more});
    if (!data.empty()) std::memcpy(bytes.data() + Ipv4Packet::k_min_header, data.data(), data.size());
    return bytes;
}

struct Piece {
    std::size_t offset;
    std::size_t length;
    bool more;
};

// Cuts payload into pieces of `size` bytes (a multiple of 8).
std::vector<Piece> cut(std::size_t payload, std::size_t size) {
    std::vector<Piece> pieces;
    for (std::size_t at = 0; at < payload; at += size) {
        pieces.push_back({at, std::min(size, payload - at), at + size < payload});
    }
    return pieces;
}

struct Fixture {
    std::vector<std::byte> memory;
    std::unique_ptr<netif::BufferPool> pool;  // destroyed after the reassembler, which returns buffers
    Ipv4Reassembler reassembler;
    runtime::Instant now = runtime::instant_from_ns(5'000'000'000);

    explicit Fixture(ReassemblyConfig config = {}, std::size_t buffers = 4)
        : memory(buffers * k_large),
          pool(netif::BufferPool::create(memory, 0, k_large, 128).value()),
          reassembler(config) {
        reassembler.set_pool(pool.get());
    }
    ~Fixture() {
        // Nothing may be left out of the pool but what the reassembler still holds.
        CHECK(pool->stats().free + reassembler.in_progress() == pool->stats().buffers);
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    // Offers a fragment; returns the reassembled datagram's bytes if it completed one.
    std::optional<std::vector<std::byte>> offer(std::span<const std::byte> payload, Piece piece, std::uint16_t id = 7) {
        auto bytes = fragment_bytes(payload.subspan(piece.offset, piece.length), piece.offset, piece.more, id);
        auto ip = Ipv4Packet::parse(bytes);
        REQUIRE(ip);
        netif::PacketBuffer* whole = reassembler.add(*ip, now);
        if (whole == nullptr) return std::nullopt;
        std::vector<std::byte> out(whole->bytes().begin(), whole->bytes().end());
        netif::release_buffer(whole);
        return out;
    }
};

void check_datagram(const std::vector<std::byte>& datagram, std::span<const std::byte> payload) {
    auto ip = Ipv4Packet::parse(datagram);
    REQUIRE(ip);
    CHECK(!ip->is_fragment());
    CHECK(ip->source() == k_source);
    CHECK(ip->destination() == k_destination);
    CHECK(ip->identification() == 7);
    REQUIRE(ip->payload().size() == payload.size());
    CHECK(std::equal(payload.begin(), payload.end(), ip->payload().begin()));
}

}  // namespace

TEST_CASE("reassembly: in order, in reverse and shuffled", "[reassembly]") {
    auto payload = pattern(9000);
    auto pieces = cut(payload.size(), 1480);
    SECTION("in order") {}
    SECTION("in reverse") { std::reverse(pieces.begin(), pieces.end()); }
    SECTION("shuffled") {
        std::mt19937 random(GENERATE(1u, 2u, 3u, 4u, 5u));
        std::shuffle(pieces.begin(), pieces.end(), random);
    }
    Fixture f;
    for (std::size_t i = 0; i + 1 < pieces.size(); ++i) {
        CHECK(!f.offer(payload, pieces[i]));
        CHECK(f.reassembler.in_progress() == 1);
    }
    auto datagram = f.offer(payload, pieces.back());
    REQUIRE(datagram);
    check_datagram(*datagram, payload);
    CHECK(f.reassembler.stats().reassembled == 1);
    CHECK(f.reassembler.in_progress() == 0);
    CHECK(f.reassembler.bytes_held() == 0);
    CHECK(!f.reassembler.poll_at());
}

TEST_CASE("reassembly: the largest datagram, in 8-byte fragments", "[reassembly]") {
    auto payload = pattern(Ipv4Reassembler::k_max_payload);
    Fixture f({.max_bytes = 70000});
    std::optional<std::vector<std::byte>> datagram;
    for (Piece piece : cut(payload.size(), 8)) datagram = f.offer(payload, piece);
    REQUIRE(datagram);
    CHECK(datagram->size() == 65535);
    check_datagram(*datagram, payload);
}

TEST_CASE("reassembly: duplicates and identical overlaps are harmless", "[reassembly]") {
    auto payload = pattern(4000);
    Fixture f;
    CHECK(!f.offer(payload, {0, 1480, true}));
    CHECK(!f.offer(payload, {0, 1480, true}));  // a duplicate
    CHECK(f.reassembler.stats().duplicates == 1);
    CHECK(!f.offer(payload, {1472, 1024, true}));  // overlaps the first by 8 identical bytes
    CHECK(f.reassembler.stats().overlaps == 0);
    auto datagram = f.offer(payload, {2480, 1520, false});  // overlaps the second, ends the datagram
    REQUIRE(datagram);
    check_datagram(*datagram, payload);
}

TEST_CASE("reassembly: an overlap with different bytes drops the whole datagram", "[reassembly]") {
    auto payload = pattern(3000);
    Fixture f;
    CHECK(!f.offer(payload, {0, 1480, true}));
    auto other = pattern(3000, 99);
    CHECK(!f.offer(other, {1000, 1000, true}));
    CHECK(f.reassembler.stats().overlaps == 1);
    CHECK(f.reassembler.in_progress() == 0);
    // The rest of the original starts a new datagram that can never complete.
    CHECK(!f.offer(payload, {1480, 1520, false}));
    CHECK(f.reassembler.in_progress() == 1);
}

TEST_CASE("reassembly: fragments that disagree on the length drop the datagram", "[reassembly]") {
    auto payload = pattern(3000);
    Fixture f;
    SECTION("two different last fragments") {
        CHECK(!f.offer(payload, {1480, 1520, false}));
        CHECK(!f.offer(payload, {1480, 1000, false}));
    }
    SECTION("a fragment past the end") {
        CHECK(!f.offer(payload, {1000, 1000, false}));  // the datagram ends at 2000
        CHECK(!f.offer(payload, {1992, 16, true}));     // ... and this goes to 2008
    }
    CHECK(f.reassembler.stats().overlaps == 1);
    CHECK(f.reassembler.in_progress() == 0);
}

TEST_CASE("reassembly: a missing fragment times out after 30 s", "[reassembly]") {
    auto payload = pattern(3000);
    Fixture f;
    std::size_t timed_out = 0;
    std::vector<std::byte> quoted_header;
    auto expire = [&] {
        f.reassembler.expire(f.now, [&](std::span<const std::byte> header, std::span<const std::byte> start) {
            ++timed_out;
            quoted_header.assign(header.begin(), header.end());
            CHECK(start.size() == 8);
            CHECK(std::equal(start.begin(), start.end(), payload.begin()));
        });
    };
    SECTION("the first fragment arrived: its header is reported") {
        CHECK(!f.offer(payload, {0, 1480, true}));
        REQUIRE(f.reassembler.poll_at());
        CHECK(*f.reassembler.poll_at() == f.now + 30s);
        f.now += 29s;
        expire();
        CHECK(timed_out == 0);
        CHECK(f.reassembler.in_progress() == 1);
        f.now += 1s;
        expire();
        CHECK(timed_out == 1);
        auto first = fragment_bytes(std::span(payload).first(1480), 0, true);
        auto header = Ipv4Packet::parse(first);
        REQUIRE(header);
        CHECK(quoted_header.size() == 20);
        CHECK(std::equal(quoted_header.begin(), quoted_header.end(), header->header_bytes().begin()));
    }
    SECTION("only later fragments arrived: nothing to report") {
        CHECK(!f.offer(payload, {1480, 1520, false}));
        f.now += 30s;
        expire();
        CHECK(timed_out == 0);
    }
    CHECK(f.reassembler.stats().timeouts == 1);
    CHECK(f.reassembler.in_progress() == 0);
    CHECK(f.reassembler.bytes_held() == 0);
}

TEST_CASE("reassembly: limits on datagrams and bytes in progress", "[reassembly]") {
    auto payload = pattern(8000);
    SECTION("datagrams") {
        Fixture f({.max_datagrams = 2});
        CHECK(!f.offer(payload, {0, 1480, true}, 1));
        CHECK(!f.offer(payload, {0, 1480, true}, 2));
        CHECK(!f.offer(payload, {0, 1480, true}, 3));
        CHECK(f.reassembler.stats().table_full == 1);
        CHECK(f.reassembler.in_progress() == 2);
        // The ones in progress still complete.
        CHECK(f.offer(payload, {1480, 100, false}, 1));
    }
    SECTION("bytes") {
        Fixture f({.max_bytes = 4000});
        CHECK(!f.offer(payload, {0, 2000, true}, 1));
        CHECK(!f.offer(payload, {0, 1600, true}, 2));
        CHECK(!f.offer(payload, {2000, 1600, true}, 1));  // 5200 > 4000
        CHECK(!f.offer(payload, {0, 800, true}, 3));      // a new datagram that cannot fit is not kept
        CHECK(f.reassembler.stats().memory_limit == 2);
        CHECK(f.reassembler.in_progress() == 2);
        CHECK(f.reassembler.bytes_held() == 3600);
    }
    SECTION("large buffers") {
        Fixture f({}, 1);
        CHECK(!f.offer(payload, {0, 1480, true}, 1));
        CHECK(!f.offer(payload, {0, 1480, true}, 2));
        CHECK(f.reassembler.stats().no_buffer == 1);
    }
}

TEST_CASE("reassembly: too big, malformed, and no pool", "[reassembly]") {
    auto payload = pattern(65536);
    Fixture f;
    SECTION("past 65535 bytes") {
        CHECK(!f.offer(payload, {0, 1480, true}));
        CHECK(!f.offer(payload, {65512, 8, false}));  // 65520 + 20 > 65535: the "ping of death"
        CHECK(f.reassembler.stats().too_big == 1);
        CHECK(f.reassembler.in_progress() == 0);
    }
    SECTION("a middle fragment whose length is not a multiple of 8") {
        CHECK(!f.offer(payload, {0, 1479, true}));
        CHECK(f.reassembler.stats().malformed == 1);
        CHECK(f.reassembler.in_progress() == 0);
    }
    SECTION("an empty middle fragment") {
        CHECK(!f.offer(payload, {800, 0, true}));
        CHECK(f.reassembler.stats().malformed == 1);
    }
    SECTION("the largest offset with an empty last fragment") {
        CHECK(!f.offer(payload, {65528, 0, false}));  // 65528 + 20 > 65535
        CHECK(f.reassembler.stats().too_big == 1);
    }
    SECTION("no pool") {
        Ipv4Reassembler alone;
        auto bytes = fragment_bytes(std::span(payload).first(8), 0, true);
        auto ip = Ipv4Packet::parse(bytes);
        REQUIRE(ip);
        CHECK(alone.add(*ip, f.now) == nullptr);
        CHECK(alone.stats().no_buffer == 1);
    }
}

TEST_CASE("fragmentation: fragments reassemble to the datagram", "[reassembly]") {
    test::FakeDevice device(netif::MacAddress{{2, 0, 0, 0, 0, 1}}, 64);
    auto payload = pattern(GENERATE(std::size_t{1481}, std::size_t{9000}, std::size_t{65515}));
    auto datagram = fragment_bytes(payload, 0, false, 7);
    SECTION("a datagram with don't fragment is refused") {
        Ipv4Packet::emit(datagram, {.source = k_source,
                                    .destination = k_destination,
                                    .protocol = IpProtocol::Udp,
                                    .payload_length = static_cast<std::uint16_t>(payload.size()),
                                    .identification = 7});
        CHECK(fragment_ipv4(datagram, 1500, device).error() == FragmentError::DontFragment);
    }
    SECTION("an MTU below 28 is refused") {
        CHECK(fragment_ipv4(datagram, 27, device).error() == FragmentError::MtuTooSmall);
    }
    SECTION("split at 1500 and put together again") {
        auto list = fragment_ipv4(datagram, 1500, device);
        REQUIRE(list);
        Fixture f;
        std::optional<std::vector<std::byte>> whole;
        std::size_t count = 0;
        for (netif::PacketBuffer* p = list.value(); p != nullptr; p = p->next) {
            ++count;
            CHECK(p->size() <= 1500);
            auto ip = Ipv4Packet::parse(p->bytes());
            REQUIRE(ip);
            CHECK(ip->identification() == 7);
            CHECK(!ip->dont_fragment());
            CHECK(ip->more_fragments() == (p->next != nullptr));
            if (p->next != nullptr) CHECK(ip->payload().size() == 1480);
            netif::PacketBuffer* done = f.reassembler.add(*ip, f.now);
            if (done != nullptr) {
                whole.emplace(done->bytes().begin(), done->bytes().end());
                netif::release_buffer(done);
            }
        }
        release_list(list.value());
        CHECK(count == (payload.size() + 1479) / 1480);
        REQUIRE(whole);
        check_datagram(*whole, payload);
    }
    SECTION("a pool too small sends nothing") {
        test::FakeDevice small(netif::MacAddress{{2, 0, 0, 0, 0, 2}}, 6);
        auto list = fragment_ipv4(datagram, 1500, small);
        if (payload.size() > std::size_t{6} * 1480) {
            CHECK(list.error() == FragmentError::NoBuffer);
        } else {
            REQUIRE(list);
            release_list(list.value());
        }
        CHECK(small.pool().stats().free == small.pool().stats().buffers);
    }
    CHECK(device.pool().stats().free == device.pool().stats().buffers);
}
