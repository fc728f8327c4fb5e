#pragma once
// Base address registers (PCI Local Bus 3.0 §6.2.5.1): decoding what each one is, sizing
// it, and giving it a new address.

#include <array>
#include <cstddef>
#include <cstdint>

#include "pci/config_space.hpp"

namespace pci {

constexpr std::size_t k_max_bars = 6;          // a type 0 header
constexpr std::size_t k_bridge_bar_count = 2;  // a type 1 header

enum class BarKind : std::uint8_t {
    None,      // not implemented, or the upper half of the 64-bit BAR before it
    Io,        // I/O space
    Memory32,  // memory space below 4 GiB
    Memory64,  // memory space anywhere; takes this slot and the next
};
const char* to_string(BarKind kind);

struct Bar {
    BarKind kind = BarKind::None;
    bool prefetchable = false;
    std::uint64_t address = 0;  // 0 when the firmware left the BAR unassigned
    std::uint64_t size = 0;     // a power of two; the BAR's alignment too

    [[nodiscard]] constexpr bool present() const { return kind != BarKind::None; }
    [[nodiscard]] constexpr bool is_io() const { return kind == BarKind::Io; }
    [[nodiscard]] constexpr bool is_memory() const { return kind == BarKind::Memory32 || kind == BarKind::Memory64; }
    [[nodiscard]] constexpr bool assigned() const { return present() && address != 0; }
    // True if [offset, offset + length) lies inside the BAR.
    [[nodiscard]] constexpr bool covers(std::uint64_t offset, std::uint64_t length) const {
        return present() && offset <= size && length <= size - offset;
    }
};

using BarArray = std::array<Bar, k_max_bars>;

// PCI 3.0 §6.2.5.1, figures 6-5 and 6-6: the low bits of a BAR.
namespace bar_bits {
constexpr std::uint32_t k_io_space = 1u << 0;
constexpr std::uint32_t k_io_address_mask = ~0x3u;
constexpr std::uint32_t k_memory_type_mask = 0x6;
constexpr std::uint32_t k_memory_type_32 = 0x0;
constexpr std::uint32_t k_memory_type_below_1m = 0x2;  // PCI 2.x only; reserved since
constexpr std::uint32_t k_memory_type_64 = 0x4;
constexpr std::uint32_t k_prefetchable = 1u << 3;
constexpr std::uint32_t k_memory_address_mask = ~0xFu;
}  // namespace bar_bits

// The offset of BAR `index` in the header.
[[nodiscard]] constexpr std::uint16_t bar_offset(std::size_t index) {
    return static_cast<std::uint16_t>(0x10 + 4 * index);
}

// Reads and sizes the first `count` BARs (6 for a type 0 header, 2 for a bridge). Sizing
// writes all ones and reads back which address bits stick (§6.2.5.1, "Address maps");
// memory and I/O decoding are off meanwhile so the device never answers at a half-written
// address (unless keep_decoding: host bridges, whose decoding the machine depends on), and
// every register is restored afterwards. `command` is what the command register holds, so
// that it is not read twice. A 64-bit BAR in the last slot is malformed and reads as
// absent; `malformed` counts such BARs.
BarArray probe_bars(ConfigSpace& config, Address address, std::size_t count, std::uint16_t command, bool keep_decoding,
                    std::size_t* malformed = nullptr);

// Writes `base` into BAR `index` (both halves for a 64-bit one), with decoding off while
// the halves disagree. The caller has checked that base fits the BAR's kind and alignment.
void program_bar(ConfigSpace& config, Address address, std::size_t index, const Bar& bar, std::uint64_t base);

}  // namespace pci
