// Packet-loss models. The random numbers come from splitmix64 (Steele, Lea &
// Flood 2014), a fixed 64-bit generator, so that a config and seed give the
// same loss pattern with every compiler and standard library.
#include <charconv>
#include <cmath>
#include <string>

#include "sibilant/error.hpp"
#include "sibilant/loss.hpp"

#include "dsp/stable_random.hpp"

namespace sibilant {

namespace {

// Shortest text that reads back as the same double ("0.1", not "0.100000").
std::string number_text(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

void check_probability(const char* field, double value) {
    if (!(value >= 0.0 && value <= 1.0))  // also rejects NaN
        throw Error(std::string(field) + " " + number_text(value) + " is outside 0..1");
}

}  // namespace

void validate(const LossModelConfig& config) {
    switch (config.kind) {
    case LossKind::None:
        return;
    case LossKind::Bernoulli:
        check_probability("loss_probability", config.loss_probability);
        return;
    case LossKind::GilbertElliott:
        check_probability("p_good_to_bad", config.p_good_to_bad);
        check_probability("r_bad_to_good", config.r_bad_to_good);
        check_probability("loss_in_good", config.loss_in_good);
        check_probability("loss_in_bad", config.loss_in_bad);
        return;
    case LossKind::Trace:
        if (config.trace.empty())
            throw Error("trace" + (config.trace_source.empty() ? std::string() : " " + config.trace_source) +
                        " is empty: it needs at least one 0/1 flag");
        for (std::size_t i = 0; i < config.trace.size(); ++i) {
            if (config.trace[i] > 1)
                throw Error("trace flag " + std::to_string(i) + " is " + std::to_string(config.trace[i]) +
                            ", expected 0 (received) or 1 (lost)");
        }
        return;
    }
    throw Error("loss kind " + std::to_string(static_cast<int>(config.kind)) + " is not a known LossKind");
}

std::string describe(const LossModelConfig& config) {
    switch (config.kind) {
    case LossKind::None:
        return "none";
    case LossKind::Bernoulli:
        return "bernoulli:" + number_text(config.loss_probability);
    case LossKind::GilbertElliott:
        return "ge:" + number_text(config.p_good_to_bad) + "," + number_text(config.r_bad_to_good) + "," +
               number_text(config.loss_in_good) + "," + number_text(config.loss_in_bad);
    case LossKind::Trace:
        return "trace:" + (config.trace_source.empty() ? std::string("(in memory)") : config.trace_source) +
               " (" + std::to_string(config.trace.size()) + " packets)";
    }
    return "unknown";
}

LossModel::LossModel(const LossModelConfig& config, std::uint64_t seed) : config_(config), rng_state_(seed) {
    validate(config_);
}

double LossModel::uniform() noexcept {
    // splitmix64 (dsp/stable_random.hpp): every seed, including 0, gives a
    // full-period sequence.
    const std::uint64_t z = splitmix64(rng_state_);
    rng_state_ += 0x9E3779B97F4A7C15ULL;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
}

bool LossModel::next_lost() noexcept {
    switch (config_.kind) {
    case LossKind::None:
        return false;
    case LossKind::Bernoulli:
        return uniform() < config_.loss_probability;
    case LossKind::GilbertElliott: {
        // Order: decide this packet's loss in the current state, then move to
        // the state of the next packet. The stream starts in the good state.
        // Two draws per packet, always, so the pattern does not depend on
        // which branch was taken.
        const double loss_draw = uniform();
        const double move_draw = uniform();
        const bool lost = loss_draw < (in_bad_state_ ? config_.loss_in_bad : config_.loss_in_good);
        if (in_bad_state_) {
            if (move_draw < config_.r_bad_to_good) in_bad_state_ = false;
        } else {
            if (move_draw < config_.p_good_to_bad) in_bad_state_ = true;
        }
        return lost;
    }
    case LossKind::Trace: {
        const bool lost = config_.trace[trace_pos_] != 0;
        trace_pos_ = (trace_pos_ + 1) % config_.trace.size();
        return lost;
    }
    }
    return false;
}

void LossStats::add(bool lost_packet) {
    ++packets;
    if (!lost_packet) {
        current_burst_ = 0;
        return;
    }
    ++lost;
    ++current_burst_;
    if (current_burst_ == 1) ++bursts;
    if (current_burst_ > max_burst_packets) max_burst_packets = current_burst_;
    // Keep the histogram true at every moment: the running burst moves from
    // the bin of its old length to the bin of its new length.
    const auto bin = static_cast<std::size_t>(current_burst_ - 1);
    if (burst_histogram.size() <= bin) burst_histogram.resize(bin + 1, 0);
    if (bin > 0) --burst_histogram[bin - 1];
    ++burst_histogram[bin];
}

}  // namespace sibilant
