// The Opus channel: encode 48 kHz mono speech with libopus, drop packets as a
// loss model says, decode with concealment and in-band FEC, and hand back a
// signal of exactly the input's length, sample-aligned with it.
//
// With OpusSettings::input_depth_bits == 16 the channel follows libopus's own
// opus_demo tool (libopus 1.3.1 src/opus_demo.c) step for step: 16-bit encode
// API, OPUS_SET_LSB_DEPTH(16), decode one packet behind when FEC is on,
// 16-bit decode API (which soft-clips and rounds), the encoder look-ahead
// dropped from the start, zero padding at the end. With no loss its output is
// sample-identical to opus_demo's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sibilant/loss.hpp"

namespace sibilant {

enum class Application { Voip, Audio, RestrictedLowDelay };
/// Audio bandwidths: NB 4 kHz, MB 6 kHz, WB 8 kHz, SWB 12 kHz, FB 20 kHz.
enum class Bandwidth { Auto, Narrowband, Mediumband, Wideband, SuperWideband, Fullband };
enum class RateControl { Vbr, ConstrainedVbr, Cbr };
enum class SignalHint { Auto, Voice, Music };
enum class CodecMode { Silk, Hybrid, Celt };

/// "voip", "audio", "restricted-lowdelay".
const char* to_string(Application value);
/// "auto", "nb", "mb", "wb", "swb", "fb".
const char* to_string(Bandwidth value);
/// "vbr", "cvbr", "cbr".
const char* to_string(RateControl value);
/// "auto", "voice", "music".
const char* to_string(SignalHint value);
/// "SILK", "Hybrid", "CELT".
const char* to_string(CodecMode value);
/// Upper audio frequency of a bandwidth in Hz (NB 4000 ... FB 20000; Auto 20000).
int bandwidth_hz(Bandwidth value);

/// Parse the names above (case-insensitive). Throw Error naming the value and
/// listing the accepted ones.
Application parse_application(const std::string& name);
Bandwidth parse_bandwidth(const std::string& name);
SignalHint parse_signal_hint(const std::string& name);

struct OpusSettings {
    Application application = Application::Voip;
    int bitrate_bps = 24000;            ///< [6000, 510000]
    RateControl rate_control = RateControl::Vbr;
    int complexity = 10;                ///< [0, 10]
    double frame_ms = 20.0;             ///< One of 2.5, 5, 10, 20, 40, 60.
    Bandwidth max_bandwidth = Bandwidth::Fullband;  ///< Auto is not allowed here.
    Bandwidth forced_bandwidth = Bandwidth::Auto;   ///< Auto lets libopus choose.
    SignalHint signal = SignalHint::Auto;
    bool inband_fec = false;
    int expected_loss_pct = 0;          ///< [0, 100], OPUS_SET_PACKET_LOSS_PERC.
    bool dtx = false;
    /// 16: the opus_demo path (16-bit encode/decode API, LSB depth 16); input
    /// is rounded to 16 bits. 24: float encode/decode API, LSB depth 24.
    int input_depth_bits = 16;

    bool operator==(const OpusSettings&) const = default;
};

/// Throws Error naming the setting, the bad value and the allowed range.
void validate(const OpusSettings& settings);

/// What libopus reports after the settings were applied (OPUS_GET_*): libopus
/// clamps some values silently, so this is what was really used.
struct EffectiveOpusSettings {
    Application application = Application::Voip;
    int bitrate_bps = 0;
    bool vbr = true;
    bool vbr_constraint = false;
    int complexity = 0;
    Bandwidth max_bandwidth = Bandwidth::Fullband;
    Bandwidth forced_bandwidth = Bandwidth::Auto;
    SignalHint signal = SignalHint::Auto;
    bool inband_fec = false;
    int expected_loss_pct = 0;
    bool dtx = false;
    int lsb_depth_bits = 0;
    double frame_ms = 0.0;
    int lookahead_samples = 0;          ///< At 48 kHz.
    std::string libopus_version;
};

/// What the first byte of an Opus packet says (RFC 6716 section 3.1).
struct TocInfo {
    CodecMode mode = CodecMode::Silk;
    Bandwidth bandwidth = Bandwidth::Narrowband;
    double frame_ms = 0.0;              ///< Duration of one frame.
    int frames_per_packet = 0;          ///< From the frame-count code (code 3 reads byte 2).
    bool stereo = false;
};

/// Parses the TOC (and, for code 3, the frame-count byte). Returns false for a
/// packet too short or malformed to parse; never reads past `packet`.
bool parse_toc(std::span<const std::uint8_t> packet, TocInfo& out) noexcept;

/// One packet of the simulated stream.
struct PacketRecord {
    std::int64_t index = 0;
    double time_s = 0.0;                ///< Start of the packet in the input timeline.
    int size_bytes = 0;
    TocInfo toc;
    bool lost = false;
    bool fec_recovered = false;         ///< Lost, but rebuilt from the next packet's FEC.
    bool dtx = false;                   ///< Encoder sent a DTX packet (<= 2 bytes).
    std::uint32_t final_range = 0;      ///< Encoder's OPUS_GET_FINAL_RANGE.
};

/// Totals over the stream so far.
struct ChannelStats {
    std::int64_t packets = 0;
    std::int64_t bytes = 0;
    double duration_s = 0.0;            ///< Of the packets sent.
    std::int64_t fec_recovered = 0;
    std::int64_t concealed = 0;         ///< Lost and not recovered by FEC.
    std::int64_t dtx_packets = 0;
    std::int64_t mode_packets[3] = {0, 0, 0};        ///< Indexed by CodecMode.
    std::int64_t bandwidth_packets[6] = {0, 0, 0, 0, 0, 0};  ///< Indexed by Bandwidth.
    LossStats loss;
    double mean_bitrate_bps() const { return duration_s > 0 ? static_cast<double>(bytes) * 8.0 / duration_s : 0.0; }
};

class OpusChannel {
public:
    /// Throws Error for invalid settings or loss config, or if libopus refuses.
    OpusChannel(const OpusSettings& settings, const LossModelConfig& loss, std::uint64_t seed);
    ~OpusChannel();
    OpusChannel(OpusChannel&&) noexcept;
    OpusChannel& operator=(OpusChannel&&) noexcept;

    const EffectiveOpusSettings& effective_settings() const;

    /// Called once per packet, in order, as the packet is decoded.
    void set_packet_observer(std::function<void(const PacketRecord&)> observer);

    /// Pushes 48 kHz mono samples. Decoded samples, aligned with the input
    /// (look-ahead removed), are appended to `out` as they become ready.
    void push(std::span<const float> in, std::vector<float>& out);
    /// Ends the stream: encodes zero padding until the output, in total, is
    /// exactly as long as the input, and appends the rest to `out`.
    void finish(std::vector<float>& out);

    const ChannelStats& stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Runs a whole buffer through a fresh channel (convenience).
std::vector<float> run_opus_channel(std::span<const float> in, const OpusSettings& settings,
                                    const LossModelConfig& loss, std::uint64_t seed,
                                    ChannelStats* stats = nullptr,
                                    std::vector<PacketRecord>* packets = nullptr);

/// One signal encoded once: every packet the channel's encoder sends for it,
/// including the silence that ends the stream. decode_opus() turns it into
/// what run_opus_channel() would give with any loss model and seed: the
/// encoder depends only on the input and the settings (loss happens to the
/// packets after encoding), so a sweep encodes each file once per set of
/// encoder settings and decodes it once per loss pattern.
struct OpusPackets {
    OpusSettings settings;
    EffectiveOpusSettings effective;
    std::int64_t input_samples = 0;
    std::vector<std::uint8_t> bytes;          ///< Every packet, back to back.
    std::vector<std::size_t> ends;            ///< Packet k ends at bytes[ends[k]] (starts at ends[k-1], or 0).
    std::vector<std::uint32_t> final_ranges;  ///< OPUS_GET_FINAL_RANGE after each packet.
    /// When libopus failed on packet count(): the message, thrown by
    /// decode_opus() when it reaches that packet (where OpusChannel throws).
    std::string encode_error;

    std::size_t count() const { return ends.size(); }
    std::span<const std::uint8_t> packet(std::size_t k) const;
};

/// Encodes a whole buffer as OpusChannel does (validate(settings) first; throws
/// Error as the OpusChannel constructor does). A few more padding packets than
/// the decoder needs are kept; decode_opus() takes only those it needs.
OpusPackets encode_opus(std::span<const float> in, const OpusSettings& settings);

/// Decodes packets through a loss model: the same samples, stats and packet
/// records as run_opus_channel(in, packets.settings, loss, seed) on the
/// input that was encoded. Throws Error for an invalid loss config, for a
/// libopus failure (encode or decode, with the channel's message).
std::vector<float> decode_opus(const OpusPackets& packets, const LossModelConfig& loss, std::uint64_t seed,
                               ChannelStats* stats = nullptr, std::vector<PacketRecord>* records = nullptr);

}  // namespace sibilant
