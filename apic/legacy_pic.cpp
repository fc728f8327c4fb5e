#include "apic/legacy_pic.hpp"

#include <cstdint>

#include "kernel/cpu.hpp"

namespace apic::legacy {
namespace {

using kernel::cpu::IoPort;

// Intel 8259A datasheet, "Programming the 8259A": command and data ports of each PIC.
constexpr IoPort<std::uint8_t> k_master_command{0x20};
constexpr IoPort<std::uint8_t> k_master_data{0x21};
constexpr IoPort<std::uint8_t> k_slave_command{0xA0};
constexpr IoPort<std::uint8_t> k_slave_data{0xA1};

constexpr std::uint8_t k_icw1_init = 0x11;  // ICW1: initialise, edge triggered, cascaded, ICW4 follows
constexpr std::uint8_t k_master_vector_base = 0x20;
constexpr std::uint8_t k_slave_vector_base = 0x28;
constexpr std::uint8_t k_icw3_master_slave_on_irq2 = 1u << 2;
constexpr std::uint8_t k_icw3_slave_identity = 2;
constexpr std::uint8_t k_icw4_8086_mode = 0x01;
constexpr std::uint8_t k_mask_all = 0xFF;  // OCW1

// Intel 8254 datasheet: control word for counter 0, LSB then MSB, mode 0 (interrupt on
// terminal count: it counts down once and stays quiet), binary.
constexpr IoPort<std::uint8_t> k_pit_control{0x43};
constexpr IoPort<std::uint8_t> k_pit_counter0{0x40};
constexpr std::uint8_t k_pit_counter0_one_shot = 0x30;

}  // namespace

void silence() {
    // Masked before the re-initialisation, so nothing is raised while it is half done.
    k_master_data.write(k_mask_all);
    k_slave_data.write(k_mask_all);
    k_master_command.write(k_icw1_init);
    k_slave_command.write(k_icw1_init);
    k_master_data.write(k_master_vector_base);  // ICW2
    k_slave_data.write(k_slave_vector_base);
    k_master_data.write(k_icw3_master_slave_on_irq2);  // ICW3
    k_slave_data.write(k_icw3_slave_identity);
    k_master_data.write(k_icw4_8086_mode);  // ICW4
    k_slave_data.write(k_icw4_8086_mode);
    // Initialisation clears the masks (8259A: after ICW1 the IMR is cleared): mask again.
    k_master_data.write(k_mask_all);
    k_slave_data.write(k_mask_all);
    k_pit_control.write(k_pit_counter0_one_shot);
    k_pit_counter0.write(0);
    k_pit_counter0.write(0);
}

}  // namespace apic::legacy
