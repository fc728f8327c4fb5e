#pragma once
// A device's interrupts, kernel side: MSI-X entries each routed to a vector of their own,
// or, for a device without MSI-X, its INTx pin through the I/O APIC on a vector that
// devices on the same line share. Vectors come from kernel::interrupts::allocate_vector
// and handlers are installed with kernel::interrupts::set_handler.
//
//     auto msix = TRY(pci::MsixInterrupts::enable(function));   // everything masked
//     TRY(msix.attach(0, on_config_change, this));              // entry 0 -> a new vector
//     msix.start();                                             // function mask off

#include <cstdint>

#include "kernel/interrupts.hpp"
#include "kernel/result.hpp"
#include "pci/driver.hpp"
#include "pci/hardware_window.hpp"
#include "pci/msix.hpp"

namespace pci {

enum class InterruptError {
    NoMsix,          // no usable MSI-X capability
    TableUnmapped,   // the MSI-X table's BAR could not be mapped
    NoEntry,         // an entry past the table's end
    NoVector,        // every vector is taken
    BadDestination,  // this CPU's APIC ID does not fit an MSI address (no interrupt remapping)
    NoPin,           // the device has no INTx pin
    NoLine,          // the firmware routed the pin nowhere (interrupt line 0 or 255)
    TooManySharers,  // too many devices share the line
    NotRouted,       // the I/O APIC layer could not route the line
};
const char* to_string(InterruptError error);

class MsixInterrupts {
public:
    // Maps the table (the BAR must be assigned; memory decoding is turned on), masks every
    // entry and enables MSI-X with the function masked.
    static kernel::Result<MsixInterrupts, InterruptError> enable(Function& function);

    [[nodiscard]] std::uint16_t size() const { return m_capability.table_size; }
    // Claims a free vector for `handler`, points table entry `entry` at it and unmasks the
    // entry. Returns the vector.
    kernel::Result<std::uint8_t, InterruptError> attach(std::uint16_t entry, kernel::interrupts::Handler handler,
                                                        void* context);
    // Clears the function mask: the entries attached so far may fire.
    void start();
    // The table as the device sees it (tests and diagnostics).
    [[nodiscard]] MsixTable table() { return {*m_config, m_address, m_capability, m_window}; }

private:
    MsixInterrupts(ConfigSpace& config, Address address, const MsixCapability& capability, const HardwareWindow& window)
        : m_config(&config), m_address(address), m_capability(capability), m_window(window) {}

    ConfigSpace* m_config;
    Address m_address;
    MsixCapability m_capability;
    HardwareWindow m_window;
};

// Routes the device's INTx pin (the line the firmware wrote in the interrupt line
// register, an ISA IRQ that the MADT's overrides map to a GSI) to `handler`. Devices on
// the same line share one vector; each handler runs on every interrupt of the line, so
// it must check its device's own status (PCI INTx is level triggered and shared, PCI 3.0
// §2.2.6). Returns the vector.
kernel::Result<std::uint8_t, InterruptError> attach_intx(const Device& device, kernel::interrupts::Handler handler,
                                                         void* context);

}  // namespace pci
