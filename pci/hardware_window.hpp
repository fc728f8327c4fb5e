#pragma once
// The kernel's IoWindow: a stretch of a memory BAR mapped uncached (through
// kernel::MmioWindow), or of an I/O BAR reached with in/out (kernel::cpu::read_port and
// write_port). Where the kernel runs in ring 3 either kind's stores wait with the
// deferred device stores (kernel/gates/deferred.hpp). Kernel only.

#include <cstdint>

#include "kernel/mmio.hpp"
#include "kernel/result.hpp"
#include "pci/bar.hpp"
#include "pci/io_window.hpp"

namespace pci {

enum class MapError {
    Unassigned,  // the BAR has no address
    OutsideBar,  // the stretch does not fit in the BAR
    NoMapping,   // the page tables could not take the mapping
    BadPorts,    // an I/O range past port 0xFFFF
};
const char* to_string(MapError error);

class HardwareWindow final : public IoWindow {
public:
    HardwareWindow() = default;
    // `length` bytes from `offset` into the BAR.
    static kernel::Result<HardwareWindow, MapError> map(const Bar& bar, std::uint64_t offset, std::uint64_t length);
    // Device memory that no BAR describes (ECAM).
    static kernel::Result<HardwareWindow, MapError> map_memory(std::uint64_t physical, std::uint64_t length);

    [[nodiscard]] std::size_t size() const override { return m_size; }
    [[nodiscard]] bool is_io() const { return m_io; }

protected:
    std::uint32_t read_raw(std::size_t offset, unsigned width) override;
    void write_raw(std::size_t offset, unsigned width, std::uint32_t value) override;
    void notify_raw(std::size_t offset, unsigned width, std::uint32_t value) override;

private:
    kernel::MmioWindow m_memory;
    std::uint16_t m_port = 0;
    bool m_io = false;
    std::size_t m_size = 0;
};

}  // namespace pci
