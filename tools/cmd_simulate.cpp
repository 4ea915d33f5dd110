#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "checks.hpp"
#include "commands.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"
#include "sibilant/simulate.hpp"

namespace sibilant::cli {

namespace {

struct SimulateArgs {
    std::string input_path;
    std::string output_path;
    OpusSettings opus;
    std::string application = "voip";
    std::string bandwidth;
    std::string max_bandwidth = "fb";
    std::string signal = "auto";
    bool vbr = false, cvbr = false, cbr = false;
    std::string loss = "none";
    std::uint64_t seed = 1;
    std::string packets_path;
    std::string json_path;
    int channel = 0;  // 1-based; 0 mixes all channels down
    std::string out_rate = "input";
    std::string format;
    bool quiet = false;
};

// The library's messages name its own fields ("bitrate_bps 5999 is outside
// 6000..510000", "unknown bandwidth"); the flag that set the value goes first.
template <class Parse>
auto with_flag(const char* flag, Parse&& parse) {
    try {
        return parse();
    } catch (const Error& e) {
        throw Error(std::string(flag) + ": " + e.what());
    }
}

// Validates one numeric setting alone (the others at their defaults), so that
// a bad value is reported with its flag.
template <class T>
void validate_alone(const char* flag, T OpusSettings::*field, const OpusSettings& settings) {
    OpusSettings alone;
    alone.*field = settings.*field;
    with_flag(flag, [&] { validate(alone); });
}

void run_simulate(const SimulateArgs& args) {
    SimulateOptions options;
    options.opus = args.opus;
    options.opus.application = with_flag("--application", [&] { return parse_application(args.application); });
    options.opus.max_bandwidth = with_flag("--max-bandwidth", [&] { return parse_bandwidth(args.max_bandwidth); });
    if (!args.bandwidth.empty())
        options.opus.forced_bandwidth = with_flag("--bandwidth", [&] { return parse_bandwidth(args.bandwidth); });
    options.opus.signal = with_flag("--signal", [&] { return parse_signal_hint(args.signal); });
    if (args.cbr) options.opus.rate_control = RateControl::Cbr;
    if (args.cvbr) options.opus.rate_control = RateControl::ConstrainedVbr;
    validate_alone("--bitrate", &OpusSettings::bitrate_bps, options.opus);
    validate_alone("--complexity", &OpusSettings::complexity, options.opus);
    validate_alone("--frame-ms", &OpusSettings::frame_ms, options.opus);
    validate_alone("--expected-loss", &OpusSettings::expected_loss_pct, options.opus);
    validate(options.opus);
    options.loss = with_flag("--loss", [&] { return parse_loss_spec(args.loss); });
    options.seed = args.seed;
    options.read.channel = args.channel - 1;
    if (args.out_rate == "input") options.output_rate_hz = 0;
    else if (args.out_rate == "48000") options.output_rate_hz = kInternalRateHz;
    else throw Error("--out-rate '" + args.out_rate + "': use 'input' or '48000'");
    if (!args.format.empty())
        options.output_format = with_flag("--format", [&] { return parse_sample_format(args.format); });

    // Every output is written under a temporary name and renamed only when the
    // whole run succeeded.
    std::optional<OutputFile> packets;
    if (!args.packets_path.empty()) {
        packets.emplace(args.packets_path);
        options.on_packet = [&packets](const PacketRecord& p) { packets->stream() << to_json(p) << '\n'; };
    }
    std::optional<OutputFile> json;
    if (!args.json_path.empty() && args.json_path != "-") json.emplace(args.json_path);

    const SimulateReport report = simulate_file(args.input_path, args.output_path, options);

    if (packets) packets->commit();
    if (json) {
        json->stream() << to_json(report) << '\n';
        json->commit();
    }
    if (args.json_path == "-") std::cout << to_json(report) << '\n';
    else if (!args.quiet) std::cout << to_text(report);
}

}  // namespace

void add_simulate_command(CLI::App& app) {
    auto args = std::make_shared<SimulateArgs>();
    CLI::App* cmd = app.add_subcommand(
        "simulate",
        "Encode a recording with libopus, drop packets as a loss model says, decode it with concealment\n"
        "(and in-band FEC when enabled), and write the result, sample-aligned with the input and of the same length.");
    cmd->add_option("IN", args->input_path, "Input audio: any format libsndfile reads (WAV, FLAC, OGG, ...), 8-192 kHz")
        ->required();
    cmd->add_option("OUT", args->output_path, "Output audio, .wav or .flac (mono)")->required();

    cmd->add_option("--bitrate", args->opus.bitrate_bps, "Target bitrate in bits per second, 6000..510000")
        ->capture_default_str();
    cmd->add_option("--application", args->application, "voip | audio | restricted-lowdelay")->capture_default_str();
    cmd->add_option("--complexity", args->opus.complexity, "Encoder complexity, 0..10")->capture_default_str();
    cmd->add_option("--frame-ms", args->opus.frame_ms, "Frame duration in ms: 2.5, 5, 10, 20, 40 or 60")
        ->capture_default_str();
    auto* forced = cmd->add_option("--bandwidth", args->bandwidth,
                                   "Force the coded bandwidth: nb (4 kHz), mb (6), wb (8), swb (12), fb (20)");
    auto* max_bw = cmd->add_option("--max-bandwidth", args->max_bandwidth,
                                   "Highest bandwidth libopus may choose: nb, mb, wb, swb, fb")
                       ->capture_default_str();
    forced->excludes(max_bw);
    auto* vbr = cmd->add_flag("--vbr", args->vbr, "Unconstrained variable bitrate (default)");
    auto* cvbr = cmd->add_flag("--cvbr", args->cvbr, "Constrained variable bitrate");
    auto* cbr = cmd->add_flag("--cbr", args->cbr, "Constant bitrate");
    vbr->excludes(cvbr)->excludes(cbr);
    cvbr->excludes(cbr);
    cmd->add_option("--signal", args->signal, "Signal hint: auto | voice | music")->capture_default_str();
    cmd->add_flag("--fec", args->opus.inband_fec, "In-band forward error correction (decoded one packet behind)");
    cmd->add_option("--expected-loss", args->opus.expected_loss_pct,
                    "Packet loss the encoder plans for, percent 0..100 (steers FEC)")
        ->capture_default_str();
    cmd->add_flag("--dtx", args->opus.dtx, "Discontinuous transmission in silence");
    cmd->add_option("--loss", args->loss,
                    "Packet loss model: none | bernoulli:P | ge:P,R[,LOSS_GOOD,LOSS_BAD] | trace:FILE\n"
                    "  P, R: per-packet probabilities 0..1 (Gilbert-Elliott: P good->bad, R bad->good;\n"
                    "  loss inside the states defaults to 0 and 1); FILE: flags 0 = received, 1 = lost, one per packet")
        ->capture_default_str();
    cmd->add_option("--seed", args->seed, "Seed of the loss model; same seed, same losses")
        ->check(whole_number_from(0))
        ->capture_default_str();
    cmd->add_option("--packets", args->packets_path, "Write a per-packet log as JSON Lines to this file");
    cmd->add_option("--json", args->json_path, "Write the run's report as JSON to this file ('-' for stdout)");
    cmd->add_option("--channel", args->channel, "Use only this input channel (1-based); default mixes all down")
        ->check(whole_number_from(1));
    cmd->add_option("--out-rate", args->out_rate, "Output sample rate: input (the input's rate) or 48000")
        ->capture_default_str();
    cmd->add_option("--format", args->format, "Output sample format: pcm16, pcm24, pcm32 or float; default the input's");
    cmd->add_flag("-q,--quiet", args->quiet, "Print nothing on success");

    cmd->callback([args] { run_simulate(*args); });
}

}  // namespace sibilant::cli
