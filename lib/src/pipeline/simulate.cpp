#include "sibilant/simulate.hpp"

#include <algorithm>
#include <optional>
#include <vector>

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

}  // namespace

SimulateReport simulate_file(const std::string& input_path, const std::string& output_path,
                             const SimulateOptions& options) {
    SimulateReport report;
    report.requested = options.opus;
    report.seed = options.seed;
    report.output_path = output_path;
    report.loss_model = describe(options.loss);

    ReadOptions read = options.read;
    read.target_rate_hz = kInternalRateHz;
    AudioFileReader reader(input_path, read);
    report.input = reader.info();

    const int input_rate_hz = report.input.sample_rate_hz;
    report.output_rate_hz = options.output_rate_hz == 0 ? input_rate_hz : options.output_rate_hz;
    if (report.output_rate_hz != input_rate_hz && report.output_rate_hz != kInternalRateHz)
        throw Error(output_path + ": output rate " + std::to_string(report.output_rate_hz) +
                    " Hz must be the input's rate (" + std::to_string(input_rate_hz) + " Hz) or " +
                    std::to_string(kInternalRateHz) + " Hz");
    report.output_format = options.output_format.value_or(report.input.sample_format);
    report.requested.input_depth_bits = opus_input_depth_for(report.input.sample_format);

    // Open the output before the heavy work so a bad path fails at once.
    AudioFileWriter writer(output_path, report.output_rate_hz, report.output_format);
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
        writer.write(std::span<const float>(ready->data(), n));
        report.output_frames += static_cast<std::int64_t>(n);
        decoded.clear();
    };

    for (;;) {
        const std::size_t n = reader.read(block);
        if (n == 0) break;
        channel.push(std::span<const float>(block.data(), n), decoded);
        emit(false);
    }
    channel.finish(decoded);
    emit(true);
    if (report.output_frames < wanted_frames) {
        const std::vector<float> pad(static_cast<std::size_t>(wanted_frames - report.output_frames), 0.0f);
        writer.write(pad);
        report.output_frames = wanted_frames;
    }
    writer.commit();
    report.channel = channel.stats();
    return report;
}

}  // namespace sibilant
