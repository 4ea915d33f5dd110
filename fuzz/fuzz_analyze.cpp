// libFuzzer target: arbitrary samples into the analyzer, full reference and
// no reference: silence, DC, clicks, full-scale squares, denormals, one
// sample, mismatched lengths, whatever the bytes make.
//
// Input: byte 0 picks how the rest becomes samples (bits 0-1: int16 / 255
// steps of a full-scale square wave per byte / int8 / float32 as is, so
// NaN, infinity and denormals too) and bit 2 the mode (0 both: the first
// half of the samples is the reference, the second the degraded; 1 the
// degraded alone, no reference); the samples are repeated to at least
// 0.5 s (24000) so that the aligner and the detector have something to do.
//
// Besides ASan and UBSan it checks the analyzer's promises: sibilant::Error
// is the only exception; scores and indices lie in 0..100 and every event in
// the signal's span; the summary's counts agree with the events.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/error.hpp"

namespace {

std::vector<float> samples_of(const std::uint8_t* data, std::size_t size, int kind) {
    std::vector<float> x;
    if (kind == 0) {
        for (std::size_t i = 0; i + 1 < size; i += 2) x.push_back(float(std::int16_t(data[i] | data[i + 1] << 8)) / 32768.0f);
    } else if (kind == 1) {
        for (std::size_t i = 0; i < size; ++i)
            for (int k = 0; k < 1 + data[i] % 64; ++k) x.push_back(data[i] & 128 ? 1.0f : -1.0f);
    } else if (kind == 2) {
        for (std::size_t i = 0; i < size; ++i) x.push_back(float(std::int8_t(data[i])) / 128.0f);
    } else {
        for (std::size_t i = 0; i + 3 < size; i += 4) {
            float v;
            std::memcpy(&v, data + i, 4);
            x.push_back(v);
        }
    }
    if (x.empty()) return x;
    const std::size_t n = x.size();
    while (x.size() < 24000) x.push_back(x[x.size() % n]);
    return x;
}

void check(const sibilant::AnalysisResult& r, double length_s) {
    using sibilant::fuzz::fail;
    const auto in_range = [](double v) { return v >= 0.0 && v <= 100.0; };
    if (!in_range(r.summary.lisp_index) || !in_range(r.summary.smearing_index)) fail("fuzz_analyze", "index outside 0..100");
    if (r.summary.sibilants != int(r.events.size())) fail("fuzz_analyze", "summary count differs from the events");
    int flagged = 0;
    for (const auto& e : r.events) {
        if (!in_range(e.lisp) || !in_range(e.smearing)) fail("fuzz_analyze", "score outside 0..100");
        if (!(e.start_s >= 0.0 && e.start_s <= e.end_s && e.end_s <= length_s + 0.1))
            fail("fuzz_analyze", "event outside the signal");
        flagged += e.flagged;
    }
    if (flagged != r.summary.flagged) fail("fuzz_analyze", "flagged count differs from the events");
    if (r.summary.verdict.empty()) fail("fuzz_analyze", "no verdict");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const int kind = data[0] & 3;
    const bool blind = data[0] & 4;
    try {
        if (blind) {
            const std::vector<float> x = samples_of(data + 1, size - 1, kind);
            check(sibilant::analyze_no_reference(x), double(x.size()) / 48000.0);
        } else {
            const std::size_t half = (size - 1) / 2;
            const std::vector<float> ref = samples_of(data + 1, half, kind);
            const std::vector<float> deg = samples_of(data + 1 + half, size - 1 - half, kind);
            check(sibilant::analyze(ref, deg), double(ref.size()) / 48000.0);
        }
    } catch (const sibilant::Error&) {
        // Refused (cannot align, too short, not finite ...), with a reason.
    }
    return 0;
}
