;;; The privilege gates (kernel/gates/gate.hpp). When the kernel runs in ring 3 it reaches
;;; the instructions that need ring 0 (or I/O privilege) with `ud1 r10, r10`, r10 naming
;;; the gate (enum Gate, in the order of privilege_gate_table below). An exception is the
;;; one way into ring 0 that every hypervisor we run on delivers from ring 3: the kvm-pvm
;;; hosts answer `int n` with #UD, return from `syscall` still in ring 3, and run ring 3
;;; with IOPL 0 whatever the guest asks for (docs/kvm-on-this-host.md).
;;;
;;; The #UD entry (gate_entry, isr.asm's vector 6) picks out gates by that exact encoding,
;;; which compilers do not emit (their traps are ud2, or ud1 with a memory operand); any
;;; other #UD is reported as before, except that the report shows the faulting RIP in r11.
;;; Each gate runs its instruction on the caller's registers and returns past the ud1 at
;;; once: where a hypervisor emulates ring-0 code, every instruction here costs
;;; microseconds. At entry [rsp] holds the ud1's RIP, then CS, RFLAGS, RSP and SS. r11 is
;;; scratch.

extern isr_common
global gate_entry

section .text
bits 64

GATE_COUNT equ 29
GATE_OPCODE equ 0xD2B90F4D         ; ud1 r10, r10: REX.WRB 0F B9, ModRM 11 010 010
GATE_OPCODE_LENGTH equ 4

%macro gate_return 0
    add qword [rsp], GATE_OPCODE_LENGTH
    iretq
%endmacro

gate_entry:
    test byte [rsp + 8], 3          ; only ring 3 calls gates
    jz .fault
    mov r11, [rsp]
    cmp dword [r11], GATE_OPCODE
    jne .fault
    cmp r10, GATE_COUNT
    jae .fault
    jmp [privilege_gate_table + r10 * 8]
.fault:
    push 0
    push 6
    jmp isr_common

gate_wrmsr:                         ; ecx = MSR, edx:eax = value
    wrmsr
    gate_return
gate_rdmsr:                         ; ecx = MSR; edx:eax = value
    rdmsr
    gate_return
gate_halt:                          ; sti; hlt, and return with interrupts enabled
    or qword [rsp + 16], 1 << 9
    sti
    hlt
    gate_return
gate_halt_unless_changed:           ; rsi = a counter, rax = the value the caller saw; entered
    or qword [rsp + 16], 1 << 9     ; with interrupts off (an interrupt gate), returns with
    cmp [rsi], rax                  ; them on; halts only if the counter has not moved
    jne .moved
    sti
    hlt
.moved:
    gate_return
gate_halt_forever:
    cli
    hlt
    jmp gate_halt_forever
gate_write_cr3:                     ; rax = new CR3
    mov cr3, rax
    gate_return
gate_invlpg:                        ; rax = address
    invlpg [rax]
    gate_return
gate_read_cr0:
    mov rax, cr0
    gate_return
gate_read_cr2:
    mov rax, cr2
    gate_return
gate_read_cr3:
    mov rax, cr3
    gate_return
gate_read_cr4:
    mov rax, cr4
    gate_return
gate_enter_ring0:                   ; resume the caller in ring 0, on its own stack
    mov qword [rsp + 8], 0x08       ; kernel code (kernel/gdt.hpp)
    mov qword [rsp + 32], 0x10      ; kernel data
    gate_return
gate_disable_interrupts:
    and qword [rsp + 16], ~(1 << 9)
    gate_return
gate_enable_interrupts:
    or qword [rsp + 16], 1 << 9
    gate_return
gate_read_flags:                    ; rax = the caller's RFLAGS
    mov rax, [rsp + 16]
    gate_return
gate_out8:                          ; dx = port, al/ax/eax = value
    out dx, al
    gate_return
gate_out16:
    out dx, ax
    gate_return
gate_out32:
    out dx, eax
    gate_return
gate_in8:                           ; dx = port; al/ax/eax = value
    in al, dx
    gate_return
gate_in16:
    in ax, dx
    gate_return
gate_in32:
    in eax, dx
    gate_return
gate_uart_write:                    ; dx = a 16550's base port, rsi = bytes, rcx = count:
    jrcxz .done                     ; each time the transmitter reports empty (LSR bit 5),
    mov r10, rcx                    ; up to a FIFO's 16 bytes with one rep outsb
.wait:
    add dx, 5
    in al, dx
    sub dx, 5
    test al, 0x20
    jnz .burst
    pause
    jmp .wait
.burst:
    mov rcx, r10
    cmp rcx, 16
    jbe .send
    mov ecx, 16
.send:
    sub r10, rcx
    rep outsb
    test r10, r10
    jnz .wait
.done:
    gate_return
; An index register, then its data register (PCI's CF8/CFC): one gate instead of two.
; dx = index port, eax = index, cx = data port; al/ax/eax = value read, or esi = written.
gate_select_in8:
    out dx, eax
    mov edx, ecx
    in al, dx
    gate_return
gate_select_in16:
    out dx, eax
    mov edx, ecx
    in ax, dx
    gate_return
gate_select_in32:
    out dx, eax
    mov edx, ecx
    in eax, dx
    gate_return
gate_select_out8:
    out dx, eax
    mov edx, ecx
    mov eax, esi
    out dx, al
    gate_return
gate_select_out16:
    out dx, eax
    mov edx, ecx
    mov eax, esi
    out dx, ax
    gate_return
gate_select_out32:
    out dx, eax
    mov edx, ecx
    mov eax, esi
    out dx, eax
    gate_return
; The queue of deferred device accesses (gates/deferred.hpp): rsi = 16-byte entries
; {u64 address, u32 value, u8 width, u8 kind, u16 index port}, rcx = count. kind bit 0: a
; load, whose value goes back into its entry; bit 1: port I/O (address = the port); bit 2:
; a 32-bit MSR write (address = the MSR). A nonzero index port: an index/data port pair,
; the index in the address's low half and the data port in its next word. Otherwise MMIO.
gate_device_list:
    mov r11, rcx
    test r11, r11
    jz .done
.next:
    movzx edx, word [rsi + 14]
    test edx, edx
    jnz .select
    mov rdx, [rsi]
    test byte [rsi + 13], 2
    jnz .port
    test byte [rsi + 13], 4
    jnz .msr
    test byte [rsi + 13], 1
    jnz .load
    mov eax, [rsi + 8]
    cmp byte [rsi + 12], 2
    je .store16
    ja .store32
    mov [rdx], al
    jmp .step
.store16:
    mov [rdx], ax
    jmp .step
.store32:
    mov [rdx], eax
    jmp .step
.load:
    cmp byte [rsi + 12], 2
    je .load16
    ja .load32
    movzx eax, byte [rdx]
    jmp .loaded
.load16:
    movzx eax, word [rdx]
    jmp .loaded
.load32:
    mov eax, [rdx]
.loaded:
    mov [rsi + 8], eax
.step:
    add rsi, 16
    dec r11
    jnz .next
.done:
    gate_return
.msr:
    mov ecx, edx
    mov eax, [rsi + 8]
    xor edx, edx
    wrmsr
    jmp .step
.select:                            ; the index port (dx) first, then the data port
    mov eax, [rsi]
    out dx, eax
    movzx edx, word [rsi + 4]
.port:                              ; dx = the port
    test byte [rsi + 13], 1
    jnz .port_in
    mov eax, [rsi + 8]
    cmp byte [rsi + 12], 2
    je .out16
    ja .out32
    out dx, al
    jmp .step
.out16:
    out dx, ax
    jmp .step
.out32:
    out dx, eax
    jmp .step
.port_in:
    xor eax, eax
    cmp byte [rsi + 12], 2
    je .in16
    ja .in32
    in al, dx
    jmp .loaded
.in16:
    in ax, dx
    jmp .loaded
.in32:
    in eax, dx
    jmp .loaded

section .rodata
align 8
privilege_gate_table:
    dq gate_wrmsr
    dq gate_rdmsr
    dq gate_halt
    dq gate_halt_forever
    dq gate_write_cr3
    dq gate_invlpg
    dq gate_read_cr0
    dq gate_read_cr2
    dq gate_read_cr3
    dq gate_read_cr4
    dq gate_enter_ring0
    dq gate_disable_interrupts
    dq gate_enable_interrupts
    dq gate_read_flags
    dq gate_out8
    dq gate_out16
    dq gate_out32
    dq gate_in8
    dq gate_in16
    dq gate_in32
    dq gate_uart_write
    dq gate_select_in8
    dq gate_select_in16
    dq gate_select_in32
    dq gate_select_out8
    dq gate_select_out16
    dq gate_select_out32
    dq gate_device_list
    dq gate_halt_unless_changed

