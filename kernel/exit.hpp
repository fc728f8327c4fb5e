#pragma once
// Ending the unikernel: QEMU's isa-debug-exit device when present (the guest's status
// becomes QEMU's), ACPI soft-off otherwise, and a halt if neither works.
//
// QEMU exits with (value << 1) | 1 for a value written to the debug-exit port. The kernel
// writes code + 1, so QEMU's own failure status 1 can never be mistaken for a guest exit:
// tools/run maps status s >= 3 back to (s - 3) / 2.

namespace kernel {

constexpr int k_exit_success = 0;
constexpr int k_exit_failure = 1;
constexpr int k_exit_panic = 101;
constexpr int k_exit_boot_failure = 102;  // also in boot/multiboot.asm
constexpr int k_exit_max = 126;

[[noreturn]] void exit(int code);

}  // namespace kernel
