// What a worker publishes for /metrics and /streams: plain copies of its
// streams' state, filled without allocation (into storage sized at set-up)
// and rendered by HTTP handlers on their own threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sibilant/rtp_monitor.hpp"

namespace sibilant::service {

struct StreamSnapshot {
    std::uint32_t ssrc = 0;
    std::array<char, 64> remote{};
    int payload_type = 0;
    std::int64_t serial = 0;
    double first_arrival_s = 0, last_arrival_s = 0;  ///< Monotonic clock.
    OpusPacketStats packets{};
    std::int64_t events = 0, overwritten_events = 0;
    double max_event_latency_s = 0;
    double audio_bandwidth_hz = 0;  ///< The probe's measured effective bandwidth.
    // Summary of every event of the stream.
    int sibilants = 0, flagged = 0, compared = 0, lisp_flagged = 0, smearing_flagged = 0, dropouts = 0;
    double lisp_index = 0, smearing_index = 0;
    std::array<char, 32> verdict{};
    WindowIndices window{};
    bool has_toc = false;
    TocInfo toc{};  ///< The latest TOC timeline entry's.
};

struct WorkerSnapshot {
    std::vector<StreamSnapshot> streams;  ///< Capacity: the worker's stream cap.
    std::size_t stream_count = 0;         ///< Valid entries of `streams`.
    RtpMonitorCounters counters{};
    std::int64_t events_dropped = 0;      ///< Events the output thread never got (its ring was full).
    double processing_s = 0;              ///< Worker CPU time spent in the monitor.
};

/// Fills `out` from `monitor` without allocating (out.streams presized).
void take_snapshot(const RtpMonitor& monitor, WorkerSnapshot& out, AnalysisSummary& scratch) noexcept;

/// Process-wide figures that no worker owns.
struct ProcessFigures {
    std::int64_t datagrams_received = 0;
    std::int64_t queue_full = 0;          ///< Datagrams dropped: a worker's queue was full.
    std::int64_t reader_oversize = 0;     ///< Datagrams too large for a worker's queue slot.
    /// Datagrams the kernel dropped because a socket's receive buffer was
    /// full (SO_RXQ_OVFL): the reader fell behind. Never seen by the monitor.
    std::int64_t receive_buffer_full = 0;
    std::int64_t event_clients = 0;
    std::int64_t event_clients_refused = 0;
    std::int64_t event_lines_dropped = 0; ///< Lines a slow /events client missed.
    double window_s = 60;
    double started_at_unix_s = 0;
    double monotonic_to_unix_s = 0;       ///< Add to a monotonic time to get Unix time.
};

/// Prometheus text exposition format 0.0.4.
std::string render_metrics(const std::vector<const WorkerSnapshot*>& workers, const ProcessFigures& process);
/// The /streams JSON document.
std::string render_streams(const std::vector<const WorkerSnapshot*>& workers, const ProcessFigures& process);
/// "2026-12-03T07:35:11.123Z".
std::string iso8601_utc(double unix_s);

}  // namespace sibilant::service
