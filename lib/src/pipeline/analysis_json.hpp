// The JSON behind to_json(), for outputs that extend the analysis contract
// (capture analysis adds its stream's RTP facts) without re-parsing a string.
#pragma once

#include <nlohmann/json.hpp>

#include "sibilant/analyze.hpp"

namespace sibilant::pipeline {

// ordered_json keeps keys in the order written: the contract's keys first.
using json = nlohmann::ordered_json;

/// Figures rounded to what they can mean (a hundredth of a dB, a tenth of a
/// score point), so that the output reads easily and diffs stay small. NaN
/// or infinity (a measure that is undefined here) becomes null.
json rounded(double value, int decimals);

/// to_json(result) before it is dumped.
json result_json(const AnalysisResult& result);

}  // namespace sibilant::pipeline
