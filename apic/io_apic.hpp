#pragma once
// An I/O APIC (Intel 82093AA datasheet): turns device interrupt lines (global system
// interrupts, GSIs) into messages to a local APIC. Portable: the indirect register pair
// IOREGSEL/IOWIN sits behind an IoApicAccess, so host tests drive a fake.

#include <cstdint>
#include <span>

#include "kernel/result.hpp"

namespace apic {

class IoApicAccess {
public:
    // The 32-bit register at `index` (82093AA §3.1: written to IOREGSEL, then read or
    // written through IOWIN).
    virtual std::uint32_t read(std::uint8_t index) = 0;
    virtual void write(std::uint8_t index, std::uint32_t value) = 0;

protected:
    IoApicAccess() = default;
    IoApicAccess(const IoApicAccess&) = default;
    IoApicAccess& operator=(const IoApicAccess&) = default;
    ~IoApicAccess() = default;
};

enum class Polarity : std::uint8_t { ActiveHigh, ActiveLow };
enum class Trigger : std::uint8_t { Edge, Level };

// One redirection table entry (82093AA §3.2.4): fixed delivery, physical destination.
struct Redirection {
    std::uint8_t vector = 0;
    Polarity polarity = Polarity::ActiveHigh;
    Trigger trigger = Trigger::Edge;
    bool masked = true;
    std::uint8_t destination = 0;  // a local APIC ID

    [[nodiscard]] constexpr std::uint64_t encode() const {
        return std::uint64_t{vector} | (polarity == Polarity::ActiveLow ? 1ull << 13 : 0) |
               (trigger == Trigger::Level ? 1ull << 15 : 0) | (masked ? 1ull << 16 : 0) |
               (std::uint64_t{destination} << 56);
    }
    static constexpr Redirection decode(std::uint64_t value) {
        return {static_cast<std::uint8_t>(value),
                (value & (1ull << 13)) != 0 ? Polarity::ActiveLow : Polarity::ActiveHigh,
                (value & (1ull << 15)) != 0 ? Trigger::Level : Trigger::Edge, (value & (1ull << 16)) != 0,
                static_cast<std::uint8_t>(value >> 56)};
    }
};

enum class IoApicError { NotPresent };

class IoApic {
public:
    // Reads the version register; an I/O APIC that answers all ones or zero is not there.
    static kernel::Result<IoApic, IoApicError> create(IoApicAccess& access, std::uint32_t gsi_base);

    [[nodiscard]] std::uint8_t id() const { return m_id; }
    [[nodiscard]] std::uint8_t version() const { return m_version; }
    [[nodiscard]] std::uint32_t pin_count() const { return m_pins; }
    [[nodiscard]] std::uint32_t gsi_base() const { return m_gsi_base; }
    [[nodiscard]] bool handles(std::uint32_t gsi) const { return gsi >= m_gsi_base && gsi - m_gsi_base < m_pins; }

    void mask_all();
    void set(std::uint32_t pin, const Redirection& redirection);
    void mask(std::uint32_t pin);
    [[nodiscard]] Redirection get(std::uint32_t pin);

private:
    IoApic(IoApicAccess& access, std::uint8_t id, std::uint8_t version, std::uint32_t pins, std::uint32_t gsi_base)
        : m_access(&access), m_id(id), m_version(version), m_pins(pins), m_gsi_base(gsi_base) {}

    IoApicAccess* m_access;
    std::uint8_t m_id;
    std::uint8_t m_version;
    std::uint32_t m_pins;
    std::uint32_t m_gsi_base;
};

}  // namespace apic
