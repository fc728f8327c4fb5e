#include "kernel/console.hpp"

#include "kernel/serial.hpp"

namespace kernel {
namespace {

constexpr Serial k_serial{Serial::k_com1};

class ConsoleSink final : public fmt::Sink {
public:
    void write(std::string_view text) override { k_serial.write(text); }
};

constinit ConsoleSink g_console_sink;

}  // namespace

void console_init() { k_serial.init(); }

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
    if (m_used != 0) k_serial.write(std::string_view(m_buffer.data(), m_used));
    m_used = 0;
}
void console_write(std::string_view text) { k_serial.write(text); }
fmt::Sink& console_sink() { return g_console_sink; }

}  // namespace kernel
