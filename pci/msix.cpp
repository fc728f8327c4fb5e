#include "pci/msix.hpp"

#include "pci/registers.hpp"

namespace pci {

const char* to_string(MsixError error) {
    switch (error) {
        case MsixError::NoCapability: return "no MSI-X capability";
        case MsixError::BadBar: return "the MSI-X table's BIR names no memory BAR";
        case MsixError::TableOutsideBar: return "the MSI-X table does not fit in its BAR";
    }
    return "unknown MSI-X error";
}

kernel::Result<MsixCapability, MsixError> read_msix_capability(ConfigSpace& config, const Device& device) {
    auto found = device.capabilities.find(capability_id::k_msix);
    if (!found) return kernel::err(MsixError::NoCapability);
    MsixCapability capability;
    capability.offset = found->offset;
    // PCI 3.0 §6.8.2: message control, then the table's and the PBA's BIR and offset.
    auto at = [&](std::uint16_t field) { return static_cast<std::uint16_t>(found->offset + field); };
    auto control = config.read<std::uint16_t>(device.address, at(msix::k_message_control));
    capability.table_size = static_cast<std::uint16_t>((control & msix::k_table_size_mask) + 1);
    std::uint32_t table = config.read<std::uint32_t>(device.address, at(msix::k_table));
    std::uint32_t pba = config.read<std::uint32_t>(device.address, at(msix::k_pba));
    capability.table_bar = static_cast<std::uint8_t>(table & msix::k_bir_mask);
    capability.table_offset = table & ~msix::k_bir_mask;
    capability.pba_bar = static_cast<std::uint8_t>(pba & msix::k_bir_mask);
    capability.pba_offset = pba & ~msix::k_bir_mask;
    if (capability.table_bar >= k_max_bars || !device.bars[capability.table_bar].is_memory())
        return kernel::err(MsixError::BadBar);
    if (!device.bars[capability.table_bar].covers(capability.table_offset, capability.table_bytes()))
        return kernel::err(MsixError::TableOutsideBar);
    return capability;
}

std::uint16_t MsixTable::write_control(std::uint16_t set, std::uint16_t clear) {
    auto offset = static_cast<std::uint16_t>(m_capability.offset + msix::k_message_control);
    std::uint16_t control = m_config->read<std::uint16_t>(m_address, offset);
    auto written = static_cast<std::uint16_t>((control & ~clear) | set);
    m_config->write<std::uint16_t>(m_address, offset, written);
    return written;
}

void MsixTable::enable_masked() {
    std::uint16_t control = write_control(msix::k_function_mask, 0);
    // Each entry masked (§6.8.2.9: bits 31:1 of vector control are reserved, written back
    // as read).
    for (std::uint16_t entry = 0; entry < size(); ++entry) set_masked(entry, true);
    // The control register as just written: only this driver changes it.
    m_config->write<std::uint16_t>(m_address, static_cast<std::uint16_t>(m_capability.offset + msix::k_message_control),
                                   static_cast<std::uint16_t>(control | msix::k_enable));
}

void MsixTable::disable() { write_control(0, msix::k_enable); }

void MsixTable::set_function_mask(bool masked) {
    if (masked)
        write_control(msix::k_function_mask, 0);
    else
        write_control(0, msix::k_function_mask);
}

bool MsixTable::program(std::uint16_t entry, MsiMessage message) {
    if (entry >= size()) return false;
    set_masked(entry, true);
    std::size_t base = entry_offset(entry);
    m_table->write<std::uint32_t>(base + msix::k_entry_address_low, static_cast<std::uint32_t>(message.address));
    m_table->write<std::uint32_t>(base + msix::k_entry_address_high, static_cast<std::uint32_t>(message.address >> 32));
    m_table->write<std::uint32_t>(base + msix::k_entry_data, message.data);
    return true;
}

bool MsixTable::set_masked(std::uint16_t entry, bool masked) {
    if (entry >= size()) return false;
    std::size_t offset = entry_offset(entry) + msix::k_entry_vector_control;
    std::uint32_t control = m_table->read<std::uint32_t>(offset);
    // Bits 31:1 are reserved: written back as read (§6.8.2.9).
    control = masked ? control | msix::k_entry_masked : control & ~msix::k_entry_masked;
    m_table->write<std::uint32_t>(offset, control);
    return true;
}

bool MsixTable::masked(std::uint16_t entry) {
    if (entry >= size()) return true;
    return (m_table->read<std::uint32_t>(entry_offset(entry) + msix::k_entry_vector_control) & msix::k_entry_masked) !=
           0;
}

MsiMessage MsixTable::message(std::uint16_t entry) {
    if (entry >= size()) return {};
    std::size_t base = entry_offset(entry);
    std::uint64_t low = m_table->read<std::uint32_t>(base + msix::k_entry_address_low);
    std::uint64_t high = m_table->read<std::uint32_t>(base + msix::k_entry_address_high);
    return {low | (high << 32), m_table->read<std::uint32_t>(base + msix::k_entry_data)};
}

}  // namespace pci
