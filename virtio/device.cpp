#include "virtio/device.hpp"

#include <algorithm>
#include <bit>

#include "virtio/features.hpp"

namespace virtio {
namespace {

// §2.5.1: how often a configuration read is retried while the device keeps changing it.
constexpr unsigned k_config_read_attempts = 16;

// The bits the transport itself takes when offered. VIRTIO_F_ACCESS_PLATFORM: our device
// addresses are physical addresses, which is what a device that wants the platform's DMA
// rules is given when no IOMMU translates them.
constexpr std::uint64_t k_transport_features = features::k_version_1 | features::k_access_platform;

}  // namespace

kernel::Err<DeviceError> Device::fail(DeviceError error) {
    fail();
    return kernel::err(error);
}

void Device::fail() { m_transport->set_status(static_cast<std::uint8_t>(m_transport->status() | status::k_failed)); }

kernel::Result<std::uint64_t, DeviceError> Device::negotiate(FeatureRequest request) {
    // §3.1.1, steps 1-3.
    if (!m_transport->reset()) return fail(DeviceError::ResetTimeout);
    for (auto& queue : m_queues) queue.reset();
    m_queue_count = 0;
    m_features = 0;
    m_missing = 0;
    std::uint8_t state = status::k_acknowledge;
    m_transport->set_status(state);
    state |= status::k_driver;
    m_transport->set_status(state);

    // Step 4.
    bool modern = m_transport->kind() == TransportKind::Modern;
    std::uint64_t offered = m_transport->device_features();
    if (!modern) offered &= features::k_legacy_mask;
    if (modern && (offered & features::k_version_1) == 0) return fail(DeviceError::NoVersion1);
    m_missing = request.required & ~offered;
    if (m_missing != 0) return fail(DeviceError::MissingFeatures);
    std::uint64_t accepted = offered & (request.required | request.optional | k_transport_features);
    // A legacy interface never negotiates VIRTIO_F_VERSION_1 (§4.1.4.8); its registers
    // have no room for it anyway.
    if (!modern) accepted &= features::k_legacy_mask & ~features::k_version_1;
    if (request.adjust != nullptr) accepted &= request.adjust(accepted) | request.required | k_transport_features;
    m_transport->set_driver_features(accepted);

    // Steps 5-6: a legacy device has no FEATURES_OK and accepts what it is given (§3.1.2).
    if (modern) {
        state |= status::k_features_ok;
        m_transport->set_status(state);
        if ((m_transport->status() & status::k_features_ok) == 0) return fail(DeviceError::FeaturesNotAccepted);
    }
    m_features = accepted;

    // Part of step 7: the configuration change interrupt (§4.1.5.1.2). After the reset,
    // which forgot any earlier vector.
    if (m_interrupts != nullptr) {
        auto entry = m_interrupts->entry_for(k_config_interrupt);
        if (!entry) return fail(entry.error());
        if (!m_transport->set_config_vector(*entry)) return fail(DeviceError::VectorRefused);
    }
    return m_features;
}

kernel::Result<Virtqueue*, DeviceError> Device::setup_queue(std::uint16_t index, DmaAllocator& dma,
                                                            std::uint16_t max_size) {
    if (index >= k_max_queues) return fail(DeviceError::TooManyQueues);
    std::uint16_t offered = m_transport->queue_max_size(index);
    if (offered == 0) return fail(DeviceError::NoSuchQueue);
    std::uint16_t size = offered;
    if (!m_transport->queue_size_fixed())
        size = std::bit_floor(std::min(offered, std::max<std::uint16_t>(max_size, 1)));
    if (!is_valid_split_queue_size(size)) return fail(DeviceError::QueueSize);

    VirtqueueConfig config;
    config.size = size;
    config.layout = m_transport->ring_layout();
    config.event_idx = has_feature(features::k_event_idx);
    config.indirect = has_feature(features::k_indirect_desc);
    auto created = Virtqueue::create(dma, config);
    if (!created) return fail(DeviceError::QueueMemory);
    m_queues[index].reset();
    Virtqueue& queue = m_queues[index].emplace(created.release_value());

    std::uint16_t entry = k_no_vector;
    if (m_interrupts != nullptr) {
        auto routed = m_interrupts->entry_for(index);
        if (!routed) return fail(routed.error());
        entry = *routed;
    }
    if (auto activated = m_transport->activate_queue(index, queue, entry); !activated) return fail(activated.error());
    m_queue_count = std::max<std::uint16_t>(m_queue_count, static_cast<std::uint16_t>(index + 1));
    return &queue;
}

kernel::Result<void, DeviceError> Device::driver_ok() {
    std::uint8_t state = m_transport->status();
    if ((state & status::k_device_needs_reset) != 0) return fail(DeviceError::DeviceNeedsReset);
    m_transport->set_status(static_cast<std::uint8_t>(state | status::k_driver_ok));
    return {};
}

void Device::read_config_bytes(std::uint16_t offset, std::span<std::uint8_t> out) {
    for (unsigned attempt = 0; attempt < k_config_read_attempts; ++attempt) {
        std::uint8_t before = m_transport->config_generation();
        m_transport->read_config_bytes(offset, out);
        if (m_transport->config_generation() == before) return;
    }
}

void Device::set_queue_handler(std::uint16_t index, Handler handler, void* context) {
    if (index < k_max_queues) m_queue_handlers[index] = {handler, context};
}

void Device::set_config_handler(Handler handler, void* context) { m_config_handler = {handler, context}; }

void Device::dispatch_queue(std::uint16_t index) {
    if (index < k_max_queues && m_queue_handlers[index].handler != nullptr)
        m_queue_handlers[index].handler(m_queue_handlers[index].context);
}

void Device::dispatch_config() {
    if (m_config_handler.handler != nullptr) m_config_handler.handler(m_config_handler.context);
}

void Device::handle_queue_interrupt(std::uint16_t index) {
    ++m_interrupt_count;
    dispatch_queue(index);
}

void Device::handle_config_interrupt() {
    ++m_interrupt_count;
    dispatch_config();
}

bool Device::handle_shared_interrupt() {
    // §4.1.4.5: one read tells which and lowers the line.
    std::uint8_t cause = m_transport->read_isr();
    if (cause == 0) return false;
    ++m_interrupt_count;
    // The ISR does not say which queue: every queue's handler looks.
    if ((cause & isr::k_queue) != 0) {
        for (std::uint16_t index = 0; index < m_queue_count; ++index) dispatch_queue(index);
    }
    if ((cause & isr::k_config) != 0) dispatch_config();
    return true;
}

void Device::kick(std::uint16_t index) {
    Virtqueue* q = queue(index);
    if (q != nullptr && q->kick_needed()) m_transport->notify(index);
}

Virtqueue* Device::queue(std::uint16_t index) {
    if (index >= k_max_queues || !m_queues[index]) return nullptr;
    return &*m_queues[index];
}

void Device::set_label(std::string_view name, std::string_view location) {
    m_name = name;
    m_location_length = std::min(location.size(), m_location.size());
    std::copy_n(location.begin(), m_location_length, m_location.begin());
}

}  // namespace virtio
