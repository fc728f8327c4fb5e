#pragma once
// The kernel console (COM1). Usable from the first C++ instruction: no heap, no
// constructors.
//
//     kernel::println("heap: {} KiB free", free / 1024);

#include "kernel/format.hpp"

namespace kernel {

void console_init();
void console_write(std::string_view text);
fmt::Sink& console_sink();

template <typename... Args>
void print(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    fmt::format_to<Args...>(console_sink(), format, args...);
}

template <typename... Args>
void println(fmt::FormatString<std::type_identity_t<Args>...> format, const Args&... args) {
    fmt::format_to<Args...>(console_sink(), format, args...);
    console_write("\n");
}

}  // namespace kernel
