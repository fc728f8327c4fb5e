#pragma once
// Reads physical memory by address. Firmware structures (multiboot information, ACPI
// tables) are parsed through this, so the parsers run unchanged against a fake memory
// image in host tests.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace kernel {

class PhysicalReader {
public:
    // Copies out.size() bytes from address; false if any of them is not readable.
    [[nodiscard]] virtual bool read(std::uint64_t address, std::span<std::byte> out) const = 0;

    template <typename T>
    [[nodiscard]] std::optional<T> read_object(std::uint64_t address) const {
        T value;
        if (!read(address, std::as_writable_bytes(std::span(&value, 1)))) return std::nullopt;
        return value;
    }

protected:
    PhysicalReader() = default;
    PhysicalReader(const PhysicalReader&) = default;
    PhysicalReader& operator=(const PhysicalReader&) = default;
    ~PhysicalReader() = default;
};

// A reader over a span of bytes that stands for physical memory from base.
class SpanReader final : public PhysicalReader {
public:
    SpanReader(std::uint64_t base, std::span<const std::byte> bytes) : m_base(base), m_bytes(bytes) {}
    [[nodiscard]] bool read(std::uint64_t address, std::span<std::byte> out) const override {
        if (address < m_base || address - m_base > m_bytes.size() || out.size() > m_bytes.size() - (address - m_base)) {
            return false;
        }
        if (!out.empty()) std::memcpy(out.data(), m_bytes.data() + (address - m_base), out.size());
        return true;
    }

private:
    std::uint64_t m_base;
    std::span<const std::byte> m_bytes;
};

}  // namespace kernel
