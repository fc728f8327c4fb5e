#include <catch2/catch.hpp>

#include "kernel/result.hpp"

namespace {

enum class Problem { Odd, Negative };

kernel::Result<int, Problem> half(int v) {
    if (v < 0) return kernel::err(Problem::Negative);
    if (v % 2 != 0) return kernel::err(Problem::Odd);
    return v / 2;
}

kernel::Result<int, Problem> quarter(int v) {
    int h = TRY(half(v));
    return TRY(half(h));
}

kernel::Result<void, Problem> check_even(int v) {
    TRY(half(v));
    return {};
}

}  // namespace

TEST_CASE("Result carries a value or an error, and TRY propagates the error") {
    CHECK(quarter(8).value() == 2);
    REQUIRE_FALSE(quarter(6));
    CHECK(quarter(6).error() == Problem::Odd);
    CHECK(quarter(-4).error() == Problem::Negative);
    CHECK(check_even(2).has_value());
    CHECK(check_even(3).error() == Problem::Odd);
    auto r = half(10);
    r = half(3);
    CHECK_FALSE(r.has_value());
    CHECK(half(3).value_or(-1) == -1);
}

TEST_CASE("Result: using a value that is an error, or an error that is a value, is a broken invariant") {
    auto odd = half(3);
    CHECK_THROWS_WITH(odd.value(), "Result: value() of an error");
    CHECK_THROWS_WITH(*odd, "Result: value() of an error");
    CHECK_THROWS_WITH(odd.release_value(), "Result: value() of an error");
    CHECK_THROWS_WITH(half(4).error(), "Result: error() of a value");
    CHECK_THROWS_WITH(check_even(3).value(), "Result: value() of an error");
    CHECK_THROWS_WITH(check_even(4).error(), "Result: error() of a value");
}
