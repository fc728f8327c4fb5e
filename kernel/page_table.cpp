#include "kernel/page_table.hpp"

#include <algorithm>

namespace kernel::paging {
namespace {

constexpr std::uint64_t k_table_entries = 512;
// The leaf decides. Every entry allows ring 3: the kernel may run there (kernel/gates/privilege.hpp).
// Every entry is born accessed, and every leaf dirty (Intel SDM vol. 3A §4.8): nothing here
// reads those bits, and a hypervisor that shadows the tables maps a page read-only until
// the guest's dirty bit is set and prefetches only accessed neighbours. With the bits
// clear, each page's first read and first write each cost a fault to the hypervisor,
// about 27 us on this project's hosts (docs/kvm-on-this-host.md).
constexpr std::uint64_t k_intermediate = bits::k_present | bits::k_writable | bits::k_user | bits::k_accessed;
constexpr std::uint64_t k_canonical_limit = 1ull << 47;

std::uint64_t index_at(std::uint64_t virt, unsigned shift) { return (virt >> shift) & (k_table_entries - 1); }
bool is_table(std::uint64_t entry) { return (entry & bits::k_present) != 0 && (entry & bits::k_huge) == 0; }
bool aligned(std::uint64_t value, std::uint64_t to) { return (value & (to - 1)) == 0; }

}  // namespace

const char* to_string(Error error) {
    switch (error) {
        case Error::OutOfTableMemory: return "no memory for a page table";
        case Error::NotCanonical: return "address outside the lower canonical half";
        case Error::Misaligned: return "address or size not 4 KiB aligned";
    }
    return "unknown paging error";
}

Result<AddressSpace, Error> AddressSpace::create(TableMemory& memory, bool no_execute_supported) {
    std::uint64_t root = TRY(memory.allocate_table());
    return AddressSpace(memory, root, no_execute_supported);
}

std::uint64_t AddressSpace::leaf_bits(Permissions p, bool huge) const {
    std::uint64_t value = bits::k_present | bits::k_user | bits::k_accessed | bits::k_dirty;
    if (p.writable) value |= bits::k_writable;
    if (!p.executable && m_nx) value |= bits::k_no_execute;
    if (p.uncached) value |= bits::k_cache_disable | bits::k_write_through;
    if (huge) value |= bits::k_huge;
    return value;
}

Result<std::uint64_t*, Error> AddressSpace::child_table(std::uint64_t& entry, std::uint64_t entry_page_size) {
    if (is_table(entry)) return m_memory->table(entry & bits::k_address_mask);
    std::uint64_t physical = TRY(m_memory->allocate_table());
    ++m_tables;
    std::uint64_t* child = m_memory->table(physical);
    if ((entry & bits::k_present) != 0) {
        // Split a large page into 512 smaller ones with the same attributes. Below 2 MiB
        // the children are 4 KiB entries, where bit 7 would mean PAT, not "huge".
        std::uint64_t child_size = entry_page_size / k_table_entries;
        std::uint64_t attributes = entry & ~bits::k_address_mask;
        if (child_size == k_page_4k) attributes &= ~bits::k_huge;
        std::uint64_t base = entry & bits::k_address_mask & ~(entry_page_size - 1);
        for (std::uint64_t i = 0; i < k_table_entries; ++i) child[i] = (base + i * child_size) | attributes;
    }
    entry = physical | k_intermediate;
    return child;
}

Result<void, Error> AddressSpace::set_range(std::uint64_t virt, std::uint64_t phys, std::uint64_t size,
                                            std::optional<Permissions> permissions) {
    if (!aligned(virt, k_page_4k) || !aligned(phys, k_page_4k) || !aligned(size, k_page_4k)) {
        return err(Error::Misaligned);
    }
    if (virt >= k_canonical_limit || size > k_canonical_limit - virt) return err(Error::NotCanonical);
    bool unmapping = !permissions.has_value();
    while (size > 0) {
        std::uint64_t* pml4 = m_memory->table(m_root);
        std::uint64_t& pml4e = pml4[index_at(virt, 39)];
        if (unmapping && (pml4e & bits::k_present) == 0) {
            std::uint64_t skip =
                std::min(size, k_page_1g * k_table_entries - (virt & (k_page_1g * k_table_entries - 1)));
            virt += skip, phys += skip, size -= skip;
            continue;
        }
        std::uint64_t* pdpt = TRY(child_table(pml4e, k_page_1g * k_table_entries));

        // Try each page size from the largest; a leaf fits if both addresses are aligned,
        // the range covers it, and the entry is not already a table of smaller pages.
        struct Level {
            unsigned shift;
            std::uint64_t page;
        };
        constexpr Level levels[] = {{30, k_page_1g}, {21, k_page_2m}, {12, k_page_4k}};
        std::uint64_t* table = pdpt;
        for (const Level& level : levels) {
            std::uint64_t& entry = table[index_at(virt, level.shift)];
            bool last = level.page == k_page_4k;
            bool large_ok = level.page != k_page_1g || m_allow_1g || unmapping;
            bool fits = aligned(virt, level.page) && (unmapping || aligned(phys, level.page)) && size >= level.page;
            if (unmapping && (entry & bits::k_present) == 0) {
                std::uint64_t skip = std::min(size, level.page - (virt & (level.page - 1)));
                virt += skip, phys += skip, size -= skip;
                break;
            }
            if (last) {
                // A run of 4 KiB pages within this table is written without walking down
                // again for each (this table covers one 2 MiB stretch, so no larger page
                // fits before its end): the boot maps hundreds of them, and where every
                // instruction is emulated that walk was most of the paging time.
                do {
                    table[index_at(virt, level.shift)] = unmapping ? 0 : (phys | leaf_bits(*permissions, false));
                    virt += level.page, phys += level.page, size -= level.page;
                } while (size > 0 && index_at(virt, level.shift) != 0);
                break;
            }
            if (fits && large_ok && !is_table(entry)) {
                entry = unmapping ? 0 : (phys | leaf_bits(*permissions, true));
                virt += level.page, phys += level.page, size -= level.page;
                break;
            }
            table = TRY(child_table(entry, level.page));
        }
    }
    return {};
}

Result<void, Error> AddressSpace::map(std::uint64_t virt, std::uint64_t phys, std::uint64_t size,
                                      Permissions permissions) {
    return set_range(virt, phys, size, permissions);
}

Result<void, Error> AddressSpace::unmap(std::uint64_t virt, std::uint64_t size) {
    return set_range(virt, 0, size, std::nullopt);
}

std::optional<Translation> AddressSpace::translate(std::uint64_t virt) const {
    if (virt >= k_canonical_limit) return std::nullopt;
    std::uint64_t entry = m_memory->table(m_root)[index_at(virt, 39)];
    constexpr unsigned shifts[] = {30, 21, 12};
    for (unsigned shift : shifts) {
        if ((entry & bits::k_present) == 0) return std::nullopt;
        entry = m_memory->table(entry & bits::k_address_mask)[index_at(virt, shift)];
        std::uint64_t page = 1ull << shift;
        if ((entry & bits::k_present) != 0 && (shift == 12 || (entry & bits::k_huge) != 0)) {
            Permissions p;
            p.writable = (entry & bits::k_writable) != 0;
            p.executable = (entry & bits::k_no_execute) == 0;
            p.uncached = (entry & bits::k_cache_disable) != 0;
            return Translation{(entry & bits::k_address_mask & ~(page - 1)) + (virt & (page - 1)), page, p};
        }
    }
    return std::nullopt;
}

}  // namespace kernel::paging
