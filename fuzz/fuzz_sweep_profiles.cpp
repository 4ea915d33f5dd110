// libFuzzer target: arbitrary bytes as a `sibilant sweep` profiles file
// through parse_sweep_profiles() (JSON, profiles, grids, loss specs, trace
// names). Besides ASan and UBSan: Error is the only exception (naming the
// source), and a file that parses gives profiles with names.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "sibilant/error.hpp"
#include "sibilant/sweep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sibilant::fuzz::fail;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const sibilant::SweepProfiles parsed = sibilant::parse_sweep_profiles(text, "fuzz.json", "/nonexistent");
        if (parsed.profiles.empty()) fail("fuzz_sweep_profiles", "parsed without a profile");
        for (const auto& p : parsed.profiles)
            if (p.name.empty()) fail("fuzz_sweep_profiles", "a profile without a name");
    } catch (const sibilant::Error& e) {
        if (std::string(e.what()).find("fuzz.json") == std::string::npos)
            fail("fuzz_sweep_profiles", "an error that does not name the file");
    }
    return 0;
}
