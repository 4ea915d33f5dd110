// libFuzzer target: arbitrary bytes as a sweep's results.csv through
// read_sweep_results(), the reader of `sibilant compare`, `merge` and
// `report` (RFC 4180 quoting, required columns, numbers, booleans).
// Besides ASan and UBSan: Error is the only exception, and a file that
// parses has a data row.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "sibilant/compare.hpp"
#include "sibilant/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sibilant::fuzz::fail;
    const sibilant::fuzz::MemoryFile file(data, size);
    try {
        const std::vector<sibilant::SweepRow> rows = sibilant::read_sweep_results(file.path());
        if (rows.empty()) fail("fuzz_results_csv", "read without a data row");
    } catch (const sibilant::Error&) {
        // A bad file: the reader said so, naming the line and column.
    }
    return 0;
}
