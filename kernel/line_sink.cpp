// LineSink (kernel/console.hpp) on every target: the console's own console_write does the
// writing, the serial port in the kernel, standard output on the hosted target.

#include "kernel/console.hpp"

namespace kernel {

void LineSink::write(std::string_view text) {
    while (!text.empty()) {
        std::size_t n = text.size() < m_buffer.size() - m_used ? text.size() : m_buffer.size() - m_used;
        for (std::size_t i = 0; i < n; ++i) m_buffer[m_used + i] = text[i];
        m_used += n;
        text.remove_prefix(n);
        if (m_used == m_buffer.size()) flush();
    }
}

void LineSink::flush() {
    if (m_used != 0) console_write(std::string_view(m_buffer.data(), m_used));
    m_used = 0;
}

}  // namespace kernel
