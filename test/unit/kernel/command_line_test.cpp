#include <catch2/catch.hpp>

#include "kernel/command_line.hpp"

using kernel::CommandLine;

TEST_CASE("command line: image path, key=value settings, bare flags, quotes") {
    CommandLine c;
    c.parse("/boot/echo.elf ip=10.0.0.2/24 gw=10.0.0.1  verbose name=\"my echo\" n=0x10");
    CHECK(c.image_path() == "/boot/echo.elf");
    CHECK(c.problems().empty());
    CHECK(c.settings().size() == 5);
    CHECK(c.get("ip") == "10.0.0.2/24");
    CHECK(c.get("gw") == "10.0.0.1");
    CHECK(c.get("name") == "my echo");
    CHECK(c.get_bool("verbose") == true);
    CHECK(c.get_u64("n") == 16u);
    CHECK_FALSE(c.get("missing").has_value());
}

TEST_CASE("command line: a first token with '=' is a setting, not a path") {
    CommandLine c;
    c.parse("a=1 b=2");
    CHECK(c.image_path().empty());
    CHECK(c.get("a") == "1");
}

TEST_CASE("command line: malformed tokens are reported with their column and skipped") {
    CommandLine c;
    c.parse("img =oops good=1 bad!key=2 q=\"unterminated");
    REQUIRE(c.problems().size() == 3);
    CHECK(c.problems()[0].problem == CommandLine::Problem::EmptyKey);
    CHECK(c.problems()[0].column == 5);
    CHECK(c.problems()[0].token == "=oops");
    CHECK(c.problems()[1].problem == CommandLine::Problem::BadKeyCharacter);
    CHECK(c.problems()[2].problem == CommandLine::Problem::UnterminatedQuote);
    CHECK(c.get("good") == "1");
    CHECK(c.settings().size() == 1);
}

TEST_CASE("command line: a repeated key keeps the last value and is reported") {
    CommandLine c;
    c.parse("img x=1 x=2");
    CHECK(c.get("x") == "2");
    REQUIRE(c.problems().size() == 1);
    CHECK(c.problems()[0].problem == CommandLine::Problem::DuplicateKey);
}

TEST_CASE("command line: limits are reported, not overflowed") {
    std::string many = "img";
    for (int i = 0; i < 100; ++i) many += " k" + std::to_string(i) + "=v";
    CommandLine c;
    c.parse(many);
    CHECK(c.settings().size() == CommandLine::k_max_settings);
    CHECK(c.problems().size() == CommandLine::k_max_problems);
    CHECK(c.unreported_problems() == 100 - CommandLine::k_max_settings - CommandLine::k_max_problems);

    CommandLine long_line;
    long_line.parse(std::string(CommandLine::k_max_length + 100, 'a'));
    REQUIRE(long_line.problems().size() >= 1);
    CHECK(long_line.problems()[0].problem == CommandLine::Problem::TooLong);
}

TEST_CASE("command line: typed getters reject malformed values") {
    CommandLine c;
    c.parse("img n=12x big=99999999999999999999 b=maybe h=0x");
    CHECK_FALSE(c.get_u64("n").has_value());
    CHECK_FALSE(c.get_u64("big").has_value());
    CHECK_FALSE(c.get_bool("b").has_value());
    CHECK_FALSE(c.get_u64("h").has_value());
    CHECK(kernel::parse_u64("18446744073709551615") == 18446744073709551615u);
    CHECK_FALSE(kernel::parse_u64("18446744073709551616").has_value());
}
