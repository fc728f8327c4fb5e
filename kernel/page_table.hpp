#pragma once
// Builds and edits x86-64 four-level page tables (Intel SDM vol. 3A §4.5). Portable: the
// tables live in frames that a TableMemory hands out, so host tests build real tables in
// ordinary memory and walk them.

#include <cstdint>
#include <optional>

#include "kernel/result.hpp"

namespace kernel::paging {

constexpr std::uint64_t k_page_4k = 4096;
constexpr std::uint64_t k_page_2m = 2ull << 20;
constexpr std::uint64_t k_page_1g = 1ull << 30;

// Intel SDM vol. 3A §4.5, tables 4-15 to 4-20.
namespace bits {
constexpr std::uint64_t k_present = 1ull << 0;
constexpr std::uint64_t k_writable = 1ull << 1;
constexpr std::uint64_t k_user = 1ull << 2;  // ring 3 may use it (every mapping here)
constexpr std::uint64_t k_write_through = 1ull << 3;
constexpr std::uint64_t k_cache_disable = 1ull << 4;
constexpr std::uint64_t k_accessed = 1ull << 5;
constexpr std::uint64_t k_dirty = 1ull << 6;
constexpr std::uint64_t k_huge = 1ull << 7;  // a 2 MiB or 1 GiB page, not a table
constexpr std::uint64_t k_global = 1ull << 8;
constexpr std::uint64_t k_no_execute = 1ull << 63;
constexpr std::uint64_t k_address_mask = 0x000F'FFFF'FFFF'F000ull;
}  // namespace bits

struct Permissions {
    bool writable = false;
    bool executable = false;
    bool uncached = false;  // device memory (MMIO)
};

enum class Error { OutOfTableMemory, NotCanonical, Misaligned };
const char* to_string(Error error);

class TableMemory {
public:
    // A zeroed, 4 KiB-aligned frame for a table; its physical address.
    virtual Result<std::uint64_t, Error> allocate_table() = 0;
    // Where the table at this physical address can be read and written.
    virtual std::uint64_t* table(std::uint64_t physical) = 0;

protected:
    TableMemory() = default;
    TableMemory(const TableMemory&) = default;
    TableMemory& operator=(const TableMemory&) = default;
    ~TableMemory() = default;
};

struct Translation {
    std::uint64_t physical;
    std::uint64_t page_size;
    Permissions permissions;
};

class AddressSpace {
public:
    static Result<AddressSpace, Error> create(TableMemory& memory, bool no_execute_supported);

    // Maps [virt, virt + size) to [phys, phys + size), replacing what was there. Uses
    // 1 GiB and 2 MiB pages where both addresses are aligned (1 GiB only if allowed), and
    // splits an existing large page when part of it changes.
    Result<void, Error> map(std::uint64_t virt, std::uint64_t phys, std::uint64_t size, Permissions permissions);
    Result<void, Error> unmap(std::uint64_t virt, std::uint64_t size);
    [[nodiscard]] std::optional<Translation> translate(std::uint64_t virt) const;

    [[nodiscard]] std::uint64_t root() const { return m_root; }
    void allow_1g_pages(bool allow) { m_allow_1g = allow; }
    [[nodiscard]] std::uint64_t tables_allocated() const { return m_tables; }

private:
    AddressSpace(TableMemory& memory, std::uint64_t root, bool nx) : m_memory(&memory), m_root(root), m_nx(nx) {}
    [[nodiscard]] std::uint64_t leaf_bits(Permissions p, bool huge) const;
    Result<std::uint64_t*, Error> child_table(std::uint64_t& entry, std::uint64_t entry_page_size);
    Result<void, Error> set_range(std::uint64_t virt, std::uint64_t phys, std::uint64_t size,
                                  std::optional<Permissions> permissions);

    TableMemory* m_memory;
    std::uint64_t m_root;
    bool m_nx;
    bool m_allow_1g = false;
    std::uint64_t m_tables = 1;
};

}  // namespace kernel::paging
