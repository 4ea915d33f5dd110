// Packet-loss models for the Opus channel. Seeded and reproducible: the same
// config and seed give the same loss pattern on every platform (the random
// numbers come from a fixed 64-bit generator, not from <random> distributions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sibilant {

enum class LossKind { None, Bernoulli, GilbertElliott, Trace };

struct LossModelConfig {
    LossKind kind = LossKind::None;
    /// Bernoulli: probability that a packet is lost, [0, 1].
    double loss_probability = 0.0;
    /// Gilbert-Elliott: per-packet transition probabilities, each in [0, 1].
    double p_good_to_bad = 0.0;
    double r_bad_to_good = 1.0;
    /// Gilbert-Elliott: loss probability inside each state, each in [0, 1].
    double loss_in_good = 0.0;
    double loss_in_bad = 1.0;
    /// Trace: one flag per packet, 1 = lost, 0 = received. A trace shorter
    /// than the stream repeats from its start.
    std::vector<std::uint8_t> trace;
    /// Where the trace came from (for reports); empty otherwise.
    std::string trace_source;
};

/// Throws Error naming the bad field and its allowed range.
void validate(const LossModelConfig& config);

/// Canonical text form, e.g. "bernoulli:0.1", "ge:0.05,0.5,0,1",
/// "trace:FILE (N packets)".
std::string describe(const LossModelConfig& config);

/// Parses the command-line spec: "none", "bernoulli:P", "ge:P,R[,LOSS_GOOD,LOSS_BAD]"
/// or "trace:FILE". A trace file holds whitespace-separated flags 0 (received)
/// or 1 (lost), '#' starts a comment. Throws Error naming the spec (or the file
/// and line) and the cause.
LossModelConfig parse_loss_spec(const std::string& spec);

/// Draws a received/lost decision per packet.
class LossModel {
public:
    /// Throws Error if the config is invalid.
    LossModel(const LossModelConfig& config, std::uint64_t seed);
    /// True when the next packet is lost.
    bool next_lost() noexcept;

private:
    LossModelConfig config_;
    std::uint64_t rng_state_;
    bool in_bad_state_ = false;
    std::size_t trace_pos_ = 0;
    double uniform() noexcept;  ///< [0, 1)
};

/// Realised loss over a stream of packets.
struct LossStats {
    std::int64_t packets = 0;
    std::int64_t lost = 0;
    std::int64_t bursts = 0;             ///< Runs of consecutive lost packets.
    std::int64_t max_burst_packets = 0;
    /// burst_histogram[k] = number of bursts of exactly k+1 packets.
    std::vector<std::int64_t> burst_histogram;

    double loss_rate() const { return packets > 0 ? static_cast<double>(lost) / static_cast<double>(packets) : 0.0; }
    double mean_burst_packets() const { return bursts > 0 ? static_cast<double>(lost) / static_cast<double>(bursts) : 0.0; }
    /// Adds one packet's outcome, in stream order.
    void add(bool lost_packet);

private:
    std::int64_t current_burst_ = 0;
};

}  // namespace sibilant
