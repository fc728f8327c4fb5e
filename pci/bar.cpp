#include "pci/bar.hpp"

#include <array>

#include "pci/registers.hpp"

namespace pci {
namespace {

constexpr std::uint32_t k_all_ones = 0xFFFF'FFFF;

// The lowest address bit that sticks is the size (§6.2.5.1: "the least significant bit
// that the device lets software set").
constexpr std::uint64_t lowest_set_bit(std::uint64_t value) { return value & (~value + 1); }

// Turns decoding off for as long as it lives, then puts the command register back.
class DecodingOff {
public:
    DecodingOff(ConfigSpace& config, Address address)
        : m_config(config), m_address(address), m_saved(config.read(address, regs::k_command)) {
        constexpr std::uint16_t k_decoding = command::k_io_space | command::k_memory_space;
        m_changed = (m_saved & k_decoding) != 0;
        if (m_changed) m_config.write(m_address, regs::k_command, static_cast<std::uint16_t>(m_saved & ~k_decoding));
    }
    DecodingOff(const DecodingOff&) = delete;
    DecodingOff& operator=(const DecodingOff&) = delete;
    ~DecodingOff() {
        if (m_changed) m_config.write(m_address, regs::k_command, m_saved);
    }

private:
    ConfigSpace& m_config;
    Address m_address;
    std::uint16_t m_saved;
    bool m_changed = false;
};

}  // namespace

const char* to_string(BarKind kind) {
    switch (kind) {
        case BarKind::None: return "none";
        case BarKind::Io: return "io";
        case BarKind::Memory32: return "mem32";
        case BarKind::Memory64: return "mem64";
    }
    return "?";
}

BarArray probe_bars(ConfigSpace& config, Address address, std::size_t count, std::uint16_t command, bool keep_decoding,
                    std::size_t* malformed) {
    BarArray bars{};
    if (count > k_max_bars) count = k_max_bars;
    constexpr std::uint16_t k_decoding = command::k_io_space | command::k_memory_space;
    const bool turn_off = !keep_decoding && (command & k_decoding) != 0;

    // PCI 3.0 §6.2.5.1: with decoding off, write all ones to each BAR, read back which
    // bits stuck (the size), and put the original back. A 64-bit BAR's upper half is one
    // of the registers, so it sizes the same way.
    std::array<std::uint32_t, k_max_bars> original{};
    std::array<std::uint32_t, k_max_bars> answer{};
    for (std::size_t i = 0; i < count; ++i) original[i] = config.read<std::uint32_t>(address, bar_offset(i));
    if (turn_off) config.write(address, regs::k_command, static_cast<std::uint16_t>(command & ~k_decoding));
    for (std::size_t i = 0; i < count; ++i) {
        config.write<std::uint32_t>(address, bar_offset(i), k_all_ones);
        answer[i] = config.read<std::uint32_t>(address, bar_offset(i));
        // An unimplemented BAR reads 0 both times and needs nothing written back.
        if (answer[i] != original[i]) config.write<std::uint32_t>(address, bar_offset(i), original[i]);
    }
    if (turn_off) config.write(address, regs::k_command, command);

    for (std::size_t i = 0; i < count; ++i) {
        std::uint32_t low = original[i];
        Bar& bar = bars[i];
        if ((low & bar_bits::k_io_space) != 0) {
            // Devices that decode 16 I/O address bits return 0 in the upper half.
            std::uint32_t size_bits = answer[i] & bar_bits::k_io_address_mask;
            if (size_bits != 0)
                bar = {BarKind::Io, false, low & bar_bits::k_io_address_mask, lowest_set_bit(size_bits)};
            continue;
        }
        std::uint32_t type = low & bar_bits::k_memory_type_mask;
        bool prefetchable = (low & bar_bits::k_prefetchable) != 0;
        if (type == bar_bits::k_memory_type_64) {
            if (i + 1 >= count) {
                if (malformed != nullptr) ++*malformed;
                continue;
            }
            std::uint64_t size_bits =
                (std::uint64_t{answer[i + 1]} << 32) | (answer[i] & bar_bits::k_memory_address_mask);
            std::uint64_t base = (std::uint64_t{original[i + 1]} << 32) | (low & bar_bits::k_memory_address_mask);
            ++i;  // the upper half stays BarKind::None
            if (size_bits != 0) bar = {BarKind::Memory64, prefetchable, base, lowest_set_bit(size_bits)};
            continue;
        }
        if (type != bar_bits::k_memory_type_32 && type != bar_bits::k_memory_type_below_1m) {
            if (malformed != nullptr) ++*malformed;  // type 11b is reserved
            continue;
        }
        std::uint32_t size_bits = answer[i] & bar_bits::k_memory_address_mask;
        if (size_bits != 0)
            bar = {BarKind::Memory32, prefetchable, low & bar_bits::k_memory_address_mask, lowest_set_bit(size_bits)};
    }
    return bars;
}

void program_bar(ConfigSpace& config, Address address, std::size_t index, const Bar& bar, std::uint64_t base) {
    DecodingOff decoding_off(config, address);
    std::uint16_t offset = bar_offset(index);
    // The low bits are read-only (§6.2.5.1): written as the BAR's kind says they read, not
    // read again (each read is an exit under a hypervisor).
    std::uint32_t low_bits = bar_bits::k_io_space;
    if (!bar.is_io()) {
        low_bits = bar.kind == BarKind::Memory64 ? bar_bits::k_memory_type_64 : bar_bits::k_memory_type_32;
        if (bar.prefetchable) low_bits |= bar_bits::k_prefetchable;
    }
    config.write<std::uint32_t>(address, offset, static_cast<std::uint32_t>(base) | low_bits);
    if (bar.kind == BarKind::Memory64 && index + 1 < k_max_bars)
        config.write<std::uint32_t>(address, bar_offset(index + 1), static_cast<std::uint32_t>(base >> 32));
}

}  // namespace pci
