; The kernel's own symbol table, for symbolized panics (see tools/ksyms.py for the format).
; Assembled empty for an image's first link, and with KSYMS_FILE for the second.
section .ksyms progbits alloc noexec nowrite align=8
%ifdef KSYMS_FILE
incbin KSYMS_FILE
%endif
