#pragma once
// The PC's legacy interrupt sources: the two 8259A PICs and the 8254 PIT's channel 0.
// Kernel only. The APIC layer delivers every interrupt; these must stay silent.

namespace apic::legacy {

// Remaps the PICs to vectors 0x20-0x2F, away from the CPU's exceptions, so a stray
// interrupt from them is recognisable, then masks all their lines. Also stops the PIT's
// periodic tick that firmware leaves running: the kernel has no periodic tick.
void silence();

}  // namespace apic::legacy
