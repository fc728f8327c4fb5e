#include "kernel/multiboot.hpp"

namespace kernel::multiboot {
namespace {

constexpr std::size_t k_max_string = 1024;

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

void BootInfo::add_region(std::uint64_t base, std::uint64_t length, std::uint32_t e820_type) {
    bool wraps = base + length < base;
    if (length == 0 || wraps || region_count == regions_storage.size()) {
        ++dropped_regions;
        return;
    }
    auto type = e820_type >= 1 && e820_type <= 5 ? static_cast<MemoryType>(e820_type) : MemoryType::Reserved;
    regions_storage[region_count++] = {base, length, type};
}

std::string_view BootInfo::keep_string(const PhysicalReader& memory, std::uint64_t address) {
    if (strings_used == strings.size()) return {};  // full: the previous string took the last byte
    std::size_t start = strings_used;
    for (std::size_t i = 0; i < k_max_string && strings_used < strings.size() - 1; ++i) {
        auto c = memory.read_object<char>(address + i);
        if (!c || *c == '\0') break;
        strings[strings_used++] = *c;
    }
    std::string_view result(strings.data() + start, strings_used - start);
    strings[strings_used++] = '\0';
    return result;
}

Result<void, Error> parse(const PhysicalReader& memory, std::uint32_t magic, std::uint64_t info_address,
                          BootInfo& info) {
    if (magic != k_loader_magic) return err(Error::BadMagic);
    auto header = memory.read_object<Info>(info_address);
    if (!header) return err(Error::InfoUnreadable);

    if ((header->flags & flags::k_cmdline) != 0) {
        info.command_line = info.keep_string(memory, header->cmdline);
        info.command_line_has_path = true;
    }
    if ((header->flags & flags::k_loader_name) != 0)
        info.loader_name = info.keep_string(memory, header->boot_loader_name);

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
        info.add_region(entry->base, entry->length, entry->type);
    }
    if (info.region_count == 0) return err(Error::NoMemoryMap);

    if ((header->flags & flags::k_modules) != 0) {
        for (std::uint32_t i = 0; i < header->mods_count; ++i) {
            auto module = memory.read_object<Module>(header->mods_addr + std::uint64_t{i} * sizeof(Module));
            if (!module || module->end < module->start || info.module_count == info.modules_storage.size()) {
                ++info.dropped_modules;
                continue;
            }
            std::string_view name = module->string != 0 ? info.keep_string(memory, module->string) : std::string_view();
            info.modules_storage[info.module_count++] = {module->start, module->end, name};
        }
    }
    return {};
}

}  // namespace kernel::multiboot
