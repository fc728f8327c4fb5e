#pragma once
// MSI-X (PCI Local Bus 3.0 §6.8.2): a table in one of the device's memory BARs where each
// entry names an address to write and the value to write there, which on x86 is an
// interrupt for a local APIC (Intel SDM vol. 3A §11.11). Portable: the capability is read
// through a ConfigSpace and the table reached through an IoWindow, so the programming is
// tested against fake MMIO.

#include <cstdint>

#include "kernel/result.hpp"
#include "pci/config_space.hpp"
#include "pci/device.hpp"
#include "pci/io_window.hpp"

namespace pci {

// Intel SDM vol. 3A §11.11.1 (address: 0xFEE, destination APIC ID in bits 19:12, physical
// destination mode, no redirection hint) and §11.11.2 (data: the vector, fixed delivery,
// edge triggered).
struct MsiMessage {
    std::uint64_t address = 0;
    std::uint32_t data = 0;
};
constexpr std::uint32_t k_msi_address_base = 0xFEE0'0000;
[[nodiscard]] constexpr MsiMessage msi_message(std::uint8_t apic_id, std::uint8_t vector) {
    return {k_msi_address_base | (std::uint32_t{apic_id} << 12), vector};
}

// §6.8.2: the capability's registers, from its offset.
namespace msix {
constexpr std::uint16_t k_message_control = 2;
constexpr std::uint16_t k_table = 4;  // offset and BIR
constexpr std::uint16_t k_pba = 8;
constexpr std::uint16_t k_table_size_mask = 0x07FF;  // N - 1
constexpr std::uint16_t k_function_mask = 1u << 14;
constexpr std::uint16_t k_enable = 1u << 15;
constexpr std::uint32_t k_bir_mask = 0x7;
// §6.8.2.6-§6.8.2.9: each table entry.
constexpr std::size_t k_entry_size = 16;
constexpr std::size_t k_entry_address_low = 0;
constexpr std::size_t k_entry_address_high = 4;
constexpr std::size_t k_entry_data = 8;
constexpr std::size_t k_entry_vector_control = 12;
constexpr std::uint32_t k_entry_masked = 1u << 0;
}  // namespace msix

struct MsixCapability {
    std::uint8_t offset = 0;       // in configuration space
    std::uint16_t table_size = 0;  // entries
    std::uint8_t table_bar = 0;
    std::uint32_t table_offset = 0;  // into the BAR
    std::uint8_t pba_bar = 0;
    std::uint32_t pba_offset = 0;

    [[nodiscard]] constexpr std::uint64_t table_bytes() const { return std::uint64_t{table_size} * msix::k_entry_size; }
};

enum class MsixError {
    NoCapability,
    BadBar,           // the table's BIR names no memory BAR
    TableOutsideBar,  // the table does not fit in its BAR
};
const char* to_string(MsixError error);

// Finds and checks the device's MSI-X capability.
kernel::Result<MsixCapability, MsixError> read_msix_capability(ConfigSpace& config, const Device& device);

class MsixTable {
public:
    // `table` covers the whole table (capability.table_bytes() bytes).
    MsixTable(ConfigSpace& config, Address address, const MsixCapability& capability, IoWindow& table)
        : m_config(&config), m_address(address), m_capability(capability), m_table(&table) {}

    [[nodiscard]] std::uint16_t size() const { return m_capability.table_size; }

    // Masks every entry, then turns MSI-X on with the function masked (§6.8.2.3): from here
    // the device uses no INTx pin (§6.8.2), and no message goes out until unmasked.
    void enable_masked();
    // Turns MSI-X off; the device falls back to its INTx pin.
    void disable();
    void set_function_mask(bool masked);

    // Writes an entry's message, masking the entry first (§6.8.3.5: software must not
    // change an unmasked entry). The entry stays masked. False for an entry past the end.
    bool program(std::uint16_t entry, MsiMessage message);
    bool set_masked(std::uint16_t entry, bool masked);
    [[nodiscard]] bool masked(std::uint16_t entry);
    [[nodiscard]] MsiMessage message(std::uint16_t entry);

private:
    [[nodiscard]] std::size_t entry_offset(std::uint16_t entry) const {
        return std::size_t{entry} * msix::k_entry_size;
    }
    // Returns the value written.
    std::uint16_t write_control(std::uint16_t set, std::uint16_t clear);

    ConfigSpace* m_config;
    Address m_address;
    MsixCapability m_capability;
    IoWindow* m_table;
};

}  // namespace pci
