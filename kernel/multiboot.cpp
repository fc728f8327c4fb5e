#include "kernel/multiboot.hpp"

namespace kernel::multiboot {
namespace {

constexpr std::size_t k_max_string = 1024;

// Copies a NUL-terminated string from physical memory into the BootInfo's storage.
std::string_view copy_string(const PhysicalReader& memory, std::uint64_t address, BootInfo& info) {
    std::size_t start = info.strings_used;
    for (std::size_t i = 0; i < k_max_string && info.strings_used < info.strings.size() - 1; ++i) {
        auto c = memory.read_object<char>(address + i);
        if (!c || *c == '\0') break;
        info.strings[info.strings_used++] = *c;
    }
    std::string_view result(info.strings.data() + start, info.strings_used - start);
    info.strings[info.strings_used++] = '\0';
    return result;
}

}  // namespace

const char* to_string(Error error) {
    switch (error) {
        case Error::BadMagic: return "not started by a multiboot loader (bad magic)";
        case Error::InfoUnreadable: return "multiboot information structure is unreadable";
        case Error::NoMemoryMap: return "the loader gave no memory map";
        case Error::MemoryMapUnreadable: return "the memory map is unreadable";
    }
    return "unknown multiboot error";
}

std::uint64_t BootInfo::usable_bytes() const {
    std::uint64_t total = 0;
    for (const auto& r : regions()) {
        if (r.type == MemoryType::Usable) total += r.length;
    }
    return total;
}

Result<void, Error> parse(const PhysicalReader& memory, std::uint32_t magic, std::uint64_t info_address,
                          BootInfo& info) {
    if (magic != k_loader_magic) return err(Error::BadMagic);
    auto header = memory.read_object<Info>(info_address);
    if (!header) return err(Error::InfoUnreadable);

    if ((header->flags & flags::k_cmdline) != 0) info.command_line = copy_string(memory, header->cmdline, info);
    if ((header->flags & flags::k_loader_name) != 0)
        info.loader_name = copy_string(memory, header->boot_loader_name, info);

    if ((header->flags & flags::k_mmap) == 0) return err(Error::NoMemoryMap);
    // §3.3: entries are variable-sized; each one's size field gives the distance to the next.
    std::uint64_t cursor = header->mmap_addr;
    std::uint64_t end = static_cast<std::uint64_t>(header->mmap_addr) + header->mmap_length;
    while (cursor + sizeof(MmapEntry) <= end) {
        auto entry = memory.read_object<MmapEntry>(cursor);
        if (!entry) return err(Error::MemoryMapUnreadable);
        if (entry->size < sizeof(MmapEntry) - sizeof(entry->size)) {
            ++info.dropped_regions;  // too short to hold an entry: the rest cannot be trusted
            break;
        }
        cursor += entry->size + sizeof(entry->size);
        bool wraps = entry->base + entry->length < entry->base;
        if (entry->length == 0 || wraps || info.region_count == info.regions_storage.size()) {
            ++info.dropped_regions;
            continue;
        }
        auto type = entry->type >= 1 && entry->type <= 5 ? static_cast<MemoryType>(entry->type) : MemoryType::Reserved;
        info.regions_storage[info.region_count++] = {entry->base, entry->length, type};
    }
    if (info.region_count == 0) return err(Error::NoMemoryMap);

    if ((header->flags & flags::k_modules) != 0) {
        for (std::uint32_t i = 0; i < header->mods_count; ++i) {
            auto module = memory.read_object<Module>(header->mods_addr + std::uint64_t{i} * sizeof(Module));
            if (!module || module->end < module->start || info.module_count == info.modules_storage.size()) {
                ++info.dropped_modules;
                continue;
            }
            std::string_view name =
                module->string != 0 ? copy_string(memory, module->string, info) : std::string_view();
            info.modules_storage[info.module_count++] = {module->start, module->end, name};
        }
    }
    return {};
}

}  // namespace kernel::multiboot
