// File-level simulation: read a recording, pass it through the Opus channel,
// write the result. Memory stays bounded: the file streams through in blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sibilant/audio.hpp"
#include "sibilant/loss.hpp"
#include "sibilant/opus_channel.hpp"

namespace sibilant {

struct SimulateOptions {
    OpusSettings opus;
    LossModelConfig loss;
    std::uint64_t seed = 1;
    ReadOptions read;                    ///< target_rate_hz is forced to 48 kHz.
    /// Output rate: 0 = the input's rate, else kInternalRateHz.
    int output_rate_hz = 0;
    /// Output sample format; unset = the input's. When unset, the Opus input
    /// depth follows the input too: 16 bits for Pcm16 sources, 24 otherwise.
    std::optional<SampleFormat> output_format;
    std::function<void(const PacketRecord&)> on_packet;
};

struct SimulateReport {
    AudioInfo input;
    std::string output_path;
    int output_rate_hz = 0;
    SampleFormat output_format = SampleFormat::Pcm16;
    std::int64_t output_frames = 0;
    OpusSettings requested;
    EffectiveOpusSettings effective;
    std::string loss_model;              ///< describe(LossModelConfig)
    std::uint64_t seed = 0;
    ChannelStats channel;
};

/// Throws Error naming the input or output file and the cause; on error the
/// output file is not created (an existing one is left untouched).
SimulateReport simulate_file(const std::string& input_path, const std::string& output_path,
                             const SimulateOptions& options);

/// simulate_file() on samples in memory: `input` is mono at input_rate_hz
/// ([kMinInputRateHz, kMaxInputRateHz]), of input_format's depth (Pcm16: the
/// opus_demo path, as for a 16-bit file; otherwise the float API). `output`
/// is replaced by the decoded signal at options.output_rate_hz (0: the
/// input's rate), exactly as long as the input. options.read is not used.
/// report.input names no path (container "memory"). Throws Error for an
/// empty input, a rate out of range, a sample that is no audio (naming it),
/// and as simulate_file() for the settings.
SimulateReport simulate_samples(std::span<const float> input, int input_rate_hz, SampleFormat input_format,
                                std::vector<float>& output, const SimulateOptions& options);

/// One JSON object (single line) for a packet, for JSON Lines logs.
std::string to_json(const PacketRecord& packet);
/// One JSON object (pretty-printed) for a report.
std::string to_json(const SimulateReport& report);
/// A short human-readable summary of a report.
std::string to_text(const SimulateReport& report);

}  // namespace sibilant
