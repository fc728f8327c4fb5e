// The console on the hosted target: standard output, written with write(2) so a line
// leaves in one piece and nothing waits in a stdio buffer when the program dies.

#include <unistd.h>

#include <cerrno>

#include "kernel/console.hpp"

namespace kernel {
namespace {

class StdoutSink final : public fmt::Sink {
public:
    void write(std::string_view text) override { console_write(text); }
};

constinit StdoutSink g_stdout_sink;

}  // namespace

void console_init() {}

void console_write(std::string_view text) {
    while (!text.empty()) {
        ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // stdout is gone: nowhere to say so either
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

fmt::Sink& console_sink() { return g_stdout_sink; }

}  // namespace kernel
