// What the benchmarks share: the project's own test speech as benchmark input,
// and a CPU clock that machine load does not distort.
#pragma once

#include <string>
#include <vector>

namespace sibilant::bench {

/// testdata/speech/*.flac in name order, each mono at `rate_hz`. Exits the
/// process with a message when none can be read: a benchmark without its
/// input has nothing to measure.
std::vector<std::vector<float>> load_test_speech_clips(int rate_hz);

/// The clips joined and repeated to `seconds` at `rate_hz`; `source` says
/// what was used.
std::vector<float> test_speech_repeated(double seconds, int rate_hz, std::string& source);

/// Thread CPU time in seconds, not wall time: the machine may be shared, and
/// time spent preempted would land on whichever side happened to be running.
double thread_cpu_seconds();

}  // namespace sibilant::bench
