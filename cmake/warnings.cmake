# Warnings are errors everywhere: kernel, tools and tests alike.
set(UNIKERNEL_WARNINGS
  -Wall -Wextra -Werror -Wpedantic
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
  -Wdouble-promotion -Wimplicit-fallthrough
  # TRY (kernel/result.hpp) is a statement expression, as in SerenityOS.
  -Wno-gnu-statement-expression -Wno-gnu-zero-variadic-macro-arguments)
