#pragma once
// A block of a device's registers, in memory space or in I/O space, in the spirit of
// SerenityOS's IOWindow: drivers (MSI-X tables, virtio transports, ECAM) read and write
// their registers through one of these and never learn which space it is. The kernel's
// windows are hardware_window.hpp; the host tests hand drivers a fake.

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace pci {

class IoWindow {
public:
    [[nodiscard]] virtual std::size_t size() const = 0;

    // An access that is misaligned or runs past size() reaches nothing: a read gives all
    // ones and a write is dropped, as a bus does for an address nobody decodes. Register
    // offsets come from constexpr tables and checked capabilities, so the count of such
    // accesses stays 0 unless a table or a check is wrong.
    template <typename T>
    [[nodiscard]] T read(std::size_t offset) {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4);
        if (!valid(offset, sizeof(T))) return static_cast<T>(~T{0});
        return static_cast<T>(read_raw(offset, sizeof(T)));
    }
    template <typename T>
    void write(std::size_t offset, T value) {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4);
        if (valid(offset, sizeof(T))) write_raw(offset, sizeof(T), value);
    }
    // A doorbell (a virtqueue notification): a store the device must see now, never left
    // waiting with deferred stores where the kernel runs in ring 3 (kernel/gates/).
    template <typename T>
    void notify(std::size_t offset, T value) {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4);
        if (valid(offset, sizeof(T))) notify_raw(offset, sizeof(T), value);
    }
    // Byte reads of [offset, offset + out.size()): a device configuration field read a
    // byte at a time, such as a MAC address. Past the window, all ones (counted once).
    void read_bytes(std::size_t offset, std::span<std::uint8_t> out) {
        if (offset > size() || out.size() > size() - offset) {
            ++m_stray;
            for (auto& byte : out) byte = 0xFF;
            return;
        }
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(read_raw(offset + i, 1));
    }
    [[nodiscard]] std::uint64_t stray_accesses() const { return m_stray; }

protected:
    IoWindow() = default;
    IoWindow(const IoWindow&) = default;
    IoWindow& operator=(const IoWindow&) = default;
    ~IoWindow() = default;

    // width is 1, 2 or 4 and offset is aligned to it and inside the window.
    virtual std::uint32_t read_raw(std::size_t offset, unsigned width) = 0;
    virtual void write_raw(std::size_t offset, unsigned width, std::uint32_t value) = 0;
    // A store as write_raw, but at once (notify); write_raw unless overridden.
    virtual void notify_raw(std::size_t offset, unsigned width, std::uint32_t value) {
        write_raw(offset, width, value);
    }

private:
    [[nodiscard]] bool fits(std::size_t offset, unsigned width) const {
        return (width == 1 || width == 2 || width == 4) && offset % width == 0 && offset <= size() &&
               width <= size() - offset;
    }
    bool valid(std::size_t offset, unsigned width) {
        if (fits(offset, width)) return true;
        ++m_stray;
        return false;
    }

    std::uint64_t m_stray = 0;
};

}  // namespace pci
