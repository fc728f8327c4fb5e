// examples/hello/main.cpp
#include "kernel/kernel.hpp"

int main() {
    kernel::println("Hello from the unikernel!");
    for (const auto& setting : kernel::command_line().settings())
        kernel::println("  setting {} = {}", setting.key, setting.value);
    // exit=N on the command line: the exit status of the guest, and of tools/run (0-126).
    auto status = kernel::command_line().get_u64("exit").value_or(0);
    return status > 126 ? 1 : static_cast<int>(status);
}
