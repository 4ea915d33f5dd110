// `sibilant probe`: the live RTP/Opus probe service. UDP sockets in, one
// no-reference probe per SSRC (sibilant::RtpMonitor), and out: Prometheus
// metrics, a JSON list of streams, Server-Sent Events and a JSON-lines event
// log (README "Probe service" documents every endpoint and metric).
//
// Threads:
//  - the reader: polls the sockets and reads datagrams in batches
//    (recvmmsg). With one worker it also runs the monitor itself; with N it
//    hands each datagram to the worker that owns its SSRC (ssrc mod N), over
//    a lock-free single-producer single-consumer ring, so a stream is always
//    probed on the same thread and the audio path takes no lock;
//  - N-1 more workers when threads > 1;
//  - the output thread: turns events into JSON lines for the --events file
//    and the /events clients (allocation and I/O happen here, never on the
//    audio path);
//  - the HTTP server (cpp-httplib) and its handler pool. Handlers read
//    snapshots that each worker publishes through a triple buffer every
//    publish_interval_s, so a scrape never waits for or blocks a worker.
//
// Shutdown (stop(), or SIGINT/SIGTERM in the CLI): reading stops, each worker
// drains what it was handed, finishes its probes (pending events are
// judged and emitted), the output thread writes every event and flushes,
// then the HTTP server and the sockets close.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sibilant/rtp_monitor.hpp"

namespace sibilant::service {

struct ServiceConfig {
    /// UDP addresses to read RTP from: "HOST:PORT", "[IPv6]:PORT"; port 0
    /// picks a free one (see on_ready). At least one.
    std::vector<std::string> listen{"127.0.0.1:5004"};
    /// HTTP address for /metrics, /streams, /events, /healthz; empty: no HTTP.
    std::string http = "127.0.0.1:9464";
    /// Every event as a JSON line: a file (appended to, each line in one
    /// write(), so a killed service leaves whole lines only; a torn last line
    /// found at start gets a newline first), "-" for stdout, or empty for none.
    std::string events_path;
    /// Workers; streams are sharded over them by SSRC. [1, 64]. With more
    /// than one, each takes at most ceil(max_streams / threads) streams.
    int threads = 1;
    /// Streams, payload types, idle timeout, window, probe settings.
    RtpMonitorConfig monitor{};
    /// How often workers publish what /metrics and /streams show. [0.01, 10] s.
    double publish_interval_s = 0.25;
    /// /events clients at once; more get HTTP 503. [1, 64].
    int max_event_clients = 8;
    /// Called once every socket is bound, with the addresses as bound (the
    /// real port where 0 was asked for): UDP ones, then HTTP ("" if none).
    std::function<void(const std::vector<std::string>& udp, const std::string& http)> on_ready;
    /// Called on the event output thread when a line cannot be written to
    /// --events FILE (a full disk), with a message naming the file and the
    /// cause; once per run of failures, and again with a note when writing
    /// works again. The service goes on: a failed write costs the line.
    std::function<void(const std::string& message)> on_events_error;
};

/// Throws Error naming the setting, its value and the allowed range.
void validate(const ServiceConfig& config);

class ProbeService {
public:
    /// Validates, opens the events file and binds every socket. Throws Error
    /// naming the address or file and the cause ("address already in use").
    explicit ProbeService(ServiceConfig config);
    ~ProbeService();
    ProbeService(const ProbeService&) = delete;
    ProbeService& operator=(const ProbeService&) = delete;

    /// Runs until stop(); then shuts down as described above and returns.
    void run();
    /// Asks run() to stop. Safe from any thread; idempotent.
    void stop() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant::service
