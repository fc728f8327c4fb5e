#pragma once
// The legacy virtio PCI transport (virtio 1.2 §4.1.4.8, "legacy interfaces"; virtio
// 0.9.5): every register in I/O BAR 0, 32 feature bits, queues of the device's size given
// by the page number of one block laid out as §2.7.2 says. What a device started with
// disable-modern=on offers. Portable: BAR 0 is a pci::IoWindow.

#include <cstdint>

#include "pci/io_window.hpp"
#include "virtio/transport.hpp"

namespace virtio {

class LegacyTransport final : public Transport {
public:
    explicit LegacyTransport(pci::IoWindow& registers) : m_registers(&registers) {}

    [[nodiscard]] TransportKind kind() const override { return TransportKind::Legacy; }
    [[nodiscard]] std::uint8_t status() override;
    void set_status(std::uint8_t status) override;
    [[nodiscard]] bool reset() override;
    [[nodiscard]] std::uint64_t device_features() override;
    void set_driver_features(std::uint64_t features) override;
    [[nodiscard]] std::uint16_t queue_max_size(std::uint16_t index) override;
    [[nodiscard]] bool queue_size_fixed() const override { return true; }
    [[nodiscard]] RingLayout ring_layout() const override { return RingLayout::Legacy; }
    kernel::Result<void, DeviceError> activate_queue(std::uint16_t index, const Virtqueue& queue,
                                                     std::uint16_t msix_entry) override;
    [[nodiscard]] bool set_config_vector(std::uint16_t msix_entry) override;
    void notify(std::uint16_t index) override;
    [[nodiscard]] std::uint8_t read_isr() override;
    // The legacy interface has no generation counter (§4.1.4.8): always 0.
    [[nodiscard]] std::uint8_t config_generation() override { return 0; }
    [[nodiscard]] std::uint32_t read_config(std::uint16_t offset, unsigned width) override;
    void write_config(std::uint16_t offset, unsigned width, std::uint32_t value) override;
    void set_msix_enabled(bool enabled) override { m_msix = enabled; }

private:
    [[nodiscard]] std::uint16_t config_base() const;

    pci::IoWindow* m_registers;
    bool m_msix = false;
};

}  // namespace virtio
