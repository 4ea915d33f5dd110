// File-level simulation: read a recording, pass it through the Opus channel,
// write the result. Memory stays bounded: the file streams through in blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

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

/// One JSON object (single line) for a packet, for JSON Lines logs.
std::string to_json(const PacketRecord& packet);
/// One JSON object (pretty-printed) for a report.
std::string to_json(const SimulateReport& report);
/// A short human-readable summary of a report.
std::string to_text(const SimulateReport& report);

}  // namespace sibilant
