#pragma once
// 16550 UART on COM1: the console. Polled output, no interrupts.

#include <cstdint>
#include <string_view>

namespace kernel {

class Serial {
public:
    static constexpr std::uint16_t k_com1 = 0x3F8;

    constexpr explicit Serial(std::uint16_t base) : m_base(base) {}
    void init() const;
    void write(std::string_view text) const;

private:
    // Register offsets from the base port (PC16550D data sheet, table 2).
    static constexpr std::uint16_t k_data = 0;              // THR/RBR; divisor low with DLAB
    static constexpr std::uint16_t k_interrupt_enable = 1;  // divisor high with DLAB
    static constexpr std::uint16_t k_fifo_control = 2;
    static constexpr std::uint16_t k_line_control = 3;
    static constexpr std::uint16_t k_modem_control = 4;
    // The line status register (5) and the 16-byte FIFO: cpu::uart_write.
    std::uint16_t m_base;
};

}  // namespace kernel
