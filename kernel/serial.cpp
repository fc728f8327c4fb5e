#include "kernel/serial.hpp"

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

void Serial::write_raw(const char* data, std::size_t length) const {
    // Once the transmitter reports empty, a whole FIFO's worth can go out in one burst.
    while (length > 0) {
        while ((cpu::in8(m_base + k_line_status) & k_line_status_thr_empty) == 0) cpu::pause();
        std::size_t burst = length < k_fifo_depth ? length : k_fifo_depth;
        cpu::out8_string(m_base + k_data, data, burst);
        data += burst;
        length -= burst;
    }
}

void Serial::write(std::string_view text) const {
    // Terminals want CR LF; the rest goes out in runs between newlines.
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\n') continue;
        write_raw(text.data() + start, i - start);
        write_raw("\r\n", 2);
        start = i + 1;
    }
    write_raw(text.data() + start, text.size() - start);
}

}  // namespace kernel
