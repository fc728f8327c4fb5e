// The host tests' runtime::detail::fatal: an exception the tests can expect.
#include "runtime/task.hpp"
#include "test/unit/runtime/fake_platform.hpp"

[[noreturn]] void runtime::detail::fatal(const char* message) { throw test::FatalError(message); }
