// The smallest application: print, look at the command line, exit with success.

#include "kernel/kernel.hpp"

int main() {
    kernel::println("Hello from the unikernel!");
    for (const auto& setting : kernel::command_line().settings()) {
        kernel::println("  setting {} = {}", setting.key, setting.value);
    }
    return kernel::command_line().get_u64("exit").value_or(0) > 126
               ? 1
               : static_cast<int>(kernel::command_line().get_u64("exit").value_or(0));
}
