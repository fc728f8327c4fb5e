#pragma once
// One access of a list of device register accesses (kernel::MmioWindow::run,
// pci::IoWindow::run): a read leaves what it read in `value`. Portable: the host tests'
// register windows take the same lists.

#include <cstddef>
#include <cstdint>

namespace kernel {

struct IoAccess {
    std::size_t offset = 0;
    std::uint32_t value = 0;
    std::uint8_t width = 4;  // 1, 2 or 4
    bool write = false;

    static constexpr IoAccess read(std::size_t offset, std::uint8_t width) { return {offset, 0, width, false}; }
    static constexpr IoAccess store(std::size_t offset, std::uint8_t width, std::uint32_t value) {
        return {offset, value, width, true};
    }
};

}  // namespace kernel
