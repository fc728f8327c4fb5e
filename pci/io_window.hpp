#pragma once
// A block of a device's registers, in memory space or in I/O space, in the spirit of
// SerenityOS's IOWindow: drivers (MSI-X tables, virtio transports, ECAM) read and write
// their registers through one of these and never learn which space it is. The kernel's
// windows are hardware_window.hpp; the host tests hand drivers a fake.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "kernel/io_access.hpp"

namespace pci {

// One access of a list (IoWindow::run).
using IoOp = kernel::IoAccess;

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
    // Runs the accesses in order, each as read<T> or write<T> would. The kernel's memory
    // windows run them as one list: one gate inside an MMIO batch (hardware_window.hpp).
    void run(std::span<IoOp> ops) {
        bool all_fit = true;
        for (const IoOp& op : ops) all_fit = all_fit && fits(op.offset, op.width);
        if (all_fit) {
            run_raw(ops);
            return;
        }
        for (IoOp& op : ops) {
            if (op.write) {
                if (valid(op.offset, op.width)) write_raw(op.offset, op.width, op.value);
            } else {
                op.value = valid(op.offset, op.width) ? read_raw(op.offset, op.width)
                           : op.width == 4            ? ~0u
                                                      : (1u << (8 * op.width)) - 1;
            }
        }
    }
    // Byte reads of [offset, offset + out.size()) as one list (run_raw), a chunk at a time:
    // a device configuration field read a byte at a time, such as a MAC address. Past the
    // window, all ones (counted once).
    void read_bytes(std::size_t offset, std::span<std::uint8_t> out) {
        if (offset > size() || out.size() > size() - offset) {
            ++m_stray;
            for (auto& byte : out) byte = 0xFF;
            return;
        }
        constexpr std::size_t k_chunk = 32;
        std::array<IoOp, k_chunk> loads;
        for (std::size_t start = 0; start < out.size(); start += k_chunk) {
            std::size_t n = out.size() - start < k_chunk ? out.size() - start : k_chunk;
            for (std::size_t i = 0; i < n; ++i) loads[i] = IoOp::read(offset + start + i, 1);
            run_raw(std::span(loads).first(n));
            for (std::size_t i = 0; i < n; ++i) out[start + i] = static_cast<std::uint8_t>(loads[i].value);
        }
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
    // Every access fits the window. One read_raw or write_raw each unless overridden.
    virtual void run_raw(std::span<IoOp> ops) {
        for (IoOp& op : ops) {
            if (op.write)
                write_raw(op.offset, op.width, op.value);
            else
                op.value = read_raw(op.offset, op.width);
        }
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
