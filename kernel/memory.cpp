#include "kernel/memory.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "kernel/boot_phases.hpp"
#include "kernel/console.hpp"
#include "kernel/cpu.hpp"
#include "kernel/gdt.hpp"
#include "kernel/panic.hpp"

extern "C" std::byte __image_start[];
extern "C" std::byte __text_end[];
extern "C" std::byte __rodata_end[];
extern "C" std::byte __image_end[];
extern "C" std::uint8_t boot_nx_enabled;

namespace kernel::memory {
namespace {

constexpr std::uint64_t k_page = 4096;
constexpr std::uint64_t k_low_memory_end = 1ull << 20;
constexpr std::uint64_t k_early_mapped_end = 1ull << 30;  // boot/multiboot.asm maps 1 GiB
constexpr std::size_t k_heap_chunk = 1 << 20;
// The first chunk is smaller, to fit in the 2 MiB the image starts in. Where the host backs
// guest memory with transparent huge pages, the first touch of any other 2 MiB makes it
// allocate and zero one (0.15-0.3 ms here, several ms when it compacts memory first;
// docs/kvm-on-this-host.md), and the heap touches both ends of a chunk at once.
constexpr std::size_t k_first_heap_chunk = std::size_t{256} * 1024;
constexpr std::uint64_t k_max_single_flushes = 8;  // map_mmio: invlpg up to here, then CR3

std::uint64_t address(const void* p) { return reinterpret_cast<std::uint64_t>(p); }
std::uint64_t round_up(std::uint64_t v) { return (v + k_page - 1) & ~(k_page - 1); }
std::uint64_t round_down(std::uint64_t v) { return v & ~(k_page - 1); }

FrameAllocator g_frames;

class KernelTableMemory final : public paging::TableMemory {
public:
    Result<std::uint64_t, paging::Error> allocate_table() override {
        auto frame = g_frames.allocate();
        if (!frame) return err(paging::Error::OutOfTableMemory);
        // Until the new tables are live, a table must lie where the early map reaches.
        // Frames go lowest first, so this fails only when the first GiB is full.
        if (!m_live && *frame + k_page > k_early_mapped_end) {
            (void)g_frames.free(*frame);
            return err(paging::Error::OutOfTableMemory);
        }
        std::memset(table(*frame), 0, k_page);
        return *frame;
    }
    std::uint64_t* table(std::uint64_t physical) override { return reinterpret_cast<std::uint64_t*>(physical); }
    void set_live() { m_live = true; }

private:
    bool m_live = false;
};

KernelTableMemory g_table_memory;
std::optional<paging::AddressSpace> g_space;

class FrameChunkSource final : public Heap::ChunkSource {
public:
    std::span<std::byte> grow(std::size_t min_bytes) override {
        std::size_t bytes = round_up(std::max(min_bytes, k_heap_chunk));
        // The generous chunk only from memory that is free already; what the heap needs
        // may ask the balloon for memory back (deflate on OOM, balloon/).
        auto frames = g_frames.allocate_contiguous(bytes / k_page, 1, FrameAllocator::Relief::None);
        if (!frames) {
            bytes = round_up(min_bytes);
            frames = g_frames.allocate_contiguous(bytes / k_page);
        }
        if (!frames) return {};
        return {reinterpret_cast<std::byte*>(*frames), bytes};
    }
};

FrameChunkSource g_chunk_source;
Heap g_heap(&g_chunk_source);

class KernelReader final : public PhysicalReader {
public:
    bool read(std::uint64_t at, std::span<std::byte> out) const override {
        if (out.empty()) return true;
        if (at + out.size() < at || !is_mapped(at, out.size())) return false;
        std::memcpy(out.data(), reinterpret_cast<const void*>(at), out.size());
        return true;
    }
};
const KernelReader g_reader;

void check(Result<void, paging::Error> result, const char* what) {
    if (!result) panic("paging: cannot map {}: {}", what, paging::to_string(result.error()));
}

void init_frames(const multiboot::BootInfo& boot_info) {
    std::array<PhysicalRange, multiboot::BootInfo::k_max_regions> usable{};
    std::size_t usable_count = 0;
    std::uint64_t highest = 0;
    for (const auto& region : boot_info.regions()) {
        if (region.type != multiboot::MemoryType::Usable) continue;
        usable[usable_count++] = {region.base, region.base + region.length};
        highest = std::max(highest, region.base + region.length);
    }
    // Reserved: the first MiB (BIOS data, EBDA, option ROMs), the image, modules.
    std::array<PhysicalRange, 3 + multiboot::BootInfo::k_max_modules> reserved{};
    std::size_t reserved_count = 0;
    reserved[reserved_count++] = {0, k_low_memory_end};
    reserved[reserved_count++] = {address(__image_start), address(__image_end)};
    for (const auto& module : boot_info.modules()) reserved[reserved_count++] = {module.start, module.end};

    std::size_t words = FrameAllocator::bitmap_words_for(highest);
    std::uint64_t bitmap_bytes = words * sizeof(std::uint64_t);
    auto spot = FrameAllocator::find_space(std::span(usable.data(), usable_count),
                                           std::span(reserved.data(), reserved_count), bitmap_bytes);
    if (!spot || *spot + bitmap_bytes > k_early_mapped_end)
        panic("memory: no room for the frame bitmap ({} bytes)", bitmap_bytes);
    reserved[reserved_count++] = {*spot, *spot + bitmap_bytes};
    g_frames.init(std::span(usable.data(), usable_count), std::span(reserved.data(), reserved_count),
                  std::span(reinterpret_cast<std::uint64_t*>(*spot), words));
}

void init_paging(const multiboot::BootInfo& boot_info) {
    auto created = paging::AddressSpace::create(g_table_memory, boot_nx_enabled != 0);
    if (!created) panic("paging: no memory for the top-level table");
    g_space.emplace(created.release_value());
    paging::AddressSpace& space = *g_space;
    space.allow_1g_pages((cpu::cpuid(0x80000001).edx & (1u << 26)) != 0);

    // All of physical memory that the map mentions, and the low MiB, read-write and never
    // executable. Page 0 stays unmapped so null pointers fault.
    const paging::Permissions data{.writable = true, .executable = false, .uncached = false};
    check(space.map(k_page, k_page, k_low_memory_end - k_page, data), "low memory");
    for (const auto& region : boot_info.regions()) {
        std::uint64_t begin = std::max(round_down(region.base), k_low_memory_end);
        std::uint64_t end = round_up(region.base + region.length);
        if (end > begin) check(space.map(begin, begin, end - begin, data), "physical memory");
    }
    // The image, section by section (boot/linker.ld aligns each to a page).
    std::uint64_t text = address(__image_start);
    std::uint64_t rodata = address(__text_end);
    std::uint64_t rw = address(__rodata_end);
    std::uint64_t end = address(__image_end);
    check(space.map(text, text, rodata - text, {.writable = false, .executable = true, .uncached = false}), "text");
    check(space.map(rodata, rodata, rw - rodata, {.writable = false, .executable = false, .uncached = false}),
          "rodata");
    check(space.map(rw, rw, end - rw, data), "data");
    for (const auto& stack : kernel_stacks()) check(space.unmap(stack.guard, k_page), "a stack guard");
    cpu::write_cr3(space.root());
    g_table_memory.set_live();
}

}  // namespace

void init(const multiboot::BootInfo& boot_info) {
    init_frames(boot_info);
    boot_phases::mark("memory: frames");
    init_paging(boot_info);
    boot_phases::mark("memory: paging");
    if (auto frames = g_frames.allocate_contiguous(k_first_heap_chunk / k_page, 1, FrameAllocator::Relief::None))
        g_heap.add_memory({reinterpret_cast<std::byte*>(*frames), k_first_heap_chunk});
}

FrameAllocator& frames() { return g_frames; }
Heap& heap() { return g_heap; }
const PhysicalReader& physical_reader() { return g_reader; }

bool is_mapped(std::uint64_t at, std::uint64_t size) {
    if (!g_space) return at + size <= k_early_mapped_end;
    for (std::uint64_t page = round_down(at); page < at + size; page += k_page) {
        if (!g_space->translate(page)) return false;
    }
    return true;
}

Result<volatile std::byte*, paging::Error> map_mmio(std::uint64_t physical, std::uint64_t size) {
    if (!g_space) return err(paging::Error::OutOfTableMemory);
    std::uint64_t begin = round_down(physical);
    std::uint64_t end = round_up(physical + size);
    TRY(g_space->map(begin, begin, end - begin, {.writable = true, .executable = false, .uncached = true}));
    // The range may have been mapped cached before. A few pages are flushed one by one: a
    // CR3 reload drops every translation, and where paging is shadowed (docs/
    // kvm-on-this-host.md) each page touched afterwards faults to the hypervisor again.
    if ((end - begin) / k_page <= k_max_single_flushes) {
        for (std::uint64_t page = begin; page < end; page += k_page) cpu::invlpg(page);
    } else {
        cpu::write_cr3(cpu::read_cr3());
    }
    return reinterpret_cast<volatile std::byte*>(physical);
}

}  // namespace kernel::memory
