#pragma once
// PVH boot information: Xen's x86/HVM direct boot ABI, which Firecracker, Cloud Hypervisor
// and QEMU (for an ELF kernel without a multiboot header) use. The loader enters
// boot/multiboot.asm's _start_pvh with ebx pointing at struct hvm_start_info; the parser
// fills the same BootInfo as multiboot's, so the rest of the boot does not know which.
// Layouts: xen/include/public/arch-x86/hvm/start_info.h.

#include <cstdint>

#include "kernel/multiboot.hpp"
#include "kernel/physical_reader.hpp"
#include "kernel/result.hpp"

namespace kernel::pvh {

constexpr std::uint32_t k_start_magic = 0x336ec578;  // "xEn3" with the 0x80 bit of the "E" set

// Version 0 ends after rsdp_paddr; version 1 adds the memory map.
struct StartInfo {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint32_t flags;
    std::uint32_t nr_modules;
    std::uint64_t modlist_paddr;
    std::uint64_t cmdline_paddr;
    std::uint64_t rsdp_paddr;
    std::uint64_t memmap_paddr;
    std::uint32_t memmap_entries;
    std::uint32_t reserved;
};
static_assert(sizeof(StartInfo) == 56);
constexpr std::size_t k_start_info_v0_size = 40;

struct ModlistEntry {
    std::uint64_t paddr;
    std::uint64_t size;
    std::uint64_t cmdline_paddr;
    std::uint64_t reserved;
};
static_assert(sizeof(ModlistEntry) == 32);

struct MemmapEntry {
    std::uint64_t addr;
    std::uint64_t size;
    std::uint32_t type;  // XEN_HVM_MEMMAP_TYPE_*: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable, 6 disabled, 7 PMEM
    std::uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);

enum class Error { BadMagic, InfoUnreadable, NoMemoryMap, MemoryMapUnreadable };
const char* to_string(Error error);

// Fills info from the hvm_start_info at info_address. A zero address in any field means
// "not given" (start_info.h: nothing is loaded at physical address 0).
Result<void, Error> parse(const PhysicalReader& memory, std::uint64_t info_address, multiboot::BootInfo& info);

}  // namespace kernel::pvh
