// Owning handles for libopus encoder and decoder states.
//
// A constructor that creates a libopus state and then throws (a refused ctl,
// or std::bad_alloc from a later member) never runs its destructor, so a raw
// pointer member leaks the state. These handles free it in every case.
#pragma once

#include <memory>

#include <opus/opus.h>

namespace sibilant::dsp {

struct OpusEncoderDestroy {
    void operator()(OpusEncoder* encoder) const noexcept { opus_encoder_destroy(encoder); }
};
struct OpusDecoderDestroy {
    void operator()(OpusDecoder* decoder) const noexcept { opus_decoder_destroy(decoder); }
};

using OpusEncoderHandle = std::unique_ptr<OpusEncoder, OpusEncoderDestroy>;
using OpusDecoderHandle = std::unique_ptr<OpusDecoder, OpusDecoderDestroy>;

}  // namespace sibilant::dsp
