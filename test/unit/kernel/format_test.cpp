#include <catch2/catch.hpp>
#include <string>

#include "kernel/format.hpp"

namespace {

class StringSink final : public kernel::fmt::Sink {
public:
    void write(std::string_view text) override { out.append(text); }
    std::string out;
};

template <typename... Args>
std::string format(kernel::fmt::FormatString<std::type_identity_t<Args>...> f, const Args&... args) {
    StringSink sink;
    kernel::fmt::format_to<Args...>(sink, f, args...);
    return sink.out;
}

struct Point {
    int x, y;
};

}  // namespace

template <>
struct kernel::fmt::Formatter<Point> {
    static void format(Sink& sink, const Spec&, const Point& p) { format_to(sink, "({}, {})", p.x, p.y); }
};

TEST_CASE("format: integers in every base and width") {
    CHECK(format("{}", 0) == "0");
    CHECK(format("{}", -42) == "-42");
    CHECK(format("{}", std::uint64_t{18446744073709551615u}) == "18446744073709551615");
    CHECK(format("{}", std::int64_t{-9223372036854775807 - 1}) == "-9223372036854775808");
    CHECK(format("{:x}", 255) == "ff");
    CHECK(format("{:X}", 255) == "FF");
    CHECK(format("{:#x}", 255) == "0xff");
    CHECK(format("{:#010x}", 255) == "0x000000ff");
    CHECK(format("{:08b}", 5) == "00000101");
    CHECK(format("{:#o}", 8) == "0o10");
    CHECK(format("{:5}", 42) == "   42");
    CHECK(format("{:<5}|", 42) == "42   |");
    CHECK(format("{:^6}|", 42) == "  42  |");
    CHECK(format("{:*>6}", -7) == "****-7");
    CHECK(format("{:05}", -7) == "-0007");
}

TEST_CASE("format: text, characters, booleans, pointers") {
    CHECK(format("{} {}", "hello", std::string_view("world")) == "hello world");
    CHECK(format("[{:>7}]", "abc") == "[    abc]");
    CHECK(format("[{:7}]", "abc") == "[abc    ]");
    CHECK(format("[{:.2}]", "abcdef") == "[ab]");
    CHECK(format("{}{}", 'o', 'k') == "ok");
    CHECK(format("{:x}", 'A') == "41");
    CHECK(format("{} {}", true, false) == "true false");
    const char* null_text = nullptr;
    CHECK(format("{}", null_text) == "(null)");
    CHECK(format("{}", reinterpret_cast<const void*>(0x1000)) == "0x1000");
}

TEST_CASE("format: braces and custom types") {
    CHECK(format("{{}} {}", 1) == "{} 1");
    CHECK(format("}}") == "}");
    CHECK(format("{}", Point{1, -2}) == "(1, -2)");
}

TEST_CASE("format: the compile-time checker counts fields") {
    static_assert(kernel::fmt::count_fields("a {} b {:x}") == 2);
    static_assert(kernel::fmt::count_fields("{{}}") == 0);
    static_assert(kernel::fmt::count_fields("{") == -1);
    static_assert(kernel::fmt::count_fields("}") == -1);
    static_assert(kernel::fmt::count_fields("{:q}") == -1);
    static_assert(kernel::fmt::count_fields("{0}") == -1);
    static_assert(kernel::fmt::count_fields("{:.2f}") == -1);  // no floating point
}

TEST_CASE("format: a runtime format string with too few arguments marks the gap") {
    StringSink sink;
    const kernel::fmt::Arg args[] = {kernel::fmt::make_arg(1)};
    kernel::fmt::vformat(sink, "{} {} {", args);
    CHECK(sink.out == "1 {?} {?}");
}

TEST_CASE("format: BufferSink truncates and counts what it dropped") {
    std::array<char, 8> buffer{};
    kernel::fmt::BufferSink sink(buffer);
    kernel::fmt::format_to(sink, "{}-{}", 12345, 67890);
    CHECK(sink.view() == "12345-67");
    CHECK(sink.truncated());
    CHECK(sink.wanted() == 11);
}
