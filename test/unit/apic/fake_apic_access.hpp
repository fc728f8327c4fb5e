#pragma once
// Fakes of the APIC access objects: registers in memory, and a log of every write in
// order, so tests check sequences as well as final values.

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "apic/io_apic.hpp"
#include "apic/local_apic.hpp"

namespace apic::test {

class FakeLocalApic final : public LocalApicAccess {
public:
    struct Write {
        std::uint16_t offset;
        std::uint32_t value;
        bool operator==(const Write&) const = default;
    };

    explicit FakeLocalApic(bool x2apic = true) : m_x2apic(x2apic) {}

    std::uint32_t read(LocalApicRegister reg) override { return registers[reg.offset]; }
    void write(LocalApicRegister reg, std::uint32_t value) override {
        registers[reg.offset] = value;
        writes.push_back({reg.offset, value});
    }
    [[nodiscard]] bool x2apic() const override { return m_x2apic; }

    [[nodiscard]] std::vector<Write> writes_to(LocalApicRegister reg) const {
        std::vector<Write> out;
        for (const auto& w : writes)
            if (w.offset == reg.offset) out.push_back(w);
        return out;
    }

    std::map<std::uint16_t, std::uint32_t> registers;
    std::vector<Write> writes;

private:
    bool m_x2apic;
};

class FakeIoApic final : public IoApicAccess {
public:
    struct Write {
        std::uint8_t index;
        std::uint32_t value;
        bool operator==(const Write&) const = default;
    };

    // An 82093AA-like I/O APIC: `pins` inputs, version 0x20, ID `id`, all inputs masked.
    explicit FakeIoApic(std::uint32_t pins = 24, std::uint8_t id = 0) {
        registers[0x00] = std::uint32_t{id} << 24;
        registers[0x01] = ((pins - 1) << 16) | 0x20;
        for (std::uint32_t pin = 0; pin < pins && 0x10 + 2 * pin < registers.size(); ++pin)
            registers[0x10 + 2 * pin] = 1u << 16;
    }

    std::uint32_t read(std::uint8_t index) override { return registers[index]; }
    void write(std::uint8_t index, std::uint32_t value) override {
        registers[index] = value;
        writes.push_back({index, value});
    }

    [[nodiscard]] Redirection entry(std::uint32_t pin) const {
        auto low = registers[0x10 + 2 * pin];
        auto high = registers[0x11 + 2 * pin];
        return Redirection::decode(low | (std::uint64_t{high} << 32));
    }

    std::array<std::uint32_t, 256> registers{};
    std::vector<Write> writes;
};

}  // namespace apic::test
