// kernel_entry: from boot/multiboot.asm (multiboot or PVH) to the application's main.

#include <cstddef>
#include <cstdint>

#include "kernel/acpi.hpp"
#include "kernel/boot_phases.hpp"
#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/exit.hpp"
#include "kernel/gates/privilege.hpp"
#include "kernel/gdt.hpp"
#include "kernel/init.hpp"
#include "kernel/interrupts.hpp"
#include "kernel/kernel.hpp"
#include "kernel/memory.hpp"
#include "kernel/panic.hpp"
#include "kernel/power.hpp"
#include "kernel/pvh.hpp"
#include "kernel/tsc.hpp"

extern "C" std::uint64_t boot_tsc_start;
// The application's `int main()`, named through its symbol: C++ forbids calling main, and
// in a freestanding build main is an ordinary (mangled) function.
extern "C" int application_main() asm("_Z4mainv");

namespace kernel {

void run_global_constructors();

namespace {

constinit multiboot::BootInfo g_boot_info;
constinit CommandLine g_command_line;
std::optional<acpi::Tables> g_acpi_tables;
std::uint64_t g_boot_ns = 0;
bool g_verbose = false;
privilege::Override g_ring{};
std::uint64_t g_loop_ticks[2] = {};  // privilege::measure_loop in ring 0, in ring 3

// The ring the kernel runs in from here on: the automatic choice, then the command line's.
void choose_ring(privilege::Decision automatic) {
    g_ring = privilege::apply_setting(g_command_line.get("cpu.ring"), automatic);
    if (g_ring.decision.ring == cpu::current_ring()) return;
    if (g_ring.decision.ring == 3)
        privilege::enter_ring3();
    else
        privilege::enter_ring0();
}

void report_command_line() {
    for (const auto& problem : g_command_line.problems()) println("kernel: command line: {}", problem);
    if (g_command_line.unreported_problems() != 0) {
        println("kernel: command line: {} more problems not shown", g_command_line.unreported_problems());
    }
}

std::optional<tsc::PmTimer> init_acpi() {
    std::optional<std::uint64_t> rsdp;
    if (g_boot_info.rsdp_address != 0) rsdp = g_boot_info.rsdp_address;
    auto tables = acpi::discover(memory::physical_reader(), rsdp);
    if (!tables) {
        println("kernel: ACPI: {}; no ACPI power-off", acpi::to_string(tables.error()));
        return std::nullopt;
    }
    g_acpi_tables.emplace(*tables);
    if (tables->rejected != 0)
        println("kernel: ACPI: {} tables ignored (unreadable or bad checksum)", tables->rejected);
    auto fadt = acpi::read_fadt(memory::physical_reader(), *tables);
    if (!fadt) {
        println("kernel: ACPI: {}", acpi::to_string(fadt.error()));
        return std::nullopt;
    }
    set_acpi_power_off({fadt->pm1a_control, fadt->pm1b_control, fadt->dsdt});
    if (fadt->pm_timer == 0) return std::nullopt;
    return tsc::PmTimer{fadt->pm_timer, fadt->pm_timer_32bit};
}

// What the loader said, from the structure the boot protocol's magic names.
const char* g_protocol = "multiboot";

void read_boot_info(std::uint32_t magic, std::uint32_t info_address) {
    if (magic == pvh::k_start_magic) {
        g_protocol = "PVH";
        if (auto parsed = pvh::parse(memory::physical_reader(), info_address, g_boot_info); !parsed)
            panic("boot: {}", pvh::to_string(parsed.error()));
        return;
    }
    if (auto parsed = multiboot::parse(memory::physical_reader(), magic, info_address, g_boot_info); !parsed)
        panic("boot: {}", multiboot::to_string(parsed.error()));
}

}  // namespace

const CommandLine& command_line() { return g_command_line; }
const multiboot::BootInfo& boot_info() { return g_boot_info; }
std::uint64_t boot_duration_ns() { return g_boot_ns; }
bool verbose() { return g_verbose; }
const acpi::Tables* acpi_tables() { return g_acpi_tables ? &*g_acpi_tables : nullptr; }

extern "C" const InitCall __kernel_init_start[];
extern "C" const InitCall __kernel_init_end[];

void run_init_calls() {
    for (const InitCall* call = __kernel_init_start; call != __kernel_init_end; ++call) {
        call->function();
        boot_phases::mark(call->name);
    }
}

}  // namespace kernel

extern "C" [[noreturn]] void kernel_entry(std::uint32_t magic, std::uint32_t info_address) {
    using namespace kernel;
    boot_phases::mark("entry asm");
    console_init();
    gdt::init();
    interrupts::load();
    // Leave ring 0 as early as possible where it is emulated; the command line, read
    // below, may still change the choice.
    g_loop_ticks[0] = privilege::measure_loop();
    privilege::enter_ring3();
    interrupts::init();
    g_loop_ticks[1] = privilege::measure_loop();
    const auto automatic_ring = privilege::choose(g_loop_ticks[0], g_loop_ticks[1]);
    if (automatic_ring.ring == 0) privilege::enter_ring0();
    boot_phases::mark("cpu tables");

    read_boot_info(magic, info_address);
    g_command_line.parse(g_boot_info.command_line, g_boot_info.command_line_has_path);
    choose_ring(automatic_ring);
    boot_phases::mark("boot info");
    memory::init(g_boot_info);
    boot_phases::mark("memory");
    run_global_constructors();
    report_command_line();
    if (g_ring.problem != nullptr) println("kernel: command line: {}", g_ring.problem);
    g_verbose = g_command_line.get_bool("verbose").value_or(false);
    boot_phases::mark("command line");

    auto pm_timer = init_acpi();
    boot_phases::mark("acpi");
    tsc::begin_calibration(pm_timer);
    boot_phases::mark("tsc");
    run_init_calls();
    const auto& frequency = tsc::finish_calibration();
    // The last phase's end, so that the phases add up to the boot time.
    g_boot_ns = tsc::ticks_to_ns(boot_phases::last_mark_tsc() - boot_tsc_start);

    println("kernel: {} MiB usable, {} KiB heap; TSC {}.{:03} GHz from {}; ring {} ({})",
            g_boot_info.usable_bytes() >> 20, memory::heap().stats().chunk_bytes / 1024, frequency.hz / 1'000'000'000,
            frequency.hz / 1'000'000 % 1000, frequency.source, cpu::current_ring(), g_ring.decision.reason);
    if (g_command_line.get_bool("boot.phases").value_or(false) || g_verbose) {
        println("kernel: started through {}{}{}", g_protocol, g_boot_info.loader_name.empty() ? "" : " by ",
                g_boot_info.loader_name);
        println("kernel: a short loop took {} TSC ticks in ring 0, {} in ring 3", g_loop_ticks[0], g_loop_ticks[1]);
        boot_phases::print();
    }
    println("kernel: booted in {} us (first instruction to main)", g_boot_ns / 1000);
    exit(application_main());
}
