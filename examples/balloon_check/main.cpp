// Uses memory while the host moves the balloon; the boot test (balloon_qmp) drives it
// through QEMU's QMP socket.
//
// Each time the balloon settles at a new size (at its target, or held by the floor) this
// prints the figures and runs an exercise: exercise_mib MiB (default 8) allocated from the
// heap in 256 KiB blocks, a pattern written into every 64-byte line, read back, freed.
// Once the balloon holds at least oom_after_mib MiB (default: never), it allocates more
// than is free (free frames + the heap's free bytes + 8 MiB): the balloon must deflate
// for it (VIRTIO_BALLOON_F_DEFLATE_ON_OOM). Then it prints a summary and exits 0; any
// wrong byte or failed allocation exits 1. timeout_s (default 240) bounds the whole run.

#include <array>
#include <cstdint>
#include <new>

#include "balloon/driver.hpp"
#include "kernel/kernel.hpp"
#include "kernel/memory.hpp"
#include "runtime/runtime.hpp"

namespace {

using kernel::println;
using runtime::Task;

constexpr std::size_t k_block_bytes = std::size_t{256} * 1024;
constexpr std::size_t k_line = 64;
constexpr std::size_t k_max_blocks = 4096;  // 1 GiB
constexpr std::uint64_t k_mib = 1 << 20;
constexpr std::uint64_t k_page = 4096;

std::array<std::byte*, k_max_blocks> g_blocks{};

std::uint64_t pattern(std::size_t block, std::size_t line, std::uint64_t round) {
    return (std::uint64_t{block} << 40) ^ (std::uint64_t{line} << 8) ^ (round * 0x9E3779B97F4A7C15ull);
}

struct ExerciseResult {
    std::size_t blocks = 0;
    std::size_t failed_allocations = 0;
    std::size_t wrong_lines = 0;
};

// Allocates `bytes` in blocks, writes a word into each line of each, checks them all,
// frees them.
ExerciseResult exercise(std::uint64_t bytes, std::uint64_t round) {
    ExerciseResult result;
    std::size_t wanted = static_cast<std::size_t>((bytes + k_block_bytes - 1) / k_block_bytes);
    if (wanted > k_max_blocks) wanted = k_max_blocks;
    for (std::size_t b = 0; b < wanted; ++b) {
        auto* block = new (std::nothrow) std::byte[k_block_bytes];
        if (block == nullptr) {
            ++result.failed_allocations;
            break;
        }
        g_blocks[result.blocks++] = block;
        for (std::size_t line = 0; line < k_block_bytes / k_line; ++line)
            *reinterpret_cast<volatile std::uint64_t*>(block + line * k_line) = pattern(b, line, round);
    }
    for (std::size_t b = 0; b < result.blocks; ++b) {
        for (std::size_t line = 0; line < k_block_bytes / k_line; ++line) {
            if (*reinterpret_cast<volatile std::uint64_t*>(g_blocks[b] + line * k_line) != pattern(b, line, round))
                ++result.wrong_lines;
        }
    }
    for (std::size_t b = 0; b < result.blocks; ++b) {
        delete[] g_blocks[b];
        g_blocks[b] = nullptr;
    }
    return result;
}

std::uint64_t free_kib() { return kernel::memory::frames().free_frames() * k_page / 1024; }

Task<int> check(balloon::Balloon& b, std::uint64_t exercise_mib, std::optional<std::uint64_t> oom_after_mib,
                std::uint64_t timeout_s) {
    const auto& frames = kernel::memory::frames();
    println("balloon_check: ready; {} MiB managed, {} KiB free, floor {} MiB, exercise {} MiB",
            frames.managed_frames() * k_page / k_mib, free_kib(), b.floor_frames() * k_page / k_mib, exercise_mib);
    runtime::Instant deadline = runtime::now() + std::chrono::seconds(timeout_s);
    std::optional<std::uint32_t> last_target;
    std::optional<std::uint32_t> last_pages;
    std::uint64_t round = 0;
    while (runtime::now() < deadline) {
        co_await runtime::sleep(std::chrono::milliseconds(100));
        if (!b.settled() || (last_target == b.target() && last_pages == b.pages())) continue;
        last_target = b.target();
        last_pages = b.pages();
        println("balloon_check: settled: target {} pages, balloon {} pages ({} MiB){}, {} KiB free, {} MiB the guest's",
                b.target(), b.pages(), std::uint64_t{b.pages()} * k_page / k_mib,
                b.held_by_floor() ? ", held by the floor" : "", free_kib(),
                (frames.managed_frames() - frames.lent_frames()) * k_page / k_mib);

        if (oom_after_mib && std::uint64_t{b.pages()} * k_page >= *oom_after_mib * k_mib) {
            std::uint64_t free_bytes = frames.free_frames() * k_page;
            std::uint64_t heap_free = kernel::memory::heap().free_bytes();
            std::uint64_t bytes = free_bytes + heap_free + 8 * k_mib;
            std::uint64_t pressure_before = b.stats().pressure_pages;
            ExerciseResult r = exercise(bytes, ++round);
            std::uint64_t given = b.stats().pressure_pages - pressure_before;
            println(
                "balloon_check: deflate-on-oom: allocated {} of {} MiB with {} KiB free and {} KiB in the heap; "
                "the balloon gave back {} pages; {} wrong lines, {} failed allocations",
                r.blocks * k_block_bytes / k_mib, bytes / k_mib, free_bytes / 1024, heap_free / 1024, given,
                r.wrong_lines, r.failed_allocations);
            // Let the loop tell the device what was taken back before the summary.
            co_await runtime::sleep(std::chrono::seconds(1));
            const auto& s = b.stats();
            println(
                "balloon_check: summary: balloon {} pages (target {}), inflated {}, deflated {}, under pressure {} "
                "in {} events, floor holds {}, statistics sent {}, free page reports {} ({} MiB), device errors {}",
                b.pages(), b.target(), s.inflated, s.deflated, s.pressure_pages, s.pressure_events, s.floor_holds,
                s.stats_sent, s.reports, s.reported_frames * k_page / k_mib, s.device_errors);
            // A moment for the host to look at the balloon from outside.
            co_await runtime::sleep(std::chrono::seconds(3));
            bool ok = r.wrong_lines == 0 && r.failed_allocations == 0 && given > 0;
            println("balloon_check: {}", ok ? "PASS" : "FAIL");
            co_return ok ? 0 : 1;
        }

        ExerciseResult r = exercise(exercise_mib * k_mib, ++round);
        println("balloon_check: exercise {} MiB: {} wrong lines, {} failed allocations, {} KiB free after",
                r.blocks * k_block_bytes / k_mib, r.wrong_lines, r.failed_allocations, free_kib());
        if (r.wrong_lines != 0 || r.failed_allocations != 0) {
            println("balloon_check: FAIL");
            co_return 1;
        }
    }
    println("balloon_check: timed out after {} s", timeout_s);
    co_return 1;
}

}  // namespace

int main() {
    const auto& options = kernel::command_line();
    balloon::Balloon* b = balloon::instance();
    if (b == nullptr) {
        println("balloon_check: no virtio-balloon device");
        return 1;
    }
    return runtime::run(check(*b, options.get_u64("exercise_mib").value_or(8), options.get_u64("oom_after_mib"),
                              options.get_u64("timeout_s").value_or(240)));
}
