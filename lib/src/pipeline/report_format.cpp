// JSON and text renderings of simulation results. nlohmann::json stays inside
// this file; the public API hands out strings.
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sibilant/simulate.hpp"

namespace sibilant {

namespace {

// ordered_json keeps keys in the order written, so logs read naturally (index first).
using json = nlohmann::ordered_json;

json toc_json(const TocInfo& toc) {
    return {{"mode", to_string(toc.mode)},
            {"bandwidth", to_string(toc.bandwidth)},
            {"frame_ms", toc.frame_ms},
            {"frames", toc.frames_per_packet}};
}

json requested_json(const OpusSettings& s) {
    return {{"application", to_string(s.application)},
            {"bitrate_bps", s.bitrate_bps},
            {"rate_control", to_string(s.rate_control)},
            {"complexity", s.complexity},
            {"frame_ms", s.frame_ms},
            {"max_bandwidth", to_string(s.max_bandwidth)},
            {"bandwidth", to_string(s.forced_bandwidth)},
            {"signal", to_string(s.signal)},
            {"inband_fec", s.inband_fec},
            {"expected_loss_pct", s.expected_loss_pct},
            {"dtx", s.dtx},
            {"input_depth_bits", s.input_depth_bits}};
}

json effective_json(const EffectiveOpusSettings& e) {
    return {{"application", to_string(e.application)},
            {"bitrate_bps", e.bitrate_bps},
            {"vbr", e.vbr},
            {"vbr_constraint", e.vbr_constraint},
            {"complexity", e.complexity},
            {"frame_ms", e.frame_ms},
            {"max_bandwidth", to_string(e.max_bandwidth)},
            {"bandwidth", to_string(e.forced_bandwidth)},
            {"signal", to_string(e.signal)},
            {"inband_fec", e.inband_fec},
            {"expected_loss_pct", e.expected_loss_pct},
            {"dtx", e.dtx},
            {"lsb_depth_bits", e.lsb_depth_bits},
            {"lookahead_samples", e.lookahead_samples},
            {"libopus_version", e.libopus_version}};
}

json loss_json(const LossStats& loss) {
    return {{"packets", loss.packets},
            {"lost", loss.lost},
            {"loss_rate", loss.loss_rate()},
            {"bursts", loss.bursts},
            {"mean_burst_packets", loss.mean_burst_packets()},
            {"max_burst_packets", loss.max_burst_packets},
            {"burst_histogram", loss.burst_histogram}};
}

constexpr CodecMode kModes[] = {CodecMode::Silk, CodecMode::Hybrid, CodecMode::Celt};
constexpr Bandwidth kBandwidths[] = {Bandwidth::Narrowband, Bandwidth::Mediumband, Bandwidth::Wideband,
                                     Bandwidth::SuperWideband, Bandwidth::Fullband};

json channel_json(const ChannelStats& c) {
    json modes = json::object();
    for (CodecMode m : kModes) modes[to_string(m)] = c.mode_packets[static_cast<int>(m)];
    json bandwidths = json::object();
    for (Bandwidth b : kBandwidths) bandwidths[to_string(b)] = c.bandwidth_packets[static_cast<int>(b)];
    return {{"packets", c.packets},
            {"bytes", c.bytes},
            {"duration_s", c.duration_s},
            {"mean_bitrate_bps", c.mean_bitrate_bps()},
            {"fec_recovered", c.fec_recovered},
            {"concealed", c.concealed},
            {"dtx_packets", c.dtx_packets},
            {"mode_packets", modes},
            {"bandwidth_packets", bandwidths},
            {"loss", loss_json(c.loss)}};
}

std::string format(const char* fmt, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, a);
    return buf;
}

}  // namespace

std::string to_json(const PacketRecord& p) {
    json j = {{"index", p.index},
              {"time_s", p.time_s},
              {"size_bytes", p.size_bytes},
              {"lost", p.lost},
              {"fec_recovered", p.fec_recovered},
              {"dtx", p.dtx},
              {"final_range", p.final_range}};
    j["toc"] = p.size_bytes > 0 ? toc_json(p.toc) : json(nullptr);
    return j.dump();
}

std::string to_json(const SimulateReport& r) {
    json j = {{"input",
               {{"path", r.input.path},
                {"sample_rate_hz", r.input.sample_rate_hz},
                {"channels", r.input.channels},
                {"frames", r.input.frames},
                {"duration_s", r.input.duration_s()},
                {"container", r.input.container},
                {"encoding", r.input.encoding}}},
              {"output",
               {{"path", r.output_path},
                {"sample_rate_hz", r.output_rate_hz},
                {"format", to_string(r.output_format)},
                {"frames", r.output_frames}}},
              {"requested", requested_json(r.requested)},
              {"effective", effective_json(r.effective)},
              {"loss_model", r.loss_model},
              {"seed", r.seed},
              {"channel", channel_json(r.channel)}};
    return j.dump(2);
}

std::string to_text(const SimulateReport& r) {
    const EffectiveOpusSettings& e = r.effective;
    const ChannelStats& c = r.channel;
    std::ostringstream out;
    out << "input   " << r.input.path << ": " << r.input.container << " " << r.input.encoding << ", "
        << r.input.sample_rate_hz << " Hz, " << r.input.channels << " ch, "
        << format("%.2f s", r.input.duration_s()) << "\n";
    out << "opus    " << to_string(e.application) << ", " << e.bitrate_bps << " bps "
        << (e.vbr ? (e.vbr_constraint ? "cvbr" : "vbr") : "cbr") << ", complexity " << e.complexity
        << ", " << format("%g ms", e.frame_ms) << " frames, max bandwidth " << to_string(e.max_bandwidth)
        << ", bandwidth " << to_string(e.forced_bandwidth) << ", fec " << (e.inband_fec ? "on" : "off")
        << " (expected loss " << e.expected_loss_pct << "%), dtx " << (e.dtx ? "on" : "off") << ", "
        << e.libopus_version << "\n";
    out << "packets " << c.packets << ", " << format("%.1f kbps", c.mean_bitrate_bps() / 1000.0)
        << " actual; modes";
    for (CodecMode m : kModes)
        if (c.mode_packets[static_cast<int>(m)] > 0) out << " " << to_string(m) << " " << c.mode_packets[static_cast<int>(m)];
    out << "; bandwidths";
    for (Bandwidth b : kBandwidths)
        if (c.bandwidth_packets[static_cast<int>(b)] > 0)
            out << " " << to_string(b) << " " << c.bandwidth_packets[static_cast<int>(b)];
    if (c.dtx_packets > 0) out << "; dtx " << c.dtx_packets;
    out << "\n";
    out << "loss    " << r.loss_model << " (seed " << r.seed << "): " << c.loss.lost << " of " << c.loss.packets
        << " lost (" << format("%.2f%%", 100.0 * c.loss.loss_rate()) << "), " << c.loss.bursts << " bursts, mean "
        << format("%.2f", c.loss.mean_burst_packets()) << ", max " << c.loss.max_burst_packets
        << "; FEC recovered " << c.fec_recovered << ", concealed " << c.concealed << "\n";
    out << "output  " << r.output_path << ": " << r.output_rate_hz << " Hz, " << to_string(r.output_format) << ", "
        << r.output_frames << " frames\n";
    return out.str();
}

}  // namespace sibilant
