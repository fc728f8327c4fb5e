#include "kernel/pvh.hpp"

#include <span>

namespace kernel::pvh {

const char* to_string(Error error) {
    switch (error) {
        case Error::BadMagic: return "PVH start info has a bad magic";
        case Error::InfoUnreadable: return "PVH start info is unreadable";
        case Error::NoMemoryMap: return "the PVH loader gave no memory map";
        case Error::MemoryMapUnreadable: return "the PVH memory map is unreadable";
    }
    return "unknown PVH error";
}

Result<void, Error> parse(const PhysicalReader& memory, std::uint64_t info_address, multiboot::BootInfo& info) {
    auto magic = memory.read_object<std::uint32_t>(info_address);
    if (!magic) return err(Error::InfoUnreadable);
    if (*magic != k_start_magic) return err(Error::BadMagic);
    auto version = memory.read_object<std::uint32_t>(info_address + 4);
    if (!version) return err(Error::InfoUnreadable);
    // Version 0 has no memory map, and a loader may place it at the end of readable
    // memory: read only the fields it has.
    StartInfo start{};
    std::size_t size = *version == 0 ? k_start_info_v0_size : sizeof(StartInfo);
    if (!memory.read(info_address, std::as_writable_bytes(std::span(&start, 1)).first(size)))
        return err(Error::InfoUnreadable);

    if (start.cmdline_paddr != 0) info.command_line = info.keep_string(memory, start.cmdline_paddr);
    info.rsdp_address = start.rsdp_paddr;

    if (start.memmap_paddr == 0 || start.memmap_entries == 0) return err(Error::NoMemoryMap);
    for (std::uint32_t i = 0; i < start.memmap_entries; ++i) {
        auto entry = memory.read_object<MemmapEntry>(start.memmap_paddr + std::uint64_t{i} * sizeof(MemmapEntry));
        if (!entry) return err(Error::MemoryMapUnreadable);
        info.add_region(entry->addr, entry->size, entry->type);
    }
    if (info.region_count == 0) return err(Error::NoMemoryMap);

    for (std::uint32_t i = 0; i < start.nr_modules && start.modlist_paddr != 0; ++i) {
        auto module = memory.read_object<ModlistEntry>(start.modlist_paddr + std::uint64_t{i} * sizeof(ModlistEntry));
        bool wraps = module && module->paddr + module->size < module->paddr;
        if (!module || wraps || info.module_count == info.modules_storage.size()) {
            ++info.dropped_modules;
            continue;
        }
        std::string_view name =
            module->cmdline_paddr != 0 ? info.keep_string(memory, module->cmdline_paddr) : std::string_view();
        info.modules_storage[info.module_count++] = {module->paddr, module->paddr + module->size, name};
    }
    return {};
}

}  // namespace kernel::pvh
