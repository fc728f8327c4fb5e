// The host tests' runtime::detail::fatal and kernel::detail::broken_result: exceptions the
// tests can expect.
#include "kernel/result.hpp"
#include "runtime/task.hpp"
#include "test/unit/runtime/fake_platform.hpp"

[[noreturn]] void runtime::detail::fatal(const char* message) { throw test::FatalError(message); }

[[noreturn]] void kernel::detail::broken_result(const char* what) { throw test::FatalError(what); }
