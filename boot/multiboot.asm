; The 32-bit entries, multiboot (version 1) and PVH: checks the CPU, builds early page
; tables, enters long mode, enables SSE and calls into C++ on the boot stack with the
; protocol's magic and the physical address of its boot information.
;
; QEMU's -kernel loader refuses ELF64 through its ELF path, so the header sets the
; "address fields valid" flag (Multiboot 0.6.96 §3.1.1, flag bit 16) and the loader copies
; the file image to load_addr without reading ELF headers. GRUB honours the same fields.

MB_MAGIC        equ 0x1BADB002
MB_FLAG_ALIGN   equ 1 << 0          ; modules page aligned
MB_FLAG_MEMINFO equ 1 << 1          ; memory map wanted
MB_FLAG_ADDRESS equ 1 << 16         ; header_addr..entry_addr are valid
MB_FLAGS        equ MB_FLAG_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_ADDRESS
MB_LOADER_MAGIC equ 0x2BADB002

; PVH (Xen's x86/HVM direct boot ABI, docs/misc/pvh.pandoc): the loader enters the 32-bit
; address in this ELF note in protected mode, paging off, with ebx the physical address of
; struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
XEN_ELFNOTE_PHYS32_ENTRY equ 18
PVH_START_MAGIC equ 0x336ec578     ; hvm_start_info.magic; kernel/pvh.hpp

COM1            equ 0x3F8
DEBUG_EXIT_PORT equ 0xF4
EXIT_BOOT_FAIL  equ 102             ; kernel/exit.hpp: k_exit_boot_failure

extern __image_start
extern __load_end
extern __bss_end
extern init_stack_canary
extern kernel_entry

global boot_tsc_start
global boot_nx_enabled
global boot_stack_guard
global boot_stack_bottom
global boot_stack_top

section .multiboot progbits alloc noexec nowrite align=4
mb_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd mb_header                    ; header_addr
    dd __image_start                ; load_addr
    dd __load_end                   ; load_end_addr
    dd __bss_end                    ; bss_end_addr
    dd _start32                     ; entry_addr

; The ELF note (ELF gABI, "Note Section"): name "Xen", type 18, and the entry as a 64-bit
; word, as Linux writes it for 64-bit kernels; loaders read its low 32 bits.
section .note.Xen note alloc noexec nowrite align=4
    dd 4                            ; namesz: "Xen" and its NUL
    dd 8                            ; descsz
    dd XEN_ELFNOTE_PHYS32_ENTRY
    db "Xen", 0
    dq _start_pvh

section .boot32 progbits alloc exec nowrite align=16
bits 32
global _start32
_start32:
    mov ebp, eax                    ; loader magic (rdtsc clobbers eax)
    rdtsc                           ; boot time is measured from here
    mov [boot_tsc_start], eax
    mov [boot_tsc_start + 4], edx
    cli
    cld
    mov esi, ebx                    ; multiboot information (physical address)

    ; .bss is already zero: the loader zeroes up to the header's bss_end_addr (Multiboot
    ; 0.6.96 §3.1.3, "the boot loader initializes this area to zero"; QEMU and GRUB do).
    ; Zeroing it again here, where each ring-0 instruction may be emulated, cost 0.25 ms.
    mov esp, boot_stack_top

    cmp ebp, MB_LOADER_MAGIC
    jne not_multiboot
    jmp check_cpu

; The PVH entry. The loader has zeroed .bss too: it loads the ELF's segments, whose memory
; size beyond the file's is zero (ELF gABI, "Program Header"). No stack is given
; (pvh.pandoc: "all other processor registers ... are unspecified").
global _start_pvh
_start_pvh:
    rdtsc
    mov [boot_tsc_start], eax
    mov [boot_tsc_start + 4], edx
    cli
    cld
    mov ebp, PVH_START_MAGIC        ; tells kernel_entry which structure esi points to
    mov esi, ebx                    ; struct hvm_start_info (physical address)
    mov esp, boot_stack_top

check_cpu:
    ; CPUID exists when EFLAGS.ID can be toggled.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je no_long_mode

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29               ; LM
    jz no_long_mode
    mov ebx, edx                    ; keep NX (bit 20) for EFER below

    ; Early tables: the first 1 GiB identity mapped with 2 MiB pages. All three are in
    ; .data, filled when the image is assembled: where every ring-0 instruction is
    ; emulated, a loop filling boot_pd took a fifth of the boot, and zeroing the other
    ; two with .bss.early 0.45 ms. Every entry lets ring 3 in too (U/S, bit 2): the
    ; kernel may move there (kernel/privilege.hpp). Accessed and dirty are set already
    ; (bits 5 and 6), as in every table the kernel builds (kernel/page_table.cpp).
    ; kernel/memory.cpp replaces these tables with fine-grained ones early on.
    mov eax, boot_pml4
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov ecx, 0xC0000080             ; EFER
    rdmsr
    or eax, 1 << 8                  ; LME
    test ebx, 1 << 20
    jz .efer
    or eax, 1 << 11                 ; NXE
    mov byte [boot_nx_enabled], 1
.efer:
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1   ; PG | WP | PE
    mov cr0, eax
    lgdt [boot_gdt_pointer]
    jmp 0x08:long_mode

not_multiboot:
    mov esi, msg_not_multiboot
    jmp fail32
no_long_mode:
    mov esi, msg_no_long_mode
    jmp fail32

; Prints the NUL-terminated string at esi on COM1, then ends QEMU (isa-debug-exit) or halts.
fail32:
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    lodsb
    test al, al
    jz .done
    mov dx, COM1
    out dx, al
    jmp fail32
.done:
    mov al, EXIT_BOOT_FAIL + 1
    out DEBUG_EXIT_PORT, al
.halt:
    hlt
    jmp .halt

msg_not_multiboot: db "boot: not started by a multiboot loader", 13, 10, 0
msg_no_long_mode:  db "boot: this CPU has no 64-bit long mode", 13, 10, 0

align 8
boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code
    dq 0x00CF92000000FFFF           ; 0x10: data
boot_gdt_pointer:
    dw boot_gdt_pointer - boot_gdt - 1
    dd boot_gdt

bits 64
long_mode:
    xor eax, eax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax

    ; SSE: no x87 emulation, monitor coprocessor, OS saves FXSR state and takes #XM.
    mov rax, cr0
    and rax, ~(1 << 2)
    or rax, 1 << 1
    mov cr0, rax
    mov rax, cr4
    or rax, (1 << 9) | (1 << 10)
    mov cr4, rax

    mov rsp, boot_stack_top
    mov r12d, ebp                   ; the upper halves are undefined after the mode switch
    mov r13d, esi
    xor ebp, ebp                    ; ends the backtrace
    call init_stack_canary
    mov edi, r12d
    mov esi, r13d
    call kernel_entry
.hang:
    cli
    hlt
    jmp .hang

section .data
align 8
boot_tsc_start:  dq 0
boot_nx_enabled: db 0

align 4096
boot_pml4:
    dq boot_pdpt + 0x27             ; present | writable | user | accessed
    times 511 dq 0
boot_pdpt:
    dq boot_pd + 0x27
    times 511 dq 0
boot_pd:
%assign i 0
%rep 512
    dq (i << 21) | 0xE7             ; present | writable | user | accessed | dirty | 2 MiB
%assign i i + 1
%endrep

section .bss.stacks nobits alloc noexec write align=4096
boot_stack_guard:  resb 4096        ; unmapped by kernel/memory.cpp
boot_stack_bottom: resb 64 * 1024
boot_stack_top:
