#pragma once
// The queue of deferred device stores. Where the kernel runs in ring 3 (gate.hpp), every
// device access from there is a trip through the hypervisor, and one from inside a gate
// costs about a quarter of it (docs/kvm-on-this-host.md). So in that mode the access
// windows (kernel/mmio.hpp, pci/port_config_space.cpp) do not store at once: they queue
// the store here, and the queue runs, in order and as one gate,
//   - together with the next load through a window, which it then answers;
//   - ahead of any other gate (port I/O, MSRs, halting: gate.hpp);
//   - when it is full;
//   - at each step of a spin-wait (kernel::cpu::pause), where the spinner may be waiting
//     for a device to act on a store, say a virtqueue notification;
//   - at the end of each event-loop turn (runtime/kernel_platform.cpp).
// Stores to devices are posted on a real bus as well; all this changes is how late, and a
// driver that waits for a device to act on a store reads one of its registers, which
// runs the store first, or spins. In ring 0 nothing is queued.
//
// Portable: the kernel's queue runs through the device-list gate, the host tests' through
// a fake device.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace kernel::gates {

// One device access, as the device-list gate (gates.asm, gate_device_list) reads it: a
// load or store of 1, 2 or 4 bytes of device memory (MMIO), or of an I/O port, or a
// 32-bit write of an MSR (the x2APIC's registers), or an access through an index port and
// a data port (PCI's CF8/CFC): then index_port is not 0 and `address` holds the index (low
// 32 bits) and the data port (bits 32-47). A load leaves what it read in `value`.
struct DeviceAccess {
    static constexpr std::uint8_t k_load = 1;
    static constexpr std::uint8_t k_port = 2;
    static constexpr std::uint8_t k_msr = 4;

    volatile void* address = nullptr;
    std::uint32_t value = 0;
    std::uint8_t width = 4;
    std::uint8_t kind = 0;
    std::uint16_t index_port = 0;

    [[nodiscard]] bool is_load() const { return (kind & k_load) != 0; }

    static DeviceAccess memory_load(volatile void* address, std::uint8_t width) {
        return {address, 0, width, k_load, 0};
    }
    static DeviceAccess memory_store(volatile void* address, std::uint8_t width, std::uint32_t value) {
        return {address, value, width, 0, 0};
    }
    static DeviceAccess port_load(std::uint16_t port, std::uint8_t width) {
        return {as_address(port), 0, width, static_cast<std::uint8_t>(k_port | k_load), 0};
    }
    static DeviceAccess port_store(std::uint16_t port, std::uint8_t width, std::uint32_t value) {
        return {as_address(port), value, width, k_port, 0};
    }
    static DeviceAccess msr_store(std::uint32_t msr, std::uint32_t value) {
        return {as_address(msr), value, 4, k_msr, 0};
    }
    static DeviceAccess select(std::uint16_t index_port, std::uint32_t index, std::uint16_t data_port,
                               std::uint8_t width, bool load, std::uint32_t value = 0) {
        return {as_address(index | std::uint64_t{data_port} << 32), value, width, load ? k_load : std::uint8_t{0},
                index_port};
    }

private:
    static volatile void* as_address(std::uint64_t bits) {
        return reinterpret_cast<volatile void*>(static_cast<std::uintptr_t>(bits));
    }
};
static_assert(sizeof(DeviceAccess) == 16, "gates.asm's gate_device_list steps 16 bytes");

// `Capacity` stores at most wait; a load rides in the same run.
template <std::size_t Capacity>
class DeferredStores {
public:
    // Runs the accesses in order on the device (in ring 0), leaving loads' values in them.
    using Runner = void (*)(std::span<DeviceAccess> accesses);

    constexpr explicit DeferredStores(Runner runner) : m_runner(runner) {}

    // Queues a store, running what waits first when the queue is full.
    void store(const DeviceAccess& access) {
        if (m_count == Capacity) {
            ++m_overflows;
            run();
        }
        m_entries[m_count++] = access;
    }
    // Runs what waits and then the load, in one run; returns what the load read.
    std::uint32_t load(const DeviceAccess& access) {
        m_entries[m_count++] = access;
        run();
        return m_entries[m_count_run - 1].value;
    }
    // Runs what waits (nothing if nothing does).
    void flush() {
        if (m_count != 0) run();
    }

    [[nodiscard]] bool empty() const { return m_count == 0; }
    [[nodiscard]] std::size_t size() const { return m_count; }
    // How many runs there were, and how many because the queue was full.
    [[nodiscard]] std::uint64_t runs() const { return m_runs; }
    [[nodiscard]] std::uint64_t overflows() const { return m_overflows; }

private:
    void run() {
        // Taken before the run: the runner may be a gate, and a gate flushes first.
        m_count_run = m_count;
        m_count = 0;
        ++m_runs;
        m_runner(std::span(m_entries).first(m_count_run));
    }

    Runner m_runner;
    std::array<DeviceAccess, Capacity + 1> m_entries{};
    std::size_t m_count = 0;
    std::size_t m_count_run = 0;
    std::uint64_t m_runs = 0;
    std::uint64_t m_overflows = 0;
};

}  // namespace kernel::gates
