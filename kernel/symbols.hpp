#pragma once
// The image's own function table (made at build time by tools/ksyms.py), so that a panic
// can name functions without a debugger.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kernel/format.hpp"

namespace kernel {

struct Symbol {
    std::string_view name;
    std::uint64_t offset;  // from the start of the function
};

class SymbolTable {
public:
    // An invalid or empty blob gives a table that finds nothing.
    explicit SymbolTable(std::span<const std::byte> blob);
    [[nodiscard]] std::optional<Symbol> lookup(std::uint64_t address) const;
    [[nodiscard]] std::size_t size() const { return m_count; }

    // The table linked into this image (kernel only).
    static const SymbolTable& kernel();

private:
    struct Entry {
        std::uint64_t address;
        std::uint32_t name_offset;
        std::uint32_t size;
    };
    static_assert(sizeof(Entry) == 16);
    [[nodiscard]] Entry entry(std::size_t index) const;

    std::span<const std::byte> m_blob;
    std::size_t m_count = 0;
    std::size_t m_strings = 0;
};

// Prints "name+0xOFF" or "??".
struct SymbolizedAddress {
    std::uint64_t address;
};

}  // namespace kernel

template <>
struct kernel::fmt::Formatter<kernel::SymbolizedAddress> {
    static void format(Sink& sink, const Spec& spec, const kernel::SymbolizedAddress& value);
};
