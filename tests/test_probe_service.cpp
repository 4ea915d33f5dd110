// The probe service in-process (service/probe_service.hpp): real UDP and HTTP
// on loopback, ports picked by the kernel (port 0). Streams sent to it give
// the events of a probe fed the same packets, in the --events file and in
// /metrics and /streams; bad datagrams are counted by reason; a clean stop
// emits every pending event; bad addresses and files are refused by name.
// Real senders (GStreamer, ffmpeg), Prometheus and the flood are in
// tests/service/test_probe_service.sh.
#include <algorithm>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "probe_service.hpp"
#include "sibilant/audio.hpp"
#include "snapshot.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

const std::vector<std::vector<std::uint8_t>>& demo_packets() { return test::demo_opus_packets(8000); }

int port_of(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

// Sends datagrams to 127.0.0.1:port from one socket (one source address).
class Sender {
public:
    explicit Sender(int port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
        to_.sin_family = AF_INET;
        to_.sin_port = htons(std::uint16_t(port));
        to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    ~Sender() { close(fd_); }
    void send(const std::vector<std::uint8_t>& d) {
        ASSERT_EQ(sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_),
                  ssize_t(d.size()));
    }

private:
    int fd_;
    sockaddr_in to_{};
};

// A service on loopback, running on its own thread until stop().
struct Running {
    std::string udp, http;
    std::unique_ptr<service::ProbeService> service;
    std::thread thread;

    explicit Running(service::ServiceConfig config) {
        config.listen = {"127.0.0.1:0"};
        config.http = "127.0.0.1:0";
        config.publish_interval_s = 0.05;
        config.on_ready = [this](const std::vector<std::string>& u, const std::string& h) {
            udp = u.front();
            http = h;
        };
        service = std::make_unique<service::ProbeService>(config);
        thread = std::thread([this] { service->run(); });
    }
    ~Running() { stop(); }
    void stop() {
        if (!thread.joinable()) return;
        service->stop();
        thread.join();
    }
    std::string get(const char* path) {
        httplib::Client client("127.0.0.1", port_of(http));
        client.set_read_timeout(5, 0);
        auto res = client.Get(path);
        return res && res->status == 200 ? res->body : std::string();
    }
    // /streams until `done` says so, for at most 10 s.
    template <class Done>
    nlohmann::json wait_for_streams(Done&& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        nlohmann::json doc;
        while (std::chrono::steady_clock::now() < deadline) {
            const std::string body = get("/streams");
            if (!body.empty()) {
                doc = nlohmann::json::parse(body);
                if (done(doc)) return doc;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "timed out; last /streams: " << doc.dump();
        return doc;
    }
};

std::vector<std::uint8_t> rtp(std::uint32_t ssrc, std::uint16_t seq, const std::vector<std::uint8_t>& payload,
                              int payload_type = 111) {
    return test::rtp_packet(
        {.payload_type = payload_type, .sequence = seq, .timestamp = std::uint32_t(seq) * 960u, .ssrc = ssrc}, payload);
}

std::size_t probe_event_count(const std::vector<std::vector<std::uint8_t>>& packets) {
    Probe probe;
    std::uint16_t seq = 0;
    for (const auto& p : packets) probe.push_packet(seq++, p);
    probe.finish();
    return std::size_t(probe.status().events);
}

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

class ProbeServiceThreads : public ::testing::TestWithParam<int> {};

TEST_P(ProbeServiceThreads, StreamsSentGiveTheirProbesEventsInTheLogAndTheMetrics) {
    const auto& packets = demo_packets();
    const std::size_t expected_events = probe_event_count(packets);
    test::TempDir dir;
    service::ServiceConfig config;
    config.threads = GetParam();
    config.events_path = (dir / "events.jsonl").string();
    Running running(config);
    {
        Sender a(port_of(running.udp)), b(port_of(running.udp));
        // Paced a little, so that loopback's socket buffer never overflows.
        for (std::size_t i = 0; i < packets.size(); ++i) {
            a.send(rtp(0x1000, std::uint16_t(i), packets[i]));
            b.send(rtp(0x2001, std::uint16_t(i), packets[i]));
            if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    const auto streams = running.wait_for_streams([&](const nlohmann::json& doc) {
        if (doc["streams"].size() != 2) return false;
        for (const auto& s : doc["streams"])
            if (s["packets"]["received"] != packets.size()) return false;
        return true;
    });
    ASSERT_EQ(streams["streams"].size(), 2u);
    EXPECT_EQ(streams["streams"][0]["codec"]["frame_ms"], 20.0);
    EXPECT_TRUE(streams["streams"][0]["remote"].get<std::string>().starts_with("127.0.0.1:"));

    const std::string metrics = running.get("/metrics");
    EXPECT_NE(metrics.find("# TYPE sibilant_stream_sibilants_total counter"), std::string::npos);
    EXPECT_NE(metrics.find("sibilant_stream_packets_received_total{ssrc=\"0x00001000\",remote=\"127.0.0.1:"),
              std::string::npos);
    EXPECT_NE(metrics.find("sibilant_streams_active 2\n"), std::string::npos);
    EXPECT_NE(metrics.find("sibilant_datagrams_received_total " + std::to_string(2 * packets.size()) + "\n"),
              std::string::npos);
    EXPECT_EQ(running.get("/healthz"), "ok\n");

    running.stop();
    // Every event of both streams, pending ones included, is in the log.
    const auto lines = read_lines(dir / "events.jsonl");
    std::size_t a = 0, b = 0;
    for (const auto& e : lines) {
        a += e["ssrc"] == "0x00001000";
        b += e["ssrc"] == "0x00002001";
        EXPECT_TRUE(e.contains("received_at"));
        EXPECT_TRUE(e.contains("why"));
        EXPECT_TRUE(e.contains("lisp"));
    }
    EXPECT_EQ(a, expected_events);
    EXPECT_EQ(b, expected_events);
}

INSTANTIATE_TEST_SUITE_P(OneAndTwoWorkers, ProbeServiceThreads, ::testing::Values(1, 2));

TEST(ProbeService, BadDatagramsAreCountedByReasonAndMakeNoStreams) {
    const auto& packets = demo_packets();
    Running running(service::ServiceConfig{});
    {
        Sender s(port_of(running.udp));
        s.send(rtp(1, 0, packets[0]));                            // accepted: a stream
        s.send(rtp(2, 0, packets[0], 96));                        // payload type not configured
        s.send({0x00, 0x01, 0x00, 0x00});                         // STUN-like: wrong version
        s.send({0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0});        // RTCP sender report
        s.send({0x80, 111, 0});                                   // truncated
        s.send(std::vector<std::uint8_t>(60000, 0x80));           // big: wrong payload type (0x80 & 0x7f = 0)
        s.send(rtp(3, 0, {}));                                    // empty payload: not Opus
    }
    running.wait_for_streams([](const nlohmann::json& doc) { return doc["streams"].size() == 1; });
    // The reader counts datagrams at once; the outcomes arrive with the
    // worker's next snapshot. Wait (bounded) for all of them.
    const std::vector<const char*> expected = {
        "sibilant_datagrams_received_total 7\n", "sibilant_datagrams_accepted_total 1\n",
        "{reason=\"payload_type\"} 2\n",        "{reason=\"wrong_version\"} 1\n",
        "{reason=\"rtcp\"} 1\n",                "{reason=\"truncated\"} 1\n",
        "{reason=\"not_opus\"} 1\n",            "sibilant_streams_active 1\n"};
    const auto all_there = [&](const std::string& text) {
        return std::all_of(expected.begin(), expected.end(),
                           [&](const char* line) { return text.find(line) != std::string::npos; });
    };
    std::string metrics = running.get("/metrics");
    for (int i = 0; i < 250 && !all_there(metrics); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        metrics = running.get("/metrics");
    }
    for (const char* line : expected)
        EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
}

// A service stopped the moment it started must still stop: httplib's stop()
// was a no-op before its listen loop began, and run() then waited forever
// for the HTTP thread (seen once in a loaded test run).
TEST(ProbeService, StopsWhenStoppedRightAfterStarting) {
    for (int i = 0; i < 20; ++i) {
        Running running(service::ServiceConfig{});
        running.stop();
        EXPECT_FALSE(running.thread.joinable()) << "round " << i;
    }
}

TEST(ProbeService, AnAddressInUseOrAnUnwritableEventsFileIsRefusedByName) {
    Running first(service::ServiceConfig{});
    service::ServiceConfig same;
    same.listen = {first.udp};
    same.http = "";
    SCOPED_TRACE("same");
    test::expect_error([&] { service::ProbeService s(same); }, {"--listen", first.udp.c_str(), "in use"});
    service::ServiceConfig http_taken;
    http_taken.listen = {"127.0.0.1:0"};
    http_taken.http = first.http;
    SCOPED_TRACE("http_taken");
    test::expect_error([&] { service::ProbeService s(http_taken); }, {"--http", first.http.c_str()});
    service::ServiceConfig bad_file;
    bad_file.listen = {"127.0.0.1:0"};
    bad_file.http = "";
    bad_file.events_path = "/nonexistent-dir/events.jsonl";
    SCOPED_TRACE("bad_file");
    test::expect_error([&] { service::ProbeService s(bad_file); }, {"--events", "/nonexistent-dir/events.jsonl"});
    service::ServiceConfig no_port;
    no_port.listen = {"127.0.0.1"};
    SCOPED_TRACE("no_port");
    test::expect_error([&] { service::ProbeService s(no_port); }, {"--listen", "HOST:PORT"});
    service::ServiceConfig threads;
    threads.threads = 0;
    SCOPED_TRACE("threads");
    test::expect_error([&] { service::ProbeService s(threads); }, {"--threads", "0"});
}

TEST(ProbeService, SnapshotsOfRunningStreamsAllocateNothing) {
    const auto& packets = demo_packets();
    RtpMonitor monitor(RtpMonitorConfig{.max_streams = 4});
    RemoteEndpoint from;
    from.address = {127, 0, 0, 1};
    for (std::uint32_t ssrc = 1; ssrc <= 3; ++ssrc)
        for (std::size_t i = 0; i < packets.size(); ++i) monitor.push(rtp(ssrc, std::uint16_t(i), packets[i]), from, 0);
    service::WorkerSnapshot snapshot;
    snapshot.streams.resize(4);
    AnalysisSummary scratch;
    scratch.verdict.reserve(64);
    service::take_snapshot(monitor, snapshot, scratch);  // warm: nothing lazy left
    const std::size_t allocations = test::allocations_during([&] { service::take_snapshot(monitor, snapshot, scratch); });
    EXPECT_EQ(allocations, 0u);
    ASSERT_EQ(snapshot.stream_count, 3u);
    EXPECT_EQ(snapshot.streams[0].packets.packets_received, std::int64_t(packets.size()));
    EXPECT_GT(snapshot.streams[0].sibilants, 0);
    EXPECT_TRUE(snapshot.streams[0].has_toc);
}

TEST(ProbeService, MetricLabelValuesAreEscaped) {
    service::WorkerSnapshot w;
    w.streams.resize(1);
    w.stream_count = 1;
    std::snprintf(w.streams[0].remote.data(), 64, "%s", "a\"b\\c");
    const std::string text = service::render_metrics({&w}, service::ProcessFigures{});
    EXPECT_NE(text.find("remote=\"a\\\"b\\\\c\""), std::string::npos);
    EXPECT_EQ(service::iso8601_utc(0.5), "1970-01-01T00:00:00.500Z");
}

}  // namespace
}  // namespace sibilant
