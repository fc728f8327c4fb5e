#pragma once
// One virtio device as a driver sees it, whatever the transport: initialization in the
// order virtio 1.2 §3.1.1 gives, its queues, and the interrupts that arrive for them.
//
//     TRY(device.negotiate({.required = 0, .optional = k_net_mac | features::k_event_idx}));
//     auto* receive = TRY(device.setup_queue(0, dma, 256));   // rings, vector, enable
//     TRY(device.driver_ok());
//
// When a step fails the device is marked FAILED (§3.1.1: "If any of these steps go
// irrecoverably wrong, the driver SHOULD set the FAILED status bit") and the error says
// why; the caller prints it and the boot goes on.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kernel/result.hpp"
#include "virtio/device_error.hpp"
#include "virtio/dma.hpp"
#include "virtio/transport.hpp"
#include "virtio/virtqueue.hpp"

namespace virtio {

struct FeatureRequest {
    std::uint64_t required = 0;  // negotiation fails unless the device offers all of these
    std::uint64_t optional = 0;  // taken where offered
    // Given what would be accepted, drops the features whose dependencies are missing
    // (§5.1.3.1: GUEST_TSO4 needs GUEST_CSUM, ...). It can only take bits away.
    std::uint64_t (*adjust)(std::uint64_t accepted) = nullptr;
};

// Marks a queue for InterruptSource::entry_for: the configuration change interrupt.
constexpr std::uint16_t k_config_interrupt = 0xFFFF;

// How the bus delivers the device's interrupts (the PCI binding: MSI-X entries, or the
// shared INTx line). Device calls it while it sets the device up.
class InterruptSource {
public:
    // The MSI-X table entry the device should signal for queue `index` (or for
    // configuration changes, k_config_interrupt), already routed to a handler that calls
    // Device::handle_queue_interrupt / handle_config_interrupt; k_no_vector when the
    // device interrupts through its INTx line instead.
    virtual kernel::Result<std::uint16_t, DeviceError> entry_for(std::uint16_t index) = 0;
    // "MSI-X", "INTx" or "none", for messages.
    [[nodiscard]] virtual const char* describe() const = 0;

protected:
    InterruptSource() = default;
    InterruptSource(const InterruptSource&) = default;
    InterruptSource& operator=(const InterruptSource&) = default;
    ~InterruptSource() = default;
};

class Device {
public:
    // Called in interrupt context: record the work and return (ARCHITECTURE.md).
    using Handler = void (*)(void* context);

    Device(Transport& transport, std::uint16_t device_id, InterruptSource* interrupts = nullptr)
        : m_transport(&transport), m_interrupts(interrupts), m_device_id(device_id) {}
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    // §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, the features (the device's intersected
    // with the request, plus VIRTIO_F_VERSION_1, which a modern device must offer), and on
    // a modern device FEATURES_OK, read back to see that the device took them (legacy
    // devices have no FEATURES_OK, §3.1.2). Then the configuration change interrupt.
    // Returns the negotiated features.
    kernel::Result<std::uint64_t, DeviceError> negotiate(FeatureRequest request);
    // Step 7 for one queue: the rings (from `dma`, of at most `max_size` entries, fewer if
    // the device offers fewer; a legacy device's own size), the queue's interrupt, enable.
    kernel::Result<Virtqueue*, DeviceError> setup_queue(std::uint16_t index, DmaAllocator& dma, std::uint16_t max_size);
    // Step 8. Fails if the device asks to be reset instead.
    kernel::Result<void, DeviceError> driver_ok();
    // Sets FAILED (§2.1.1); the device stays unusable until the next reset.
    void fail();

    // Device-specific configuration (§2.5). One field of up to 32 bits reads consistently
    // by itself; read_config_bytes repeats until the generation counter is the same before
    // and after (§2.5.1), for anything longer.
    template <typename T>
    [[nodiscard]] T read_config(std::uint16_t offset) {
        static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4);
        return static_cast<T>(m_transport->read_config(offset, sizeof(T)));
    }
    // Reads `out.size()` bytes from `offset`, a byte at a time.
    void read_config_bytes(std::uint16_t offset, std::span<std::uint8_t> out);

    // The driver's handlers for its queues and for configuration changes.
    void set_queue_handler(std::uint16_t index, Handler handler, void* context);
    void set_config_handler(Handler handler, void* context);
    // For the bus, from interrupt context.
    void handle_queue_interrupt(std::uint16_t index);
    void handle_config_interrupt();
    // INTx: reads (and so clears) the ISR, dispatches, and says whether it was ours.
    bool handle_shared_interrupt();

    // Asks the device to look at queue `index` (§4.1.5.2), if the queue says it must.
    void kick(std::uint16_t index);

    [[nodiscard]] Transport& transport() const { return *m_transport; }
    [[nodiscard]] std::uint16_t device_id() const { return m_device_id; }
    [[nodiscard]] std::uint64_t features() const { return m_features; }
    [[nodiscard]] bool has_feature(std::uint64_t bits) const { return (m_features & bits) == bits; }
    // Required features the device did not offer, after MissingFeatures.
    [[nodiscard]] std::uint64_t missing_features() const { return m_missing; }
    [[nodiscard]] std::uint8_t status() { return m_transport->status(); }
    [[nodiscard]] Virtqueue* queue(std::uint16_t index);
    [[nodiscard]] std::uint16_t queue_count() const { return m_queue_count; }
    [[nodiscard]] std::uint64_t interrupts() const { return m_interrupt_count; }
    [[nodiscard]] const char* interrupt_mode() const {
        return m_interrupts != nullptr ? m_interrupts->describe() : "none";
    }
    // What messages call the device: "virtio-net 00:03.0".
    void set_label(std::string_view name, std::string_view location);
    [[nodiscard]] std::string_view name() const { return m_name; }
    [[nodiscard]] std::string_view location() const { return {m_location.data(), m_location_length}; }

private:
    struct Callback {
        Handler handler = nullptr;
        void* context = nullptr;
    };

    kernel::Err<DeviceError> fail(DeviceError error);
    void dispatch_queue(std::uint16_t index);
    void dispatch_config();

    Transport* m_transport;
    InterruptSource* m_interrupts;
    std::uint16_t m_device_id;
    std::uint64_t m_features = 0;
    std::uint64_t m_missing = 0;
    std::array<std::optional<Virtqueue>, k_max_queues> m_queues;
    std::uint16_t m_queue_count = 0;  // one past the highest queue set up
    std::array<Callback, k_max_queues> m_queue_handlers{};
    Callback m_config_handler;
    std::uint64_t m_interrupt_count = 0;
    std::string_view m_name = "virtio";
    std::array<char, 16> m_location{};
    std::size_t m_location_length = 0;
};

}  // namespace virtio
