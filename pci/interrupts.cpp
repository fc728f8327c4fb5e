#include "pci/interrupts.hpp"

#include <array>

#include "apic/apic.hpp"
#include "kernel/console.hpp"

namespace pci {
namespace {

// APIC IDs above this need interrupt remapping to be named in an MSI address (Intel SDM
// vol. 3A §11.11.1: eight destination bits).
constexpr std::uint32_t k_max_msi_destination = 0xFF;
// PCI 3.0 §6.2.4: 255 means "unknown or not connected".
constexpr std::uint8_t k_line_unknown = 0xFF;

struct Sharer {
    kernel::interrupts::Handler handler = nullptr;
    void* context = nullptr;
};

struct SharedLine {
    static constexpr std::size_t k_max_sharers = 8;
    std::uint8_t irq = 0;
    std::uint8_t vector = 0;  // 0: the slot is free
    std::array<Sharer, k_max_sharers> sharers{};
    std::size_t count = 0;
};

std::array<SharedLine, 16> g_lines;  // one per ISA IRQ at most

void on_shared_line(kernel::InterruptFrame& frame, void* context) {
    auto& line = *static_cast<SharedLine*>(context);
    for (std::size_t i = 0; i < line.count; ++i) line.sharers[i].handler(frame, line.sharers[i].context);
}

}  // namespace

const char* to_string(InterruptError error) {
    switch (error) {
        case InterruptError::NoMsix: return "no usable MSI-X capability";
        case InterruptError::TableUnmapped: return "cannot map the MSI-X table";
        case InterruptError::NoEntry: return "no such MSI-X table entry";
        case InterruptError::NoVector: return "no free interrupt vector";
        case InterruptError::BadDestination: return "the local APIC ID does not fit an MSI address";
        case InterruptError::NoPin: return "the device has no interrupt pin";
        case InterruptError::NoLine: return "the firmware did not route the interrupt pin";
        case InterruptError::TooManySharers: return "too many devices share the interrupt line";
        case InterruptError::NotRouted: return "the I/O APIC cannot route the interrupt line";
    }
    return "unknown interrupt error";
}

kernel::Result<MsixInterrupts, InterruptError> MsixInterrupts::enable(Function& function) {
    auto capability = read_msix_capability(function.config(), function.device());
    if (!capability) return kernel::err(InterruptError::NoMsix);
    const Bar& bar = function.device().bars[capability->table_bar];
    auto window = HardwareWindow::map(bar, capability->table_offset, capability->table_bytes());
    if (!window) return kernel::err(InterruptError::TableUnmapped);
    function.enable(true, false, false);  // the table is in memory space
    MsixInterrupts interrupts(function.config(), function.address(), *capability, *window);
    interrupts.table().enable_masked();
    return interrupts;
}

kernel::Result<std::uint8_t, InterruptError> MsixInterrupts::attach(std::uint16_t entry,
                                                                    kernel::interrupts::Handler handler,
                                                                    void* context) {
    if (entry >= size()) return kernel::err(InterruptError::NoEntry);
    std::uint32_t destination = apic::local_apic_id();
    if (destination > k_max_msi_destination) return kernel::err(InterruptError::BadDestination);
    std::uint8_t vector = kernel::interrupts::allocate_vector();
    if (vector == 0 || !kernel::interrupts::set_handler(vector, handler, context))
        return kernel::err(InterruptError::NoVector);
    MsixTable msix = table();
    msix.program(entry, msi_message(static_cast<std::uint8_t>(destination), vector));
    msix.set_masked(entry, false);
    return vector;
}

void MsixInterrupts::start() { table().set_function_mask(false); }

kernel::Result<std::uint8_t, InterruptError> attach_intx(const Device& device, kernel::interrupts::Handler handler,
                                                         void* context) {
    if (device.interrupt_pin == 0) return kernel::err(InterruptError::NoPin);
    std::uint8_t irq = device.interrupt_line;
    if (irq == 0 || irq == k_line_unknown || irq >= g_lines.size()) return kernel::err(InterruptError::NoLine);
    SharedLine& line = g_lines[irq];
    if (line.vector == 0) {
        std::uint8_t vector = kernel::interrupts::allocate_vector();
        if (vector == 0 || !kernel::interrupts::set_handler(vector, on_shared_line, &line))
            return kernel::err(InterruptError::NoVector);
        // QEMU's MADT marks its PCI lines (5, 9, 10, 11) level triggered, active high.
        if (auto routed = apic::route_legacy_irq(irq, vector); !routed) {
            kernel::println("pci: IRQ {}: {}", irq, apic::to_string(routed.error()));
            kernel::interrupts::clear_handler(vector);
            return kernel::err(InterruptError::NotRouted);
        }
        line.irq = irq;
        line.vector = vector;
    }
    if (line.count == line.sharers.size()) return kernel::err(InterruptError::TooManySharers);
    line.sharers[line.count++] = {handler, context};
    return line.vector;
}

}  // namespace pci
