#include "kernel/symbols.hpp"

#include <cstring>

namespace kernel {
namespace {

constexpr std::uint32_t k_magic = 0x4D59534B;  // "KSYM"
constexpr std::size_t k_header_size = 16;

std::uint32_t read_u32(std::span<const std::byte> blob, std::size_t offset) {
    std::uint32_t value;
    std::memcpy(&value, blob.data() + offset, sizeof value);
    return value;
}

}  // namespace

SymbolTable::SymbolTable(std::span<const std::byte> blob) : m_blob(blob) {
    if (blob.size() < k_header_size || read_u32(blob, 0) != k_magic) return;
    std::size_t count = read_u32(blob, 4);
    std::size_t strings = read_u32(blob, 8);
    if (strings > blob.size() || count > (blob.size() - k_header_size) / sizeof(Entry) ||
        strings < k_header_size + count * sizeof(Entry)) {
        return;
    }
    m_count = count;
    m_strings = strings;
}

SymbolTable::Entry SymbolTable::entry(std::size_t index) const {
    Entry e;
    std::memcpy(&e, m_blob.data() + k_header_size + index * sizeof(Entry), sizeof e);
    return e;
}

std::optional<Symbol> SymbolTable::lookup(std::uint64_t address) const {
    // The last entry whose address is <= address.
    std::size_t low = 0;
    std::size_t high = m_count;
    while (low < high) {
        std::size_t mid = low + (high - low) / 2;
        if (entry(mid).address <= address)
            low = mid + 1;
        else
            high = mid;
    }
    if (low == 0) return std::nullopt;
    Entry found = entry(low - 1);
    std::uint64_t offset = address - found.address;
    if (found.size != 0 && offset >= found.size) return std::nullopt;
    std::size_t name_start = m_strings + found.name_offset;
    if (name_start >= m_blob.size()) return std::nullopt;
    const char* name = reinterpret_cast<const char*>(m_blob.data() + name_start);
    std::size_t length = strnlen(name, m_blob.size() - name_start);
    return Symbol{std::string_view(name, length), offset};
}

}  // namespace kernel
