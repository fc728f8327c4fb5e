// sim_tests' main: Catch2's, then the results table of every scenario that ran.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <iostream>

#include "test/sim/results_table.hpp"

int main(int argc, char* argv[]) {
    int failures = Catch::Session().run(argc, argv);
    const sim::ResultsTable& table = sim::ResultsTable::global();
    if (!table.empty()) {
        std::cout << "\nSimulation results (virtual time):\n";
        table.print(std::cout);
    }
    return failures;
}
