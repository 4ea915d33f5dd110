// File summary from per-event results (issue #3 step 6), built up one event
// at a time so that a live probe (issue #4) can read it at any moment without
// keeping its events, and a batch run gets the same figures from the same
// code. Definitions in summary.cpp.
#pragma once

#include <cstddef>
#include <span>

#include "sibilant/analyze.hpp"

namespace sibilant::dsp {

/// Longest verdict text ("lisp+smearing+dropouts") plus room: a summary whose
/// verdict has this capacity is filled without allocating.
inline constexpr std::size_t kVerdictCapacity = 32;

class SummaryAccumulator {
public:
    /// The flag thresholds come from `options`.
    explicit SummaryAccumulator(const AnalyzeOptions& options = {}) noexcept;
    /// Counts one event. No allocation.
    void add(const SibilantEventResult& event) noexcept;
    /// The summary of every event added so far (allocates the verdict text).
    AnalysisSummary summary() const;
    /// The same into `out`, reusing its verdict buffer: no allocation when
    /// out.verdict has a capacity of at least kVerdictCapacity.
    void summary(AnalysisSummary& out) const;
    /// Forgets every event, keeps the options.
    void reset() noexcept;

private:
    double lisp_threshold_ = 50.0, smearing_threshold_ = 50.0;
    int sibilants_ = 0, flagged_ = 0, compared_ = 0, dropouts_ = 0;
    int lisp_flagged_ = 0, smearing_flagged_ = 0;
    double weight_s_ = 0.0, lisp_sum_ = 0.0, smearing_sum_ = 0.0;
};

/// The same for a list of events.
AnalysisSummary summarise(std::span<const SibilantEventResult> events, const AnalyzeOptions& options);

}  // namespace sibilant::dsp
