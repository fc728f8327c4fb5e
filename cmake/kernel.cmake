# Flags and helpers for code that runs inside the unikernel.
#
# The kernel is compiled with the host triple so that libstdc++'s header-only parts work,
# but freestanding: no hosted library, no exceptions, no RTTI, no red zone (interrupts
# push onto the current stack), no PIC (the image is linked at a fixed address).

add_library(kernel_flags INTERFACE)
target_compile_options(kernel_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:
    ${UNIKERNEL_WARNINGS}
    -ffreestanding -nostdlib -fno-exceptions -fno-rtti -mno-red-zone -fno-pic -fno-pie
    # No SSE or MMX code: under the KVM of our development hosts every ring-0 instruction is
    # emulated, and the emulator has no SSE arithmetic (docs/kvm-on-this-host.md).
    -mno-sse -mno-sse2 -mno-mmx
    # A real canary in a global (the host triple would read it from %fs:0x28).
    -fstack-protector-strong -mstack-protector-guard=global
    # Frame pointers make the panic backtrace possible without unwind tables.
    -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
    -fno-asynchronous-unwind-tables -fno-unwind-tables
    # One vCPU: local statics need no locks.
    -fno-threadsafe-statics
    -ffunction-sections -fdata-sections>)
target_compile_definitions(kernel_flags INTERFACE UNIKERNEL_KERNEL=1)
target_include_directories(kernel_flags INTERFACE ${PROJECT_SOURCE_DIR})

set(UNIKERNEL_LINKER_SCRIPT ${PROJECT_SOURCE_DIR}/boot/linker.ld)
set(UNIKERNEL_KSYMS_ASM ${PROJECT_SOURCE_DIR}/tools/ksyms.asm)
set(UNIKERNEL_KSYMS_PY ${PROJECT_SOURCE_DIR}/tools/ksyms.py)

# unikernel_layer(NAME SOURCES ...): one layer of the kernel (kernel/, apic/, runtime/, ...)
# as an object library that every application image links in whole. Whole objects, not an
# archive: layers register themselves (KERNEL_INIT, driver tables) through linker sections,
# and nothing refers to those objects by name.
function(unikernel_layer name)
  cmake_parse_arguments(LAYER "" "" "SOURCES" ${ARGN})
  add_library(${name}_objs OBJECT ${LAYER_SOURCES})
  target_link_libraries(${name}_objs PRIVATE kernel_flags)
  set_property(GLOBAL APPEND PROPERTY UNIKERNEL_LAYERS ${name}_objs)
endfunction()

function(_unikernel_link_options target)
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX LINK_DEPENDS ${UNIKERNEL_LINKER_SCRIPT})
  target_link_options(${target} PRIVATE
    -nostdlib -static -fuse-ld=lld
    -Wl,-T,${UNIKERNEL_LINKER_SCRIPT}
    -Wl,--gc-sections -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none
    -Wl,--no-undefined)
endfunction()

# add_unikernel_app(NAME SOURCES a.cpp b.cpp ...)
#
# Builds NAME.elf: the application's objects, the kernel and the boot code, linked into
# one multiboot ELF64 image. The image carries its own symbol table for panics, made by
# linking twice: the first link (with an empty table) gives the function addresses; the
# table goes after .data, so the second link moves nothing that the table describes.
function(add_unikernel_app name)
  cmake_parse_arguments(APP "" "" "SOURCES" ${ARGN})
  add_library(${name}_objs OBJECT ${APP_SOURCES})
  target_link_libraries(${name}_objs PRIVATE kernel_flags)

  set(objects $<TARGET_OBJECTS:${name}_objs>)
  get_property(layers GLOBAL PROPERTY UNIKERNEL_LAYERS)
  foreach(layer ${layers})
    list(APPEND objects $<TARGET_OBJECTS:${layer}>)
  endforeach()
  set(bin ${CMAKE_CURRENT_BINARY_DIR})

  add_custom_command(OUTPUT ${bin}/${name}.ksyms0.o
    COMMAND nasm -f elf64 -o ${bin}/${name}.ksyms0.o ${UNIKERNEL_KSYMS_ASM}
    DEPENDS ${UNIKERNEL_KSYMS_ASM} VERBATIM)
  add_executable(${name}_pass1 ${bin}/${name}.ksyms0.o)
  target_sources(${name}_pass1 PRIVATE ${objects})
  _unikernel_link_options(${name}_pass1)

  add_custom_command(OUTPUT ${bin}/${name}.ksyms.bin ${bin}/${name}.ksyms.o
    COMMAND ${Python3_EXECUTABLE} ${UNIKERNEL_KSYMS_PY} $<TARGET_FILE:${name}_pass1> ${bin}/${name}.ksyms.bin
    COMMAND nasm -f elf64 -DKSYMS_FILE="${bin}/${name}.ksyms.bin" -o ${bin}/${name}.ksyms.o ${UNIKERNEL_KSYMS_ASM}
    DEPENDS ${name}_pass1 ${UNIKERNEL_KSYMS_PY} ${UNIKERNEL_KSYMS_ASM} VERBATIM)
  add_executable(${name} ${bin}/${name}.ksyms.o)
  target_sources(${name} PRIVATE ${objects})
  _unikernel_link_options(${name})
  set_target_properties(${name} PROPERTIES OUTPUT_NAME ${name}.elf)

  # The second link must not have moved any function the table names.
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND ${Python3_EXECUTABLE} ${UNIKERNEL_KSYMS_PY} --verify $<TARGET_FILE:${name}> ${bin}/${name}.ksyms.bin
    VERBATIM)
endfunction()
