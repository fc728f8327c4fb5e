#!/usr/bin/env bash
# The README's hello example must be examples/hello/main.cpp, line for line: the block of
# C++ that starts with the file's name.
set -euo pipefail
cd "$(dirname "$0")/.."
awk '/^```cpp$/ { block = 1; next } /^```$/ { block = 0; shown = 0 }
     block && /^\/\/ examples\/hello\/main.cpp$/ { shown = 1 } shown' README.md | diff -u - examples/hello/main.cpp
