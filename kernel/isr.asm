; Interrupt entry stubs. Each pushes its vector (and a zero where the CPU pushes no error
; code) and joins isr_common, which saves every general register and the SSE state before
; calling C++: kernel code is compiled with SSE, so an interrupt must not change XMM
; registers under the code it interrupted.

extern interrupt_dispatch
extern gate_entry
global isr_stub_table
global isr_common

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

section .rodata
align 8
align 8
isr_stub_table:
%assign i 0
%rep 256
%if i == 6
    dq gate_entry                   ; #UD: a privilege gate, or else a fault (gates/gates.asm)
%else
    dq isr_%[i]
%endif
%assign i i + 1
%endrep
