// The PCI side of virtio (virtio 1.2 §4.1): one PCI driver for every virtio function. It
// picks the transport (the modern capabilities, else the legacy I/O BAR), sets up the
// interrupts (an MSI-X entry for configuration changes and one per queue where the table
// has room, else the INTx line) and hands a virtio::Device to the virtio driver
// registered for the function's device ID. Kernel only.

#include <array>
#include <optional>

#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/format.hpp"
#include "kernel/kernel.hpp"
#include "pci/driver.hpp"
#include "pci/hardware_window.hpp"
#include "pci/interrupts.hpp"
#include "pci/registers.hpp"
#include "virtio/features.hpp"
#include "virtio/legacy_transport.hpp"
#include "virtio/pci_capabilities.hpp"
#include "virtio/pci_transport.hpp"
#include "virtio/registry.hpp"
#include "virtio/virtio.hpp"

extern "C" const virtio::Driver __virtio_drivers_start[];
extern "C" const virtio::Driver __virtio_drivers_end[];

namespace virtio {
namespace {

using kernel::println;

constexpr std::size_t k_max_devices = 8;
constexpr std::uint16_t k_config_entry = 0;  // MSI-X entry 0: configuration changes

enum class InterruptMode : std::uint8_t { None, Msix, Intx };

class PciBinding final : public InterruptSource {
public:
    PciBinding(pci::Function function, const Driver& driver, std::uint16_t device_id)
        : m_function(function), m_driver(&driver), m_device_id(device_id) {
        kernel::fmt::BufferSink sink(m_location);
        kernel::fmt::format_to(sink, "{}", function.address());
        m_location_length = sink.view().size();
    }
    PciBinding(const PciBinding&) = delete;
    PciBinding& operator=(const PciBinding&) = delete;

    kernel::Result<void, DeviceError> start();

    kernel::Result<std::uint16_t, DeviceError> entry_for(std::uint16_t index) override;
    [[nodiscard]] const char* describe() const override {
        switch (m_mode) {
            case InterruptMode::Msix: return "MSI-X";
            case InterruptMode::Intx: return "INTx";
            case InterruptMode::None: break;
        }
        return "none";
    }

    [[nodiscard]] Device* device() { return m_device ? &*m_device : nullptr; }
    [[nodiscard]] TransportKind transport_kind() const {
        return m_legacy ? TransportKind::Legacy : TransportKind::Modern;
    }
    [[nodiscard]] std::string_view location() const { return {m_location.data(), m_location_length}; }

private:
    struct Entry {
        PciBinding* owner = nullptr;
        std::uint16_t index = 0;
        std::uint8_t vector = 0;
    };

    kernel::Result<Transport*, DeviceError> open_transport();
    kernel::Result<pci::HardwareWindow*, DeviceError> map(std::size_t slot, const Region& region);
    void open_interrupts(Transport& transport);
    void release_interrupts();
    // Queues share MSI-X entries 1..size-1 when there are more queues than entries.
    [[nodiscard]] std::uint16_t queue_entry(std::uint16_t queue) const {
        return static_cast<std::uint16_t>(1 + queue % (m_msix->size() - 1));
    }
    static void on_msix(kernel::InterruptFrame& frame, void* context);
    static void on_intx(kernel::InterruptFrame& frame, void* context);

    pci::Function m_function;
    const Driver* m_driver;
    std::uint16_t m_device_id;
    std::array<char, 8> m_location{};
    std::size_t m_location_length = 0;
    std::array<pci::HardwareWindow, 4> m_windows{};
    std::optional<ModernTransport> m_modern;
    std::optional<LegacyTransport> m_legacy;
    InterruptMode m_mode = InterruptMode::None;
    std::optional<pci::MsixInterrupts> m_msix;
    std::array<Entry, k_max_queues + 1> m_entries{};
    bool m_intx_attached = false;
    std::optional<Device> m_device;
};

kernel::Result<pci::HardwareWindow*, DeviceError> PciBinding::map(std::size_t slot, const Region& region) {
    const pci::Bar& bar = m_function.device().bars[region.bar];
    auto window = pci::HardwareWindow::map(bar, region.offset, region.length);
    if (!window) {
        println("{} {}: BAR {}: {}", m_driver->name, location(), region.bar, pci::to_string(window.error()));
        return kernel::err(DeviceError::BarUnmapped);
    }
    m_windows[slot] = *window;
    return &m_windows[slot];
}

kernel::Result<Transport*, DeviceError> PciBinding::open_transport() {
    const pci::Device& device = m_function.device();
    auto layout = find_modern_layout(m_function.config(), device);
    if (layout) {
        ModernWindows windows;
        windows.common = TRY(map(0, layout->common));
        windows.notify = TRY(map(1, layout->notify));
        windows.notify_off_multiplier = layout->notify_off_multiplier;
        windows.isr = TRY(map(2, layout->isr));
        if (layout->device.present) windows.device = TRY(map(3, layout->device));
        return &m_modern.emplace(windows);
    }
    if (layout.error() != DeviceError::NoTransport) return kernel::err(layout.error());
    // §4.1.2.1: only a transitional device speaks the legacy interface, in I/O BAR 0.
    const pci::Bar& bar0 = device.bars[0];
    if (device.device_id > pci_id::k_last_transitional || !bar0.is_io()) return kernel::err(DeviceError::NoTransport);
    pci::HardwareWindow* registers = TRY(map(0, {true, 0, 0, static_cast<std::uint32_t>(bar0.size)}));
    return &m_legacy.emplace(*registers);
}

void PciBinding::open_interrupts(Transport& transport) {
    const pci::Device& device = m_function.device();
    if (device.capabilities.find(pci::capability_id::k_msix)) {
        auto msix = pci::MsixInterrupts::enable(m_function);
        if (msix && msix->size() >= 2) {
            m_msix.emplace(*msix);
            m_mode = InterruptMode::Msix;
            transport.set_msix_enabled(true);
            return;
        }
        if (msix) {
            msix->table().disable();  // one entry cannot separate queues from configuration changes
        } else {
            println("{} {}: MSI-X: {}; trying INTx", m_driver->name, location(), pci::to_string(msix.error()));
        }
    }
    if (device.interrupt_pin != 0) {
        m_mode = InterruptMode::Intx;
        return;
    }
    println("{} {}: warning: neither MSI-X nor an INTx pin; the driver must poll", m_driver->name, location());
}

kernel::Result<std::uint16_t, DeviceError> PciBinding::entry_for(std::uint16_t index) {
    switch (m_mode) {
        case InterruptMode::Msix: {
            std::uint16_t entry = index == k_config_interrupt ? k_config_entry : queue_entry(index);
            Entry& slot = m_entries[entry];
            if (slot.owner == nullptr) {
                slot = {this, entry, 0};
                auto vector = m_msix->attach(entry, on_msix, &slot);
                if (!vector) {
                    slot.owner = nullptr;
                    println("{} {}: MSI-X entry {}: {}", m_driver->name, location(), entry,
                            pci::to_string(vector.error()));
                    return kernel::err(DeviceError::NoInterrupts);
                }
                slot.vector = *vector;
            }
            return entry;
        }
        case InterruptMode::Intx:
            if (!m_intx_attached) {
                auto vector = pci::attach_intx(m_function.device(), on_intx, this);
                if (!vector) {
                    println("{} {}: INTx: {}", m_driver->name, location(), pci::to_string(vector.error()));
                    return kernel::err(DeviceError::NoInterrupts);
                }
                m_intx_attached = true;
            }
            return k_no_vector;
        case InterruptMode::None: break;
    }
    return k_no_vector;
}

void PciBinding::release_interrupts() {
    if (m_mode != InterruptMode::Msix) return;  // a shared INTx line stays; the handler finds ISR 0
    m_msix->table().disable();
    for (Entry& entry : m_entries) {
        if (entry.owner != nullptr) kernel::interrupts::clear_handler(entry.vector);
        entry = {};
    }
}

void PciBinding::on_msix(kernel::InterruptFrame& /*frame*/, void* context) {
    auto& entry = *static_cast<Entry*>(context);
    PciBinding& binding = *entry.owner;
    if (!binding.m_device) return;
    if (entry.index == k_config_entry) {
        binding.m_device->handle_config_interrupt();
        return;
    }
    for (std::uint16_t queue = 0; queue < binding.m_device->queue_count(); ++queue) {
        if (binding.queue_entry(queue) == entry.index) binding.m_device->handle_queue_interrupt(queue);
    }
}

void PciBinding::on_intx(kernel::InterruptFrame& /*frame*/, void* context) {
    auto& binding = *static_cast<PciBinding*>(context);
    if (binding.m_device) static_cast<void>(binding.m_device->handle_shared_interrupt());
}

kernel::Result<void, DeviceError> PciBinding::start() {
    // Registers in either space, and DMA for the rings.
    m_function.enable(true, true, true);
    auto transport = open_transport();
    if (!transport) {
        println("{} {}: {}", m_driver->name, location(), to_string(transport.error()));
        return kernel::err(transport.error());
    }
    open_interrupts(**transport);
    Device& device = m_device.emplace(**transport, m_device_id, this);
    device.set_label(m_driver->name, location());
    auto probed = m_driver->probe(device);
    if (!probed) {
        release_interrupts();
        if (probed.error() == DeviceError::MissingFeatures) {
            println("{} {}: {} (offered {:#x}, missing {:#x}); marked FAILED, boot continues", m_driver->name,
                    location(), to_string(probed.error()), (*transport)->device_features(), device.missing_features());
        } else {
            println("{} {}: {}; marked FAILED, boot continues", m_driver->name, location(), to_string(probed.error()));
        }
        return kernel::err(probed.error());
    }
    if (m_msix) m_msix->start();
    return {};
}

std::array<std::optional<PciBinding>, k_max_devices> g_bindings;
std::array<DeviceInfo, k_max_devices> g_info;
std::size_t g_count = 0;

// QEMU's TCG ("TCGTCGTCGTCG" in the hypervisor CPUID leaf) up to 8.0 translates no guest
// fence into a host fence when it runs a single vCPU, while virtio devices run in QEMU's
// I/O thread: the store of an avail index and the load of avail_event could pass each
// other on the host and a needed notification was skipped (a transmit queue stalled for
// good about once in thirty runs of tools/bench). TCG runs PAUSE by leaving its
// execution loop, and leaving it is a full barrier on the host (cpu_exec_end's smp_mb),
// without QEMU's global lock, which a port write would wait for while the I/O thread
// holds it. Under KVM or on hardware the CPU fence is enough.
bool under_tcg() { return kernel::cpu::hypervisor_max_leaf("TCGTCGTCGTCG") != 0; }

void tcg_ring_fence() { kernel::cpu::pause(); }

kernel::Result<void, pci::ProbeError> probe_virtio(pci::Function& function) {
    if (g_count == 0 && under_tcg()) {
        set_ring_fence(tcg_ring_fence);
        if (kernel::verbose()) println("virtio: under QEMU's TCG: ring fences also run PAUSE");
    }
    auto id = device_id_of(function.device());
    if (!id) return kernel::err(pci::ProbeError::NotMine);
    const Driver* driver = find_driver(registered_drivers(), *id);
    if (driver == nullptr) {
        println("virtio {}: {} device (ID {}) has no driver", function.address(), device_name(*id), *id);
        return kernel::err(pci::ProbeError::NotMine);
    }
    function.device().driver_name = driver->name;
    if (g_count == k_max_devices) {
        println("{} {}: more than {} virtio devices; ignored", driver->name, function.address(), k_max_devices);
        return kernel::err(pci::ProbeError::Failed);
    }
    std::size_t index = g_count++;
    PciBinding& binding = g_bindings[index].emplace(function, *driver, *id);
    auto started = binding.start();
    DeviceInfo& info = g_info[index];
    info.driver = driver->name;
    info.priority = driver->priority;
    info.device_id = *id;
    info.address = function.address();
    info.transport = binding.transport_kind();
    info.device = binding.device();
    info.running = started.has_value();
    if (!started) return kernel::err(pci::ProbeError::Failed);
    return {};
}

PCI_DRIVER(virtio,
           {.vendor = pci_id::k_vendor,
            .device_first = pci_id::k_first_transitional,
            .device_last = pci_id::k_last_modern},
           probe_virtio);

}  // namespace

std::span<const Driver> registered_drivers() {
    return {__virtio_drivers_start, static_cast<std::size_t>(__virtio_drivers_end - __virtio_drivers_start)};
}

std::span<const DeviceInfo> devices() { return {g_info.data(), g_count}; }

}  // namespace virtio
