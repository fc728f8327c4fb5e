#pragma once
// Bring-up hooks for the layers above the kernel. A layer registers a function with
//
//     KERNEL_INIT(20, "apic", init_apic);
//
// and kernel_entry runs all of them, in stage order, before main. The kernel knows no
// list of drivers: the linker gathers the registrations (section .kernel_init.NN).
//
// Stages: 10 interrupt controllers, 20 timers, 30 buses, 40 drivers, 50 late.

namespace kernel {

struct InitCall {
    const char* name;
    void (*function)();
};

void run_init_calls();

}  // namespace kernel

#define KERNEL_INIT_CONCAT2(a, b) a##b
#define KERNEL_INIT_CONCAT(a, b) KERNEL_INIT_CONCAT2(a, b)
#define KERNEL_INIT(stage, name, function)                                                                  \
    [[gnu::used, gnu::section(".kernel_init." #stage)]] static const ::kernel::InitCall KERNEL_INIT_CONCAT( \
        kernel_init_call_, __LINE__) = {name, function}
