// The virtio-balloon driver (virtio 1.2 §5.5): negotiates the statistics queue,
// deflate-on-OOM and free page reporting where offered, sets up the queues, hands them to
// a Balloon and registers it as the frame allocator's memory-pressure handler.
// Registered at k_driver_priority, so it replaces the probe-only driver. Kernel only.

#include "balloon/driver.hpp"

#include "balloon/wire.hpp"
#include "kernel/kernel.hpp"
#include "kernel/memory.hpp"
#include "virtio/features.hpp"
#include "virtio/registry.hpp"

namespace balloon {
namespace {

constexpr std::uint16_t k_queue_size = 256;
constexpr std::uint64_t k_default_floor_mib = 16;
constexpr std::uint64_t k_default_report_s = 10;
constexpr std::uint64_t k_wanted = wire::k_must_tell_host | wire::k_stats_vq | wire::k_deflate_on_oom |
                                   wire::k_page_reporting | virtio::features::k_event_idx;

Balloon* g_balloon = nullptr;

class VirtioAccess final : public DeviceAccess {
public:
    explicit VirtioAccess(virtio::Device& device) : m_device(device) {}
    std::uint32_t num_pages() override { return m_device.read_config<std::uint32_t>(wire::k_config_num_pages); }
    void set_actual(std::uint32_t pages) override {
        m_device.transport().write_config(wire::k_config_actual, 4, pages);
    }
    void notify(std::uint16_t queue) override { m_device.transport().notify(queue); }

private:
    virtio::Device& m_device;
};

kernel::Result<QueueRef, virtio::DeviceError> queue(virtio::Device& device, std::uint16_t index) {
    virtio::Virtqueue* q = TRY(device.setup_queue(index, virtio::kernel_dma(), k_queue_size));
    return QueueRef{q, index};
}

kernel::Result<void, virtio::DeviceError> probe(virtio::Device& device) {
    if (g_balloon != nullptr) {
        // QEMU allows one balloon; another device is brought up but never inflated.
        TRY(device.negotiate({}));
        TRY(queue(device, wire::k_inflate_queue));
        TRY(queue(device, wire::k_deflate_queue));
        TRY(device.driver_ok());
        kernel::println("{} {}: a second balloon: brought up, not driven", device.name(), device.location());
        return {};
    }
    // §5.5.2: the reporting queue's index depends on whether free page hinting is there,
    // and devices number by what they offer, drivers by what they take: with hinting
    // offered (and not taken here) the index is not certain, so no reporting then.
    std::uint64_t wanted = k_wanted;
    if ((device.transport().device_features() & wire::k_free_page_hint) != 0) wanted &= ~wire::k_page_reporting;
    std::uint64_t features = TRY(device.negotiate({.required = 0, .optional = wanted}));

    Queues queues;
    queues.inflate = TRY(queue(device, wire::k_inflate_queue));
    queues.deflate = TRY(queue(device, wire::k_deflate_queue));
    std::uint16_t next = wire::k_deflate_queue + 1;
    if ((features & wire::k_stats_vq) != 0) queues.stats = TRY(queue(device, next++));
    if ((features & wire::k_page_reporting) != 0) queues.reporting = TRY(queue(device, next++));

    const auto& options = kernel::command_line();
    Options balloon_options;
    balloon_options.features = features;
    std::uint64_t floor_mib = options.get_u64("balloon_floor_mib").value_or(k_default_floor_mib);
    balloon_options.floor_frames = static_cast<std::size_t>(floor_mib * (1 << 20) / wire::k_page_size);
    balloon_options.report_interval_ns =
        options.get_u64("balloon_report_s").value_or(k_default_report_s) * 1'000'000'000;
    balloon_options.log = &kernel::console_sink();

    static VirtioAccess access(device);
    auto created = Balloon::create(balloon_options, queues, access, virtio::kernel_dma(), kernel::memory::frames(),
                                   &kernel::memory::heap());
    if (!created) {
        kernel::println("{} {}: {}", device.name(), device.location(), to_string(created.error()));
        return kernel::err(virtio::DeviceError::QueueMemory);
    }
    Balloon* balloon = created.value();
    for (QueueRef ref : {queues.inflate, queues.deflate, queues.stats, queues.reporting}) {
        if (ref.queue != nullptr)
            device.set_queue_handler(
                ref.index, [](void* b) { static_cast<Balloon*>(b)->interrupt(); }, balloon);
    }
    device.set_config_handler([](void* b) { static_cast<Balloon*>(b)->interrupt(); }, balloon);
    TRY(device.driver_ok());
    g_balloon = balloon;
    kernel::memory::frames().set_pressure_handler(&Balloon::pressure_handler, balloon);
    balloon->start();
    kernel::println("{} {}: {}, features {:#x}, {} interrupts, target {} pages, floor {} MiB{}{}{}{}", device.name(),
                    device.location(), to_string(device.transport().kind()), features, device.interrupt_mode(),
                    access.num_pages(), floor_mib, queues.stats.queue != nullptr ? ", statistics" : "",
                    (features & wire::k_deflate_on_oom) != 0 ? ", deflate-on-oom" : "",
                    queues.reporting.queue != nullptr ? ", free page reporting" : "",
                    (features & wire::k_must_tell_host) != 0 ? ", must-tell-host" : "");
    return {};
}

VIRTIO_DRIVER(balloon, "virtio-balloon", virtio::device_id::k_balloon, virtio::k_driver_priority, probe);

}  // namespace

Balloon* instance() { return g_balloon; }

}  // namespace balloon
