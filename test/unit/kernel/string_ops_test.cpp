#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "kernel/string_ops.hpp"

namespace {

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
    return v;
}

}  // namespace

// Every length from 0 to 40 at every alignment of both ends covers the word loop, the
// tail and their seams; the guard bytes around the destination must not change.
TEST_CASE("string ops: copy_forward copies exactly count bytes at any alignment", "[string_ops]") {
    for (std::size_t n = 0; n <= 40; ++n) {
        for (std::size_t src_off = 0; src_off < 8; ++src_off) {
            for (std::size_t dst_off = 0; dst_off < 8; ++dst_off) {
                auto source = pattern(n + 16, 3);
                std::vector<std::uint8_t> dest(n + 16, 0xEE);
                kernel::string_ops::copy_forward(dest.data() + dst_off, source.data() + src_off, n);
                for (std::size_t i = 0; i < dest.size(); ++i) {
                    bool inside = i >= dst_off && i < dst_off + n;
                    REQUIRE(dest[i] == (inside ? source[src_off + i - dst_off] : 0xEE));
                }
            }
        }
    }
}

TEST_CASE("string ops: fill sets exactly count bytes", "[string_ops]") {
    for (std::size_t n = 0; n <= 40; ++n) {
        for (std::size_t off = 0; off < 8; ++off) {
            std::vector<std::uint8_t> dest(n + 16, 0xEE);
            kernel::string_ops::fill(dest.data() + off, 0x5A, n);
            for (std::size_t i = 0; i < dest.size(); ++i) REQUIRE(dest[i] == (i >= off && i < off + n ? 0x5A : 0xEE));
        }
    }
}

// Overlaps both ways (destination below and above the source), by every shift up to 17,
// against a byte-at-a-time reference.
TEST_CASE("string ops: move handles overlap in both directions", "[string_ops]") {
    for (std::size_t n = 0; n <= 40; ++n) {
        for (std::size_t src = 0; src <= 17; ++src) {
            for (std::size_t dst = 0; dst <= 17; ++dst) {
                auto buffer = pattern(n + 40, 11);
                auto expected = buffer;
                std::vector<std::uint8_t> snapshot(expected.begin() + static_cast<std::ptrdiff_t>(src),
                                                   expected.begin() + static_cast<std::ptrdiff_t>(src + n));
                for (std::size_t i = 0; i < n; ++i) expected[dst + i] = snapshot[i];
                kernel::string_ops::move(buffer.data() + dst, buffer.data() + src, n);
                REQUIRE(buffer == expected);
            }
        }
    }
}

TEST_CASE("string ops: a large copy matches", "[string_ops]") {
    auto source = pattern(100003, 1);
    std::vector<std::uint8_t> dest(100003);
    kernel::string_ops::copy_forward(dest.data(), source.data(), source.size());
    REQUIRE(dest == source);
    kernel::string_ops::move(source.data() + 5, source.data(), 99990);  // overlapping, upwards
    REQUIRE(std::equal(source.begin() + 5, source.begin() + 99995, dest.begin()));
}

TEST_CASE("string ops: compare orders by the first byte that differs", "[string_ops]") {
    for (std::size_t n = 0; n <= 40; ++n) {
        auto a = pattern(n, 5);
        CHECK(kernel::string_ops::compare(a.data(), a.data(), n) == 0);
        for (std::size_t at = 0; at < n; ++at) {
            auto b = a;
            b[at] = static_cast<std::uint8_t>(b[at] + 1);  // b is greater at `at`, equal before
            int expected = a[at] < b[at] ? -1 : 1;         // (0xFF + 1 wraps to 0: smaller)
            CHECK(kernel::string_ops::compare(a.data(), b.data(), n) == expected);
            CHECK(kernel::string_ops::compare(b.data(), a.data(), n) == -expected);
            CHECK(kernel::string_ops::compare(a.data(), b.data(), at) == 0);  // equal up to it
        }
    }
}
