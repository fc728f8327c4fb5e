#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <set>

#include "net/siphash.hpp"
#include "net/tcp_isn.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

// The reference vectors of the SipHash paper (Appendix A) and its reference code
// (vectors.h): key 00 01 .. 0f, message i = the bytes 00 01 .. i-1, output as a
// little-endian 64-bit number.
constexpr std::array<std::uint64_t, 64> k_siphash_vectors = {
    0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d, 0xcf2794e0277187b7,
    0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137, 0x93f5f5799a932462, 0x9e0082df0ba9e4b0,
    0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7, 0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee,
    0xa129ca6149be45e5, 0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
    0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8, 0xb8ad50c6f649af94,
    0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad, 0xde4daaaca71dc9a5, 0xa6a2506687956571,
    0xad87a3535c49ef28, 0x32d892fad841c342, 0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238,
    0x15e034d40fa197ae, 0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
    0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95, 0xf935451de4f21df2,
    0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb, 0xe612a3cb9ecba951, 0xc766e62cfcadaf96,
    0xee64435a9752fe72, 0xa192d576b245165a, 0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea,
    0x245731c13ca42499, 0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
    0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
};

const TcpFourTuple k_tuple{Ipv4Address::from_octets(10, 0, 0, 2), 80, Ipv4Address::from_octets(10, 0, 0, 1), 40000};
const runtime::Instant k_now = runtime::instant_from_ns(1000'500'000'000);  // 1000.5 s

}  // namespace

TEST_CASE("siphash: SipHash-2-4 gives the reference vectors", "[tcp][siphash]") {
    SipHashKey key{0x0706050403020100, 0x0f0e0d0c0b0a0908};
    std::array<std::byte, 64> message{};
    for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::byte>(i);
    for (std::size_t length = 0; length < 64; ++length) {
        INFO("message length " << length);
        CHECK(siphash24(key, std::span(message).first(length)) == k_siphash_vectors[length]);
    }
    // The paper's worked example (Appendix A): 15 bytes.
    CHECK(siphash24(key, std::span(message).first(15)) == 0xa129ca6149be45e5);
}

TEST_CASE("siphash: keys from seeds differ per seed and per domain", "[tcp][siphash]") {
    SipHashKey a = siphash_key_from_seed(1, 1);
    SipHashKey b = siphash_key_from_seed(2, 1);
    SipHashKey c = siphash_key_from_seed(1, 2);
    CHECK((a.k0 != b.k0 && a.k1 != b.k1));
    CHECK((a.k0 != c.k0 && a.k1 != c.k1));
    CHECK(a.k0 != a.k1);
}

TEST_CASE("tcp isn: ISNs differ across tuples and grow with a 4 us clock (RFC 6528)", "[tcp][isn]") {
    TcpIsnGenerator generator(0x1234'5678'9abc'def0);
    std::set<std::uint32_t> seen;
    for (std::uint16_t port = 40000; port < 41000; ++port) {
        TcpFourTuple tuple = k_tuple;
        tuple.remote_port = port;
        seen.insert(generator.isn(tuple, k_now));
    }
    CHECK(seen.size() == 1000);
    TcpFourTuple other_address = k_tuple;
    other_address.remote = Ipv4Address::from_octets(10, 0, 0, 3);
    CHECK(generator.isn(other_address, k_now) != generator.isn(k_tuple, k_now));

    // One tuple: M advances one per 4 us, F stays.
    std::uint32_t first = generator.isn(k_tuple, k_now);
    CHECK(generator.isn(k_tuple, k_now + 3us) == first);
    CHECK(generator.isn(k_tuple, k_now + 4us) == first + 1);
    CHECK(generator.isn(k_tuple, k_now + 1s) == first + 250'000);
    std::uint32_t previous = first;
    for (int i = 1; i <= 100; ++i) {
        std::uint32_t next = generator.isn(k_tuple, k_now + i * 1ms);
        CHECK(static_cast<std::int32_t>(next - previous) > 0);  // increasing, modulo 2^32
        previous = next;
    }
    // Another seed, another F.
    CHECK(TcpIsnGenerator(1).isn(k_tuple, k_now) != TcpIsnGenerator(2).isn(k_tuple, k_now));
}

TEST_CASE("tcp syn cookies: a cookie decodes to its options", "[tcp][syncookie]") {
    TcpSynCookies cookies(42);
    for (int scale : {0, 7, 14}) {
        SynCookieOptions options{.mss = 1460, .window_scale = static_cast<std::uint8_t>(scale), .sack_permitted = true};
        std::uint32_t cookie = cookies.encode(k_tuple, 0xdeadbeef, options, k_now);
        CHECK(cookies.decode(k_tuple, 0xdeadbeef, cookie, k_now) == options);
        CHECK(cookies.decode(k_tuple, 0xdeadbeef, cookie, k_now + 60s) == options);  // the next slot
    }
    SynCookieOptions plain{.mss = 536};
    CHECK(cookies.decode(k_tuple, 7, cookies.encode(k_tuple, 7, plain, k_now), k_now) == plain);
}

TEST_CASE("tcp syn cookies: the MSS rounds down to the table, wscale clamps to 14", "[tcp][syncookie]") {
    TcpSynCookies cookies(42);
    auto round_trip = [&](SynCookieOptions options) {
        return *cookies.decode(k_tuple, 1, cookies.encode(k_tuple, 1, options, k_now), k_now);
    };
    CHECK(round_trip({.mss = 1459}).mss == 1440);
    CHECK(round_trip({.mss = 1460}).mss == 1460);
    CHECK(round_trip({.mss = 9000}).mss == 8960);
    CHECK(round_trip({.mss = 65535}).mss == 8960);
    CHECK(round_trip({.mss = 600}).mss == 536);
    CHECK(round_trip({.mss = 10}).mss == 88);
    CHECK(round_trip({.mss = 1460, .window_scale = 200}).window_scale == 14);
    CHECK_FALSE(round_trip({.mss = 1460}).window_scale.has_value());
    CHECK_FALSE(round_trip({.mss = 1460}).sack_permitted);
}

TEST_CASE("tcp syn cookies: forged, misdirected and stale cookies are refused", "[tcp][syncookie]") {
    TcpSynCookies cookies(42);
    SynCookieOptions options{.mss = 1460, .window_scale = 7, .sack_permitted = true};
    std::uint32_t cookie = cookies.encode(k_tuple, 1000, options, k_now);
    REQUIRE(cookies.decode(k_tuple, 1000, cookie, k_now));
    for (unsigned bit = 0; bit < 32; ++bit) {
        INFO("bit " << bit);
        CHECK_FALSE(cookies.decode(k_tuple, 1000, cookie ^ (1U << bit), k_now));
    }
    TcpFourTuple other = k_tuple;
    other.remote_port = 40001;
    CHECK_FALSE(cookies.decode(other, 1000, cookie, k_now));
    other = k_tuple;
    other.local = Ipv4Address::from_octets(10, 0, 0, 9);
    CHECK_FALSE(cookies.decode(other, 1000, cookie, k_now));
    CHECK_FALSE(cookies.decode(k_tuple, 1001, cookie, k_now));               // another peer ISN
    CHECK_FALSE(cookies.decode(k_tuple, 1000, cookie, k_now + 130s));        // two slots later
    CHECK_FALSE(cookies.decode(k_tuple, 1000, cookie, k_now + 64s * 1000));  // same parity, much later
    CHECK_FALSE(TcpSynCookies(43).decode(k_tuple, 1000, cookie, k_now));     // another key
    // A cookie from the first slot of the clock, checked at slot 1 then slot 2.
    std::uint32_t early = cookies.encode(k_tuple, 5, options, runtime::instant_from_ns(0));
    CHECK(cookies.decode(k_tuple, 5, early, runtime::instant_from_ns(0) + 64s));
    CHECK_FALSE(cookies.decode(k_tuple, 5, early, runtime::instant_from_ns(0) + 128s));
    CHECK_FALSE(cookies.decode(k_tuple, 5, early ^ (1U << 8), runtime::instant_from_ns(0)));  // no slot -1
}

TEST_CASE("tcp syn cookies: random guesses almost never pass", "[tcp][syncookie]") {
    TcpSynCookies cookies(7);
    int accepted = 0;
    for (std::uint32_t guess = 0; guess < 200000; ++guess) {
        if (cookies.decode(k_tuple, 1000, guess * 2654435761U, k_now)) ++accepted;
    }
    CHECK(accepted <= 2);  // expected 200000 / 2^23 = 0.02
}
