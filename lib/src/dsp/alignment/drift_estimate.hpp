// Clock drift from the delay track (issue #10). Two sound cards whose clocks
// differ by a constant ratio make the delay grow in a straight line: delay(t)
// = d + ppm 1e-6 t. The track's points are split into runs wherever the delay
// jumps by 1 ms or more between neighbours (a jitter-buffer step, an inserted
// silence); the slope common to all runs, each with its own offset, is fitted
// by least squares, twice dropping points more than 3 robust deviations
// (1.4826 MAD, at least 0.1 ms) off the line. Only runs of 5 or more points
// (0.5 s) count.
//
// The drift is significant (worth compensating) when the fit stands on at
// least 20 points over at least 2 s covering half of the track, the line
// moves the delay by 0.25 ms or more over the tracked span, the slope is 6
// standard errors from zero, the points lie within 0.5 ms RMS of it (a
// time-stretch does not: its runs disagree), and |ppm| <= 2000 (a larger
// rate change is a time-stretch, not a clock).
//
// On 20 s of speech a point's delay is good to a few hundredths of a ms, so
// the ratio is good to about a ppm (eval/drift_stretch.sh measures it).
#pragma once

#include <vector>

#include "dsp/alignment.hpp"

namespace sibilant::dsp {

struct DriftEstimate {
    bool measured = false;          ///< Enough points in long enough runs to fit.
    bool significant = false;       ///< See the header comment.
    bool linear = false;            ///< The points lie within 0.5 ms RMS of the line: a clock, not a stretch.
    double ppm = 0.0;               ///< Slope, parts per million (meaningful when measured).
    double standard_error_ppm = 0.0;
    double residual_ms = 0.0;       ///< RMS distance of the kept points from the fit.
    double change_ms = 0.0;         ///< The fit's delay change over the tracked span.
    int points = 0;                 ///< Points the fit kept.
};

DriftEstimate estimate_drift(const std::vector<DelayTrackPoint>& points);

}  // namespace sibilant::dsp
