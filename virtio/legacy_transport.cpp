#include "virtio/legacy_transport.hpp"

#include <limits>

#include "virtio/features.hpp"
#include "virtio/registers.hpp"

namespace virtio {
namespace {

constexpr unsigned k_reset_polls = 100'000;

}  // namespace

std::uint8_t LegacyTransport::status() { return read(*m_registers, legacy::k_device_status); }

void LegacyTransport::set_status(std::uint8_t status) { write(*m_registers, legacy::k_device_status, status); }

bool LegacyTransport::reset() {
    set_status(0);
    for (unsigned i = 0; i < k_reset_polls; ++i) {
        if (status() == 0) return true;
    }
    return false;
}

std::uint64_t LegacyTransport::device_features() { return read(*m_registers, legacy::k_device_features); }

void LegacyTransport::set_driver_features(std::uint64_t features) {
    write(*m_registers, legacy::k_driver_features, static_cast<std::uint32_t>(features & features::k_legacy_mask));
}

std::uint16_t LegacyTransport::queue_max_size(std::uint16_t index) {
    write(*m_registers, legacy::k_queue_select, index);
    return read(*m_registers, legacy::k_queue_size);
}

kernel::Result<void, DeviceError> LegacyTransport::activate_queue(std::uint16_t index, const Virtqueue& queue,
                                                                  std::uint16_t msix_entry) {
    if (index >= k_max_queues) return kernel::err(DeviceError::TooManyQueues);
    std::uint16_t size = queue_max_size(index);  // also selects the queue
    if (size == 0) return kernel::err(DeviceError::NoSuchQueue);
    // The device decides the size and where the used ring starts (§2.7.2).
    if (queue.size() != size || queue.layout() != RingLayout::Legacy) return kernel::err(DeviceError::QueueSize);
    std::uint64_t address = queue.ring_address();
    std::uint64_t page = address >> legacy::k_queue_address_shift;
    if (address % k_legacy_queue_align != 0 || page > std::numeric_limits<std::uint32_t>::max())
        return kernel::err(DeviceError::QueueOutOfReach);
    if (msix_entry != k_no_vector) {
        if (!m_msix) return kernel::err(DeviceError::VectorRefused);
        write(*m_registers, legacy::k_queue_msix_vector, msix_entry);
        if (read(*m_registers, legacy::k_queue_msix_vector) != msix_entry)
            return kernel::err(DeviceError::VectorRefused);
    }
    // Writing the page number is what activates the queue.
    write(*m_registers, legacy::k_queue_address, static_cast<std::uint32_t>(page));
    return {};
}

bool LegacyTransport::set_config_vector(std::uint16_t msix_entry) {
    if (!m_msix) return msix_entry == k_no_vector;
    write(*m_registers, legacy::k_config_msix_vector, msix_entry);
    return read(*m_registers, legacy::k_config_msix_vector) == msix_entry;
}

void LegacyTransport::notify(std::uint16_t index) {
    m_registers->notify<std::uint16_t>(legacy::k_queue_notify.offset, index);
}

std::uint8_t LegacyTransport::read_isr() { return read(*m_registers, legacy::k_isr_status); }

std::uint16_t LegacyTransport::config_base() const {
    return m_msix ? legacy::k_config_with_msix : legacy::k_config_without_msix;
}

std::uint32_t LegacyTransport::read_config(std::uint16_t offset, unsigned width) {
    std::size_t at = std::size_t{config_base()} + offset;
    switch (width) {
        case 1: return m_registers->read<std::uint8_t>(at);
        case 2: return m_registers->read<std::uint16_t>(at);
        default: return m_registers->read<std::uint32_t>(at);
    }
}

void LegacyTransport::write_config(std::uint16_t offset, unsigned width, std::uint32_t value) {
    std::size_t at = std::size_t{config_base()} + offset;
    switch (width) {
        case 1: m_registers->write<std::uint8_t>(at, static_cast<std::uint8_t>(value)); break;
        case 2: m_registers->write<std::uint16_t>(at, static_cast<std::uint16_t>(value)); break;
        default: m_registers->write<std::uint32_t>(at, value); break;
    }
}

}  // namespace virtio
