#pragma once
// The kernel console (COM1). Usable from the first C++ instruction: no heap, no
// constructors.
//
//     kernel::println("heap: {} KiB free", free / 1024);

#include <array>
#include <cstddef>

#include "kernel/format.hpp"

namespace kernel {

void console_init();
void console_write(std::string_view text);
fmt::Sink& console_sink();

// Collects one print call and writes it in one go: each write to the serial port costs
// exits to the hypervisor, so a line in one write is far cheaper than a write per piece.
// A line longer than the buffer goes out in buffer-sized parts.
class LineSink final : public fmt::Sink {
public:
    void write(std::string_view text) override;
    void flush();

private:
    std::array<char, 256> m_buffer{};
    std::size_t m_used = 0;
};

template <typename... Args>
void print(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    LineSink line;
    fmt::format_to<Args...>(line, format, args...);
    line.flush();
}

template <typename... Args>
void println(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    LineSink line;
    fmt::format_to<Args...>(line, format, args...);
    line.write("\n");
    line.flush();
}

}  // namespace kernel
