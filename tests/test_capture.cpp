// analyze_capture() (sibilant/capture.hpp): captures built here from the
// bundled speech sent as RTP/Opus at 6 kbps (narrowband) and 64 kbps, two
// SSRCs interleaved with RTCP, garbage UDP, a video-like stream and non-UDP
// frames. Each stream's result must equal a Probe fed the same packets; the
// 6 kbps one must read as more lisped; reordering, payload-type choice, the
// written audio and cut files are checked; then `sibilant analyze` on
// captures, end to end (outputs, exit codes, messages, batches).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture_builder.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/capture.hpp"
#include "sibilant/probe.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using namespace test::pcap;
using Packets = std::vector<std::vector<std::uint8_t>>;

constexpr std::uint32_t kNarrowSsrc = 0x1234abcd;
constexpr std::uint32_t kWideSsrc = 0x0000beef;
constexpr std::uint32_t kVideoSsrc = 0x7e1e0001;
const std::array<std::uint8_t, 4> kNarrowHost = {192, 0, 2, 1};
const std::array<std::uint8_t, 4> kWideHost = {192, 0, 2, 2};

const Packets& narrow_packets() { return test::demo_opus_packets(6000); }
const Packets& wide_packets() { return test::demo_opus_packets(64000); }

// One RTP datagram over UDP, IPv4 and Ethernet, at `t_us` microseconds into
// the capture.
Frame rtp_frame(std::uint32_t ssrc, int payload_type, std::uint16_t sequence, std::uint32_t timestamp,
                const Bytes& payload, const std::array<std::uint8_t, 4>& host, std::int64_t t_us) {
    const Bytes rtp = test::rtp_packet(
        {.payload_type = payload_type, .sequence = sequence, .timestamp = timestamp, .ssrc = ssrc}, payload);
    return {ethernet(0x0800, ipv4(udp(40000, 5004, rtp), {.source = host})), 1'700'000'000 + long(t_us / 1'000'000),
            long(t_us % 1'000'000)};
}
Frame udp_frame(const Bytes& payload, std::int64_t t_us) {
    return {ethernet(0x0800, ipv4(udp(40001, 5005, payload))), 1'700'000'000 + long(t_us / 1'000'000),
            long(t_us % 1'000'000)};
}

struct Capture {
    std::vector<Frame> frames;
    int rtcp = 0, garbage = 0, video = 0, other = 0;
};

// Both streams, packet i of each at 20 ms * i, the 64 kbps one with its
// sequence numbers about to wrap; every 10th slot RTCP, garbage UDP, a
// video-like packet and a non-UDP frame. `order` maps slot to packet index
// (reordering within the narrowband stream).
Capture two_streams(const std::vector<std::size_t>& order = {}) {
    Capture c;
    const Packets& narrow = narrow_packets();
    const Packets& wide = wide_packets();
    const std::size_t n = std::min(narrow.size(), wide.size());
    std::uint16_t video_sequence = 0;
    for (std::size_t slot = 0; slot < n; ++slot) {
        const std::size_t i = order.empty() ? slot : order[slot];
        const std::int64_t t = std::int64_t(slot) * 20'000;
        c.frames.push_back(rtp_frame(kNarrowSsrc, 111, std::uint16_t(1000 + i), std::uint32_t(960 * i), narrow[i],
                                     kNarrowHost, t));
        c.frames.push_back(rtp_frame(kWideSsrc, 111, std::uint16_t(65500 + slot), std::uint32_t(4'000'000'000u + 960 * slot),
                                     wide[slot], kWideHost, t + 100));
        if (slot % 10 == 0) {
            // RTCP sender report on the RTP port (RFC 5761).
            Bytes sr = {0x80, 200, 0, 6};
            put32(sr, kNarrowSsrc);
            sr.resize(28, 0);
            c.frames.push_back(udp_frame(sr, t + 200));
            ++c.rtcp;
            c.frames.push_back(udp_frame(Bytes{0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42}, t + 300));  // STUN-like
            ++c.garbage;
            // Video on a dynamic type: TOC-parseable payloads, but a 90 kHz
            // clock with three packets per picture.
            for (int k = 0; k < 3; ++k) {
                Bytes picture(900, 0x5a);
                picture[0] = 0x78;
                c.frames.push_back(rtp_frame(kVideoSsrc, 96, video_sequence++, std::uint32_t(3000 * (slot / 10)),
                                             picture, kWideHost, t + 400 + k));
                ++c.video;
            }
            Frame tcp = udp_frame({}, t + 500);
            tcp.bytes = ethernet(0x0800, ipv4(Bytes(20, 0), {.protocol = kTcp}));
            c.frames.push_back(tcp);
            ++c.other;
        }
    }
    return c;
}

// What a Probe makes of the packets fed directly, in order.
struct Direct {
    AnalysisSummary summary;
    std::vector<SibilantEventResult> events;
    double bandwidth_hz = 0;
    std::int64_t samples = 0;
};
Direct probe_directly(const Packets& packets, std::size_t count) {
    Probe probe;
    Direct d;
    auto drain = [&] {
        while (const auto* e = probe.peek_event()) {
            d.events.push_back(*e);
            probe.drop_event();
        }
    };
    for (std::size_t i = 0; i < count; ++i) {
        probe.push_packet(std::uint16_t(i), packets[i]);
        drain();
    }
    probe.finish();
    drain();
    d.summary = probe.summary();
    d.bandwidth_hz = probe.status().degraded_bandwidth_hz;
    d.samples = probe.packet_stats().samples_out;
    return d;
}

void expect_equal(const CaptureStream& s, const Direct& d) {
    EXPECT_EQ(s.result.summary.lisp_index, d.summary.lisp_index);
    EXPECT_EQ(s.result.summary.smearing_index, d.summary.smearing_index);
    EXPECT_EQ(s.result.summary.sibilants, d.summary.sibilants);
    EXPECT_EQ(s.result.summary.verdict, d.summary.verdict);
    EXPECT_EQ(s.result.degraded_bandwidth_hz, d.bandwidth_hz);
    EXPECT_EQ(s.packets.samples_out, d.samples);
    ASSERT_EQ(s.result.events.size(), d.events.size());
    for (std::size_t i = 0; i < d.events.size(); ++i) {
        EXPECT_EQ(s.result.events[i].start_s, d.events[i].start_s) << i;
        EXPECT_EQ(s.result.events[i].lisp, d.events[i].lisp) << i;
        EXPECT_EQ(s.result.events[i].why, d.events[i].why) << i;
    }
}

std::size_t packet_count() { return std::min(narrow_packets().size(), wide_packets().size()); }

TEST(Capture, TwoInterleavedStreamsEachEqualTheirOwnProbe) {
    test::TempDir dir;
    const Capture c = two_streams();
    write_capture(dir / "call.pcap", DLT_EN10MB, c.frames);
    const CaptureAnalysis a = analyze_capture(dir / "call.pcap");

    const std::size_t n = packet_count();
    ASSERT_GT(n, 100u);
    ASSERT_EQ(a.streams.size(), 2u);
    EXPECT_EQ(a.payload_types, std::vector<int>{111});  // found: the video's 96 is not Opus
    const CaptureStream& narrow = a.streams[0];
    const CaptureStream& wide = a.streams[1];
    EXPECT_EQ(narrow.ssrc, kNarrowSsrc);
    EXPECT_EQ(wide.ssrc, kWideSsrc);
    EXPECT_EQ(narrow.source, endpoint(kNarrowHost, 40000));
    EXPECT_EQ(narrow.destination, endpoint(kDestination4, 5004));
    EXPECT_EQ(narrow.payload_type, 111);
    EXPECT_EQ(narrow.first_frame, 1);
    EXPECT_EQ(wide.first_frame, 2);
    EXPECT_DOUBLE_EQ(narrow.first_packet_unix_s, 1'700'000'000.0);
    EXPECT_NEAR(narrow.last_packet_unix_s, 1'700'000'000.0 + 0.02 * double(n - 1), 1e-6);
    EXPECT_EQ(narrow.result.mode, "no-reference");
    EXPECT_EQ(narrow.result.degraded, (dir / "call.pcap").string() + "#ssrc=0x1234abcd");
    EXPECT_EQ(wide.result.degraded, (dir / "call.pcap").string() + "#ssrc=0x0000beef");

    // Every datagram accounted for, by its fate.
    EXPECT_EQ(a.read.frames, std::int64_t(c.frames.size()));
    EXPECT_EQ(a.read.skipped_non_udp, c.other);
    EXPECT_EQ(a.outcomes[int(DatagramOutcome::Accepted)], std::int64_t(2 * n));
    EXPECT_EQ(a.outcomes[int(DatagramOutcome::Rtcp)], c.rtcp);
    EXPECT_EQ(a.outcomes[int(DatagramOutcome::WrongVersion)], c.garbage);
    EXPECT_EQ(a.outcomes[int(DatagramOutcome::NotOpus)], c.video);
    std::int64_t total = 0;
    for (std::int64_t count : a.outcomes) total += count;
    EXPECT_EQ(total, a.read.udp_datagrams);

    // The same as a probe fed the packets directly, to the last bit.
    expect_equal(narrow, probe_directly(narrow_packets(), n));
    expect_equal(wide, probe_directly(wide_packets(), n));
    EXPECT_EQ(narrow.packets.packets_lost, 0);
    EXPECT_EQ(wide.packets.packets_lost, 0);  // across the sequence wrap

    // 6 kbps narrowband lisps; 64 kbps does not.
    EXPECT_GT(narrow.result.summary.lisp_index, wide.result.summary.lisp_index + 50.0);
    EXPECT_NE(narrow.result.summary.verdict.find("lisp"), std::string::npos) << narrow.result.summary.verdict;
    EXPECT_LT(narrow.result.degraded_bandwidth_hz, 5000.0);
    EXPECT_GT(wide.result.degraded_bandwidth_hz, 8000.0);
    ASSERT_FALSE(narrow.timeline.empty());
    EXPECT_EQ(narrow.timeline[0].current.bandwidth, Bandwidth::Narrowband);
}

TEST(Capture, ReorderedPacketsAreAnalysedAsIfInOrder) {
    const std::size_t n = packet_count();
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    // Neighbours swapped every 7 packets, and one packet 20 places late.
    for (std::size_t i = 10; i + 1 < n; i += 7) std::swap(order[i], order[i + 1]);
    const std::size_t late = order[50];
    order.erase(order.begin() + 50);
    order.insert(order.begin() + 70, late);

    test::TempDir dir;
    write_capture(dir / "reordered.pcap", DLT_EN10MB, two_streams(order).frames);
    const CaptureAnalysis a = analyze_capture(dir / "reordered.pcap");
    ASSERT_EQ(a.streams.size(), 2u);
    const CaptureStream& narrow = a.streams[0];
    EXPECT_GT(narrow.reordered, 10);
    EXPECT_EQ(narrow.packets.late, 0);
    EXPECT_EQ(narrow.packets.packets_lost, 0);
    expect_equal(narrow, probe_directly(narrow_packets(), n));

    // A window too short for the 20-place delay: that packet is late, and
    // its slot was concealed, as a receiver's jitter buffer would have done.
    const CaptureAnalysis tight = analyze_capture(dir / "reordered.pcap", {.reorder_packets = 5});
    ASSERT_EQ(tight.streams.size(), 2u);
    EXPECT_EQ(tight.streams[0].packets.late, 1);
    EXPECT_EQ(tight.streams[0].packets.packets_lost, 1);
}

TEST(Capture, GivenPayloadTypesAreUsedAsGiven) {
    test::TempDir dir;
    const Capture c = two_streams();
    write_capture(dir / "call.pcap", DLT_EN10MB, c.frames);
    const std::size_t n = packet_count();

    const CaptureAnalysis given = analyze_capture(dir / "call.pcap", {.payload_types = {111}});
    ASSERT_EQ(given.streams.size(), 2u);
    expect_equal(given.streams[0], probe_directly(narrow_packets(), n));
    EXPECT_EQ(given.outcomes[int(DatagramOutcome::PayloadType)], c.video);

    // Told Opus is on 0 (PCMU): nothing is, and the description says what was there.
    const CaptureAnalysis none = analyze_capture(dir / "call.pcap", {.payload_types = {0}});
    EXPECT_TRUE(none.streams.empty());
    EXPECT_EQ(none.outcomes[int(DatagramOutcome::PayloadType)], std::int64_t(2 * n) + c.video);
    const std::string text = describe_capture(none);
    EXPECT_EQ(text.find("no RTP/Opus stream found in " + (dir / "call.pcap").string() + ": " +
                        std::to_string(none.read.udp_datagrams) + " UDP datagrams ("),
              0u)
        << text;
    EXPECT_NE(text.find(std::to_string(2 * n + std::size_t(c.video)) + " payload_type"), std::string::npos) << text;
    EXPECT_NE(text.find("payload types 0"), std::string::npos) << text;

    test::expect_error([&] { analyze_capture(dir / "call.pcap", {.payload_types = {128}}); },
                       {"payload type 128", "[0, 127]"});
}

TEST(Capture, WritesEachStreamsDecodedAudio) {
    test::TempDir dir;
    std::filesystem::create_directory(dir / "audio");
    write_capture(dir / "call.pcap", DLT_EN10MB, two_streams().frames);
    const CaptureAnalysis a = analyze_capture(dir / "call.pcap", {.write_audio_dir = dir / "audio"});
    ASSERT_EQ(a.streams.size(), 2u);
    const std::size_t n = packet_count();
    for (const CaptureStream& s : a.streams) {
        char name[64];
        std::snprintf(name, sizeof name, "call-ssrc-%08x.wav", unsigned(s.ssrc));
        EXPECT_EQ(s.audio_file, dir / "audio" / name);
        AudioInfo info;
        const std::vector<float> audio = read_audio_file(s.audio_file.string(), {}, &info);
        EXPECT_EQ(info.sample_rate_hz, 48000);
        EXPECT_EQ(info.channels, 1);
        EXPECT_EQ(audio.size(), n * 960);
        EXPECT_EQ(std::int64_t(audio.size()), s.packets.samples_out);
        EXPECT_GT(test::rms(audio), 0.01);
    }
    // Nothing else in the folder: no temporary files left.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir / "audio"), {}), 2);

    test::expect_error([&] { analyze_capture(dir / "call.pcap", {.write_audio_dir = dir / "missing"}); },
                       {(dir / "missing").c_str(), "no such folder"});
}

TEST(Capture, JsonKeepsTheAnalysisContractAndAddsTheStream) {
    test::TempDir dir;
    write_capture(dir / "call.pcap", DLT_EN10MB, two_streams().frames);
    const CaptureAnalysis a = analyze_capture(dir / "call.pcap");
    ASSERT_EQ(a.streams.size(), 2u);
    const auto j = nlohmann::json::parse(to_json(a, a.streams[0]));
    const auto contract = nlohmann::json::parse(to_json(a.streams[0].result, false));
    for (const auto& [key, value] : contract.items()) EXPECT_EQ(j.at(key), value) << key;
    EXPECT_EQ(j["degraded"], (dir / "call.pcap").string() + "#ssrc=0x1234abcd");
    EXPECT_EQ(j["rtp"]["ssrc"], "0x1234abcd");
    EXPECT_EQ(j["rtp"]["source"], "192.0.2.1:40000");
    EXPECT_EQ(j["rtp"]["destination"], "198.51.100.20:5004");
    EXPECT_EQ(j["rtp"]["payload_type"], 111);
    EXPECT_EQ(j["rtp"]["packets"]["received"], packet_count());
    EXPECT_TRUE(j["rtp"]["audio_file"].is_null());
    EXPECT_NE(j["rtp"]["timeline"][0]["change"].get<std::string>().find("NB"), std::string::npos);

    const auto error = nlohmann::json::parse(capture_error_json("x.pcap", "x.pcap: broken"));
    EXPECT_TRUE(error["reference"].is_null());
    EXPECT_EQ(error["degraded"], "x.pcap");
    EXPECT_EQ(error["error"], "x.pcap: broken");
}

TEST(Capture, CutFiles) {
    test::TempDir dir;
    write_capture(dir / "call.pcap", DLT_EN10MB, two_streams().frames);
    const Bytes whole = test::read_bytes(dir / "call.pcap");
    auto write_prefix = [&](const std::filesystem::path& path, std::size_t bytes) {
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(whole.data()), std::streamsize(bytes));
    };
    // Cut inside the file header: an error naming the file.
    write_prefix(dir / "header.pcap", 10);
    test::expect_error([&] { analyze_capture(dir / "header.pcap"); }, {(dir / "header.pcap").c_str(), "truncated"});
    // Cut in the middle of a record (tcpdump killed): what came before counts.
    write_prefix(dir / "middle.pcap", whole.size() / 2 + 7);
    const CaptureAnalysis a = analyze_capture(dir / "middle.pcap");
    EXPECT_TRUE(a.read.stopped_early);
    EXPECT_NE(a.read.stop_reason.find((dir / "middle.pcap").string()), std::string::npos) << a.read.stop_reason;
    ASSERT_EQ(a.streams.size(), 2u);
    EXPECT_GT(a.streams[0].packets.packets_received, 50);
    EXPECT_NE(describe_capture(a).find("cut short after frame " + std::to_string(a.read.frames)), std::string::npos)
        << describe_capture(a);
}

TEST(Capture, NotCapturesAndCapturesWithoutOpus) {
    test::TempDir dir;
    const std::string flac = (test::testdata_dir() / "speech" / "demo.flac").string();
    test::expect_error([&] { analyze_capture(flac); }, {flac.c_str(), "not a capture"});
    test::expect_error([&] { analyze_capture(dir / "missing.pcap"); }, {(dir / "missing.pcap").c_str(), "no such file"});

    write_capture(dir / "noise.pcap", DLT_EN10MB,
                  {udp_frame(Bytes{1, 2, 3}, 0), udp_frame(test::rtp_packet({.payload_type = 0}, Bytes(160, 0xff)), 20)});
    const CaptureAnalysis a = analyze_capture(dir / "noise.pcap");
    EXPECT_TRUE(a.streams.empty());
    EXPECT_TRUE(a.payload_types.empty());
    const std::string text = describe_capture(a);
    EXPECT_NE(text.find("no RTP/Opus stream found in " + (dir / "noise.pcap").string() +
                        ": 2 UDP datagrams (1 wrong_version, 1 payload_type) in 2 frames"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("no SSRC on a dynamic payload type"), std::string::npos) << text;
}

TEST(Capture, IsCaptureFileReadsTheMagicNumber) {
    test::TempDir dir;
    write_capture(dir / "us.bin", DLT_EN10MB, {});
    write_capture(dir / "ns.bin", DLT_EN10MB, {}, 65535, PCAP_TSTAMP_PRECISION_NANO);
    std::ofstream(dir / "ng.bin", std::ios::binary).write("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00", 8);
    std::ofstream(dir / "swapped.bin", std::ios::binary).write("\xd4\xc3\xb2\xa1", 4);
    std::ofstream(dir / "short.pcap", std::ios::binary).write("\xd4\xc3", 2);
    EXPECT_TRUE(is_capture_file(dir / "us.bin"));
    EXPECT_TRUE(is_capture_file(dir / "ns.bin"));
    EXPECT_TRUE(is_capture_file(dir / "ng.bin"));
    EXPECT_TRUE(is_capture_file(dir / "swapped.bin"));
    EXPECT_FALSE(is_capture_file(dir / "short.pcap"));
    EXPECT_FALSE(is_capture_file(test::testdata_dir() / "speech" / "demo.flac"));
    EXPECT_FALSE(is_capture_file(dir / "missing.pcap"));
}

// ------------------------------------------------------------ the command line

struct CliRun {
    int code = -1;
    std::string out, err;
};

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// `sibilant ARGS` with stdout and stderr kept (paths here need no quoting
// beyond single quotes: they are the test's own temporary folders).
CliRun sibilant_cli(const test::TempDir& dir, const std::string& args) {
    const std::string command = "'" + test::cli_path().string() + "' " + args + " >'" + (dir / "cli.out").string() +
                                "' 2>'" + (dir / "cli.err").string() + "' </dev/null";
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(dir / "cli.out"), read_text(dir / "cli.err")};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// Single-quoted for the shell. (Appended piece by piece: GCC 12 misreads
// "'" + string + "'" as an overlapping memcpy under -Werror=restrict.)
std::string q(const std::filesystem::path& path) {
    std::string quoted = "'";
    quoted += path.string();
    quoted += '\'';
    return quoted;
}

class CaptureCli : public ::testing::Test {
protected:
    void SetUp() override {
        call_ = dir_ / "call.pcap";
        write_capture(call_, DLT_EN10MB, two_streams().frames);
    }
    test::TempDir dir_;
    std::filesystem::path call_;
};

TEST_F(CaptureCli, OneJsonLinePerStreamInTheAnalysisContract) {
    const CliRun r = sibilant_cli(dir_, "analyze " + q(call_));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.out;
    const auto narrow = nlohmann::json::parse(lines[0]);
    const auto wide = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(narrow["mode"], "no-reference");
    EXPECT_TRUE(narrow["reference"].is_null());
    EXPECT_EQ(narrow["degraded"], call_.string() + "#ssrc=0x1234abcd");
    EXPECT_EQ(wide["degraded"], call_.string() + "#ssrc=0x0000beef");
    EXPECT_GT(narrow["summary"]["lisp_index"].get<double>(), wide["summary"]["lisp_index"].get<double>() + 50.0);
    EXPECT_EQ(narrow["rtp"]["ssrc"], "0x1234abcd");
    // The same figures as the library gives.
    const CaptureAnalysis a = analyze_capture(call_);
    EXPECT_EQ(lines[0], to_json(a, a.streams[0]));
    EXPECT_NE(r.err.find(call_.string() + ": 2 RTP/Opus streams; "), std::string::npos) << r.err;

    // Told by its first bytes, not its name; --jsonl writes the same lines.
    std::filesystem::copy_file(call_, dir_ / "call.bin");
    const CliRun by_magic = sibilant_cli(dir_, "analyze " + q(dir_ / "call.bin") + " --jsonl " + q(dir_ / "o.jsonl") + " -q");
    ASSERT_EQ(by_magic.code, 0) << by_magic.err;
    EXPECT_EQ(by_magic.err, "");  // -q: no note
    const auto from_file = lines_of(read_text(dir_ / "o.jsonl"));
    ASSERT_EQ(from_file.size(), 2u);
    EXPECT_EQ(nlohmann::json::parse(from_file[1])["degraded"], (dir_ / "call.bin").string() + "#ssrc=0x0000beef");

    // --summary-line: one tab-separated line per stream, named like the JSON.
    const CliRun tsv = sibilant_cli(dir_, "analyze --summary-line " + q(call_));
    ASSERT_EQ(tsv.code, 0) << tsv.err;
    const auto rows = lines_of(tsv.out);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(std::count(rows[0].begin(), rows[0].end(), '\t'), 10);
    EXPECT_NE(rows[0].find("\tlisp\t"), std::string::npos) << rows[0];
    EXPECT_TRUE(rows[0].ends_with("\t" + call_.string() + "#ssrc=0x1234abcd")) << rows[0];
}

TEST_F(CaptureCli, PayloadTypesAndNoOpus) {
    for (const char* types : {"--payload-type 111", "--payload-type 112,111", "--payload-type 112 --payload-type 111"}) {
        const CliRun r = sibilant_cli(dir_, "analyze " + q(call_) + " " + types);
        EXPECT_EQ(r.code, 0) << types << ": " << r.err;
        EXPECT_EQ(lines_of(r.out).size(), 2u) << types;
    }
    // No Opus on the types given: exit 1, a message naming the file and
    // saying what was there, and no output file.
    const CliRun r = sibilant_cli(dir_, "analyze " + q(call_) + " --payload-type 0 --jsonl " + q(dir_ / "none.jsonl"));
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err.find("sibilant: error: no RTP/Opus stream found in " + call_.string() + ": 573 UDP datagrams ("),
              0u)
        << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "none.jsonl"));
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), {}), 3);  // call.pcap, cli.*, no temporary
    EXPECT_EQ(r.out, "");

    // A type given is taken as Opus whatever it holds: the video on 96 too.
    EXPECT_EQ(lines_of(sibilant_cli(dir_, "analyze " + q(call_) + " --payload-type 96,111").out).size(), 3u);
    EXPECT_EQ(sibilant_cli(dir_, "analyze " + q(call_) + " --payload-type 128").code, 2);
}

TEST_F(CaptureCli, WriteAudio) {
    std::filesystem::create_directory(dir_ / "audio");
    const CliRun r = sibilant_cli(dir_, "analyze " + q(call_) + " --write-audio " + q(dir_ / "audio"));
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* name : {"call-ssrc-1234abcd.wav", "call-ssrc-0000beef.wav"}) {
        const auto path = dir_ / "audio" / name;
        ASSERT_TRUE(std::filesystem::exists(path)) << name;
        EXPECT_EQ(read_audio_file(path.string()).size(), packet_count() * 960) << name;
        EXPECT_NE(r.out.find("\"audio_file\":\"" + path.string() + "\""), std::string::npos);
    }
    const CliRun missing = sibilant_cli(dir_, "analyze " + q(call_) + " --write-audio " + q(dir_ / "nowhere"));
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find((dir_ / "nowhere").string() + ": no such folder"), std::string::npos) << missing.err;
    EXPECT_EQ(missing.out, "");
}

TEST_F(CaptureCli, ABatchGoesOnPastBadFiles) {
    std::ofstream(dir_ / "notes.pcap") << "not a capture\n";
    const auto cut = dir_ / "cut.pcap";
    const Bytes whole = test::read_bytes(call_);
    std::ofstream(cut, std::ios::binary).write(reinterpret_cast<const char*>(whole.data()), std::streamsize(whole.size() / 2 + 7));
    const CliRun r = sibilant_cli(dir_, "analyze " + q(dir_ / "notes.pcap") + " " + q(call_) + " " +
                                            q(dir_ / "missing.pcap") + " " + q(cut) + " -j 2");
    EXPECT_EQ(r.code, 1);
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 6u) << r.out;
    const auto notes = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(notes["degraded"], (dir_ / "notes.pcap").string());
    EXPECT_NE(notes["error"].get<std::string>().find("not a capture"), std::string::npos) << lines[0];
    EXPECT_EQ(nlohmann::json::parse(lines[1])["rtp"]["ssrc"], "0x1234abcd");
    EXPECT_EQ(nlohmann::json::parse(lines[2])["rtp"]["ssrc"], "0x0000beef");
    EXPECT_NE(nlohmann::json::parse(lines[3])["error"].get<std::string>().find("no such file"), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(lines[4])["rtp"]["capture"], cut.string());
    EXPECT_NE(r.err.find("warning: " + cut.string() + ": truncated"), std::string::npos) << r.err;
    EXPECT_TRUE(lines_of(r.err).back() == "sibilant: error: 2 of 4 captures failed") << r.err;

    // Alone, a file that is not a capture is the command's error: no record.
    const CliRun alone = sibilant_cli(dir_, "analyze " + q(dir_ / "notes.pcap") + " --jsonl " + q(dir_ / "n.jsonl"));
    EXPECT_EQ(alone.code, 1);
    EXPECT_NE(alone.err.find((dir_ / "notes.pcap").string() + ": not a capture"), std::string::npos) << alone.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "n.jsonl"));
}

TEST_F(CaptureCli, UsageErrors) {
    const std::string flac = (test::testdata_dir() / "speech" / "demo.flac").string();
    for (const std::string& args : {"analyze " + q(call_) + " --json -", "analyze " + q(call_) + " --channel 1",
                                    "analyze " + q(call_) + " --pairs list.csv",
                                    "analyze '" + flac + "' --payload-type 111",
                                    "analyze '" + flac + "' --write-audio " + q(dir_.path()),
                                    "analyze '" + flac + "' '" + flac + "' '" + flac + "'"}) {
        const CliRun r = sibilant_cli(dir_, args);
        EXPECT_EQ(r.code, 2) << args << ": " << r.err;
        EXPECT_EQ(r.out, "") << args;
    }
    // Two captures whose audio files would collide.
    std::filesystem::create_directory(dir_ / "b");
    std::filesystem::copy_file(call_, dir_ / "b" / "call.pcap");
    const CliRun r = sibilant_cli(dir_, "analyze " + q(call_) + " " + q(dir_ / "b" / "call.pcap") + " --write-audio " +
                                            q(dir_ / "b"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("call"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sibilant
