// The hosted target's entry: from the C library's call of main to the application's
// main, as kernel/entry.cpp is on the unikernel.
//
// Applications define `int main()` and read their settings from kernel::command_line().
// On Linux the C library calls main(argc, argv, envp), so the program is linked with
// `-Wl,--wrap=main` (add_hosted_app does it): the C library's reference to main lands on
// __wrap_main here, which turns argv into the command line, brings up the TAP device that
// tap= names, and then calls the application's main as __real_main. Unlike a function in
// .init_array, this runs after every global constructor, and the application's main
// stays the plain `main` that gdb knows.

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "hosted/epoll_platform.hpp"
#include "hosted/poller.hpp"
#include "hosted/tap_device.hpp"
#include "kernel/kernel.hpp"
#include "netif/device.hpp"

// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming): the names are
// the linker's (--wrap)
extern "C" int __real_main();
extern "C" int __wrap_main(int argc, char** argv);
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming)

namespace kernel {
namespace {

constinit multiboot::BootInfo g_boot_info;
constinit CommandLine g_command_line;
runtime::Instant g_process_start;
std::uint64_t g_boot_ns = 0;

// The earliest code of ours that runs: the start of "boot" for boot_duration_ns().
[[gnu::constructor(101)]] void note_process_start() { g_process_start = hosted::monotonic_now(); }

// argv joined with spaces, in the multiboot command line's syntax: an argument holding a
// space becomes key="value" (the parser's quoting), so `'name=my echo'` stays one setting.
std::string join_arguments(int argc, char** argv) {
    std::string text;
    for (int i = 0; i < argc; ++i) {
        std::string_view argument(argv[i]);
        if (i != 0) text += ' ';
        std::size_t equals = argument.find('=');
        if (i != 0 && equals != std::string_view::npos && argument.find(' ') != std::string_view::npos &&
            argument.find('"') == std::string_view::npos) {
            text.append(argument.substr(0, equals + 1));
            text += '"';
            text.append(argument.substr(equals + 1));
            text += '"';
        } else {
            text.append(argument);
        }
    }
    return text;
}

void report_command_line() {
    for (const auto& problem : g_command_line.problems()) println("hosted: command line: {}", problem);
    if (g_command_line.unreported_problems() != 0)
        println("hosted: command line: {} more problems not shown", g_command_line.unreported_problems());
}

// A random, locally administered, unicast MAC (IEEE 802 §8.2.2: bit 1 of the first octet
// set, bit 0 clear), so it never clashes with the Linux side of the TAP device.
netif::MacAddress random_mac() {
    netif::MacAddress mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
    std::array<std::uint8_t, 6> random{};
    if (getrandom(random.data(), random.size(), 0) == static_cast<ssize_t>(random.size())) {
        mac.bytes = random;
        mac.bytes[0] = static_cast<std::uint8_t>((random[0] & 0xFC) | 0x02);
    }
    return mac;
}

// The hosted counterpart of PCI probing: the devices the command line asks for.
void bring_up_devices() {
    auto name = g_command_line.get("tap");
    if (!name) return;
    hosted::TapConfig config;
    config.mac = random_mac();
    auto device = hosted::TapDevice::open(*name, config, hosted::poller());
    if (!device) {
        auto failure = device.error();
        println("hosted: tap={}: {}{}{}", *name, hosted::to_string(failure.error), failure.errno_value != 0 ? ": " : "",
                failure.errno_value != 0 ? std::strerror(failure.errno_value) : "");
        return;
    }
    // The device lives as long as the process, like a driver's device in the unikernel.
    netif::register_device(*device.value(), "tap");
    println("hosted: tap {}: mac {}, fd {}", *name, config.mac, device.value()->fd());
}

}  // namespace

const CommandLine& command_line() { return g_command_line; }
const multiboot::BootInfo& boot_info() { return g_boot_info; }  // no multiboot loader: empty
std::uint64_t boot_duration_ns() { return g_boot_ns; }
const acpi::Tables* acpi_tables() { return nullptr; }  // no firmware tables in a process

}  // namespace kernel

namespace hosted {

Poller& poller() {
    static Poller* instance = [] {
        auto created = Poller::create();
        if (!created) kernel::panic("hosted: epoll_create1 failed: {}", std::strerror(created.error()));
        return created.value();
    }();
    return *instance;
}

}  // namespace hosted

int __wrap_main(int argc, char** argv) {
    kernel::g_command_line.parse(kernel::join_arguments(argc, argv));
    kernel::report_command_line();
    kernel::bring_up_devices();
    kernel::g_boot_ns =
        static_cast<std::uint64_t>(runtime::to_ns(hosted::monotonic_now()) - runtime::to_ns(kernel::g_process_start));
    return __real_main();
}
