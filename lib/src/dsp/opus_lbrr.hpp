// Whether an Opus packet carries LBRR (in-band FEC) data for the packet
// before it; shared by the simulated channel and the live packet decoder.
#pragma once

#include "sibilant/opus_channel.hpp"

namespace sibilant::dsp {

// The LBRR flags follow the per-frame VAD flags at the very start of the
// range coder, each coded with probability 1/2, so they are plain bits of
// the first frame's first byte; for stereo the side channel's flags follow
// the mid channel's. This is libopus 1.5's opus_packet_has_lbrr (1.3.1 has
// none). CELT packets carry no LBRR.
inline bool has_lbrr(const TocInfo& toc, const unsigned char* first_frame, int first_frame_bytes) noexcept {
    if (toc.mode == CodecMode::Celt || first_frame_bytes <= 0) return false;
    const int silk_frames = toc.frame_ms > 20.0 ? static_cast<int>(toc.frame_ms / 20.0) : 1;
    const int byte = first_frame[0];
    bool lbrr = ((byte >> (7 - silk_frames)) & 1) != 0;
    if (toc.stereo) lbrr = lbrr || ((byte >> (6 - 2 * silk_frames)) & 1) != 0;
    return lbrr;
}

}  // namespace sibilant::dsp
