#include "kernel/acpi_madt.hpp"

#include <algorithm>
#include <cstring>
#include <span>

namespace kernel::acpi {
namespace {

using namespace madt;

// An entry's bytes, already checked to lie inside the table. as<T>() hands out a copy of
// the structure only if the entry is long enough for it.
class Entry {
public:
    explicit Entry(std::span<const std::byte> bytes) : m_bytes(bytes) {}

    template <typename T>
    [[nodiscard]] std::optional<T> as() const {
        if (m_bytes.size() < sizeof(T)) return std::nullopt;
        T value;
        std::memcpy(&value, m_bytes.data(), sizeof(T));
        return value;
    }

private:
    std::span<const std::byte> m_bytes;
};

template <typename T, std::size_t N>
void append(std::array<T, N>& list, std::size_t& count, const T& value, std::size_t& dropped) {
    if (count == N) {
        ++dropped;
        return;
    }
    list[count++] = value;
}

void add_processor(Madt& madt, std::uint32_t flags, Processor processor) {
    if ((flags & (k_processor_enabled | k_processor_online_capable)) == 0) {
        ++madt.disabled_processor_count;
        return;
    }
    // Every usable processor counts, even past the list's capacity: that is not a drop.
    if (madt.processor_count < madt.processors.size()) madt.processors[madt.processor_count] = processor;
    ++madt.processor_count;
}

// Returns false when the entry is too short for its type.
bool add_entry(Madt& madt, EntryType type, const Entry& entry) {
    switch (type) {
        case EntryType::LocalApic: {
            auto e = entry.as<LocalApicEntry>();
            if (!e) return false;
            add_processor(madt, e->flags, {e->processor_uid, e->apic_id, false});
            return true;
        }
        case EntryType::LocalX2Apic: {
            auto e = entry.as<LocalX2ApicEntry>();
            if (!e) return false;
            add_processor(madt, e->flags, {e->processor_uid, e->x2apic_id, true});
            return true;
        }
        case EntryType::IoApic: {
            auto e = entry.as<IoApicEntry>();
            if (!e) return false;
            append(madt.io_apics, madt.io_apic_count, {e->io_apic_id, e->address, e->gsi_base}, madt.dropped);
            return true;
        }
        case EntryType::InterruptSourceOverride: {
            auto e = entry.as<InterruptSourceOverrideEntry>();
            if (!e) return false;
            append(madt.overrides, madt.override_count, {e->bus, e->source, e->gsi, decode_flags(e->flags)},
                   madt.dropped);
            return true;
        }
        case EntryType::NmiSource: {
            auto e = entry.as<NmiSourceEntry>();
            if (!e) return false;
            append(madt.nmi_sources, madt.nmi_source_count, {e->gsi, decode_flags(e->flags)}, madt.dropped);
            return true;
        }
        case EntryType::LocalApicNmi: {
            auto e = entry.as<LocalApicNmiEntry>();
            if (!e) return false;
            // The one-byte UID 0xFF means every processor (table 5.28).
            std::uint32_t uid = e->processor_uid == 0xFF ? k_all_processors : e->processor_uid;
            append(madt.local_apic_nmis, madt.local_apic_nmi_count, {uid, e->lint, decode_flags(e->flags)},
                   madt.dropped);
            return true;
        }
        case EntryType::LocalX2ApicNmi: {
            auto e = entry.as<LocalX2ApicNmiEntry>();
            if (!e) return false;
            append(madt.local_apic_nmis, madt.local_apic_nmi_count, {e->processor_uid, e->lint, decode_flags(e->flags)},
                   madt.dropped);
            return true;
        }
        case EntryType::LocalApicAddressOverride: {
            auto e = entry.as<LocalApicAddressOverrideEntry>();
            if (!e) return false;
            if (e->address != 0) madt.local_apic_address = e->address;
            return true;
        }
    }
    ++madt.unknown;
    return true;
}

}  // namespace

const char* to_string(MadtError error) {
    switch (error) {
        case MadtError::NoMadt: return "no MADT (APIC table)";
        case MadtError::TooShort: return "MADT shorter than its fixed part";
        case MadtError::Unreadable: return "MADT unreadable";
    }
    return "unknown MADT error";
}

std::optional<madt::InterruptOverride> Madt::override_for_irq(std::uint8_t irq) const {
    for (std::size_t i = 0; i < override_count; ++i) {
        if (overrides[i].bus == 0 && overrides[i].source == irq) return overrides[i];
    }
    return std::nullopt;
}

std::optional<madt::IoApic> Madt::io_apic_below(std::uint32_t gsi) const {
    std::optional<madt::IoApic> best;
    for (std::size_t i = 0; i < io_apic_count; ++i) {
        if (io_apics[i].gsi_base <= gsi && (!best || io_apics[i].gsi_base > best->gsi_base)) best = io_apics[i];
    }
    return best;
}

std::optional<std::uint32_t> Madt::processor_uid_of(std::uint32_t apic_id) const {
    std::size_t listed = std::min(processor_count, processors.size());
    for (std::size_t i = 0; i < listed; ++i) {
        if (processors[i].apic_id == apic_id) return processors[i].processor_uid;
    }
    return std::nullopt;
}

Result<Madt, MadtError> read_madt(const PhysicalReader& memory, const Tables& tables) {
    auto ref = tables.find("APIC");
    if (!ref) return err(MadtError::NoMadt);
    return parse_madt(memory, *ref);
}

Result<Madt, MadtError> parse_madt(const PhysicalReader& memory, const TableRef& table) {
    if (table.length < sizeof(MadtHeader)) return err(MadtError::TooShort);
    auto header = memory.read_object<MadtHeader>(table.address);
    if (!header) return err(MadtError::Unreadable);
    // The header's own length wins if it is shorter than what the root table reported.
    std::uint32_t length = std::min(table.length, header->header.length);
    if (length < sizeof(MadtHeader)) return err(MadtError::TooShort);

    Madt madt;
    madt.local_apic_address = header->local_apic_address;
    madt.pcat_compat = (header->flags & k_flag_pcat_compat) != 0;

    std::array<std::byte, 255> buffer{};  // an entry's length is one byte
    std::uint32_t offset = sizeof(MadtHeader);
    while (offset < length) {
        std::uint32_t remaining = length - offset;
        if (remaining < sizeof(MadtEntryHeader)) {
            ++madt.malformed;  // a stray byte after the last entry
            break;
        }
        auto entry_header = memory.read_object<MadtEntryHeader>(table.address + offset);
        // A length under 2 would never advance; one past the table would read beyond it.
        // Neither leaves a trustworthy place to continue from.
        if (!entry_header || entry_header->length < sizeof(MadtEntryHeader) || entry_header->length > remaining ||
            !memory.read(table.address + offset, std::span(buffer.data(), entry_header->length))) {
            ++madt.malformed;
            madt.truncated = true;
            break;
        }
        if (!add_entry(madt, static_cast<EntryType>(entry_header->type),
                       Entry(std::span(buffer.data(), entry_header->length))))
            ++madt.malformed;
        offset += entry_header->length;
    }
    return madt;
}

}  // namespace kernel::acpi
