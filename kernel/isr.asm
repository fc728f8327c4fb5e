; Interrupt entry stubs. Each pushes its vector (and a zero where the CPU pushes no error
; code) and joins isr_common, which saves every general register and the SSE state before
; calling C++: kernel code is compiled with SSE, so an interrupt must not change XMM
; registers under the code it interrupted.

extern interrupt_dispatch
global isr_stub_table

section .text
bits 64

; Intel SDM vol. 3A §6.15: vectors 8, 10-14, 17, 21, 29 and 30 push an error code.
%assign i 0
%rep 256
isr_%[i]:
%if i == 8 || (i >= 10 && i <= 14) || i == 17 || i == 21 || i == 29 || i == 30
    push i
%else
    push 0
    push i
%endif
    jmp isr_common
%assign i i + 1
%endrep

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rbx, rsp                    ; InterruptFrame*, 16-byte aligned here
    sub rsp, 512
    fxsave64 [rsp]
    mov rdi, rbx
    cld
    call interrupt_dispatch
    fxrstor64 [rsp]
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                     ; vector and error code
    iretq

;;; Privilege gates (kernel/privilege.hpp). When the kernel runs in ring 3 it reaches the
;;; instructions that need ring 0 (or I/O privilege) with `ud1 r10, r10`, r10 naming the
;;; gate (kernel/cpu.hpp, enum Gate, in the order of privilege_gate_table below). An
;;; exception is the one way into ring 0 that every hypervisor we run on delivers from
;;; ring 3: the kvm-pvm hosts answer `int n` with #UD, return from `syscall` still in
;;; ring 3, and run ring 3 with IOPL 0 whatever the guest asks for
;;; (docs/kvm-on-this-host.md).
;;;
;;; The #UD entry below picks out gates by that exact encoding, which compilers do not
;;; emit (their traps are ud2, or ud1 with a memory operand); any other #UD is reported
;;; as before, except that the report shows the faulting RIP in r11. Each gate runs its
;;; instruction on the caller's registers and returns past the ud1 at once: where a
;;; hypervisor emulates ring-0 code, every instruction here costs microseconds. At entry
;;; [rsp] holds the ud1's RIP, then CS, RFLAGS, RSP and SS. r11 is scratch.

GATE_COUNT equ 31
GATE_OPCODE equ 0xD2B90F4D         ; ud1 r10, r10: REX.WRB 0F B9, ModRM 11 010 010
GATE_OPCODE_LENGTH equ 4

%macro gate_return 0
    add qword [rsp], GATE_OPCODE_LENGTH
    iretq
%endmacro

invalid_opcode_entry:
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
; Batches: one gate for a whole list, a few emulated instructions per entry.
gate_out8_list:                     ; rsi = {u16 port, u8 value, u8 unused} entries, rcx = count
    jrcxz .done
.next:
    mov dx, [rsi]
    mov al, [rsi + 2]
    out dx, al
    add rsi, 4
    loop .next
.done:
    gate_return
gate_mmio_list:                     ; rsi = {u64 address, u32 value, u8 width, u8 load,
    jrcxz .done                     ; u16 index port} entries, rcx = count; a load's value
.next:                              ; goes back into its entry
    movzx edx, word [rsi + 14]
    test edx, edx
    jnz .ports
    mov rdx, [rsi]
    cmp byte [rsi + 13], 0
    jne .load
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
    loop .next
.done:
    gate_return
.ports:                             ; an index port (dx) and a data port: the index is
    mov eax, [rsi]                  ; the address's low half, the data port its next word
    out dx, eax
    movzx edx, word [rsi + 4]
    cmp byte [rsi + 13], 0
    jne .port_in
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
gate_msr_list:                      ; rsi = {u32 MSR, u32 read, u64 value} entries,
    jrcxz .done                     ; rcx = count; a read's value goes back into its entry
    mov r11, rcx
.next:
    mov ecx, [rsi]
    cmp dword [rsi + 4], 0
    jne .read
    mov eax, [rsi + 8]
    mov edx, [rsi + 12]
    wrmsr
    jmp .step
.read:
    rdmsr
    mov [rsi + 8], eax
    mov [rsi + 12], edx
.step:
    add rsi, 16
    dec r11
    jnz .next
.done:
    gate_return

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
    dq gate_out8_list
    dq gate_mmio_list
    dq gate_msr_list
    dq gate_halt_unless_changed

align 8
isr_stub_table:
%assign i 0
%rep 256
%if i == 6
    dq invalid_opcode_entry
%else
    dq isr_%[i]
%endif
%assign i i + 1
%endrep
