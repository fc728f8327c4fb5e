#include "pci/bar.hpp"

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
    // `command`: what the command register holds now.
    DecodingOff(ConfigSpace& config, Address address, std::uint16_t command, bool keep)
        : m_config(config), m_address(address), m_saved(command) {
        constexpr std::uint16_t k_decoding = command::k_io_space | command::k_memory_space;
        m_changed = !keep && (m_saved & k_decoding) != 0;
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

std::uint32_t size_register(ConfigSpace& config, Address address, std::uint16_t offset, std::uint32_t original) {
    config.write<std::uint32_t>(address, offset, k_all_ones);
    std::uint32_t answer = config.read<std::uint32_t>(address, offset);
    // A register that still reads as before (an unimplemented BAR reads 0 both times)
    // needs no restoring: one access fewer, and each is an exit under a hypervisor.
    if (answer != original) config.write<std::uint32_t>(address, offset, original);
    return answer;
}

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
    DecodingOff decoding_off(config, address, command, keep_decoding);
    for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t offset = bar_offset(i);
        std::uint32_t low = config.read<std::uint32_t>(address, offset);
        Bar& bar = bars[i];
        if ((low & bar_bits::k_io_space) != 0) {
            std::uint32_t answer = size_register(config, address, offset, low) & bar_bits::k_io_address_mask;
            // Devices that decode 16 I/O address bits return 0 in the upper half.
            if (answer == 0) continue;
            bar = {BarKind::Io, false, low & bar_bits::k_io_address_mask, lowest_set_bit(answer)};
            continue;
        }
        std::uint32_t type = low & bar_bits::k_memory_type_mask;
        bool prefetchable = (low & bar_bits::k_prefetchable) != 0;
        if (type == bar_bits::k_memory_type_64) {
            if (i + 1 >= count) {
                if (malformed != nullptr) ++*malformed;
                continue;
            }
            std::uint16_t high_offset = bar_offset(i + 1);
            std::uint32_t high = config.read<std::uint32_t>(address, high_offset);
            config.write<std::uint32_t>(address, offset, k_all_ones);
            config.write<std::uint32_t>(address, high_offset, k_all_ones);
            std::uint64_t answer = (std::uint64_t{config.read<std::uint32_t>(address, high_offset)} << 32) |
                                   (config.read<std::uint32_t>(address, offset) & bar_bits::k_memory_address_mask);
            config.write<std::uint32_t>(address, offset, low);
            config.write<std::uint32_t>(address, high_offset, high);
            ++i;  // the upper half stays BarKind::None
            if (answer == 0) continue;
            bar = {BarKind::Memory64, prefetchable,
                   (std::uint64_t{high} << 32) | (low & bar_bits::k_memory_address_mask), lowest_set_bit(answer)};
            continue;
        }
        if (type != bar_bits::k_memory_type_32 && type != bar_bits::k_memory_type_below_1m) {
            if (malformed != nullptr) ++*malformed;  // type 11b is reserved
            continue;
        }
        std::uint32_t answer = size_register(config, address, offset, low) & bar_bits::k_memory_address_mask;
        if (answer == 0) continue;
        bar = {BarKind::Memory32, prefetchable, low & bar_bits::k_memory_address_mask, lowest_set_bit(answer)};
    }
    return bars;
}

void program_bar(ConfigSpace& config, Address address, std::size_t index, const Bar& bar, std::uint64_t base) {
    DecodingOff decoding_off(config, address, config.read(address, regs::k_command), false);
    std::uint16_t offset = bar_offset(index);
    std::uint32_t low_bits = config.read<std::uint32_t>(address, offset);
    if (bar.is_io()) {
        low_bits &= ~bar_bits::k_io_address_mask;
    } else {
        low_bits &= ~bar_bits::k_memory_address_mask;
    }
    config.write<std::uint32_t>(address, offset, static_cast<std::uint32_t>(base) | low_bits);
    if (bar.kind == BarKind::Memory64 && index + 1 < k_max_bars)
        config.write<std::uint32_t>(address, bar_offset(index + 1), static_cast<std::uint32_t>(base >> 32));
}

}  // namespace pci
