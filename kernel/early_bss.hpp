#pragma once
// .bss is zeroed in two parts. boot/multiboot.asm zeroes only .bss.early, in ring 0 where
// that may be emulated instruction by instruction; kernel_entry zeroes the rest as soon as
// it runs in ring 3 (kernel/privilege.hpp), where it is a plain native memset. Every
// zero-initialized object that code before that point writes must be KERNEL_EARLY_BSS,
// or the memset would wipe it. Today: the GDT, TSS and IDT, and the boot phase marks (the
// early page tables are in .data, boot/multiboot.asm).

#define KERNEL_EARLY_BSS [[gnu::section(".bss.early")]]

namespace kernel {

// Zeroes .bss except .bss.early and the stacks. Once, from kernel_entry.
void zero_late_bss();

}  // namespace kernel
