#include "virtio/pci_transport.hpp"

#include <array>

#include "virtio/features.hpp"
#include "virtio/registers.hpp"

namespace virtio {
namespace {

// How often reset() reads the status before giving up. QEMU resets at once; a device
// that takes longer than this many register reads is not going to finish.
constexpr unsigned k_reset_polls = 100'000;

}  // namespace

std::uint8_t ModernTransport::status() { return read(*m_windows.common, common::k_device_status); }

void ModernTransport::set_status(std::uint8_t status) { write(*m_windows.common, common::k_device_status, status); }

bool ModernTransport::reset() {
    // §4.1.4.3.2: after writing 0 the driver waits for a read of 0 before going on.
    set_status(0);
    for (unsigned i = 0; i < k_reset_polls; ++i) {
        if (status() == 0) return true;
    }
    return false;
}

std::uint64_t ModernTransport::device_features() {
    // §4.1.4.3: a feature word is chosen by device_feature_select.
    pci::IoWindow& window = *m_windows.common;
    write(window, common::k_device_feature_select, 0u);
    std::uint32_t low = read(window, common::k_device_feature);
    write(window, common::k_device_feature_select, 1u);
    return low | std::uint64_t{read(window, common::k_device_feature)} << 32;
}

void ModernTransport::set_driver_features(std::uint64_t features) {
    pci::IoWindow& window = *m_windows.common;
    write(window, common::k_driver_feature_select, 0u);
    write(window, common::k_driver_feature, static_cast<std::uint32_t>(features));
    write(window, common::k_driver_feature_select, 1u);
    write(window, common::k_driver_feature, static_cast<std::uint32_t>(features >> 32));
}

std::uint16_t ModernTransport::queue_count() {
    // Read-only and fixed for the device's life (§4.1.4.3): read once, since every read is
    // an exit under a hypervisor and each queue's setup asks.
    if (!m_queue_count) m_queue_count = read(*m_windows.common, common::k_num_queues);
    return *m_queue_count;
}

std::uint16_t ModernTransport::queue_max_size(std::uint16_t index) {
    if (index >= queue_count() || index >= k_max_queues) return 0;
    // The largest size and the notification offset are the device's own and do not change
    // (§4.1.4.3; after activate_queue the size register holds the driver's choice): read
    // once, together.
    QueueFacts& facts = m_queue_facts[index];
    if (!facts.known) {
        pci::IoWindow& window = *m_windows.common;
        write(window, common::k_queue_select, index);
        std::uint16_t max_size = read(window, common::k_queue_size);
        facts = {max_size, read(window, common::k_queue_notify_off), true};
    }
    return facts.max_size;
}

kernel::Result<void, DeviceError> ModernTransport::activate_queue(std::uint16_t index, const Virtqueue& queue,
                                                                  std::uint16_t msix_entry) {
    // §4.1.5.1.3, in its order: select, size, vector, addresses, then enable.
    if (index >= k_max_queues) return kernel::err(DeviceError::TooManyQueues);
    std::uint16_t max = queue_max_size(index);
    if (max == 0) return kernel::err(DeviceError::NoSuchQueue);
    if (queue.size() > max) return kernel::err(DeviceError::QueueSize);
    pci::IoWindow& window = *m_windows.common;
    write(window, common::k_queue_select, index);
    write(window, common::k_queue_size, queue.size());
    write(window, common::k_queue_msix_vector, msix_entry);
    // §4.1.5.1.2: the device answers NO_VECTOR when it cannot use the entry.
    if (read(window, common::k_queue_msix_vector) != msix_entry) return kernel::err(DeviceError::VectorRefused);
    auto write_address = [&window](Register<std::uint32_t> low, Register<std::uint32_t> high, std::uint64_t value) {
        write(window, low, static_cast<std::uint32_t>(value));
        write(window, high, static_cast<std::uint32_t>(value >> 32));
    };
    write_address(common::k_queue_desc_low, common::k_queue_desc_high, queue.descriptor_area());
    write_address(common::k_queue_driver_low, common::k_queue_driver_high, queue.driver_area());
    write_address(common::k_queue_device_low, common::k_queue_device_high, queue.device_area());
    // §4.1.4.4: queue_notify_off * notify_off_multiplier into the notification area.
    std::uint64_t offset = std::uint64_t{m_queue_facts[index].notify_off} * m_windows.notify_off_multiplier;
    if (offset + 2 > m_windows.notify->size()) return kernel::err(DeviceError::NotifyOutOfRange);
    m_notify_offsets[index] = static_cast<std::uint32_t>(offset);
    write(window, common::k_queue_enable, std::uint16_t{1});
    return {};
}

bool ModernTransport::set_config_vector(std::uint16_t msix_entry) {
    write(*m_windows.common, common::k_config_msix_vector, msix_entry);
    return read(*m_windows.common, common::k_config_msix_vector) == msix_entry;
}

void ModernTransport::notify(std::uint16_t index) {
    // §4.1.5.2: without VIRTIO_F_NOTIFICATION_DATA the driver writes the queue's index.
    if (index < k_max_queues) m_windows.notify->notify<std::uint16_t>(m_notify_offsets[index], index);
}

std::uint8_t ModernTransport::read_isr() { return m_windows.isr->read<std::uint8_t>(0); }

std::uint8_t ModernTransport::config_generation() { return read(*m_windows.common, common::k_config_generation); }

std::uint32_t ModernTransport::read_config(std::uint16_t offset, unsigned width) {
    if (m_windows.device == nullptr) return ~0u;
    switch (width) {
        case 1: return m_windows.device->read<std::uint8_t>(offset);
        case 2: return m_windows.device->read<std::uint16_t>(offset);
        default: return m_windows.device->read<std::uint32_t>(offset);
    }
}

void ModernTransport::read_config_bytes(std::uint16_t offset, std::span<std::uint8_t> out) {
    if (m_windows.device == nullptr) {
        for (auto& byte : out) byte = 0xFF;
        return;
    }
    m_windows.device->read_bytes(offset, out);
}

void ModernTransport::write_config(std::uint16_t offset, unsigned width, std::uint32_t value) {
    if (m_windows.device == nullptr) return;
    switch (width) {
        case 1: m_windows.device->write<std::uint8_t>(offset, static_cast<std::uint8_t>(value)); break;
        case 2: m_windows.device->write<std::uint16_t>(offset, static_cast<std::uint16_t>(value)); break;
        default: m_windows.device->write<std::uint32_t>(offset, value); break;
    }
}

}  // namespace virtio
