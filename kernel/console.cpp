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

void console_write(std::string_view text) { k_serial.write(text); }
fmt::Sink& console_sink() { return g_console_sink; }

}  // namespace kernel
