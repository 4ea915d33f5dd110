// The Opus channel: libopus encoder -> loss model -> libopus decoder, built to
// follow libopus 1.3.1's opus_demo (src/opus_demo.c) step for step so that,
// with no loss and 16-bit input depth, the output is sample-identical to it.
//
// Where this deliberately differs from opus_demo:
// - the output is always exactly as long as the input (opus_demo writes
//   less when the input is shorter than about one frame plus the look-ahead);
// - the first packet, if lost, is concealed with one frame of PLC (opus_demo
//   would ask for OPUS_GET_LAST_PACKET_DURATION = 0 samples);
// - loss comes from a LossModel, not from rand();
// - max bandwidth and signal hint are set too (at their libopus defaults
//   they change nothing, so the opus_demo match holds).
//
// fec_recovered means libopus really rebuilt the packet from the next one's
// redundancy: the next packet arrived, carries LBRR data, and the decoder is
// not in CELT mode. Otherwise an FEC decode call is only concealment (libopus
// falls back to PLC) and the packet counts as concealed.
//
// Counting: every packet the encoder produces is counted in ChannelStats and
// reported to the observer, including the zero-padding packets encoded by
// finish() (opus_demo encodes them too). With FEC on, the last packet is never
// decoded (opus_demo stops first); it is reported at finish(), and if it was
// lost it counts as concealed, so that fec_recovered + concealed == loss.lost.
#include "sibilant/opus_channel.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "dsp/opus_handles.hpp"
#include "dsp/opus_lbrr.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace {

constexpr int kRateHz = 48000;
constexpr int kMaxPacketBytes = 1500;      // opus_demo's MAX_PACKET
constexpr int kMaxDecodeSamples = 5760;    // 120 ms at 48 kHz, the longest Opus packet

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Shortest round-trip text ("2.5", "30"), independent of the C locale.
std::string number_text(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

int opus_application(Application value) {
    switch (value) {
    case Application::Voip: return OPUS_APPLICATION_VOIP;
    case Application::Audio: return OPUS_APPLICATION_AUDIO;
    case Application::RestrictedLowDelay: return OPUS_APPLICATION_RESTRICTED_LOWDELAY;
    }
    return OPUS_APPLICATION_VOIP;
}

Application from_opus_application(int value) {
    switch (value) {
    case OPUS_APPLICATION_AUDIO: return Application::Audio;
    case OPUS_APPLICATION_RESTRICTED_LOWDELAY: return Application::RestrictedLowDelay;
    default: return Application::Voip;
    }
}

int opus_bandwidth(Bandwidth value) {
    switch (value) {
    case Bandwidth::Auto: return OPUS_AUTO;
    case Bandwidth::Narrowband: return OPUS_BANDWIDTH_NARROWBAND;
    case Bandwidth::Mediumband: return OPUS_BANDWIDTH_MEDIUMBAND;
    case Bandwidth::Wideband: return OPUS_BANDWIDTH_WIDEBAND;
    case Bandwidth::SuperWideband: return OPUS_BANDWIDTH_SUPERWIDEBAND;
    case Bandwidth::Fullband: return OPUS_BANDWIDTH_FULLBAND;
    }
    return OPUS_AUTO;
}

Bandwidth from_opus_bandwidth(int value) {
    switch (value) {
    case OPUS_BANDWIDTH_NARROWBAND: return Bandwidth::Narrowband;
    case OPUS_BANDWIDTH_MEDIUMBAND: return Bandwidth::Mediumband;
    case OPUS_BANDWIDTH_WIDEBAND: return Bandwidth::Wideband;
    case OPUS_BANDWIDTH_SUPERWIDEBAND: return Bandwidth::SuperWideband;
    case OPUS_BANDWIDTH_FULLBAND: return Bandwidth::Fullband;
    default: return Bandwidth::Auto;
    }
}

int opus_signal(SignalHint value) {
    switch (value) {
    case SignalHint::Auto: return OPUS_AUTO;
    case SignalHint::Voice: return OPUS_SIGNAL_VOICE;
    case SignalHint::Music: return OPUS_SIGNAL_MUSIC;
    }
    return OPUS_AUTO;
}

SignalHint from_opus_signal(int value) {
    switch (value) {
    case OPUS_SIGNAL_VOICE: return SignalHint::Voice;
    case OPUS_SIGNAL_MUSIC: return SignalHint::Music;
    default: return SignalHint::Auto;
    }
}

// Frame durations the channel accepts, with their expert-frame-duration code.
struct FrameOption {
    double frame_ms;
    int opus_code;
};
constexpr std::array<FrameOption, 6> kFrameOptions = {{{2.5, OPUS_FRAMESIZE_2_5_MS},
                                                       {5.0, OPUS_FRAMESIZE_5_MS},
                                                       {10.0, OPUS_FRAMESIZE_10_MS},
                                                       {20.0, OPUS_FRAMESIZE_20_MS},
                                                       {40.0, OPUS_FRAMESIZE_40_MS},
                                                       {60.0, OPUS_FRAMESIZE_60_MS}}};

int frame_code(double frame_ms) {
    for (const auto& option : kFrameOptions)
        if (option.frame_ms == frame_ms) return option.opus_code;
    return -1;
}

double frame_ms_from_code(int code) {
    for (const auto& option : kFrameOptions)
        if (option.opus_code == code) return option.frame_ms;
    return 0.0;
}

void check_range(const char* name, int value, int low, int high) {
    if (value < low || value > high)
        throw Error(std::string(name) + " " + std::to_string(value) + " is outside " + std::to_string(low) +
                    ".." + std::to_string(high));
}

// Round half away from zero to 16 bits, clamped; NaN becomes 0. Branch-free
// float arithmetic so that the per-sample loop vectorises; exact, since
// scaling by 2^15 and adding 0.5 lose nothing below 2^22.
inline opus_int16 to_int16(float x) {
    float v = x * 32768.0f;
    v = v == v ? v : 0.0f;
    v = v < -32768.0f ? -32768.0f : v;
    v = v > 32767.0f ? 32767.0f : v;
    return static_cast<opus_int16>(static_cast<int>(v + (v < 0.0f ? -0.5f : 0.5f)));
}

// Whether a packet carries LBRR (in-band FEC) data for the previous packet.
bool packet_has_lbrr(const std::uint8_t* data, int len, const TocInfo& toc) {
    if (len < 2 || toc.mode == CodecMode::Celt) return false;
    const unsigned char* frames[48];
    opus_int16 sizes[48];
    const int count = opus_packet_parse(data, len, nullptr, frames, sizes, nullptr);
    return count > 0 && dsp::has_lbrr(toc, frames[0], sizes[0]);
}

}  // namespace

// ---------------------------------------------------------------- enums

const char* to_string(Application value) {
    switch (value) {
    case Application::Voip: return "voip";
    case Application::Audio: return "audio";
    case Application::RestrictedLowDelay: return "restricted-lowdelay";
    }
    return "unknown";
}

const char* to_string(Bandwidth value) {
    switch (value) {
    case Bandwidth::Auto: return "auto";
    case Bandwidth::Narrowband: return "nb";
    case Bandwidth::Mediumband: return "mb";
    case Bandwidth::Wideband: return "wb";
    case Bandwidth::SuperWideband: return "swb";
    case Bandwidth::Fullband: return "fb";
    }
    return "unknown";
}

const char* to_string(RateControl value) {
    switch (value) {
    case RateControl::Vbr: return "vbr";
    case RateControl::ConstrainedVbr: return "cvbr";
    case RateControl::Cbr: return "cbr";
    }
    return "unknown";
}

const char* to_string(SignalHint value) {
    switch (value) {
    case SignalHint::Auto: return "auto";
    case SignalHint::Voice: return "voice";
    case SignalHint::Music: return "music";
    }
    return "unknown";
}

const char* to_string(CodecMode value) {
    switch (value) {
    case CodecMode::Silk: return "SILK";
    case CodecMode::Hybrid: return "Hybrid";
    case CodecMode::Celt: return "CELT";
    }
    return "unknown";
}

int bandwidth_hz(Bandwidth value) {
    switch (value) {
    case Bandwidth::Narrowband: return 4000;
    case Bandwidth::Mediumband: return 6000;
    case Bandwidth::Wideband: return 8000;
    case Bandwidth::SuperWideband: return 12000;
    case Bandwidth::Fullband: return 20000;
    case Bandwidth::Auto: return 20000;
    }
    return 20000;
}

Application parse_application(const std::string& name) {
    const std::string key = lower(name);
    for (Application value : {Application::Voip, Application::Audio, Application::RestrictedLowDelay})
        if (key == to_string(value)) return value;
    throw Error("unknown application \"" + name + "\" (expected voip, audio or restricted-lowdelay)");
}

Bandwidth parse_bandwidth(const std::string& name) {
    const std::string key = lower(name);
    for (Bandwidth value : {Bandwidth::Auto, Bandwidth::Narrowband, Bandwidth::Mediumband, Bandwidth::Wideband,
                            Bandwidth::SuperWideband, Bandwidth::Fullband})
        if (key == to_string(value)) return value;
    throw Error("unknown bandwidth \"" + name + "\" (expected auto, nb, mb, wb, swb or fb)");
}

SignalHint parse_signal_hint(const std::string& name) {
    const std::string key = lower(name);
    for (SignalHint value : {SignalHint::Auto, SignalHint::Voice, SignalHint::Music})
        if (key == to_string(value)) return value;
    throw Error("unknown signal hint \"" + name + "\" (expected auto, voice or music)");
}

// ---------------------------------------------------------------- settings

void validate(const OpusSettings& settings) {
    check_range("bitrate_bps", settings.bitrate_bps, 6000, 510000);
    check_range("complexity", settings.complexity, 0, 10);
    if (frame_code(settings.frame_ms) < 0)
        throw Error("frame_ms " + number_text(settings.frame_ms) + " is not one of 2.5, 5, 10, 20, 40, 60");
    check_range("expected_loss_pct", settings.expected_loss_pct, 0, 100);
    if (settings.max_bandwidth == Bandwidth::Auto)
        throw Error("max_bandwidth auto is not allowed: choose nb, mb, wb, swb or fb");
    if (settings.input_depth_bits != 16 && settings.input_depth_bits != 24)
        throw Error("input_depth_bits " + std::to_string(settings.input_depth_bits) + " is not 16 or 24");
}

// ---------------------------------------------------------------- TOC

bool parse_toc(std::span<const std::uint8_t> packet, TocInfo& out) noexcept {
    if (packet.empty()) return false;
    const int toc = packet[0];
    const int config = toc >> 3;
    TocInfo info;
    if (config < 12) {
        // SILK: NB, MB, WB x 10, 20, 40, 60 ms
        static constexpr double kSilkMs[4] = {10.0, 20.0, 40.0, 60.0};
        static constexpr Bandwidth kSilkBw[3] = {Bandwidth::Narrowband, Bandwidth::Mediumband, Bandwidth::Wideband};
        info.mode = CodecMode::Silk;
        info.bandwidth = kSilkBw[config / 4];
        info.frame_ms = kSilkMs[config % 4];
    } else if (config < 16) {
        // Hybrid: SWB, FB x 10, 20 ms
        info.mode = CodecMode::Hybrid;
        info.bandwidth = config < 14 ? Bandwidth::SuperWideband : Bandwidth::Fullband;
        info.frame_ms = (config % 2 == 0) ? 10.0 : 20.0;
    } else {
        // CELT: NB, WB, SWB, FB x 2.5, 5, 10, 20 ms
        static constexpr double kCeltMs[4] = {2.5, 5.0, 10.0, 20.0};
        static constexpr Bandwidth kCeltBw[4] = {Bandwidth::Narrowband, Bandwidth::Wideband,
                                                 Bandwidth::SuperWideband, Bandwidth::Fullband};
        info.mode = CodecMode::Celt;
        info.bandwidth = kCeltBw[(config - 16) / 4];
        info.frame_ms = kCeltMs[config % 4];
    }
    info.stereo = (toc & 0x4) != 0;
    switch (toc & 0x3) {
    case 0:
        info.frames_per_packet = 1;
        break;
    case 1:
        // Two frames of equal size: the payload must split evenly (RFC 6716 R3).
        if ((packet.size() - 1) % 2 != 0) return false;
        info.frames_per_packet = 2;
        break;
    case 2:
        // Needs at least the first frame's length byte (R4).
        if (packet.size() < 2) return false;
        info.frames_per_packet = 2;
        break;
    default: {
        if (packet.size() < 2) return false;
        const int count = packet[1] & 0x3F;
        // At least one frame, at most 120 ms of audio (R5).
        if (count == 0 || count * info.frame_ms > 120.0) return false;
        info.frames_per_packet = count;
        break;
    }
    }
    out = info;
    return true;
}

// ---------------------------------------------------------------- channel
//
// Two halves that never talk to each other: the encoder (settings and input
// only) and the decoder (packets, loss model, concealment, FEC). OpusChannel
// runs them side by side, packet by packet; encode_opus() runs the encoder
// alone and decode_opus() the decoder alone over its packets, so that
// decode_opus(encode_opus(x, s), loss, seed) is run_opus_channel(x, s, loss,
// seed) sample for sample, and one encoding serves many loss patterns.

namespace {

void ctl_check(int result, const char* what) {
    if (result != OPUS_OK) throw Error(std::string("libopus rejected ") + what + ": " + opus_strerror(result));
}

int frame_samples_of(const OpusSettings& settings) {
    return static_cast<int>(std::lround(settings.frame_ms * kRateHz / 1000.0));
}

// The libopus encoder with its input frame. Hands every packet to a callback
// as (bytes, size, final range).
class ChannelEncoder {
public:
    explicit ChannelEncoder(const OpusSettings& s) : settings_(s) {
        int error = OPUS_OK;
        encoder_.reset(opus_encoder_create(kRateHz, 1, opus_application(settings_.application), &error));
        if (error != OPUS_OK || !encoder_)
            throw Error(std::string("libopus opus_encoder_create failed: ") + opus_strerror(error));

        float_api_ = settings_.input_depth_bits == 24;
        frame_samples_ = frame_samples_of(settings_);
        const bool vbr = settings_.rate_control != RateControl::Cbr;
        const bool constrained = settings_.rate_control == RateControl::ConstrainedVbr;

        // Same settings, same order, as opus_demo; then ours on top.
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_BITRATE(settings_.bitrate_bps)), "bitrate_bps");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_BANDWIDTH(opus_bandwidth(settings_.forced_bandwidth))),
                  "forced_bandwidth");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_VBR(vbr ? 1 : 0)), "rate_control");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_VBR_CONSTRAINT(constrained ? 1 : 0)), "rate_control");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_COMPLEXITY(settings_.complexity)), "complexity");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_INBAND_FEC(settings_.inband_fec ? 1 : 0)), "inband_fec");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_FORCE_CHANNELS(OPUS_AUTO)), "force_channels");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_DTX(settings_.dtx ? 1 : 0)), "dtx");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_PACKET_LOSS_PERC(settings_.expected_loss_pct)),
                  "expected_loss_pct");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_LSB_DEPTH(settings_.input_depth_bits)), "input_depth_bits");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_EXPERT_FRAME_DURATION(frame_code(settings_.frame_ms))),
                  "frame_ms");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_MAX_BANDWIDTH(opus_bandwidth(settings_.max_bandwidth))),
                  "max_bandwidth");
        ctl_check(opus_encoder_ctl(encoder_.get(), OPUS_SET_SIGNAL(opus_signal(settings_.signal))), "signal");
        read_back();

        if (float_api_)
            frame_f32_.assign(static_cast<std::size_t>(frame_samples_), 0.0f);
        else
            frame_i16_.assign(static_cast<std::size_t>(frame_samples_), 0);
    }
    ChannelEncoder(const ChannelEncoder&) = delete;
    ChannelEncoder& operator=(const ChannelEncoder&) = delete;

    const EffectiveOpusSettings& effective() const { return effective_; }
    int frame_samples() const { return frame_samples_; }

    // Fills frames from `in`, encoding each full one.
    template <class OnPacket>
    void push(std::span<const float> in, OnPacket&& on_packet) {
        std::size_t pos = 0;
        while (pos < in.size()) {
            const std::size_t space = static_cast<std::size_t>(frame_samples_ - frame_fill_);
            const std::size_t n = std::min(space, in.size() - pos);
            if (float_api_) {
                std::copy_n(in.data() + pos, n, frame_f32_.data() + frame_fill_);
            } else {
                opus_int16* dst = frame_i16_.data() + frame_fill_;
                for (std::size_t i = 0; i < n; ++i) dst[i] = to_int16(in[pos + i]);
            }
            frame_fill_ += static_cast<int>(n);
            pos += n;
            if (frame_fill_ == frame_samples_) encode(on_packet);
        }
    }

    // Like opus_demo at the end: zero-pads the partial frame (then whole
    // frames of silence) and encodes it.
    template <class OnPacket>
    void push_padding(OnPacket&& on_packet) {
        if (float_api_)
            std::fill(frame_f32_.begin() + frame_fill_, frame_f32_.end(), 0.0f);
        else
            std::fill(frame_i16_.begin() + frame_fill_, frame_i16_.end(), opus_int16{0});
        frame_fill_ = frame_samples_;
        encode(on_packet);
    }

private:
    template <class OnPacket>
    void encode(OnPacket&& on_packet) {
        frame_fill_ = 0;
        OpusEncoder* const encoder = encoder_.get();
        const int bytes = float_api_ ? opus_encode_float(encoder, frame_f32_.data(), frame_samples_, packet_.data(),
                                                         kMaxPacketBytes)
                                     : opus_encode(encoder, frame_i16_.data(), frame_samples_, packet_.data(),
                                                   kMaxPacketBytes);
        if (bytes < 0)
            throw Error("libopus opus_encode failed on packet " + std::to_string(packets_) + ": " +
                        opus_strerror(bytes));
        ++packets_;
        opus_uint32 range = 0;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_FINAL_RANGE(&range));
        on_packet(packet_.data(), bytes, static_cast<std::uint32_t>(range));
    }

    void read_back() {
        opus_int32 v = 0;
        EffectiveOpusSettings& e = effective_;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_APPLICATION(&v));
        e.application = from_opus_application(v);
        opus_encoder_ctl(encoder_.get(), OPUS_GET_BITRATE(&v));
        e.bitrate_bps = v;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_VBR(&v));
        e.vbr = v != 0;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_VBR_CONSTRAINT(&v));
        e.vbr_constraint = v != 0;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_COMPLEXITY(&v));
        e.complexity = v;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_MAX_BANDWIDTH(&v));
        e.max_bandwidth = from_opus_bandwidth(v);
        // libopus has no getter for the forced bandwidth: OPUS_GET_BANDWIDTH
        // reports the bandwidth of the last encoded frame (Fullband before
        // the first). So this one is the request, echoed.
        e.forced_bandwidth = settings_.forced_bandwidth;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_SIGNAL(&v));
        e.signal = from_opus_signal(v);
        opus_encoder_ctl(encoder_.get(), OPUS_GET_INBAND_FEC(&v));
        e.inband_fec = v != 0;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_PACKET_LOSS_PERC(&v));
        e.expected_loss_pct = v;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_DTX(&v));
        e.dtx = v != 0;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_LSB_DEPTH(&v));
        e.lsb_depth_bits = v;
        opus_encoder_ctl(encoder_.get(), OPUS_GET_EXPERT_FRAME_DURATION(&v));
        e.frame_ms = frame_ms_from_code(v);
        opus_encoder_ctl(encoder_.get(), OPUS_GET_LOOKAHEAD(&v));
        e.lookahead_samples = v;
        e.libopus_version = opus_get_version_string();
    }

    OpusSettings settings_;
    EffectiveOpusSettings effective_;
    dsp::OpusEncoderHandle encoder_;
    bool float_api_ = false;
    int frame_samples_ = 0;
    // Input frame being filled; one of the two is used, by input depth.
    std::vector<opus_int16> frame_i16_;
    std::vector<float> frame_f32_;
    int frame_fill_ = 0;
    std::array<std::uint8_t, kMaxPacketBytes> packet_{};
    std::int64_t packets_ = 0;
};

// The receiving side: loss model, libopus decoder with concealment and FEC,
// look-ahead removal, statistics and the packet observer.
class ChannelDecoder {
public:
    ChannelDecoder(const OpusSettings& s, int lookahead_samples, const LossModelConfig& loss_config,
                   std::uint64_t seed)
        : settings_(s), loss_(loss_config, seed), skip_samples_(lookahead_samples) {
        int error = OPUS_OK;
        decoder_.reset(opus_decoder_create(kRateHz, 1, &error));
        if (error != OPUS_OK || !decoder_)
            throw Error(std::string("libopus opus_decoder_create failed: ") + opus_strerror(error));
        float_api_ = settings_.input_depth_bits == 24;
        frame_samples_ = frame_samples_of(settings_);
        if (float_api_)
            decoded_f32_.assign(kMaxDecodeSamples, 0.0f);
        else
            decoded_i16_.assign(kMaxDecodeSamples, 0);
    }
    ChannelDecoder(const ChannelDecoder&) = delete;
    ChannelDecoder& operator=(const ChannelDecoder&) = delete;

    /// Input samples so far: the output never goes past them.
    std::int64_t input_samples = 0;
    std::int64_t output_samples() const { return output_samples_; }
    const ChannelStats& stats() const { return stats_; }
    std::function<void(const PacketRecord&)> observer;

    // One packet as the encoder sent it: the loss model decides its fate.
    void on_packet(const std::uint8_t* packet, int bytes, std::uint32_t final_range, std::vector<float>& out) {
        std::uint8_t* data = packet_data_[static_cast<std::size_t>(slot_)].data();
        std::copy_n(packet, bytes, data);
        packet_bytes_[static_cast<std::size_t>(slot_)] = bytes;

        PacketRecord record;
        record.index = next_index_++;
        record.time_s = static_cast<double>(record.index) * settings_.frame_ms / 1000.0;
        record.size_bytes = bytes;
        parse_toc(std::span<const std::uint8_t>(data, static_cast<std::size_t>(bytes)), record.toc);
        record.dtx = bytes <= 2;
        record.final_range = final_range;
        record.lost = loss_.next_lost();
        count_sent(record);

        if (!settings_.inband_fec) {
            if (record.lost) {
                ++stats_.concealed;
                append(out, decode(nullptr, 0, concealment_samples(), false));
            } else {
                append(out, decode(data, bytes, kMaxDecodeSamples, false));
                decoder_mode_is_celt_ = record.toc.mode == CodecMode::Celt;
            }
            emit(record);
            return;
        }

        // FEC: decode one packet behind, so that a lost packet k-1 can be
        // rebuilt from the redundancy carried by packet k.
        if (has_pending_) {
            const std::size_t prev = static_cast<std::size_t>(1 - slot_);
            if (!pending_.lost) {
                append(out, decode(packet_data_[prev].data(), packet_bytes_[prev], kMaxDecodeSamples, false));
                decoder_mode_is_celt_ = pending_.toc.mode == CodecMode::Celt;
            } else if (!record.lost) {
                const int samples = concealment_samples();
                // Conditions under which libopus really uses the FEC instead
                // of falling back to PLC (opus_decode_native, decode_fec).
                const bool usable = packet_has_lbrr(data, bytes, record.toc) && !decoder_mode_is_celt_ &&
                                    record.toc.frame_ms * kRateHz / 1000.0 <= samples;
                append(out, decode(data, bytes, samples, true));
                if (usable) {
                    pending_.fec_recovered = true;
                    ++stats_.fec_recovered;
                    decoder_mode_is_celt_ = false;
                } else {
                    ++stats_.concealed;
                }
            } else {
                ++stats_.concealed;
                append(out, decode(nullptr, 0, concealment_samples(), false));
            }
            emit(pending_);
        }
        pending_ = record;
        has_pending_ = true;
        slot_ = 1 - slot_;
    }

    // The end of the stream: with FEC the last packet is never decoded; it is
    // reported here (and counts as concealed if it was lost).
    void finish() {
        if (has_pending_) {
            if (pending_.lost) ++stats_.concealed;
            emit(pending_);
            has_pending_ = false;
        }
    }

private:
    // PLC length: what the decoder last produced, as opus_demo asks for; one
    // frame when nothing was decoded yet.
    int concealment_samples() const {
        opus_int32 samples = 0;
        opus_decoder_ctl(decoder_.get(), OPUS_GET_LAST_PACKET_DURATION(&samples));
        return samples > 0 ? samples : frame_samples_;
    }

    int decode(const std::uint8_t* data, int bytes, int max_samples, bool fec) {
        OpusDecoder* const decoder = decoder_.get();
        const int samples = float_api_ ? opus_decode_float(decoder, data, bytes, decoded_f32_.data(), max_samples,
                                                           fec ? 1 : 0)
                                       : opus_decode(decoder, data, bytes, decoded_i16_.data(), max_samples,
                                                     fec ? 1 : 0);
        if (samples < 0)
            throw Error("libopus opus_decode failed near packet " + std::to_string(next_index_ - 1) + ": " +
                        opus_strerror(samples));
        return samples;
    }

    // Appends decoded samples, dropping the encoder look-ahead first and never
    // going past the input length.
    void append(std::vector<float>& out, int samples) {
        int first = std::min(skip_samples_, samples);
        skip_samples_ -= first;
        const std::int64_t room = input_samples - output_samples_;
        const int count = static_cast<int>(std::min<std::int64_t>(samples - first, room));
        if (count <= 0) return;
        const std::size_t start = out.size();
        out.resize(start + static_cast<std::size_t>(count));
        float* dst = out.data() + start;
        if (float_api_) {
            std::copy_n(decoded_f32_.data() + first, count, dst);
        } else {
            const opus_int16* src = decoded_i16_.data() + first;
            for (int i = 0; i < count; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 32768.0f);
        }
        output_samples_ += count;
    }

    void count_sent(const PacketRecord& record) {
        ++stats_.packets;
        stats_.bytes += record.size_bytes;
        stats_.duration_s = static_cast<double>(stats_.packets) * settings_.frame_ms / 1000.0;
        if (record.dtx) ++stats_.dtx_packets;
        ++stats_.mode_packets[static_cast<int>(record.toc.mode)];
        ++stats_.bandwidth_packets[static_cast<int>(record.toc.bandwidth)];
        stats_.loss.add(record.lost);
    }

    void emit(const PacketRecord& record) const {
        if (observer) observer(record);
    }

    OpusSettings settings_;
    LossModel loss_;
    dsp::OpusDecoderHandle decoder_;
    bool float_api_ = false;
    int frame_samples_ = 0;
    // Decoder output of one call.
    std::vector<opus_int16> decoded_i16_;
    std::vector<float> decoded_f32_;
    // Two packet slots: with FEC the previous packet waits for the next one.
    std::array<std::array<std::uint8_t, kMaxPacketBytes>, 2> packet_data_{};
    std::array<int, 2> packet_bytes_{};
    int slot_ = 0;
    PacketRecord pending_;                // FEC: packet k-1, not yet decoded
    bool has_pending_ = false;
    bool decoder_mode_is_celt_ = false;   // mirrors the decoder's st->mode check for FEC
    int skip_samples_ = 0;                // look-ahead still to drop
    std::int64_t output_samples_ = 0;
    std::int64_t next_index_ = 0;
    ChannelStats stats_;
};

}  // namespace

struct OpusChannel::Impl {
    ChannelEncoder encoder;
    ChannelDecoder decoder;
    bool finished = false;

    Impl(const OpusSettings& s, const LossModelConfig& loss_config, std::uint64_t seed)
        : encoder(s), decoder(s, encoder.effective().lookahead_samples, loss_config, seed) {}

    void push(std::span<const float> in, std::vector<float>& out) {
        if (finished) throw Error("OpusChannel::push called after finish()");
        decoder.input_samples += static_cast<std::int64_t>(in.size());
        encoder.push(in, [&](const std::uint8_t* data, int bytes, std::uint32_t range) {
            decoder.on_packet(data, bytes, range, out);
        });
    }

    void finish(std::vector<float>& out) {
        if (finished) return;
        finished = true;
        // Like opus_demo: keep encoding silence until the decoder has given
        // back as much as went in.
        while (decoder.output_samples() < decoder.input_samples)
            encoder.push_padding([&](const std::uint8_t* data, int bytes, std::uint32_t range) {
                decoder.on_packet(data, bytes, range, out);
            });
        decoder.finish();
    }
};

OpusChannel::OpusChannel(const OpusSettings& settings, const LossModelConfig& loss, std::uint64_t seed) {
    validate(settings);
    validate(loss);
    impl_ = std::make_unique<Impl>(settings, loss, seed);
}

OpusChannel::~OpusChannel() = default;
OpusChannel::OpusChannel(OpusChannel&&) noexcept = default;
OpusChannel& OpusChannel::operator=(OpusChannel&&) noexcept = default;

const EffectiveOpusSettings& OpusChannel::effective_settings() const { return impl_->encoder.effective(); }

void OpusChannel::set_packet_observer(std::function<void(const PacketRecord&)> observer) {
    impl_->decoder.observer = std::move(observer);
}

void OpusChannel::push(std::span<const float> in, std::vector<float>& out) { impl_->push(in, out); }

void OpusChannel::finish(std::vector<float>& out) { impl_->finish(out); }

const ChannelStats& OpusChannel::stats() const { return impl_->decoder.stats(); }

namespace {

// An observer that collects the packet records into `packets` (none when null).
std::function<void(const PacketRecord&)> packet_collector(std::vector<PacketRecord>* packets) {
    if (!packets) return {};
    packets->clear();
    return [packets](const PacketRecord& record) { packets->push_back(record); };
}

}  // namespace

std::vector<float> run_opus_channel(std::span<const float> in, const OpusSettings& settings,
                                    const LossModelConfig& loss, std::uint64_t seed, ChannelStats* stats,
                                    std::vector<PacketRecord>* packets) {
    OpusChannel channel(settings, loss, seed);
    channel.set_packet_observer(packet_collector(packets));
    std::vector<float> out;
    out.reserve(in.size());
    channel.push(in, out);
    channel.finish(out);
    if (stats) *stats = channel.stats();
    return out;
}

// ---------------------------------------------------------------- encode once

std::span<const std::uint8_t> OpusPackets::packet(std::size_t k) const {
    const std::size_t begin = k == 0 ? 0 : ends[k - 1];
    return std::span<const std::uint8_t>(bytes.data() + begin, ends[k] - begin);
}

OpusPackets encode_opus(std::span<const float> in, const OpusSettings& settings) {
    validate(settings);
    ChannelEncoder encoder(settings);
    OpusPackets result;
    result.settings = settings;
    result.effective = encoder.effective();
    result.input_samples = static_cast<std::int64_t>(in.size());
    const auto keep = [&result](const std::uint8_t* data, int bytes, std::uint32_t range) {
        result.bytes.insert(result.bytes.end(), data, data + bytes);
        result.ends.push_back(result.bytes.size());
        result.final_ranges.push_back(range);
    };
    // Every decode call gives back one frame (a packet, its concealment, or
    // its FEC rebuild), so the output is complete after ceil((input +
    // look-ahead) / frame) decoded packets, one more with FEC (decoded one
    // behind). Two frames more than that are encoded, to be safe; decoding
    // takes only those it needs, as OpusChannel::finish() would encode them.
    const std::int64_t frame = encoder.frame_samples();
    const std::int64_t needed =
        result.input_samples == 0 ? 0 : (result.input_samples + result.effective.lookahead_samples) / frame + 3;
    try {
        encoder.push(in, keep);
        while (static_cast<std::int64_t>(result.ends.size()) < needed) encoder.push_padding(keep);
    } catch (const Error& e) {
        // As OpusChannel, the failure shows when decoding reaches the packet.
        result.encode_error = e.what();
    }
    return result;
}

std::vector<float> decode_opus(const OpusPackets& packets, const LossModelConfig& loss, std::uint64_t seed,
                               ChannelStats* stats, std::vector<PacketRecord>* records) {
    validate(loss);
    ChannelDecoder decoder(packets.settings, packets.effective.lookahead_samples, loss, seed);
    decoder.observer = packet_collector(records);
    decoder.input_samples = packets.input_samples;
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(packets.input_samples));
    std::size_t k = 0;
    const auto next = [&] {
        if (k >= packets.count())
            throw Error(!packets.encode_error.empty()
                            ? packets.encode_error
                            : "decode_opus: the packets end before the output is complete (" +
                                  std::to_string(packets.count()) + " packets)");
        const std::span<const std::uint8_t> packet = packets.packet(k);
        decoder.on_packet(packet.data(), static_cast<int>(packet.size()), packets.final_ranges[k], out);
        ++k;
    };
    // The packets OpusChannel::push() would encode (whole input frames), then
    // the padding OpusChannel::finish() would.
    const std::size_t full_frames =
        static_cast<std::size_t>(packets.input_samples / frame_samples_of(packets.settings));
    while (k < full_frames) next();
    while (decoder.output_samples() < decoder.input_samples) next();
    decoder.finish();
    if (stats) *stats = decoder.stats();
    return out;
}

}  // namespace sibilant
