#pragma once
// The modern virtio PCI transport (virtio 1.2 §4.1.4): the common configuration, the
// notification area, the ISR byte and the device-specific configuration, each a window
// into a BAR that a vendor capability named (pci_capabilities.hpp). The normal path for
// every virtio 1.x device. Portable: the windows are pci::IoWindows.

#include <array>
#include <cstdint>
#include <optional>

#include "pci/io_window.hpp"
#include "virtio/transport.hpp"

namespace virtio {

struct ModernWindows {
    pci::IoWindow* common = nullptr;
    pci::IoWindow* notify = nullptr;
    std::uint32_t notify_off_multiplier = 0;
    pci::IoWindow* isr = nullptr;
    pci::IoWindow* device = nullptr;  // may be null: a device without configuration
};

class ModernTransport final : public Transport {
public:
    // common, notify and isr must be set.
    explicit ModernTransport(const ModernWindows& windows) : m_windows(windows) {}

    [[nodiscard]] TransportKind kind() const override { return TransportKind::Modern; }
    [[nodiscard]] std::uint8_t status() override;
    void set_status(std::uint8_t status) override;
    [[nodiscard]] bool reset() override;
    [[nodiscard]] std::uint64_t device_features() override;
    void set_driver_features(std::uint64_t features) override;
    [[nodiscard]] std::uint16_t queue_max_size(std::uint16_t index) override;
    [[nodiscard]] bool queue_size_fixed() const override { return false; }
    [[nodiscard]] RingLayout ring_layout() const override { return RingLayout::Modern; }
    kernel::Result<void, DeviceError> activate_queue(std::uint16_t index, const Virtqueue& queue,
                                                     std::uint16_t msix_entry) override;
    [[nodiscard]] bool set_config_vector(std::uint16_t msix_entry) override;
    void notify(std::uint16_t index) override;
    [[nodiscard]] std::uint8_t read_isr() override;
    [[nodiscard]] std::uint8_t config_generation() override;
    [[nodiscard]] std::uint32_t read_config(std::uint16_t offset, unsigned width) override;
    void read_config_bytes(std::uint16_t offset, std::span<std::uint8_t> out) override;
    void write_config(std::uint16_t offset, unsigned width, std::uint32_t value) override;
    void set_msix_enabled(bool /*enabled*/) override {}

    // §4.1.4.3: how many queues the device has.
    [[nodiscard]] std::uint16_t queue_count();

private:
    ModernWindows m_windows;
    // Where in the notification area each queue's notifications go (§4.1.4.4).
    std::array<std::uint32_t, k_max_queues> m_notify_offsets{};
    std::optional<std::uint16_t> m_queue_count;  // num_queues, once read
    struct QueueFacts {
        std::uint16_t max_size = 0;
        std::uint16_t notify_off = 0;
        bool known = false;
    };
    std::array<QueueFacts, k_max_queues> m_queue_facts{};  // queue_max_size
};

}  // namespace virtio
