// `sibilant probe`: the live RTP/Opus probe service (service/probe_service.hpp).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "checks.hpp"
#include "commands.hpp"
#include "probe_service.hpp"
#include "sibilant/error.hpp"

namespace sibilant::cli {
namespace {

struct ProbeArgs {
    service::ServiceConfig config;
    bool quiet = false;
};

void run_probe(ProbeArgs args) {
    // SIGINT/SIGTERM go to a waiting thread rather than interrupting the
    // readers: blocked here, before any thread starts, so every thread
    // inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    // A vanished /events client must not kill the service.
    signal(SIGPIPE, SIG_IGN);

    const bool quiet = args.quiet;
    args.config.on_ready = [quiet](const std::vector<std::string>& udp, const std::string& http) {
        if (quiet) return;
        for (const auto& a : udp) std::fprintf(stderr, "sibilant probe: listening for RTP/Opus on udp %s\n", a.c_str());
        if (!http.empty())
            std::fprintf(stderr, "sibilant probe: http on %s (/metrics /streams /events /healthz)\n", http.c_str());
    };
    // Not hidden by -q: it is an error, though the service goes on.
    args.config.on_events_error = [](const std::string& message) {
        std::fprintf(stderr, "sibilant probe: error: %s\n", message.c_str());
    };
    service::ProbeService probe(args.config);

    std::atomic<bool> finished{false};
    std::thread waiter([&] {
        const timespec tick{0, 100'000'000};
        while (!finished.load()) {
            siginfo_t info{};
            const int sig = sigtimedwait(&stop_signals, &info, &tick);
            if (sig == SIGINT || sig == SIGTERM) {
                if (!quiet)
                    std::fprintf(stderr, "sibilant probe: %s: finishing the streams\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
                probe.stop();
                return;
            }
        }
    });
    probe.run();
    finished.store(true);
    waiter.join();
    if (!quiet) std::fprintf(stderr, "sibilant probe: stopped\n");
}

}  // namespace

void add_probe_command(CLI::App& app) {
    auto args = std::make_shared<ProbeArgs>();
    auto& c = args->config;
    CLI::App* cmd = app.add_subcommand(
        "probe",
        "Live probe service: read RTP/Opus (RFC 3550, RFC 7587) from UDP, probe every stream (SSRC)\n"
        "without a reference, and serve Prometheus metrics, a stream list and live events over HTTP.");
    cmd->add_option("--listen", c.listen,
                    "UDP address to read RTP from, HOST:PORT or [IPv6]:PORT; repeat for more")
        ->capture_default_str();
    cmd->add_option("--http", c.http,
                    "HTTP address for /metrics, /streams, /events, /healthz; '' for no HTTP")
        ->capture_default_str();
    cmd->add_option("--events", c.events_path, "Write every event as a JSON line to this file (appended) or '-' for stdout");
    cmd->add_option("--payload-type", c.monitor.opus_payload_types,
                    "RTP payload types that carry Opus (a list: --payload-type 111 96)")
        ->check(CLI::Range(0, 127))
        ->capture_default_str();
    cmd->add_option("--max-streams", c.monitor.max_streams,
                    "Most streams probed at once; new SSRCs beyond it are refused and counted")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--idle-s", c.monitor.idle_s, "A stream without packets for this many seconds ends")
        ->check(number_in(0.001, 86400.0))
        ->capture_default_str();
    cmd->add_option("--window-s", c.monitor.window_s,
                    "The lisp and smearing index metrics cover this many seconds of each stream")
        ->check(number_in(1.0, 3600.0))
        ->capture_default_str();
    cmd->add_option("--threads", c.threads, "Worker threads; streams are sharded over them by SSRC")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--max-event-clients", c.max_event_clients, "Most /events clients at once")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--lisp-threshold", c.monitor.probe.analysis.lisp_flag_threshold,
                    "Flag an event whose lisp score (0..100) reaches this")
        ->check(number_in(0.0, 100.0))
        ->capture_default_str();
    cmd->add_option("--smearing-threshold", c.monitor.probe.analysis.smearing_flag_threshold,
                    "Flag an event whose smearing score (0..100) reaches this")
        ->check(number_in(0.0, 100.0))
        ->capture_default_str();
    cmd->add_flag("-q,--quiet", args->quiet, "No start and stop lines on stderr");
    cmd->callback([args] { run_probe(*args); });
    cmd->footer(
        "SIGINT or SIGTERM: stop reading, finish every stream (its pending events are emitted), flush,\n"
        "close and exit 0. Exit code 1: an address or file could not be used (stderr says which and why).\n"
        "Security: it listens on loopback by default; see README \"Probe service\" before exposing it.");
}

}  // namespace sibilant::cli
