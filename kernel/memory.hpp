#pragma once
// The kernel's memory: physical frames, the page tables built from the linker's sections,
// the heap, and device (MMIO) mappings. Physical memory is identity mapped.

#include <cstddef>
#include <cstdint>

#include "kernel/frame_allocator.hpp"
#include "kernel/heap.hpp"
#include "kernel/multiboot.hpp"
#include "kernel/page_table.hpp"
#include "kernel/physical_reader.hpp"

namespace kernel::memory {

// Sets up frames, paging and the heap from the boot information; panics if it cannot.
void init(const multiboot::BootInfo& boot_info);

FrameAllocator& frames();
Heap& heap();

// Maps device memory uncached (identity) and returns where to access it.
Result<volatile std::byte*, paging::Error> map_mmio(std::uint64_t physical, std::uint64_t size);
// True if every byte of [address, address + size) is mapped.
bool is_mapped(std::uint64_t address, std::uint64_t size);

// Reads physical memory, refusing addresses that are not mapped (so a bad firmware
// pointer gives an error, not a page fault).
const PhysicalReader& physical_reader();

}  // namespace kernel::memory
