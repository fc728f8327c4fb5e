#pragma once
// A configuration space for host tests: functions built from a few calls, BARs that size
// the way hardware does (address bits below the size read back 0), read-only identity
// registers, and counters for what the code under test did.
//
//     test::FakeConfigSpace config;
//     auto& nic = config.add({0, 3, 0}, 0x1AF4, 0x1041, 0x020000);
//     nic.bar(4, pci::BarKind::Memory64, 0x4000, true);
//     nic.add_capability(0x11, {...});

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "pci/bar.hpp"
#include "pci/config_space.hpp"
#include "pci/enumerate.hpp"
#include "pci/registers.hpp"

namespace test {

struct FakeBar {
    pci::BarKind kind = pci::BarKind::None;
    bool prefetchable = false;
    std::uint64_t size = 0;
    std::uint64_t address = 0;  // what the register holds (size bits masked)
};

class FakeFunction {
public:
    FakeFunction() = default;
    FakeFunction(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_triplet, std::uint8_t header) {
        put16(0x00, vendor);
        put16(0x02, device);
        put32(0x08, class_triplet << 8 | 0x01);  // revision 1
        bytes[0x0E] = header;
    }

    // BAR `index`; a 64-bit one also takes the next slot.
    FakeFunction& bar(std::size_t index, pci::BarKind kind, std::uint64_t size, bool prefetchable = false,
                      std::uint64_t address = 0) {
        bars[index] = {kind, prefetchable, size, address & ~(size - 1)};
        return *this;
    }
    // Appends a capability with `body` after its ID and next bytes, linked at the list's
    // end; returns its offset.
    std::uint8_t add_capability(std::uint8_t id, const std::vector<std::uint8_t>& body = {}) {
        std::uint8_t at = m_next_capability;
        bytes[at] = id;
        bytes[at + 1] = 0;
        for (std::size_t i = 0; i < body.size(); ++i) bytes[at + 2 + i] = body[i];
        if (m_last_capability == 0) {
            bytes[0x34] = at;
            put16(0x06, static_cast<std::uint16_t>(get16(0x06) | pci::status::k_capabilities_list));
        } else {
            bytes[m_last_capability + 1] = at;
        }
        m_last_capability = at;
        m_next_capability = static_cast<std::uint8_t>(at + ((2 + body.size() + 3) & ~std::size_t{3}));
        return at;
    }
    FakeFunction& interrupt(std::uint8_t line, std::uint8_t pin) {
        bytes[0x3C] = line;
        bytes[0x3D] = pin;
        return *this;
    }
    FakeFunction& subsystem(std::uint16_t vendor, std::uint16_t id) {
        put16(0x2C, vendor);
        put16(0x2E, id);
        return *this;
    }

    [[nodiscard]] std::uint16_t get16(std::size_t at) const {
        return static_cast<std::uint16_t>(bytes[at] | bytes[at + 1] << 8);
    }
    [[nodiscard]] std::uint32_t get32(std::size_t at) const {
        return static_cast<std::uint32_t>(get16(at) | std::uint32_t{get16(at + 2)} << 16);
    }
    void put16(std::size_t at, std::uint16_t value) {
        bytes[at] = static_cast<std::uint8_t>(value);
        bytes[at + 1] = static_cast<std::uint8_t>(value >> 8);
    }
    void put32(std::size_t at, std::uint32_t value) {
        put16(at, static_cast<std::uint16_t>(value));
        put16(at + 2, static_cast<std::uint16_t>(value >> 16));
    }
    [[nodiscard]] std::uint16_t command() const { return get16(0x04); }
    [[nodiscard]] bool is_bridge() const { return (bytes[0x0E] & 0x7F) == pci::header_type::k_bridge; }
    [[nodiscard]] std::size_t bar_count() const { return is_bridge() ? 2 : (bytes[0x0E] & 0x7F) == 0 ? 6 : 0; }

    std::array<std::uint8_t, 4096> bytes{};
    std::array<FakeBar, 6> bars{};
    // BAR writes of all ones (sizing) while memory or I/O decoding was on.
    int sized_while_decoding = 0;
    int bar_writes = 0;
    int writes = 0;

private:
    std::uint8_t m_next_capability = 0x40;
    std::uint8_t m_last_capability = 0;
};

class FakeConfigSpace final : public pci::ConfigSpace {
public:
    explicit FakeConfigSpace(std::uint16_t extent = 256, std::uint8_t last_bus = 255)
        : m_extent(extent), m_last_bus(last_bus) {}

    FakeFunction& add(pci::Address address, std::uint16_t vendor, std::uint16_t device, std::uint32_t class_triplet,
                      std::uint8_t header = 0) {
        return m_functions[key(address)] = FakeFunction(vendor, device, class_triplet, header);
    }
    // A PCI-to-PCI bridge with the given bus numbers (0: unnumbered, as after reset).
    FakeFunction& add_bridge(pci::Address address, std::uint8_t secondary, std::uint8_t subordinate,
                             std::uint8_t header = pci::header_type::k_bridge) {
        FakeFunction& bridge = add(address, 0x1B36, 0x0001, 0x060400, header);
        bridge.bytes[0x18] = address.bus;
        bridge.bytes[0x19] = secondary;
        bridge.bytes[0x1A] = subordinate;
        return bridge;
    }
    FakeFunction* find(pci::Address address) {
        auto found = m_functions.find(key(address));
        return found == m_functions.end() ? nullptr : &found->second;
    }
    FakeFunction& at(pci::Address address) { return *find(address); }

    [[nodiscard]] std::uint16_t extent() const override { return m_extent; }
    [[nodiscard]] bool reaches(std::uint8_t bus) const override { return bus <= m_last_bus; }

    int reads = 0;
    int writes = 0;
    int batches = 0;  // read_each calls that reached read_each_raw

protected:
    void read_each_raw(std::span<pci::ConfigRead> each) override {
        ++batches;
        ConfigSpace::read_each_raw(each);
    }
    std::uint32_t read_raw(pci::Address address, std::uint16_t offset, unsigned width) override {
        ++reads;
        FakeFunction* function = find(address);
        if (function == nullptr) return width == 4 ? 0xFFFF'FFFF : width == 2 ? 0xFFFF : 0xFF;
        std::uint32_t value = 0;
        for (unsigned i = 0; i < width; ++i) value |= std::uint32_t{read_byte(*function, offset + i)} << (8 * i);
        return value;
    }

    void write_raw(pci::Address address, std::uint16_t offset, unsigned width, std::uint32_t value) override {
        ++writes;
        FakeFunction* function = find(address);
        if (function == nullptr) return;
        ++function->writes;
        std::size_t bar_end = 0x10 + 4 * function->bar_count();
        if (offset >= 0x10 && offset < bar_end) {
            write_bar(*function, (offset - 0x10u) / 4u, value);
            return;
        }
        for (unsigned i = 0; i < width; ++i) {
            std::size_t at = offset + i;
            if (read_only(*function, at)) continue;
            function->bytes[at] = static_cast<std::uint8_t>(value >> (8 * i));
        }
    }

private:
    static std::uint32_t key(pci::Address a) {
        return std::uint32_t{a.bus} << 8 | std::uint32_t{a.device} << 3 | a.function;
    }

    static bool read_only(const FakeFunction& function, std::size_t at) {
        if (at < 0x04 || (at >= 0x06 && at < 0x10) || at == 0x34 || at == 0x3D) return true;
        return !function.is_bridge() && at >= 0x2C && at < 0x30;
    }

    static std::uint8_t read_byte(const FakeFunction& function, std::size_t at) {
        std::size_t bar_end = 0x10 + 4 * function.bar_count();
        if (at >= 0x10 && at < bar_end) {
            std::uint32_t reg = bar_register(function, (at - 0x10) / 4);
            return static_cast<std::uint8_t>(reg >> (8 * (at % 4)));
        }
        return function.bytes[at];
    }

    // The register value of BAR slot `index` (PCI 3.0 §6.2.5.1).
    static std::uint32_t bar_register(const FakeFunction& function, std::size_t index) {
        if (index > 0 && function.bars[index - 1].kind == pci::BarKind::Memory64)
            return static_cast<std::uint32_t>(function.bars[index - 1].address >> 32);
        const FakeBar& bar = function.bars[index];
        switch (bar.kind) {
            case pci::BarKind::None: return 0;
            case pci::BarKind::Io: return static_cast<std::uint32_t>(bar.address) | 0x1;
            case pci::BarKind::Memory32:
                return static_cast<std::uint32_t>(bar.address) | (bar.prefetchable ? 0x8u : 0u);
            case pci::BarKind::Memory64:
                return static_cast<std::uint32_t>(bar.address) | 0x4u | (bar.prefetchable ? 0x8u : 0u);
        }
        return 0;
    }

    static void write_bar(FakeFunction& function, std::size_t index, std::uint32_t value) {
        ++function.bar_writes;
        if (value == 0xFFFF'FFFF &&
            (function.command() & (pci::command::k_io_space | pci::command::k_memory_space)) != 0)
            ++function.sized_while_decoding;
        if (index > 0 && function.bars[index - 1].kind == pci::BarKind::Memory64) {
            FakeBar& bar = function.bars[index - 1];
            bar.address = ((bar.address & 0xFFFF'FFFF) | std::uint64_t{value} << 32) & ~(bar.size - 1);
            return;
        }
        FakeBar& bar = function.bars[index];
        std::uint64_t low_mask = bar.kind == pci::BarKind::Io ? ~std::uint64_t{0x3} : ~std::uint64_t{0xF};
        switch (bar.kind) {
            case pci::BarKind::None: return;
            case pci::BarKind::Memory64:
                bar.address = ((bar.address & ~std::uint64_t{0xFFFF'FFFF}) | (value & low_mask)) & ~(bar.size - 1);
                return;
            default: bar.address = (value & low_mask & 0xFFFF'FFFF) & ~(bar.size - 1); return;
        }
    }

    std::map<std::uint32_t, FakeFunction> m_functions;
    std::uint16_t m_extent;
    std::uint8_t m_last_bus;
};

// Enumerates, then reads every function's BARs and capabilities, as the PCI layer does
// for the functions it needs them for; returns what was wrong in them.
inline pci::DetailProblems enumerate_with_details(pci::ConfigSpace& config, pci::DeviceTable& table) {
    pci::EnumerationReport report = pci::enumerate(config, table);
    pci::DetailProblems problems = report.problems;
    for (pci::Device& device : table.all()) pci::read_details(config, device, problems);
    return problems;
}

}  // namespace test
