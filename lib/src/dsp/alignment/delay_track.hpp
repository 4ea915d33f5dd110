// Delay track (issue #10): the delay measured locally, every hop_s of the
// reference, so that a delay that moves (clock drift, a jitter buffer's
// time-stretch, inserted or removed silence) can be followed and each part
// of the file compared at its own delay.
//
// Both streams are taken down to 8 kHz (libsoxr, through sibilant::Resampler:
// what every narrowband codec keeps). Every hop_s (0.1 s) a reference window
// of window_s (0.2 s) centred on the point is correlated with the degraded
// over +-radius_s (80 ms) around a predicted delay, by FFT, normalised by
// both windows' energies (so a lag where the degraded is absent scores low).
// The prediction is the previous point's delay while the track holds, else
// the nearest seed (the constant-delay aligner's window delays); with no
// seed at all, the first point is searched over the whole +-max_delay_s and
// must reach 0.8. Short windows
// follow a 5% stretch (5 ms over a window) and the 80 ms radius a 60 ms
// silence inserted between two points; a point whose window is quiet (below
// -60 dBFS) or whose peak is below min_confidence (0.5: unrelated speech
// reaches about 0.4 on 0.2 s within +-80 ms) is left out. Of several peaks
// within 0.02 of the highest, the one nearest the prediction is taken
// (voiced speech repeats every pitch period). A lone point more than 2 ms off
// two neighbours that agree with each other is an outlier and dropped.
//
// The track is made by pulling both streams from an AlignmentSource in
// chunks (memory is a few seconds of 8 kHz audio plus 24 bytes per point),
// so a file of any length is tracked without holding it.
#pragma once

#include <cstdint>
#include <vector>

#include "dsp/alignment.hpp"

namespace sibilant::dsp {

struct DelayTrackerConfig {
    double hop_s = 0.1;
    double window_s = 0.2;
    double radius_s = 0.08;
    double min_confidence = 0.5;
    double max_delay_s = 1.0;  ///< The aligner's search range: a seed is never further out.
};

/// A delay seen by the constant-delay aligner, to start (or restart) the track from.
struct DelaySeed {
    std::int64_t ref_sample = 0;  ///< 48 kHz, reference timeline.
    std::int64_t delay_samples = 0;
};

struct DelayTrack {
    std::vector<DelayTrackPoint> points;  ///< Valid points only, in reference order.
    int speech_points = 0;                ///< Points whose reference window had speech.
    double gain_db = 0.0;                 ///< Degraded over reference energy at the points' peaks.
    std::int64_t reference_samples = 0;   ///< 48 kHz.
};

/// Reads `source` from where it stands to the end of both streams. Throws
/// only what the source throws. `seeds` must be in reference order.
DelayTrack track_delay(AlignmentSource& source, const std::vector<DelaySeed>& seeds,
                       const DelayTrackerConfig& config = {});

/// The points that follow the track smoothly: within 1 ms of a neighbour
/// (each within 0.3 s), or of the line through both neighbours. A real track
/// is a constant delay, a drift, a smooth stretch (a line) or a WSOLA
/// staircase (plateaus between jumps of a pitch period or a packet); chance
/// peaks, as through a vocoder whose waveform matches the input only by
/// accident, scatter over tens of ms and are left out.
std::vector<DelayTrackPoint> smooth_points(const std::vector<DelayTrackPoint>& points);

/// [begin, end) in 48 kHz reference samples.
struct SampleSpan {
    std::int64_t begin = 0, end = 0;
};

/// What a time-varying delay map needs of the reference besides the track,
/// from one more pass over it (only such a map pays for it, and only then
/// does memory hold 4 bytes per 5 ms of the file):
struct ReferencePass {
    /// Its sibilants, found by the kernel's own detector (same STFT and
    /// detector settings, so the same events).
    std::vector<SampleSpan> sibilants;
    /// Mean square of each 5 ms frame at 8 kHz, the stream the track
    /// correlates (for placing a boundary in the quietest place between two
    /// points).
    std::vector<float> frame_energy;
};

/// Reads the source's reference from where it stands to its end.
ReferencePass read_reference_for_map(AlignmentSource& source);

/// The delays of the track's smooth points (smooth_points(): chance peaks
/// left out) as a contiguous delay map for the kernel, made so that every
/// sibilant is compared at the delay measured around it:
///  - each sibilant with 30 ms either side (its pre-echo and onset frames;
///    overlapping ones joined) is one segment, at the median delay of the
///    points inside it (else the nearest point's);
///  - between them, consecutive points within 0.25 ms of their group's mean
///    are one segment (at that mean); a larger change starts a new segment at
///    the quietest 5 ms reference frame between the two points (a pause when
///    there is one) outside every sibilant.
/// Segments cover [0, track.reference_samples), in order, each ending where
/// the next begins; empty when there are no smooth points.
std::vector<DelaySegment> delay_map_from_track(const DelayTrack& track, const ReferencePass& reference);

}  // namespace sibilant::dsp
