#include "kernel/serial.hpp"

#include <array>

#include "kernel/cpu.hpp"

namespace kernel {

void Serial::init() const {
    using cpu::out8;
    out8(m_base + k_interrupt_enable, 0x00);
    out8(m_base + k_line_control, 0x80);  // DLAB: the next two registers are the divisor
    out8(m_base + k_data, 0x01);          // 115200 baud
    out8(m_base + k_interrupt_enable, 0x00);
    out8(m_base + k_line_control, 0x03);   // 8 data bits, no parity, one stop bit
    out8(m_base + k_fifo_control, 0xC7);   // enable and clear FIFOs, 14-byte threshold
    out8(m_base + k_modem_control, 0x0B);  // DTR, RTS, OUT2
}

void Serial::write(std::string_view text) const {
    // Terminals want CR LF. The text goes out with its newlines expanded, a buffer at a
    // time: one gate from ring 3 for a line (cpu::uart_write).
    std::array<char, 256> buffer;
    std::size_t used = 0;
    for (char c : text) {
        if (used + 2 > buffer.size()) {
            cpu::uart_write(m_base, buffer.data(), used);
            used = 0;
        }
        if (c == '\n') buffer[used++] = '\r';
        buffer[used++] = c;
    }
    cpu::uart_write(m_base, buffer.data(), used);
}

}  // namespace kernel
