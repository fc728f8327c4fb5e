#pragma once
// Multiboot (version 1) boot information: memory map, command line, modules.
// The parser copies what it needs into BootInfo, so the loader's structures can be
// overwritten afterwards; only module contents stay where the loader put them.
// BootInfo is what the kernel keeps from either boot protocol: kernel/pvh.hpp fills the
// same structure from PVH's hvm_start_info.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/physical_reader.hpp"
#include "kernel/result.hpp"

namespace kernel::multiboot {

constexpr std::uint32_t k_loader_magic = 0x2BADB002;

// Multiboot 0.6.96 §3.3: the information structure, as far as this kernel reads it.
struct [[gnu::packed]] Info {
    std::uint32_t flags;
    std::uint32_t mem_lower;
    std::uint32_t mem_upper;
    std::uint32_t boot_device;
    std::uint32_t cmdline;
    std::uint32_t mods_count;
    std::uint32_t mods_addr;
    std::uint32_t syms[4];
    std::uint32_t mmap_length;
    std::uint32_t mmap_addr;
    std::uint32_t drives_length;
    std::uint32_t drives_addr;
    std::uint32_t config_table;
    std::uint32_t boot_loader_name;
};
static_assert(sizeof(Info) == 68);

struct [[gnu::packed]] MmapEntry {
    std::uint32_t size;  // of the rest of the entry, not counting this field
    std::uint64_t base;
    std::uint64_t length;
    std::uint32_t type;
};
static_assert(sizeof(MmapEntry) == 24);

struct [[gnu::packed]] Module {
    std::uint32_t start;
    std::uint32_t end;
    std::uint32_t string;
    std::uint32_t reserved;
};
static_assert(sizeof(Module) == 16);

namespace flags {
constexpr std::uint32_t k_memory = 1 << 0;
constexpr std::uint32_t k_cmdline = 1 << 2;
constexpr std::uint32_t k_modules = 1 << 3;
constexpr std::uint32_t k_mmap = 1 << 6;
constexpr std::uint32_t k_loader_name = 1 << 9;
}  // namespace flags

enum class MemoryType : std::uint32_t { Usable = 1, Reserved = 2, AcpiReclaimable = 3, AcpiNvs = 4, Bad = 5 };

struct MemoryRegion {
    std::uint64_t base;
    std::uint64_t length;
    MemoryType type;
};

struct ModuleInfo {
    std::uint64_t start;
    std::uint64_t end;
    std::string_view name;  // points into BootInfo's string storage
};

enum class Error { BadMagic, InfoUnreadable, NoMemoryMap, MemoryMapUnreadable };
const char* to_string(Error error);

struct BootInfo {
    static constexpr std::size_t k_max_regions = 128;
    static constexpr std::size_t k_max_modules = 16;
    static constexpr std::size_t k_max_strings = 4096;

    std::array<MemoryRegion, k_max_regions> regions_storage{};
    std::size_t region_count = 0;
    std::array<ModuleInfo, k_max_modules> modules_storage{};
    std::size_t module_count = 0;
    std::string_view command_line;
    bool command_line_has_path = false;  // multiboot's starts with the image's path; PVH's does not
    std::string_view loader_name;        // empty when the loader gave none (PVH gives none)
    std::uint64_t rsdp_address = 0;      // where the loader said the ACPI RSDP is; 0: not said
    // Counted, not fatal: entries past the arrays' capacity, malformed entries.
    std::size_t dropped_regions = 0;
    std::size_t dropped_modules = 0;

    std::array<char, k_max_strings> strings{};
    std::size_t strings_used = 0;

    [[nodiscard]] std::span<const MemoryRegion> regions() const { return {regions_storage.data(), region_count}; }
    [[nodiscard]] std::span<const ModuleInfo> modules() const { return {modules_storage.data(), module_count}; }
    [[nodiscard]] std::uint64_t usable_bytes() const;
    // Appends a region of the E820 type numbering, which multiboot's memory map and PVH's
    // share (1 usable, 2 reserved, 3 ACPI, 4 NVS, 5 bad; anything else is reserved). An
    // empty or wrapping region, or one past the array's capacity, is dropped and counted.
    void add_region(std::uint64_t base, std::uint64_t length, std::uint32_t e820_type);
    // Copies the NUL-terminated string at address (at most 1 KiB, and what room is left)
    // into strings, and returns a view of the copy.
    std::string_view keep_string(const PhysicalReader& memory, std::uint64_t address);
};

// Fills info from the structure at info_address. info must stay where it is (the views
// point into it), so it is an out-parameter rather than a returned value.
Result<void, Error> parse(const PhysicalReader& memory, std::uint32_t magic, std::uint64_t info_address,
                          BootInfo& info);

}  // namespace kernel::multiboot
