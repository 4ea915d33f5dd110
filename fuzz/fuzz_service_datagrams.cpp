// libFuzzer target: the probe service's datagram path without its sockets.
// Datagrams go where the service's reader sends them (the worker that owns
// the SSRC, ssrc mod workers, each with its RtpMonitor capped at its share of
// the streams), idle streams are expired as the clock moves, and each
// worker's snapshot is taken and rendered as /metrics and /streams are.
//
// Input layout (read as far as bytes remain):
//   byte 0   config: bits 0-1 max_streams - 1 (1..4), bits 2-3 workers
//            (1 + value mod 3), bit 4 idle_s 0.5 instead of 10
//   records  a control byte, a uint16 little-endian length (capped by what
//            is left), that many bytes. Control: bits 0-1 which of four
//            SSRCs, bit 2 from [::1]:5004 instead of 127.0.0.1:5004, bit 3
//            the bytes are the whole datagram (else they are the Opus payload
//            of an RTP header made here: payload type 111, the SSRC's next
//            sequence number and timestamp), bits 4-6 how far the clock moves
//            first (0, 1, 5, 20, 100, 500, 2000, 20000 ms), bit 7 the
//            sequence number steps back by 3 (reordering, duplicates).
//
// Besides ASan and UBSan it checks the promises of rtp_monitor.hpp and of the
// service's renderings: one named outcome per datagram, the counters add up,
// streams stay within the cap and all end at finish, events are in range,
// decoded PCM is finite, /streams is JSON and /metrics is well-formed
// Prometheus text.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/rtp_monitor.hpp"
#include "snapshot.hpp"

namespace {

using sibilant::fuzz::fail;
constexpr const char* kTarget = "fuzz_service_datagrams";

struct Tally {
    std::int64_t started = 0, ended = 0, events = 0;
};

void on_started(void* c, const sibilant::RtpStream&) { ++static_cast<Tally*>(c)->started; }
void on_ended(void* c, const sibilant::RtpStream&, sibilant::StreamEnd) { ++static_cast<Tally*>(c)->ended; }

void on_event(void* c, const sibilant::RtpStream&, const sibilant::SibilantEventResult& e, double arrival_s) {
    ++static_cast<Tally*>(c)->events;
    if (!std::isfinite(e.start_s) || !std::isfinite(e.end_s) || e.start_s < 0 || e.end_s < e.start_s)
        fail(kTarget, "event times out of order or not finite");
    if (!(e.lisp >= 0 && e.lisp <= 100 && e.smearing >= 0 && e.smearing <= 100)) fail(kTarget, "score outside 0..100");
    if (e.cls != "s" && e.cls != "sh") fail(kTarget, "event class is neither s nor sh");
    if (e.why.empty()) fail(kTarget, "event without a reason");
    if (!std::isfinite(arrival_s)) fail(kTarget, "event arrival time not finite");
    // The service's event line is built around this document.
    if (!nlohmann::json::accept(sibilant::event_to_json(e, /*no_reference=*/true))) fail(kTarget, "event JSON does not parse");
}

void on_pcm(void*, const sibilant::RtpStream&, const sibilant::PcmBlock& block) {
    if (block.frames <= 0 || block.channels != 1 || block.rate_hz != 48000) fail(kTarget, "PCM block shape");
    for (int i = 0; i < block.frames; ++i)
        if (!std::isfinite(block.samples[i])) fail(kTarget, "decoded sample not finite");
}

struct Worker {
    Tally tally;
    std::unique_ptr<sibilant::RtpMonitor> monitor;
    sibilant::service::WorkerSnapshot snapshot;
    sibilant::AnalysisSummary scratch;
    std::int64_t pushed = 0;
};

// Prometheus text format 0.0.4: comments, or `name{labels} value`.
void check_metrics(const std::string& text) {
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) fail(kTarget, "/metrics does not end with a newline");
        const std::string line = text.substr(at, end - at);
        at = end + 1;
        if (line.empty() || line[0] == '#') continue;
        std::size_t i = 0;
        while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':')) ++i;
        if (i == 0) fail(kTarget, "/metrics line without a metric name");
        if (i < line.size() && line[i] == '{') {
            const std::size_t close = line.rfind('}');
            if (close == std::string::npos || close < i) fail(kTarget, "/metrics labels not closed");
            i = close + 1;
        }
        if (i >= line.size() || line[i] != ' ') fail(kTarget, "/metrics line without a value");
        const std::string value = line.substr(i + 1);
        char* parsed_end = nullptr;
        std::strtod(value.c_str(), &parsed_end);
        if (value.empty() || *parsed_end != '\0') fail(kTarget, "/metrics value is not a number");
    }
}

void check_worker(const Worker& w, int cap) {
    const sibilant::RtpMonitorCounters& c = w.monitor->counters();
    if (c.datagrams != w.pushed) fail(kTarget, "datagram count differs from pushes");
    std::int64_t outcomes = 0;
    for (std::int64_t n : c.outcomes) outcomes += n;
    if (outcomes != c.datagrams) fail(kTarget, "outcomes do not add up to the datagrams");
    const std::int64_t active = static_cast<std::int64_t>(w.monitor->active_streams());
    if (active > cap) fail(kTarget, "more streams than the cap");
    if (c.streams_created - c.streams_ended != active) fail(kTarget, "created - ended differs from active streams");
    if (c.streams_created != w.tally.started || c.streams_ended != w.tally.ended) fail(kTarget, "stream sinks and counters disagree");
    if (c.events != w.tally.events) fail(kTarget, "event sink and counter disagree");
}

void render_and_check(std::vector<std::unique_ptr<Worker>>& workers) {
    std::vector<const sibilant::service::WorkerSnapshot*> snapshots;
    for (auto& w : workers) {
        sibilant::service::take_snapshot(*w->monitor, w->snapshot, w->scratch);
        if (w->snapshot.stream_count != w->monitor->active_streams()) fail(kTarget, "snapshot misses streams");
        snapshots.push_back(&w->snapshot);
    }
    sibilant::service::ProcessFigures process;
    check_metrics(sibilant::service::render_metrics(snapshots, process));
    if (!nlohmann::json::accept(sibilant::service::render_streams(snapshots, process))) fail(kTarget, "/streams does not parse");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t config_byte = data[0];
    const int max_streams = 1 + (config_byte & 3);
    const int worker_count = 1 + ((config_byte >> 2) & 3) % 3;
    sibilant::RtpMonitorConfig config;
    config.max_streams = (max_streams + worker_count - 1) / worker_count;  // the service's share per worker
    config.idle_s = (config_byte >> 4) & 1 ? 0.5 : 10.0;
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < worker_count; ++i) {
        auto w = std::make_unique<Worker>();
        sibilant::RtpMonitorSinks sinks;
        sinks.context = &w->tally;
        sinks.stream_started = on_started;
        sinks.stream_ended = on_ended;
        sinks.event = on_event;
        sinks.pcm = on_pcm;
        w->monitor = std::make_unique<sibilant::RtpMonitor>(config, sinks);
        w->snapshot.streams.resize(std::size_t(config.max_streams));
        workers.push_back(std::move(w));
    }

    constexpr std::array<std::uint32_t, 4> kSsrcs{0x1234, 0x1235, 0xdead0000, 0x7fffffff};
    constexpr std::array<double, 8> kClockSteps_s{0, 0.001, 0.005, 0.02, 0.1, 0.5, 2, 20};
    std::array<std::uint16_t, 4> sequence{};
    std::array<std::uint32_t, 4> timestamp{};
    sibilant::RemoteEndpoint v4, v6;
    v4.address[0] = 127, v4.address[3] = 1, v4.port = 5004;
    v6.ipv6 = true, v6.address[15] = 1, v6.port = 5004;
    double now_s = 1000.0;
    double last_expire_s = now_s;
    std::vector<std::uint8_t> datagram;
    int records = 0;
    for (std::size_t at = 1; at + 3 <= size;) {
        const std::uint8_t control = data[at];
        std::size_t length = std::size_t(data[at + 1]) | (std::size_t(data[at + 2]) << 8);
        at += 3;
        if (length > size - at) length = size - at;
        const std::span<const std::uint8_t> bytes(data + at, length);
        at += length;

        const int which = control & 3;
        now_s += kClockSteps_s[(control >> 4) & 7];
        if (control & 0x80) sequence[std::size_t(which)] = std::uint16_t(sequence[std::size_t(which)] - 3);
        if (control & 8) {
            datagram.assign(bytes.begin(), bytes.end());
        } else {
            const std::uint32_t ssrc = kSsrcs[std::size_t(which)];
            const std::uint16_t seq = sequence[std::size_t(which)]++;
            const std::uint32_t ts = timestamp[std::size_t(which)];
            timestamp[std::size_t(which)] += 960;
            datagram = {0x80, 111, std::uint8_t(seq >> 8), std::uint8_t(seq),
                        std::uint8_t(ts >> 24), std::uint8_t(ts >> 16), std::uint8_t(ts >> 8), std::uint8_t(ts),
                        std::uint8_t(ssrc >> 24), std::uint8_t(ssrc >> 16), std::uint8_t(ssrc >> 8), std::uint8_t(ssrc)};
            datagram.insert(datagram.end(), bytes.begin(), bytes.end());
        }
        // The service's dispatch: the SSRC's bytes pick the worker; anything
        // shorter than an RTP header goes to worker 0.
        std::uint32_t ssrc = 0;
        if (datagram.size() >= 12)
            ssrc = (std::uint32_t(datagram[8]) << 24) | (std::uint32_t(datagram[9]) << 16) | (std::uint32_t(datagram[10]) << 8) | datagram[11];
        Worker& w = *workers[ssrc % workers.size()];
        const sibilant::DatagramOutcome outcome = w.monitor->push(datagram, control & 4 ? v6 : v4, now_s);
        ++w.pushed;
        const int index = static_cast<int>(outcome);
        if (index < 0 || index >= sibilant::kDatagramOutcomeCount) fail(kTarget, "outcome outside the enum");
        const char* name = sibilant::to_string(outcome);
        if (!name || !*name) fail(kTarget, "outcome without a name");

        if (now_s - last_expire_s >= 0.1) {  // the service's worker tick
            for (auto& each : workers) each->monitor->expire_idle(now_s);
            last_expire_s = now_s;
        }
        for (auto& each : workers) check_worker(*each, config.max_streams);
        if (++records % 16 == 0) render_and_check(workers);
    }
    for (auto& w : workers) w->monitor->finish(now_s);
    for (auto& w : workers) {
        check_worker(*w, config.max_streams);
        if (w->monitor->active_streams() != 0) fail(kTarget, "streams left after finish");
    }
    render_and_check(workers);
    return 0;
}
