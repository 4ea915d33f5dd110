#include "sibilant/simulate.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <vector>

#include "dsp/sample_check.hpp"
#include "sibilant/error.hpp"
#include "sibilant/resampler.hpp"

namespace sibilant {

namespace {

// Large enough to amortise per-call overhead, small enough that memory stays
// bounded for any file length.
constexpr std::size_t kBlockFrames = 16384;

// The opus_demo path (16-bit API) is exact only for 16-bit sources; deeper
// sources use the float API so nothing is rounded away before the codec.
int opus_input_depth_for(SampleFormat format) { return format == SampleFormat::Pcm16 ? 16 : 24; }

// The channel between a source of 48 kHz blocks and a sink at the output
// rate, shared by files and samples in memory. `report` arrives with its
// input, requested settings and output rate filled in; the sink receives
// exactly report.input.frames frames at that rate (converted when it differs).
void run_simulation(SimulateReport& report, const SimulateOptions& options,
                    const std::function<std::size_t(std::span<float>)>& read_48k,
                    const std::function<void(std::span<const float>)>& write) {
    const int input_rate_hz = report.input.sample_rate_hz;
    OpusChannel channel(report.requested, options.loss, options.seed);
    report.effective = channel.effective_settings();
    if (options.on_packet) channel.set_packet_observer(options.on_packet);

    std::optional<Resampler> to_output_rate;
    if (report.output_rate_hz != kInternalRateHz) to_output_rate.emplace(kInternalRateHz, report.output_rate_hz);

    // The output has exactly as many frames as the input, whatever rounding the
    // two rate conversions did.
    const std::int64_t wanted_frames =
        report.output_rate_hz == input_rate_hz
            ? report.input.frames
            : static_cast<std::int64_t>(double(report.input.frames) * report.output_rate_hz / input_rate_hz + 0.5);

    std::vector<float> block(kBlockFrames);
    std::vector<float> decoded;
    std::vector<float> converted;
    auto emit = [&](bool last) {
        const std::vector<float>* ready = &decoded;
        if (to_output_rate) {
            converted.clear();
            to_output_rate->process(decoded, converted);
            if (last) to_output_rate->flush(converted);
            ready = &converted;
        }
        const auto room = std::max<std::int64_t>(0, wanted_frames - report.output_frames);
        const auto n = static_cast<std::size_t>(std::min<std::int64_t>(room, std::int64_t(ready->size())));
        write(std::span<const float>(ready->data(), n));
        report.output_frames += static_cast<std::int64_t>(n);
        decoded.clear();
    };

    for (;;) {
        const std::size_t n = read_48k(block);
        if (n == 0) break;
        channel.push(std::span<const float>(block.data(), n), decoded);
        emit(false);
    }
    channel.finish(decoded);
    emit(true);
    if (report.output_frames < wanted_frames) {
        const std::vector<float> pad(static_cast<std::size_t>(wanted_frames - report.output_frames), 0.0f);
        write(pad);
        report.output_frames = wanted_frames;
    }
    report.channel = channel.stats();
}

// What both entry points set before the channel runs; throws Error naming
// `output_name` for an output rate that is neither the input's nor 48 kHz.
SimulateReport start_report(const AudioInfo& input, const std::string& output_name, const SimulateOptions& options) {
    SimulateReport report;
    report.input = input;
    report.requested = options.opus;
    report.seed = options.seed;
    report.loss_model = describe(options.loss);
    const int input_rate_hz = input.sample_rate_hz;
    report.output_rate_hz = options.output_rate_hz == 0 ? input_rate_hz : options.output_rate_hz;
    if (report.output_rate_hz != input_rate_hz && report.output_rate_hz != kInternalRateHz)
        throw Error(output_name + ": output rate " + std::to_string(report.output_rate_hz) +
                    " Hz must be the input's rate (" + std::to_string(input_rate_hz) + " Hz) or " +
                    std::to_string(kInternalRateHz) + " Hz");
    report.output_format = options.output_format.value_or(input.sample_format);
    report.requested.input_depth_bits = opus_input_depth_for(input.sample_format);
    return report;
}

}  // namespace

SimulateReport simulate_file(const std::string& input_path, const std::string& output_path,
                             const SimulateOptions& options) {
    ReadOptions read = options.read;
    read.target_rate_hz = kInternalRateHz;
    AudioFileReader reader(input_path, read);
    SimulateReport report = start_report(reader.info(), output_path, options);
    report.output_path = output_path;

    // Open the output before the heavy work so a bad path fails at once.
    AudioFileWriter writer(output_path, report.output_rate_hz, report.output_format);
    run_simulation(
        report, options, [&](std::span<float> block) { return reader.read(block); },
        [&](std::span<const float> samples) { writer.write(samples); });
    writer.commit();
    return report;
}

SimulateReport simulate_samples(std::span<const float> input, int input_rate_hz, SampleFormat input_format,
                                std::vector<float>& output, const SimulateOptions& options) {
    if (input_rate_hz < kMinInputRateHz || input_rate_hz > kMaxInputRateHz)
        throw Error("simulate: input sample rate " + std::to_string(input_rate_hz) + " Hz is outside " +
                    std::to_string(kMinInputRateHz) + ".." + std::to_string(kMaxInputRateHz) + " Hz");
    if (input.empty()) throw Error("simulate: input has no samples");
    dsp::require_audio(input, "simulate: input", input_rate_hz);
    AudioInfo info;
    info.sample_rate_hz = input_rate_hz;
    info.channels = 1;
    info.frames = static_cast<std::int64_t>(input.size());
    info.container = "memory";
    info.encoding = to_string(input_format);
    info.sample_format = input_format;
    SimulateReport report = start_report(info, "output", options);

    std::vector<float> input_48k;
    std::span<const float> source = input;
    if (input_rate_hz != kInternalRateHz) {
        input_48k = resample(input, input_rate_hz, kInternalRateHz);
        source = input_48k;
    }
    std::size_t taken = 0;
    output.clear();
    run_simulation(
        report, options,
        [&](std::span<float> block) {
            const std::size_t n = std::min(block.size(), source.size() - taken);
            std::copy_n(source.begin() + static_cast<std::ptrdiff_t>(taken), n, block.begin());
            taken += n;
            return n;
        },
        [&](std::span<const float> samples) { output.insert(output.end(), samples.begin(), samples.end()); });
    return report;
}

}  // namespace sibilant
