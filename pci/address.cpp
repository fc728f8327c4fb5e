#include "pci/address.hpp"

#include <array>

void kernel::fmt::Formatter<pci::Address>::format(Sink& sink, const Spec& spec, const pci::Address& address) {
    constexpr std::string_view k_digits = "0123456789abcdef";
    std::array<char, 7> text{k_digits[address.bus >> 4],
                             k_digits[address.bus & 0xF],
                             ':',
                             k_digits[(address.device >> 4) & 0xF],
                             k_digits[address.device & 0xF],
                             '.',
                             k_digits[address.function & 0x7]};
    pad_and_write(sink, spec, std::string_view(text.data(), text.size()));
}
