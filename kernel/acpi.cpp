#include "kernel/acpi.hpp"

#include <algorithm>
#include <cstring>

namespace kernel::acpi {
namespace {

constexpr std::uint32_t k_max_table_length = 4u << 20;  // anything larger is not a real table

std::optional<std::uint64_t> scan_for_rsdp(const PhysicalReader& memory, std::uint64_t begin, std::uint64_t end) {
    // Read a page at a time and match in memory: cheap even where every instruction is
    // emulated.
    constexpr std::size_t k_chunk = 4096;
    std::array<std::byte, k_chunk> chunk{};
    for (std::uint64_t base = begin; base < end; base += k_chunk) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(k_chunk, end - base));
        if (!memory.read(base, std::span(chunk.data(), n))) continue;
        for (std::size_t offset = 0; offset + 20 <= n; offset += 16) {
            if (chunk[offset] != std::byte{'R'} || std::memcmp(chunk.data() + offset, "RSD PTR ", 8) != 0) continue;
            std::uint64_t address = base + offset;
            auto candidate = memory.read_object<Rsdp>(address);
            if (!candidate || !checksum_ok(memory, address, 20)) continue;
            if (candidate->revision >= 2 &&
                !checksum_ok(memory, address, candidate->length < 36 ? 36 : std::min(candidate->length, 4096u))) {
                continue;
            }
            return address;
        }
    }
    return std::nullopt;
}

}  // namespace

const char* to_string(Error error) {
    switch (error) {
        case Error::NoRsdp: return "no ACPI RSDP found";
        case Error::RootTableUnreadable: return "ACPI root table (RSDT/XSDT) unreadable";
        case Error::RootTableChecksum: return "ACPI root table has a bad checksum";
        case Error::NoFadt: return "no valid FADT";
        case Error::FadtTooShort: return "FADT too short";
        case Error::NoSleepState: return "no \\_S5 sleep state in the DSDT";
    }
    return "unknown ACPI error";
}

bool checksum_ok(const PhysicalReader& memory, std::uint64_t address, std::uint32_t length) {
    std::uint8_t sum = 0;
    std::array<std::byte, 256> chunk{};
    for (std::uint32_t done = 0; done < length;) {
        std::uint32_t n = std::min<std::uint32_t>(length - done, chunk.size());
        if (!memory.read(address + done, std::span(chunk.data(), n))) return false;
        for (std::uint32_t i = 0; i < n; ++i)
            sum = static_cast<std::uint8_t>(sum + static_cast<std::uint8_t>(chunk[i]));
        done += n;
    }
    return sum == 0;
}

std::optional<TableRef> Tables::find(std::string_view signature) const {
    for (std::size_t i = 0; i < count; ++i) {
        if (std::string_view(tables[i].signature.data(), 4) == signature) return tables[i];
    }
    return std::nullopt;
}

Result<Tables, Error> discover(const PhysicalReader& memory, std::optional<std::uint64_t> rsdp_hint) {
    std::optional<std::uint64_t> rsdp_address = rsdp_hint;
    if (!rsdp_address) {
        // The EBDA's segment is at 0x40E in the BIOS data area.
        if (auto segment = memory.read_object<std::uint16_t>(0x40E); segment && *segment != 0) {
            std::uint64_t ebda = std::uint64_t{*segment} << 4;
            rsdp_address = scan_for_rsdp(memory, ebda, ebda + 1024);
        }
        // ACPI 6.5 §5.2.5.1: the BIOS area 0xE0000-0xFFFFF, in no set order. The F segment
        // first, where SeaBIOS and qboot put it: every page read is a page touched, and
        // under shadow paging each first touch costs about 50 us (docs/kvm-on-this-host.md).
        if (!rsdp_address) rsdp_address = scan_for_rsdp(memory, 0xF0000, 0x100000);
        if (!rsdp_address) rsdp_address = scan_for_rsdp(memory, 0xE0000, 0xF0000);
    }
    if (!rsdp_address) return err(Error::NoRsdp);
    auto rsdp = memory.read_object<Rsdp>(*rsdp_address);
    if (!rsdp) return err(Error::NoRsdp);

    Tables tables;
    tables.rsdp_address = *rsdp_address;
    tables.revision = rsdp->revision;
    tables.uses_xsdt = rsdp->revision >= 2 && rsdp->xsdt_address != 0;
    std::uint64_t root = tables.uses_xsdt ? rsdp->xsdt_address : rsdp->rsdt_address;
    auto header = memory.read_object<SdtHeader>(root);
    if (!header || header->length < sizeof(SdtHeader) || header->length > k_max_table_length) {
        return err(Error::RootTableUnreadable);
    }
    if (!checksum_ok(memory, root, header->length)) return err(Error::RootTableChecksum);

    std::size_t entry_size = tables.uses_xsdt ? 8 : 4;
    std::size_t entries = (header->length - sizeof(SdtHeader)) / entry_size;
    for (std::size_t i = 0; i < entries; ++i) {
        std::uint64_t at = root + sizeof(SdtHeader) + i * entry_size;
        std::uint64_t address = 0;
        if (tables.uses_xsdt)
            address = memory.read_object<std::uint64_t>(at).value_or(0);
        else
            address = memory.read_object<std::uint32_t>(at).value_or(0);
        auto table = memory.read_object<SdtHeader>(address);
        if (address == 0 || !table || table->length < sizeof(SdtHeader) || table->length > k_max_table_length ||
            !checksum_ok(memory, address, table->length) || tables.count == tables.tables.size()) {
            ++tables.rejected;
            continue;
        }
        TableRef ref{};
        std::memcpy(ref.signature.data(), table->signature, 4);
        ref.address = address;
        ref.length = table->length;
        tables.tables[tables.count++] = ref;
    }
    return tables;
}

Result<Fadt, Error> read_fadt(const PhysicalReader& memory, const Tables& tables) {
    auto ref = tables.find("FACP");
    if (!ref) return err(Error::NoFadt);
    // Byte offsets from ACPI 6.5 table 5.9.
    constexpr std::uint32_t k_min_length = 116;
    if (ref->length < k_min_length) return err(Error::FadtTooShort);
    auto u32_at = [&](std::uint32_t offset) {
        return memory.read_object<std::uint32_t>(ref->address + offset).value_or(0);
    };
    auto u16_at = [&](std::uint32_t offset) {
        return memory.read_object<std::uint16_t>(ref->address + offset).value_or(0);
    };
    auto u8_at = [&](std::uint32_t offset) {
        return memory.read_object<std::uint8_t>(ref->address + offset).value_or(0);
    };
    Fadt fadt;
    fadt.dsdt = u32_at(40);
    if (ref->length >= 148) {
        std::uint64_t x_dsdt = memory.read_object<std::uint64_t>(ref->address + 140).value_or(0);
        if (x_dsdt != 0) fadt.dsdt = x_dsdt;
    }
    fadt.sci_interrupt = u16_at(46);
    fadt.pm1a_control = static_cast<std::uint16_t>(u32_at(64));
    fadt.pm1b_control = static_cast<std::uint16_t>(u32_at(68));
    fadt.pm_timer = static_cast<std::uint16_t>(u32_at(76));
    fadt.century_register = u8_at(108);
    fadt.pm_timer_32bit = (u32_at(112) & (1u << 8)) != 0;  // TMR_VAL_EXT
    return fadt;
}

Result<SleepType, Error> find_s5(const PhysicalReader& memory, std::uint64_t dsdt_address) {
    auto header = memory.read_object<SdtHeader>(dsdt_address);
    if (!header || header->length < sizeof(SdtHeader) || header->length > k_max_table_length ||
        std::memcmp(header->signature, "DSDT", 4) != 0) {
        return err(Error::NoSleepState);
    }
    // Look for the AML "NameOp _S5_ PackageOp PkgLength NumElements SLP_TYPa SLP_TYPb"
    // (ACPI 6.5 §20.2.5.2 and §20.2.4), the way small kernels do without an interpreter.
    // The table is read in overlapping windows so a match can straddle two reads.
    constexpr std::size_t k_window = 512;
    constexpr std::size_t k_overlap = 16;  // longest pattern: '\' _S5_ 0x12 len(4) n 0x0A a 0x0A b
    std::array<std::uint8_t, k_window> window{};
    std::uint64_t end = dsdt_address + header->length;
    for (std::uint64_t base = dsdt_address + sizeof(SdtHeader); base < end; base += k_window - k_overlap) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(k_window, end - base));
        if (!memory.read(base, std::as_writable_bytes(std::span(window.data(), n)))) break;
        for (std::size_t i = 1; i + 4 < n; ++i) {
            // The first byte alone rules out almost every position: where every instruction
            // is emulated (docs/kvm-on-this-host.md), a call per byte cost tens of ms.
            if (window[i] != '_' || std::memcmp(&window[i], "_S5_", 4) != 0) continue;
            bool named = window[i - 1] == 0x08 || (i >= 2 && window[i - 1] == '\\' && window[i - 2] == 0x08);
            std::size_t p = i + 4;
            if (!named || p + 2 >= n || window[p] != 0x12) continue;
            p += 1 + 1 + ((window[p + 1] >> 6) & 3) + 1;  // PackageOp, PkgLength, NumElements
            std::uint16_t values[2] = {0, 0};
            bool ok = true;
            for (auto& value : values) {
                bool byte_prefix = p + 1 < n && window[p] == 0x0A;                     // BytePrefix value
                bool zero_or_one = p < n && (window[p] == 0x00 || window[p] == 0x01);  // ZeroOp, OneOp
                if (byte_prefix) {
                    value = window[p + 1];
                    p += 2;
                } else if (zero_or_one) {
                    value = window[p];
                    p += 1;
                } else {
                    ok = false;
                }
            }
            if (ok) return SleepType{values[0], values[1]};
        }
        if (n < k_window) break;
    }
    return err(Error::NoSleepState);
}

}  // namespace kernel::acpi
