#pragma once
// What device initialization and drivers need from a virtio transport: the status, the
// feature bits, the queues, notifications, the ISR and the device-specific configuration
// (virtio 1.2 §2, §4.1). Two implementations: the modern PCI transport (pci_transport.hpp,
// §4.1.4) and the legacy one (legacy_transport.hpp, §4.1.4.8). Both reach their registers
// through pci::IoWindow, so the host tests run them against fake devices.

#include <cstdint>
#include <span>

#include "kernel/result.hpp"
#include "virtio/device_error.hpp"
#include "virtio/virtqueue.hpp"

namespace virtio {

// The queues a device may have here: enough for a network device's receive, transmit and
// control queues, and a balloon's five.
constexpr std::uint16_t k_max_queues = 8;

enum class TransportKind : std::uint8_t { Modern, Legacy };
constexpr const char* to_string(TransportKind kind) { return kind == TransportKind::Modern ? "modern" : "legacy"; }

class Transport {
public:
    [[nodiscard]] virtual TransportKind kind() const = 0;

    // §2.1
    [[nodiscard]] virtual std::uint8_t status() = 0;
    virtual void set_status(std::uint8_t status) = 0;
    // §2.4: writes 0 to the status and, where the transport asks for it (§4.1.4.3.2),
    // waits for the device to read back 0. False if it never does.
    [[nodiscard]] virtual bool reset() = 0;

    // §2.2: every feature bit the device offers (32 for a legacy device), and the ones the
    // driver accepts.
    [[nodiscard]] virtual std::uint64_t device_features() = 0;
    virtual void set_driver_features(std::uint64_t features) = 0;

    // The most entries queue `index` may have; 0 when there is no such queue.
    [[nodiscard]] virtual std::uint16_t queue_max_size(std::uint16_t index) = 0;
    // A legacy device's queues have exactly the size it says; a modern driver may choose
    // less (§4.1.4.3, queue_size).
    [[nodiscard]] virtual bool queue_size_fixed() const = 0;
    [[nodiscard]] virtual RingLayout ring_layout() const = 0;
    // Gives the device queue `index`'s rings and the MSI-X table entry for its interrupts
    // (k_no_vector for none), and enables the queue (§4.1.5.1.3).
    virtual kernel::Result<void, DeviceError> activate_queue(std::uint16_t index, const Virtqueue& queue,
                                                             std::uint16_t msix_entry) = 0;
    // The MSI-X table entry for configuration changes (§4.1.5.1.2); false if the device
    // refuses it.
    [[nodiscard]] virtual bool set_config_vector(std::uint16_t msix_entry) = 0;
    // An available buffer notification for queue `index` (§4.1.5.2).
    virtual void notify(std::uint16_t index) = 0;
    // §4.1.4.5: bit 0 a queue interrupt, bit 1 a configuration change; reading clears it.
    [[nodiscard]] virtual std::uint8_t read_isr() = 0;

    // §2.5: the device-specific configuration, read and written by field.
    [[nodiscard]] virtual std::uint8_t config_generation() = 0;
    [[nodiscard]] virtual std::uint32_t read_config(std::uint16_t offset, unsigned width) = 0;
    virtual void write_config(std::uint16_t offset, unsigned width, std::uint32_t value) = 0;
    // Byte fields of the device-specific configuration (a MAC address), in one go where the
    // transport can. One read_config per byte unless overridden.
    virtual void read_config_bytes(std::uint16_t offset, std::span<std::uint8_t> out) {
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<std::uint8_t>(read_config(static_cast<std::uint16_t>(offset + i), 1));
    }

    // Tells the transport whether the function's MSI-X is on: it moves the legacy
    // interface's device-specific configuration (§4.1.4.8).
    virtual void set_msix_enabled(bool enabled) = 0;

protected:
    Transport() = default;
    Transport(const Transport&) = default;
    Transport& operator=(const Transport&) = default;
    ~Transport() = default;
};

// ISR bits (§4.1.4.5).
namespace isr {
constexpr std::uint8_t k_queue = 1u << 0;
constexpr std::uint8_t k_config = 1u << 1;
}  // namespace isr

}  // namespace virtio
