// Snapshots of the monitors, and their renderings for /metrics and /streams.
#include "snapshot.hpp"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "sibilant/version.hpp"

namespace sibilant::service {

void take_snapshot(const RtpMonitor& monitor, WorkerSnapshot& out, AnalysisSummary& scratch) noexcept {
    out.counters = monitor.counters();
    std::size_t n = 0;
    for (std::size_t slot = 0; slot < monitor.slot_count() && n < out.streams.size(); ++slot) {
        const RtpStream* s = monitor.stream_at(slot);
        if (!s) continue;
        StreamSnapshot& o = out.streams[n++];
        o.ssrc = s->ssrc();
        std::snprintf(o.remote.data(), o.remote.size(), "%s", s->remote_text());
        o.payload_type = s->payload_type();
        o.serial = s->serial();
        o.first_arrival_s = s->first_arrival_s();
        o.last_arrival_s = s->last_arrival_s();
        const Probe& probe = s->probe();
        o.packets = probe.packet_stats();
        const ProbeStatus status = probe.status();
        o.events = status.events;
        o.overwritten_events = status.overwritten_events;
        o.max_event_latency_s = status.max_event_latency_s;
        o.audio_bandwidth_hz = status.degraded_bandwidth_hz;
        probe.summary(scratch);  // scratch.verdict is reserved: no allocation
        o.sibilants = scratch.sibilants;
        o.flagged = scratch.flagged;
        o.compared = scratch.compared;
        o.lisp_flagged = scratch.lisp_flagged;
        o.smearing_flagged = scratch.smearing_flagged;
        o.dropouts = scratch.dropouts;
        o.lisp_index = scratch.lisp_index;
        o.smearing_index = scratch.smearing_index;
        std::snprintf(o.verdict.data(), o.verdict.size(), "%s", scratch.verdict.c_str());
        o.window = s->window();
        const auto timeline = probe.timeline();
        o.has_toc = !timeline.empty();
        if (o.has_toc) o.toc = timeline.back().current;
    }
    out.stream_count = n;
}

namespace {

// Appends printf-formatted text; metrics pages are a few hundred kB at most.
template <class... A>
void appendf(std::string& out, const char* fmt, A... args) {
    char buf[512];
    const int n = std::snprintf(buf, sizeof buf, fmt, args...);
    if (n > 0) out.append(buf, std::min<std::size_t>(std::size_t(n), sizeof buf - 1));
}

// Label values: backslash, double quote and newline escaped (exposition format).
std::string label_value(const char* text) {
    std::string out;
    for (const char* p = text; *p; ++p) {
        if (*p == '\\' || *p == '"') out += '\\';
        if (*p == '\n') {
            out += "\\n";
            continue;
        }
        out += *p;
    }
    return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

std::string stream_labels(const StreamSnapshot& s) {
    char ssrc[16];
    std::snprintf(ssrc, sizeof ssrc, "0x%08" PRIx32, s.ssrc);
    return std::string("ssrc=\"") + ssrc + "\",remote=\"" + label_value(s.remote.data()) + "\"";
}

double resident_memory_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return NAN;
    long pages_total = 0, pages_resident = 0;
    const int got = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
    std::fclose(f);
    return got == 2 ? double(pages_resident) * double(sysconf(_SC_PAGESIZE)) : NAN;
}

const char* mode_label(CodecMode m) {
    switch (m) {
        case CodecMode::Silk: return "silk";
        case CodecMode::Hybrid: return "hybrid";
        case CodecMode::Celt: return "celt";
    }
    return "unknown";
}

}  // namespace

std::string iso8601_utc(double unix_s) {
    const auto whole = static_cast<std::time_t>(std::floor(unix_s));
    const int ms = std::clamp(static_cast<int>(std::lround((unix_s - double(whole)) * 1000.0)), 0, 999);
    std::tm tm{};
    gmtime_r(&whole, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

std::string render_metrics(const std::vector<const WorkerSnapshot*>& workers, const ProcessFigures& p) {
    RtpMonitorCounters total;
    std::int64_t events_dropped = 0;
    double processing_s = 0;
    std::size_t active = 0;
    for (const WorkerSnapshot* w : workers) {
        total.datagrams += w->counters.datagrams;
        for (int i = 0; i < kDatagramOutcomeCount; ++i) total.outcomes[i] += w->counters.outcomes[i];
        total.streams_created += w->counters.streams_created;
        total.streams_ended += w->counters.streams_ended;
        total.streams_refused += w->counters.streams_refused;
        total.events += w->counters.events;
        events_dropped += w->events_dropped;
        processing_s += w->processing_s;
        active += w->stream_count;
    }

    std::string out;
    out.reserve(4096 + active * 3000);
    family(out, "sibilant_build_info", "gauge", "Always 1; the version label says which sibilant runs.");
    appendf(out, "sibilant_build_info{version=\"%s\"} 1\n", version());
    family(out, "sibilant_start_time_seconds", "gauge", "When the service started, in Unix time.");
    appendf(out, "sibilant_start_time_seconds %.3f\n", p.started_at_unix_s);
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory of the service.");
    appendf(out, "process_resident_memory_bytes %.0f\n", resident_memory_bytes());
    family(out, "sibilant_streams_active", "gauge", "Streams being probed now.");
    appendf(out, "sibilant_streams_active %zu\n", active);
    family(out, "sibilant_streams_created_total", "counter", "Streams created (first valid Opus packet of an SSRC).");
    appendf(out, "sibilant_streams_created_total %" PRId64 "\n", total.streams_created);
    family(out, "sibilant_streams_ended_total", "counter", "Streams ended (idle timeout or shutdown).");
    appendf(out, "sibilant_streams_ended_total %" PRId64 "\n", total.streams_ended);
    family(out, "sibilant_streams_refused_total", "counter",
           "New SSRCs refused because max-streams streams were active (each counted once while remembered).");
    appendf(out, "sibilant_streams_refused_total %" PRId64 "\n", total.streams_refused);
    family(out, "sibilant_datagrams_received_total", "counter", "UDP datagrams read from the sockets.");
    appendf(out, "sibilant_datagrams_received_total %" PRId64 "\n", p.datagrams_received);
    family(out, "sibilant_datagrams_accepted_total", "counter", "Datagrams handed to a stream's probe.");
    appendf(out, "sibilant_datagrams_accepted_total %" PRId64 "\n", total.outcomes[int(DatagramOutcome::Accepted)]);
    family(out, "sibilant_datagrams_dropped_total", "counter", "Datagrams not given to any probe, by reason.");
    for (int i = 1; i < kDatagramOutcomeCount; ++i) {
        std::int64_t n = total.outcomes[i];
        if (DatagramOutcome(i) == DatagramOutcome::Oversize) n += p.reader_oversize;
        appendf(out, "sibilant_datagrams_dropped_total{reason=\"%s\"} %" PRId64 "\n", to_string(DatagramOutcome(i)), n);
    }
    appendf(out, "sibilant_datagrams_dropped_total{reason=\"queue_full\"} %" PRId64 "\n", p.queue_full);
    family(out, "sibilant_udp_receive_buffer_drops_total", "counter",
           "Datagrams the kernel dropped before the service read them (socket receive buffer full).");
    appendf(out, "sibilant_udp_receive_buffer_drops_total %" PRId64 "\n", p.receive_buffer_full);
    family(out, "sibilant_events_total", "counter", "Sibilant events judged, over all streams.");
    appendf(out, "sibilant_events_total %" PRId64 "\n", total.events);
    family(out, "sibilant_events_dropped_total", "counter",
           "Events judged but not written to --events or /events (the output queue was full).");
    appendf(out, "sibilant_events_dropped_total %" PRId64 "\n", events_dropped);
    family(out, "sibilant_event_clients", "gauge", "Clients connected to /events.");
    appendf(out, "sibilant_event_clients %" PRId64 "\n", p.event_clients);
    family(out, "sibilant_event_clients_refused_total", "counter", "/events connections refused (too many clients).");
    appendf(out, "sibilant_event_clients_refused_total %" PRId64 "\n", p.event_clients_refused);
    family(out, "sibilant_event_lines_dropped_total", "counter", "/events lines a slow client missed.");
    appendf(out, "sibilant_event_lines_dropped_total %" PRId64 "\n", p.event_lines_dropped);
    family(out, "sibilant_processing_seconds_total", "counter",
           "CPU time the workers spent parsing, decoding and analysing.");
    appendf(out, "sibilant_processing_seconds_total %.6f\n", processing_s);

    // Per stream: one family at a time (the format wants a family's samples together).
    std::vector<std::pair<const StreamSnapshot*, std::string>> streams;
    streams.reserve(active);
    for (const WorkerSnapshot* w : workers)
        for (std::size_t i = 0; i < w->stream_count; ++i) streams.emplace_back(&w->streams[i], stream_labels(w->streams[i]));

    auto per_stream = [&](const char* name, const char* type, const char* help, auto value) {
        family(out, name, type, help);
        for (const auto& [s, labels] : streams) appendf(out, "%s{%s} %.17g\n", name, labels.c_str(), double(value(*s)));
    };
    per_stream("sibilant_stream_sibilants_total", "counter", "Sibilant events judged in the stream.",
               [](const StreamSnapshot& s) { return s.sibilants; });
    family(out, "sibilant_stream_flagged_events_total", "counter", "Events flagged, by kind (lisp, smearing, dropout).");
    for (const auto& [s, labels] : streams) {
        appendf(out, "sibilant_stream_flagged_events_total{%s,kind=\"lisp\"} %d\n", labels.c_str(), s->lisp_flagged);
        appendf(out, "sibilant_stream_flagged_events_total{%s,kind=\"smearing\"} %d\n", labels.c_str(), s->smearing_flagged);
        appendf(out, "sibilant_stream_flagged_events_total{%s,kind=\"dropout\"} %d\n", labels.c_str(), s->dropouts);
    }
    char help[160];
    std::snprintf(help, sizeof help, "Duration-weighted mean lisp score (0-100) of the sibilants in the last %g s of the stream.",
                  p.window_s);
    per_stream("sibilant_stream_lisp_index", "gauge", help, [](const StreamSnapshot& s) { return s.window.lisp_index; });
    std::snprintf(help, sizeof help, "Duration-weighted mean smearing score (0-100) of the sibilants in the last %g s.",
                  p.window_s);
    per_stream("sibilant_stream_smearing_index", "gauge", help,
               [](const StreamSnapshot& s) { return s.window.smearing_index; });
    std::snprintf(help, sizeof help, "Sibilants ending in the last %g s of the stream.", p.window_s);
    per_stream("sibilant_stream_window_sibilants", "gauge", help,
               [](const StreamSnapshot& s) { return s.window.sibilants; });
    per_stream("sibilant_stream_coded_bandwidth_hertz", "gauge",
               "Audio bandwidth the latest Opus packet's TOC declares (4000 NB .. 20000 FB).",
               [](const StreamSnapshot& s) { return s.has_toc ? bandwidth_hz(s.toc.bandwidth) : 0; });
    family(out, "sibilant_stream_codec_mode", "gauge", "1 for the Opus mode of the latest packet (silk, hybrid, celt).");
    for (const auto& [s, labels] : streams)
        if (s->has_toc) appendf(out, "sibilant_stream_codec_mode{%s,mode=\"%s\"} 1\n", labels.c_str(), mode_label(s->toc.mode));
    per_stream("sibilant_stream_packet_duration_seconds", "gauge", "Audio per packet of the latest TOC.",
               [](const StreamSnapshot& s) { return s.has_toc ? s.toc.frame_ms * s.toc.frames_per_packet / 1000.0 : 0.0; });
    per_stream("sibilant_stream_audio_bandwidth_hertz", "gauge",
               "Effective bandwidth measured on the decoded audio so far.",
               [](const StreamSnapshot& s) { return s.audio_bandwidth_hz; });
    per_stream("sibilant_stream_packets_received_total", "counter", "RTP packets given to the stream's probe.",
               [](const StreamSnapshot& s) { return s.packets.packets_received; });
    per_stream("sibilant_stream_packets_lost_total", "counter", "Packets missing from the sequence and concealed.",
               [](const StreamSnapshot& s) { return s.packets.packets_lost; });
    per_stream("sibilant_stream_packets_fec_recovered_total", "counter", "Lost packets rebuilt from in-band FEC.",
               [](const StreamSnapshot& s) { return s.packets.fec_recovered; });
    per_stream("sibilant_stream_packets_late_total", "counter", "Packets that arrived after their place was played.",
               [](const StreamSnapshot& s) { return s.packets.late; });
    per_stream("sibilant_stream_packets_duplicate_total", "counter", "Packets received twice.",
               [](const StreamSnapshot& s) { return s.packets.duplicate; });
    per_stream("sibilant_stream_packets_malformed_total", "counter", "Packets libopus could not decode.",
               [](const StreamSnapshot& s) { return s.packets.malformed; });
    per_stream("sibilant_stream_restarts_total", "counter", "Sender restarts or gaps beyond the concealment limit.",
               [](const StreamSnapshot& s) { return s.packets.restarts; });
    per_stream("sibilant_stream_concealed_seconds_total", "counter", "Audio made up by packet-loss concealment or FEC.",
               [](const StreamSnapshot& s) { return s.packets.concealed_s; });
    per_stream("sibilant_stream_audio_seconds_total", "counter", "Audio decoded or concealed.",
               [](const StreamSnapshot& s) { return s.packets.pcm_s; });
    per_stream("sibilant_stream_last_packet_age_seconds", "gauge", "Time since the stream's latest packet.",
               [&](const StreamSnapshot& s) {
                   timespec now{};
                   clock_gettime(CLOCK_MONOTONIC, &now);
                   return std::max(0.0, double(now.tv_sec) + double(now.tv_nsec) * 1e-9 - s.last_arrival_s);
               });
    return out;
}

std::string render_streams(const std::vector<const WorkerSnapshot*>& workers, const ProcessFigures& p) {
    using json = nlohmann::ordered_json;
    json list = json::array();
    for (const WorkerSnapshot* w : workers) {
        for (std::size_t i = 0; i < w->stream_count; ++i) {
            const StreamSnapshot& s = w->streams[i];
            char ssrc[16];
            std::snprintf(ssrc, sizeof ssrc, "0x%08" PRIx32, s.ssrc);
            json codec = nullptr;
            if (s.has_toc)
                codec = {{"mode", mode_label(s.toc.mode)},
                         {"bandwidth", to_string(s.toc.bandwidth)},
                         {"bandwidth_hz", bandwidth_hz(s.toc.bandwidth)},
                         {"frame_ms", s.toc.frame_ms},
                         {"frames_per_packet", s.toc.frames_per_packet},
                         {"stereo", s.toc.stereo}};
            list.push_back(
                {{"ssrc", ssrc},
                 {"remote", s.remote.data()},
                 {"payload_type", s.payload_type},
                 {"serial", s.serial},
                 {"started_at", iso8601_utc(s.first_arrival_s + p.monotonic_to_unix_s)},
                 {"last_packet_at", iso8601_utc(s.last_arrival_s + p.monotonic_to_unix_s)},
                 {"audio_s", std::round(s.packets.pcm_s * 1000.0) / 1000.0},
                 {"summary",
                  {{"sibilants", s.sibilants},
                   {"flagged", s.flagged},
                   {"lisp_index", std::round(s.lisp_index * 10.0) / 10.0},
                   {"smearing_index", std::round(s.smearing_index * 10.0) / 10.0},
                   {"dropouts", s.dropouts},
                   {"verdict", s.verdict.data()},
                   {"compared", s.compared},
                   {"lisp_flagged", s.lisp_flagged},
                   {"smearing_flagged", s.smearing_flagged}}},
                 {"window",
                  {{"window_s", p.window_s},
                   {"sibilants", s.window.sibilants},
                   {"compared", s.window.compared},
                   {"lisp_index", std::round(s.window.lisp_index * 10.0) / 10.0},
                   {"smearing_index", std::round(s.window.smearing_index * 10.0) / 10.0}}},
                 {"codec", codec},
                 {"audio_bandwidth_hz", std::round(s.audio_bandwidth_hz)},
                 {"packets",
                  {{"received", s.packets.packets_received},
                   {"decoded", s.packets.packets_decoded},
                   {"lost", s.packets.packets_lost},
                   {"fec_recovered", s.packets.fec_recovered},
                   {"plc", s.packets.plc_packets},
                   {"late", s.packets.late},
                   {"duplicate", s.packets.duplicate},
                   {"malformed", s.packets.malformed},
                   {"restarts", s.packets.restarts},
                   {"concealed_s", std::round(s.packets.concealed_s * 1000.0) / 1000.0}}},
                 {"events", s.events},
                 {"events_overwritten", s.overwritten_events},
                 {"max_event_latency_s", std::round(s.max_event_latency_s * 1000.0) / 1000.0}});
        }
    }
    json doc = {{"streams", list}};
    return doc.dump(2) + "\n";
}

}  // namespace sibilant::service
