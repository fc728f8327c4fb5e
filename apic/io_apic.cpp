#include "apic/io_apic.hpp"

namespace apic {
namespace {

// 82093AA §3.2: the indirectly addressed registers.
constexpr std::uint8_t k_register_id = 0x00;
constexpr std::uint8_t k_register_version = 0x01;
constexpr std::uint8_t k_register_redirection = 0x10;  // two registers per pin: low, then high word

constexpr std::uint8_t low_index(std::uint32_t pin) {
    return static_cast<std::uint8_t>(k_register_redirection + 2 * pin);
}
constexpr std::uint8_t high_index(std::uint32_t pin) { return static_cast<std::uint8_t>(low_index(pin) + 1); }
constexpr std::uint32_t k_low_masked = 1u << 16;
constexpr std::uint32_t k_max_pins = (0x100 - k_register_redirection) / 2;

}  // namespace

kernel::Result<IoApic, IoApicError> IoApic::create(IoApicAccess& access, std::uint32_t gsi_base) {
    std::uint32_t version = access.read(k_register_version);
    // Nothing decodes the address: the bus reads all ones (or zero under some emulators).
    if (version == 0xFFFF'FFFF || (version & 0xFF) == 0) return kernel::err(IoApicError::NotPresent);
    // §3.2.2: bits 23:16 hold the highest redirection entry's index; §3.2.1: bits 27:24 the ID.
    std::uint32_t pins = ((version >> 16) & 0xFF) + 1;
    // The 8-bit register index reaches 120 pins' entries at most (0x10 + 2 * 119 + 1).
    if (pins > k_max_pins) pins = k_max_pins;
    auto id = static_cast<std::uint8_t>((access.read(k_register_id) >> 24) & 0x0F);
    return IoApic(access, id, static_cast<std::uint8_t>(version), pins, gsi_base);
}

void IoApic::mask_all() {
    // The low word alone holds the mask bit; the destination in the high word does not
    // matter.
    for (std::uint32_t pin = 0; pin < m_pins; ++pin) m_access->write(low_index(pin), k_low_masked);
}

void IoApic::set(std::uint32_t pin, const Redirection& redirection) {
    if (pin >= m_pins) return;
    std::uint64_t value = redirection.encode();
    auto low = static_cast<std::uint32_t>(value);
    // Masked first, unmasked last: the pin never delivers with a half-written entry.
    m_access->write(low_index(pin), low | k_low_masked);
    m_access->write(high_index(pin), static_cast<std::uint32_t>(value >> 32));
    if (!redirection.masked) m_access->write(low_index(pin), low);
}

void IoApic::mask(std::uint32_t pin) {
    if (pin >= m_pins) return;
    m_access->write(low_index(pin), m_access->read(low_index(pin)) | k_low_masked);
}

Redirection IoApic::get(std::uint32_t pin) {
    if (pin >= m_pins) return {};
    std::uint64_t low = m_access->read(low_index(pin));
    std::uint64_t high = m_access->read(high_index(pin));
    return Redirection::decode(low | (high << 32));
}

}  // namespace apic
