#pragma once
// The application API of the runtime, in one include.
//
//     runtime::Task<int> app() {
//         co_await runtime::sleep(10ms);
//         auto worker = runtime::spawn(count_to(5));
//         int n = co_await worker;
//         co_return n == 5 ? 0 : 1;
//     }
//     int main() { return runtime::run(app()); }

#include "runtime/event_loop.hpp"
#include "runtime/signal.hpp"
#include "runtime/task.hpp"
#include "runtime/time.hpp"

namespace runtime {

using namespace std::chrono_literals;  // NOLINT(google-global-names-in-headers): 10ms, 1s, ...

// Runs main on an event loop over the machine's clock and timer, with interrupts on, and
// returns its value (the unikernel: pass it back from main as the exit status).
int run(Task<int> main);

}  // namespace runtime
