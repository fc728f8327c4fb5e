// Bring-up of the APIC layer (KERNEL_INIT stages 10 and 20) and its public API.

#include "apic/apic.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "apic/hardware_access.hpp"
#include "apic/legacy_pic.hpp"
#include "kernel/acpi_madt.hpp"
#include "kernel/clock.hpp"
#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/init.hpp"
#include "kernel/interrupts.hpp"
#include "kernel/kernel.hpp"
#include "kernel/memory.hpp"
#include "kernel/timer.hpp"

namespace apic {
namespace {

namespace acpi = kernel::acpi;
using kernel::println;

// CPUID.1 feature bits (SDM vol. 2A, CPUID, tables 3-10 and 3-11).
constexpr std::uint32_t k_cpuid_edx_apic = 1u << 9;
constexpr std::uint32_t k_cpuid_ecx_x2apic = 1u << 21;
constexpr std::uint32_t k_cpuid_ecx_tsc_deadline = 1u << 24;

// Where PC chipsets put the first I/O APIC, for machines without a usable MADT.
constexpr std::uint64_t k_default_io_apic_address = 0xFEC00000;
constexpr std::uint64_t k_xapic_window_size = 4096;

X2ApicMsrAccess g_x2apic_access;
XApicMmioAccess g_xapic_access;
std::optional<LocalApic> g_local_apic;
bool g_x2apic = false;
std::uint32_t g_local_apic_id = 0;
std::array<IoApicMmioAccess, InterruptRouter::k_max_io_apics> g_io_apic_access;
InterruptRouter g_router;
bool g_router_ready = false;
std::optional<acpi::Madt> g_madt;
ApicTimer g_timer;
std::uint64_t g_errors = 0;
std::uint32_t g_last_error_status = 0;

void read_madt() {
    const acpi::Tables* tables = kernel::acpi_tables();
    if (tables == nullptr) {
        println("apic: no ACPI tables, so no MADT");
        return;
    }
    auto madt = acpi::read_madt(kernel::memory::physical_reader(), *tables);
    if (!madt) {
        println("apic: {}", acpi::to_string(madt.error()));
        return;
    }
    if (kernel::verbose())
        println("apic: MADT: CPUs {}, I/O APICs {}, ISA overrides {}, LINT NMIs {}", madt->processor_count,
                madt->io_apic_count, madt->override_count, madt->local_apic_nmi_count);
    if (madt->malformed != 0 || madt->dropped != 0) {
        println("apic: MADT: {} malformed entries{}, {} dropped (lists full); using the rest", madt->malformed,
                madt->truncated ? " (the walk stopped early)" : "", madt->dropped);
    }
    g_madt.emplace(*madt);
}

// Turns the local APIC on in IA32_APIC_BASE (SDM vol. 3A §11.4.3, §11.12.1) and returns
// the access object for its mode, or nullptr if its registers cannot be reached.
LocalApicAccess* enable_local_apic(bool cpu_has_x2apic) {
    std::uint64_t base = kernel::cpu::rdmsr(msr::k_apic_base);
    if ((base & msr::k_apic_base_global_enable) == 0) {
        base |= msr::k_apic_base_global_enable;
        kernel::cpu::wrmsr(msr::k_apic_base, base);
    }
    // §11.12.5, figure 11-27: x2APIC mode is entered from xAPIC mode, never left for it
    // without a reset; firmware may already have entered it.
    if (cpu_has_x2apic || (base & msr::k_apic_base_x2apic_enable) != 0) {
        g_x2apic_access.enter(base);
        g_x2apic = true;
        return &g_x2apic_access;
    }
    std::uint64_t physical = base & msr::k_apic_base_address_mask;
    if (g_madt && g_madt->local_apic_address != physical) {
        println("apic: the MADT puts the local APIC at {:#x}, IA32_APIC_BASE at {:#x}: using the MSR's",
                g_madt->local_apic_address, physical);
    }
    auto mapped = kernel::memory::map_mmio(physical, k_xapic_window_size);
    if (!mapped) {
        println("apic: cannot map the local APIC at {:#x}: {}", physical, kernel::paging::to_string(mapped.error()));
        return nullptr;
    }
    g_xapic_access = XApicMmioAccess(kernel::MmioWindow(*mapped, k_xapic_window_size));
    return &g_xapic_access;
}

// The LINT pins wired to NMIs for this processor (ACPI 6.5 §5.2.12.7); without a MADT
// entry, LINT1, as on every PC since the MP specification.
std::size_t lint_nmis(std::uint32_t apic_id, std::array<LintNmi, 2>& out) {
    if (!g_madt || g_madt->local_apic_nmi_count == 0) {
        out[0] = {1, false};
        return 1;
    }
    std::optional<std::uint32_t> uid = g_madt->processor_uid_of(apic_id);
    std::size_t count = 0;
    for (std::size_t i = 0; i < g_madt->local_apic_nmi_count && count < out.size(); ++i) {
        const auto& nmi = g_madt->local_apic_nmis[i];
        if (nmi.processor_uid != acpi::madt::k_all_processors && nmi.processor_uid != uid) continue;
        out[count++] = {nmi.lint, nmi.flags.polarity == acpi::madt::Polarity::ActiveLow};
    }
    return count;
}

void on_error(kernel::InterruptFrame& /*frame*/, void* /*context*/) {
    ++g_errors;
    g_last_error_status = g_local_apic->take_errors();
}

void on_timer(kernel::InterruptFrame& /*frame*/, void* context) {
    static_cast<ApicTimer*>(context)->handle_interrupt();
}

void end_of_interrupt() { g_local_apic->eoi(); }

void init_io_apics() {
    std::array<acpi::madt::IoApic, InterruptRouter::k_max_io_apics> list{};
    std::size_t count = 0;
    if (g_madt && g_madt->io_apic_count != 0) {
        count = g_madt->io_apic_count;
        std::copy_n(g_madt->io_apics.begin(), count, list.begin());
        g_router.set_overrides({g_madt->overrides.data(), g_madt->override_count});
    } else {
        // MP specification 1.4 §5.1, table 5-2: the default configuration wires the 8259's
        // output to input 0, the PIT (IRQ 0) to input 2 and every other ISA IRQ n to input n.
        // PC chipsets have kept that wiring; QEMU's MADT says the same.
        static constexpr acpi::madt::InterruptOverride k_default_timer_override{0, 0, 2, {}};
        println("apic: warning: no I/O APIC in the MADT; assuming one at {:#x}, ISA IRQ 0 on GSI 2, IRQ n on GSI n",
                k_default_io_apic_address);
        list[0] = {0, k_default_io_apic_address, 0};
        count = 1;
        g_router.set_overrides({&k_default_timer_override, 1});
    }
    for (std::size_t i = 0; i < count; ++i) {
        auto mapped = kernel::memory::map_mmio(list[i].address, IoApicMmioAccess::k_window_size);
        if (!mapped) {
            println("apic: cannot map the I/O APIC at {:#x}: {}", list[i].address,
                    kernel::paging::to_string(mapped.error()));
            continue;
        }
        g_io_apic_access[i] = IoApicMmioAccess(kernel::MmioWindow(*mapped, IoApicMmioAccess::k_window_size));
        auto io_apic = IoApic::create(g_io_apic_access[i], list[i].gsi_base);
        if (!io_apic) {
            println("apic: no I/O APIC answers at {:#x}; its interrupts are unavailable", list[i].address);
            continue;
        }
        io_apic->mask_all();
        if (!g_router.add(*io_apic)) continue;  // cannot happen: the list has the router's capacity
        if (kernel::verbose())
            println("apic: I/O APIC id {} at {:#x}, version {:#x}: {} pins for GSI {}-{}, all masked", io_apic->id(),
                    list[i].address, io_apic->version(), io_apic->pin_count(), io_apic->gsi_base(),
                    io_apic->gsi_base() + io_apic->pin_count() - 1);
    }
    g_router.set_destination(g_local_apic_id);
    g_router_ready = true;
}

void init_interrupt_controllers() {
    legacy::silence();
    auto leaf1 = kernel::cpu::cpuid(1);
    if ((leaf1.edx & k_cpuid_edx_apic) == 0) {
        println("apic: the CPU has no local APIC: no device interrupts and no timer");
        return;
    }
    read_madt();
    LocalApicAccess* access = enable_local_apic((leaf1.ecx & k_cpuid_ecx_x2apic) != 0);
    if (access == nullptr) return;
    LocalApic& local_apic = g_local_apic.emplace(*access);
    g_local_apic_id = local_apic.id();

    std::array<LintNmi, 2> nmis{};
    std::size_t nmi_count = lint_nmis(g_local_apic_id, nmis);
    local_apic.enable(k_spurious_vector, k_error_vector, {nmis.data(), nmi_count});
    if (!kernel::interrupts::set_handler(k_error_vector, on_error, nullptr))
        println("apic: vector {:#x} is taken; APIC errors go uncounted", k_error_vector);
    kernel::interrupts::set_end_of_interrupt(end_of_interrupt, k_spurious_vector);
    if (kernel::verbose())
        println("apic: {} id {}, version {:#x}, {} LVT entries; 8259 PICs remapped and masked",
                access->x2apic() ? "x2APIC" : "xAPIC", g_local_apic_id, local_apic.version(), local_apic.lvt_entries());
    init_io_apics();
}

void install_one_shot(TimerFrequency frequency, std::uint64_t took_us) {
    LocalApic& local_apic = *g_local_apic;
    if (frequency.hz == 0) {
        println("apic: the local APIC timer does not count; no timer");
        kernel::interrupts::clear_handler(k_timer_vector);
        return;
    }
    local_apic.timer_one_shot_mode(k_timer_vector, false);
    g_timer.start(local_apic, ApicTimer::Mode::OneShot, frequency.hz);
    if (kernel::verbose())
        println("apic: timer one-shot at {}.{:03} MHz ({} over {} us of boot), vector {:#x}", frequency.hz / 1'000'000,
                frequency.hz / 1000 % 1000, frequency.source, took_us, k_timer_vector);
    kernel::timer::install(g_timer);
}

OneShotCalibration g_calibration;
bool g_calibrating = false;
std::uint64_t g_calibration_start_ns = 0;

void init_timer() {
    if (!g_local_apic) {
        println("apic: no local APIC, so no timer");
        return;
    }
    LocalApic& local_apic = *g_local_apic;
    // apic.timer=one-shot forces the one-shot mode, to test it where TSC-deadline exists.
    bool forced_one_shot = kernel::command_line().get("apic.timer") == std::string_view("one-shot");
    bool tsc_deadline = (kernel::cpu::cpuid(1).ecx & k_cpuid_ecx_tsc_deadline) != 0 && !forced_one_shot;
    if (!kernel::interrupts::set_handler(k_timer_vector, on_timer, &g_timer)) {
        println("apic: vector {:#x} is taken; no timer", k_timer_vector);
        return;
    }
    if (tsc_deadline) {
        local_apic.timer_tsc_deadline_mode(k_timer_vector);
        g_timer.start(local_apic, ApicTimer::Mode::TscDeadline, 0);
        if (kernel::verbose()) println("apic: timer TSC-deadline, vector {:#x}", k_timer_vector);
        kernel::timer::install(g_timer);
        return;
    }
    // The one-shot timer counts while the buses and drivers come up (stage 30 and 40);
    // finish_timer reads it at stage 50. Nothing before main needs the timer.
    g_calibration_start_ns = kernel::clock::now_ns();
    if (auto known = g_calibration.begin(local_apic, k_timer_vector)) {
        install_one_shot(*known, 0);
        return;
    }
    g_calibrating = true;
}

void finish_timer() {
    if (!g_calibrating) return;
    g_calibrating = false;
    TimerFrequency frequency = g_calibration.finish();
    install_one_shot(frequency, (kernel::clock::now_ns() - g_calibration_start_ns) / 1000);
}

}  // namespace

KERNEL_INIT(10, "apic", init_interrupt_controllers);
KERNEL_INIT(20, "apic timer", init_timer);
KERNEL_INIT(50, "apic timer calibration", finish_timer);

kernel::Result<std::uint32_t, Error> route_legacy_irq(std::uint8_t irq, std::uint8_t vector) {
    if (!g_router_ready) return kernel::err(Error::NotReady);
    return g_router.route_legacy_irq(irq, vector);
}

kernel::Result<void, Error> route_gsi(std::uint32_t gsi, std::uint8_t vector, Polarity polarity, Trigger trigger) {
    if (!g_router_ready) return kernel::err(Error::NotReady);
    return g_router.route_gsi(gsi, vector, polarity, trigger);
}

kernel::Result<void, Error> mask_gsi(std::uint32_t gsi) {
    if (!g_router_ready) return kernel::err(Error::NotReady);
    return g_router.mask_gsi(gsi);
}

std::uint32_t local_apic_id() { return g_local_apic_id; }
bool x2apic_mode() { return g_x2apic; }

void eoi() {
    if (g_local_apic) g_local_apic->eoi();
}

TimerStats timer_stats() { return g_timer.stats(); }
std::uint64_t error_count() { return g_errors; }
std::uint32_t last_error_status() { return g_last_error_status; }

}  // namespace apic
