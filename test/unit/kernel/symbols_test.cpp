#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/symbols.hpp"

namespace {

// Builds a table in tools/ksyms.py's format.
std::vector<std::byte> make_table(const std::vector<std::tuple<std::uint64_t, std::uint32_t, std::string>>& symbols) {
    std::vector<std::byte> blob(16 + 16 * symbols.size());
    std::string strings;
    auto put32 = [&](std::size_t at, std::uint32_t v) { std::memcpy(blob.data() + at, &v, 4); };
    put32(0, 0x4D59534B);
    put32(4, static_cast<std::uint32_t>(symbols.size()));
    put32(8, static_cast<std::uint32_t>(blob.size()));
    for (std::size_t i = 0; i < symbols.size(); ++i) {
        auto [address, size, name] = symbols[i];
        std::memcpy(blob.data() + 16 + 16 * i, &address, 8);
        put32(16 + 16 * i + 8, static_cast<std::uint32_t>(strings.size()));
        put32(16 + 16 * i + 12, size);
        strings += name + '\0';
    }
    for (char c : strings) blob.push_back(static_cast<std::byte>(c));
    return blob;
}

}  // namespace

TEST_CASE("symbols: the function containing an address, with its offset") {
    auto blob = make_table({{0x1000, 0x20, "kernel_entry"}, {0x1020, 0, "main"}, {0x1100, 0x10, "panic"}});
    kernel::SymbolTable table(blob);
    CHECK(table.size() == 3);
    auto s = table.lookup(0x1005);
    REQUIRE(s);
    CHECK(s->name == "kernel_entry");
    CHECK(s->offset == 5);
    CHECK(table.lookup(0x10FF)->name == "main");  // size 0: up to the next symbol
    CHECK_FALSE(table.lookup(0xFFF).has_value());
    CHECK_FALSE(table.lookup(0x1110).has_value());  // past panic's end
}

TEST_CASE("symbols: a damaged table finds nothing rather than reading out of bounds") {
    auto blob = make_table({{0x1000, 0x20, "f"}});
    std::uint32_t huge = 1000000;
    std::memcpy(blob.data() + 4, &huge, 4);
    CHECK(kernel::SymbolTable(blob).size() == 0);
    CHECK_FALSE(kernel::SymbolTable(std::span<const std::byte>()).lookup(1).has_value());
    auto truncated = make_table({{0x1000, 0x20, "function"}});
    truncated.resize(truncated.size() - 4);  // the name loses its end and NUL
    auto s = kernel::SymbolTable(truncated).lookup(0x1000);
    REQUIRE(s);
    CHECK(s->name == "funct");
}
