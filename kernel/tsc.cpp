#include "kernel/tsc.hpp"

#include <cstring>

#include "kernel/cpu.hpp"
#include "kernel/init.hpp"

namespace kernel::tsc {
namespace {

constexpr std::uint64_t k_ns_per_second = 1'000'000'000;
constexpr std::uint32_t k_msr_kvm_system_time_new = 0x4b564d01;
constexpr std::uint32_t k_msr_kvm_system_time = 0x12;
constexpr std::uint32_t k_kvm_feature_clocksource = 1u << 0;
constexpr std::uint32_t k_kvm_feature_clocksource2 = 1u << 3;
constexpr std::uint64_t k_pm_timer_hz = 3'579'545;  // ACPI 6.5 §4.8.3.3
constexpr std::uint64_t k_pit_hz = 1'193'182;

// The pvclock structure KVM fills in (Linux Documentation/virt/kvm/x86/msr.rst).
struct alignas(64) PvclockTimeInfo {
    std::uint32_t version;
    std::uint32_t pad0;
    std::uint64_t tsc_timestamp;
    std::uint64_t system_time;
    std::uint32_t tsc_to_system_mul;
    std::int8_t tsc_shift;
    std::uint8_t flags;
    std::uint8_t pad[2];
};
static_assert(sizeof(PvclockTimeInfo) == 64);  // 32 bytes of data, padded by the alignment

PvclockTimeInfo g_pvclock;
Frequency g_frequency;
std::uint64_t g_ns_mult = 0;    // ns = ticks * g_ns_mult >> 32
std::uint64_t g_tick_mult = 0;  // ticks = ns * g_tick_mult >> 32

std::uint64_t mul_shift32(std::uint64_t a, std::uint64_t b) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * b) >> 32);
}

std::uint64_t from_kvmclock() {
    if (cpu::hypervisor_max_leaf("KVMKVMKVM\0\0\0") < 0x40000001) return 0;
    std::uint32_t features = cpu::cpuid(0x40000001).eax;
    std::uint32_t msr = 0;
    if ((features & k_kvm_feature_clocksource2) != 0)
        msr = k_msr_kvm_system_time_new;
    else if ((features & k_kvm_feature_clocksource) != 0)
        msr = k_msr_kvm_system_time;
    else
        return 0;
    auto* info = static_cast<volatile PvclockTimeInfo*>(&g_pvclock);
    cpu::wrmsr(msr, reinterpret_cast<std::uint64_t>(&g_pvclock) | 1);
    std::uint32_t mul = 0;
    std::int8_t shift = 0;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        std::uint32_t version = info->version;
        asm volatile("" ::: "memory");
        mul = info->tsc_to_system_mul;
        shift = info->tsc_shift;
        asm volatile("" ::: "memory");
        if ((version & 1) == 0 && version != 0 && version == info->version) break;
        mul = 0;
    }
    // kvmclock stays on: turning it off would cost another gate, and the host rewrites this
    // structure only when the vCPU moves (nothing reads it after this).
    if (mul == 0) {
        cpu::wrmsr(msr, 0);
        return 0;
    }
    // ns = (ticks shifted by tsc_shift) * mul / 2^32, so hz = 1e9 * 2^32 / mul, shifted back.
    std::uint64_t hz = (k_ns_per_second << 32) / mul;
    return shift >= 0 ? hz >> shift : hz << -shift;
}

std::uint64_t from_cpuid() {
    std::uint32_t kvm_max = cpu::hypervisor_max_leaf("KVMKVMKVM\0\0\0");
    std::uint32_t generic_max = cpu::cpuid(0x40000000).eax;
    if ((kvm_max >= 0x40000010 || generic_max >= 0x40000010) && generic_max < 0x40010000) {
        std::uint64_t khz = cpu::cpuid(0x40000010).eax;
        if (khz != 0) return khz * 1000;
    }
    return 0;
}

std::uint64_t from_cpuid_15() {
    if (cpu::cpuid(0).eax < 0x15) return 0;
    auto r = cpu::cpuid(0x15);
    if (r.eax == 0 || r.ebx == 0 || r.ecx == 0) return 0;
    return std::uint64_t{r.ecx} * r.ebx / r.eax;
}

std::uint64_t from_cpuid_16() {
    if (cpu::cpuid(0).eax < 0x16) return 0;
    return std::uint64_t{cpu::cpuid(0x16).eax & 0xFFFF} * 1'000'000;
}

// The PM timer count against the TSC, in two halves: begin_calibration reads both, and
// finish_calibration reads them again once at least k_pm_wait ticks have gone by, so the
// boot's work in between (the interrupt controllers) replaces most of the busy wait.
constexpr std::uint32_t k_pm_wait = static_cast<std::uint32_t>(k_pm_timer_hz / 1000);  // 1 ms: one tick is 0.03%

struct PmCount {
    PmTimer timer{};
    std::uint32_t mask = 0;
    std::uint32_t start = 0;
    std::uint64_t tsc_start = 0;
};
std::optional<PmCount> g_pm_count;

std::uint32_t read_pm(const PmCount& count) { return cpu::in32(count.timer.port) & count.mask; }

bool begin_pm_count(PmTimer timer) {
    PmCount count{timer, timer.is_32bit ? 0xFFFF'FFFFu : 0xFF'FFFFu, 0, 0};
    // Start on a tick's edge, so the start carries no fraction of a tick.
    std::uint32_t first = read_pm(count);
    std::uint32_t now = first;
    for (std::uint64_t spins = 0; now == first; ++spins) {
        if (spins > 1'000'000) return false;  // the timer does not tick
        now = read_pm(count);
    }
    count.tsc_start = cpu::rdtsc();
    count.start = now;
    g_pm_count = count;
    return true;
}

// The count's 24 bits wrap after 4.7 s; the boot's work between the halves takes far less.
std::uint64_t finish_pm_count(const PmCount& count) {
    std::uint32_t elapsed = 0;
    for (std::uint64_t spins = 0; elapsed < k_pm_wait; ++spins) {
        elapsed = (read_pm(count) - count.start) & count.mask;
        if (spins > 100'000'000) return 0;  // the timer stopped ticking
    }
    std::uint64_t tsc_elapsed = cpu::rdtsc() - count.tsc_start;
    return tsc_elapsed * k_pm_timer_hz / elapsed;
}

std::uint64_t from_pit() {
    // PIT channel 2 in one-shot mode, gated through port 0x61 (the speaker stays off).
    constexpr std::uint32_t k_latch = static_cast<std::uint32_t>(k_pit_hz / 100);  // 10 ms
    cpu::out8(0x61, static_cast<std::uint8_t>((cpu::in8(0x61) & ~0x02) | 0x01));
    cpu::out8(0x43, 0xB0);
    cpu::out8(0x42, k_latch & 0xFF);
    cpu::out8(0x42, static_cast<std::uint8_t>(k_latch >> 8));
    std::uint64_t start = cpu::rdtsc();
    for (std::uint64_t spins = 0; (cpu::in8(0x61) & 0x20) == 0; ++spins) {
        if (spins > 100'000'000) return 0;
    }
    return (cpu::rdtsc() - start) * 100;
}

void set_frequency(Frequency f) {
    if (f.hz == 0) f = {1'000'000'000, "a guess (no time source answered)"};
    g_frequency = f;
    g_ns_mult = (k_ns_per_second << 32) / f.hz;
    g_tick_mult = ((f.hz / k_ns_per_second) << 32) + ((f.hz % k_ns_per_second) << 32) / k_ns_per_second;
}

}  // namespace

void begin_calibration(std::optional<PmTimer> pm_timer) {
    struct Method {
        std::uint64_t (*measure)();
        const char* name;
    };
    const Method methods[] = {{from_kvmclock, "kvmclock"},
                              {from_cpuid, "CPUID 0x40000010"},
                              {from_cpuid_15, "CPUID 0x15"},
                              {from_cpuid_16, "CPUID 0x16"}};
    for (const auto& method : methods) {
        if (std::uint64_t hz = method.measure(); hz != 0) {
            set_frequency({hz, method.name});
            return;
        }
    }
    if (pm_timer) begin_pm_count(*pm_timer);
}

const Frequency& finish_calibration() {
    if (g_frequency.hz != 0) return g_frequency;
    Frequency f;
    if (g_pm_count) {
        f = {finish_pm_count(*g_pm_count), "ACPI PM timer calibration"};
        g_pm_count.reset();
    }
    if (f.hz == 0) f = {from_pit(), "PIT calibration"};
    set_frequency(f);
    return g_frequency;
}

const Frequency& frequency() { return g_frequency; }
std::uint64_t ticks_to_ns(std::uint64_t ticks) { return mul_shift32(ticks, g_ns_mult); }
std::uint64_t ns_to_ticks(std::uint64_t ns) { return mul_shift32(ns, g_tick_mult); }

namespace {
void finish_calibration_at_boot() { finish_calibration(); }
}  // namespace

KERNEL_INIT(15, "tsc calibration", finish_calibration_at_boot);

}  // namespace kernel::tsc
