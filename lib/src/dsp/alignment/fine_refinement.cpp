// Fine refinement and gain of one window (header, steps 3-4).
//
// The coarse delay is good to a 4 kHz sample; here it is refined to the
// 48 kHz sample by full-rate correlation over +-24 samples on the window's
// loudest, best-matching 20 ms blocks, from both halves of the window. A
// window at the open segment's delay is searched around that segment's anchor
// so that its curve adds into the segment's. The gain is measured on the low
// band's speech frames at the delay found, so that lost high bands do not count.
#include "dsp/alignment/stages.hpp"

namespace sibilant::dsp {

// Refines the coarse delay of a window that correlates (header, step 3).
// Fine blocks: speech (within kFineBlockRangeDb of the window's loudest
// block) where the low bands match best at the coarse delay: codec noise
// in place of a fricative is loud but does not correlate, and quiet
// blocks say nothing either way. Others score 0 and are not used.
// `best` is the coarse peak's lag into y_low (4 kHz), `coarse` its delay at 48 kHz.
void Aligner::Impl::refine(AlignmentWindow& w, std::int64_t length, std::size_t best, std::int64_t coarse) {
    const std::size_t blocks = std::size_t(length / kBlockFull);
    constexpr std::size_t block_low = kBlockFrames * kFrameLow;
    double loudest_block = 0.0;
    for (std::size_t blk = 0; blk < blocks; ++blk) {
        double e = 0.0;
        for (std::size_t f = 0; f < std::size_t(kBlockFrames); ++f) e += ref_frame_energy[blk * kBlockFrames + f];
        block_energy[blk] = e;
        loudest_block = std::max(loudest_block, e);
    }
    const double speech_block = loudest_block * std::pow(10.0, -kFineBlockRangeDb / 10.0);
    for (std::size_t blk = 0; blk < blocks; ++blk)
        block_score[blk] = block_energy[blk] >= speech_block
                               ? dot(x_low.data() + blk * block_low, y_low.data() + best + blk * block_low, block_low)
                               : 0.0;
    // Windows at the open segment's delay are searched around its anchor so
    // that their curves add up into one precise segment delay.
    std::int64_t centre = coarse;
    window_anchored = false;
    if (!segments.empty() && drift == DriftCause::None &&
        std::llabs(coarse - segments.back().anchor_samples) <= kSameDelay) {
        centre = segments.back().anchor_samples;
        window_anchored = true;
    }
    window_centre = centre;
    fine_search(w, centre, blocks);
}

// Gain over the speech frames, degraded taken at the found delay (header, step 4):
// the window's low-band energies, which record() sums per segment.
void Aligner::Impl::window_gain(AlignmentWindow& w, std::int64_t begin_low, std::size_t frames, std::size_t region,
                                double threshold, double& ref_sum, double& deg_sum) const {
    const std::int64_t shift = std::llround(double(w.delay_samples) / kDecimation) + max_delay_low;
    for (std::size_t f = 0; f < frames; ++f) {
        if (!(ref_frame_energy[f] > threshold)) continue;
        const std::int64_t at = std::int64_t(f) * kFrameLow + shift;
        if (at < 0 || at + kFrameLow > std::int64_t(region)) continue;
        // Where the degraded does not exist (before its start, after its end) there is nothing to compare.
        const std::int64_t absolute = begin_low - max_delay_low + at;
        if (absolute < 0 || (deg_ended && absolute + kFrameLow > deg_low.total())) continue;
        ref_sum += ref_frame_energy[f];
        deg_sum += energy(y_low.data() + at, kFrameLow);
    }
    w.gain_db = ref_sum > 0.0 ? to_db(deg_sum / ref_sum) : 0.0;
}

// Full-rate correlation around `centre` on the best-matching 20 ms blocks,
// taken from both halves of the window so that they span it.
void Aligner::Impl::fine_search(AlignmentWindow& w, std::int64_t centre, std::size_t blocks) {
    const std::size_t half = blocks / 2;
    std::array<FineCurve, 2> halves{};
    for (int h = 0; h < 2; ++h) {
        const std::size_t from = h == 0 ? 0 : half;
        const std::size_t to = h == 0 ? half : blocks;
        int* order = block_order.data();
        std::size_t count = 0;
        for (std::size_t i = from; i < to; ++i) order[count++] = int(i);
        const std::size_t take = std::min<std::size_t>(kBlocksPerHalf, count);
        std::partial_sort(order, order + take, order + count,
                          [&](int p, int q) { return block_score[std::size_t(p)] > block_score[std::size_t(q)]; });
        FineCurve& c = halves[std::size_t(h)];
        for (std::size_t i = 0; i < take; ++i) {
            if (!(block_score[std::size_t(order[i])] > 0.0)) break;
            const std::int64_t start = w.ref_begin_sample + std::int64_t(order[i]) * kBlockFull;
            ref_full.read(start, block_ref.data(), kBlockFull);
            deg_full.read(start + centre - kFineRadius, block_deg.data(), kBlockFull + kFineLags - 1);
            double sliding = energy(block_deg.data(), kBlockFull);
            for (std::size_t lag = 0; lag < kFineLags; ++lag) {
                c.numerator[lag] += dot(block_ref.data(), block_deg.data() + lag, kBlockFull);
                c.deg_energy[lag] += sliding;
                if (lag + 1 < kFineLags) {
                    const double leaving = block_deg[lag], entering = block_deg[lag + kBlockFull];
                    sliding += entering * entering - leaving * leaving;
                }
            }
            c.ref_energy += energy(block_ref.data(), kBlockFull);
        }
    }
    window_curve = halves[0];
    window_curve.add(halves[1]);
    double value = 0.0;
    const std::size_t at = window_curve.peak(value);
    w.fine_confidence = std::min(value, 1.0);
    w.delay_samples = centre - kFineRadius + std::int64_t(at);
    w.fractional_delay_samples = double(w.delay_samples);
    // A peak on the edge of the search means the delay is elsewhere.
    bool stable = at > 0 && at + 1 < kFineLags;
    if (stable)
        w.fractional_delay_samples +=
            parabolic_offset(window_curve.at(at - 1), value, window_curve.at(at + 1));
    w.verdict = stable ? WindowVerdict::Found : WindowVerdict::Unstable;
}

}  // namespace sibilant::dsp
