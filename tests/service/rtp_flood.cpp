// rtp_flood: the hostile and the heavy traffic of the probe service's tests
// and capacity benchmark, sent to a loopback address only.
//
//   rtp_flood --to 127.0.0.1:5004 --mode ssrcs   --count 20000 --seconds 10
//   rtp_flood --to 127.0.0.1:5004 --mode mixed   --count 50000 --seconds 10
//   rtp_flood --to 127.0.0.1:5004 --mode streams --audio speech.flac --streams 200 --seconds 20
//
// Flood modes (each datagram numbered i, from one socket):
//   ssrcs     valid RTP (PT --payload-type) around a real Opus packet, SSRC
//             cycling over --fake-ssrcs distinct values: a stream-creation flood;
//   garbage   random bytes of random length (1..1400);
//   jumbo     65507-byte datagrams (the largest UDP payload IPv4 carries);
//   version   RTP headers with version 0, 1 or 3;
//   rtcp      RTCP sender reports (PT 200) on the RTP port;
//   non-opus  valid RTP headers, configured and unconfigured payload types,
//             payloads that are not Opus packets;
//   mixed     all of the above in turn.
// `streams` sends --streams real-time Opus streams of --audio (encoded once at
// --bitrate, looped), one 20 ms packet per stream every 20 ms, SSRCs
// --ssrc-base upwards: the load of a server with that many
// listeners' streams.
//
// --rate paces a flood (datagrams per second); unpaced, it sends as fast as
// the socket takes them. Bounded by construction: it stops after --count datagrams or --seconds,
// whichever comes first (both capped), and it refuses any destination that is
// not 127.0.0.0/8 or ::1. Exit 0 after printing what it sent as one JSON line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <opus/opus.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sibilant/audio.hpp"

namespace {

constexpr std::int64_t kMaxCount = 20'000'000;
constexpr double kMaxSeconds = 600;
constexpr int kFrameSamples = 960;  // 20 ms at 48 kHz

struct Destination {
    sockaddr_storage address{};
    socklen_t length = 0;
    int family = AF_INET;
};

Destination loopback_destination(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("--to " + text + ": expected HOST:PORT");
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    const int port = std::stoi(text.substr(colon + 1));
    if (port <= 0 || port > 65535) throw std::runtime_error("--to " + text + ": bad port");
    Destination d;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&d.address);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&d.address);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
            throw std::runtime_error("--to " + text + ": refused, only 127.0.0.0/8 or ::1 may be flooded");
        v4->sin_family = AF_INET;
        v4->sin_port = htons(std::uint16_t(port));
        d.length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
            throw std::runtime_error("--to " + text + ": refused, only 127.0.0.0/8 or ::1 may be flooded");
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(std::uint16_t(port));
        d.length = sizeof(sockaddr_in6);
        d.family = AF_INET6;
    } else {
        throw std::runtime_error("--to " + text + ": not a numeric loopback address");
    }
    return d;
}

int open_socket(const Destination& d) {
    const int fd = socket(d.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int buffer = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    return fd;
}

void put16(std::vector<std::uint8_t>& p, std::size_t at, std::uint32_t v) {
    p[at] = std::uint8_t(v >> 8);
    p[at + 1] = std::uint8_t(v);
}
void put32(std::vector<std::uint8_t>& p, std::size_t at, std::uint32_t v) {
    put16(p, at, v >> 16);
    put16(p, at + 2, v & 0xffff);
}

std::vector<std::uint8_t> rtp(int version, int payload_type, std::uint16_t sequence, std::uint32_t timestamp,
                              std::uint32_t ssrc, const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> p(12 + payload.size());
    p[0] = std::uint8_t(version << 6);
    p[1] = std::uint8_t(payload_type & 0x7f);
    put16(p, 2, sequence);
    put32(p, 4, timestamp);
    put32(p, 8, ssrc);
    if (!payload.empty()) std::memcpy(p.data() + 12, payload.data(), payload.size());
    return p;
}

class Encoder {
public:
    explicit Encoder(int bitrate_bps) {
        int err = 0;
        enc_ = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
        if (err != OPUS_OK) throw std::runtime_error("opus_encoder_create failed");
        opus_encoder_ctl(enc_, OPUS_SET_BITRATE(bitrate_bps));
    }
    ~Encoder() { opus_encoder_destroy(enc_); }
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;
    std::vector<std::uint8_t> encode(const float* frame) {
        std::uint8_t out[1500];
        const int bytes = opus_encode_float(enc_, frame, kFrameSamples, out, sizeof out);
        if (bytes < 0) throw std::runtime_error("opus_encode_float failed");
        return {out, out + bytes};
    }

private:
    OpusEncoder* enc_ = nullptr;
};

std::vector<std::vector<std::uint8_t>> encode_file(const std::string& path, int bitrate_bps) {
    sibilant::AudioFileReader reader(path);
    std::vector<float> all, block(48000);
    while (const std::size_t n = reader.read(block)) all.insert(all.end(), block.begin(), block.begin() + long(n));
    all.resize((all.size() + kFrameSamples - 1) / kFrameSamples * kFrameSamples, 0.0f);
    Encoder encoder(bitrate_bps);
    std::vector<std::vector<std::uint8_t>> packets;
    for (std::size_t at = 0; at < all.size(); at += kFrameSamples) packets.push_back(encoder.encode(&all[at]));
    return packets;
}

struct Options {
    std::string to, mode = "mixed", audio;
    std::int64_t count = 10000;
    double rate_per_s = 0;  // 0: as fast as the socket takes them
    double seconds = 10;
    int fake_ssrcs = 10000, payload_type = 111, streams = 1, bitrate_bps = 32000;
    std::uint32_t ssrc_base = 0x51b11a00u;
    std::uint64_t seed = 1;
};

using Clock = std::chrono::steady_clock;

int flood(const Options& o, const Destination& d) {
    const int fd = open_socket(d);
    std::mt19937_64 random(o.seed);
    std::vector<float> noise(kFrameSamples);
    for (auto& v : noise) v = float(std::uniform_real_distribution<double>(-0.3, 0.3)(random));
    Encoder encoder(16000);
    const std::vector<std::uint8_t> opus = encoder.encode(noise.data());
    const std::vector<std::string> all = {"ssrcs", "garbage", "jumbo", "version", "rtcp", "non-opus"};
    std::vector<std::string> modes = o.mode == "mixed" ? all : std::vector<std::string>{o.mode};
    std::int64_t sent = 0, failed = 0, bytes = 0;
    const auto deadline = Clock::now() + std::chrono::duration<double>(o.seconds);
    const auto start = Clock::now();
    for (std::int64_t i = 0; i < o.count && Clock::now() < deadline; ++i) {
        // Paced in bursts of 64 so that the pacing itself costs little.
        if (o.rate_per_s > 0 && i % 64 == 0)
            std::this_thread::sleep_until(start + std::chrono::duration<double>(double(i) / o.rate_per_s));
        const std::string& mode = modes[std::size_t(i) % modes.size()];
        const auto n = std::uint32_t(i / std::int64_t(modes.size()));  // this mode's own count
        std::vector<std::uint8_t> p;
        if (mode == "ssrcs") {
            p = rtp(2, o.payload_type, std::uint16_t(n), n * 960, 0xf100d000u + n % std::uint32_t(o.fake_ssrcs), opus);
        } else if (mode == "garbage") {
            p.resize(1 + random() % 1400);
            for (auto& b : p) b = std::uint8_t(random());
        } else if (mode == "jumbo") {
            p = rtp(2, o.payload_type, std::uint16_t(n), n, 0x1ab00000u + n % 64, {});
            p.resize(65507, 0x5a);
        } else if (mode == "version") {
            p = rtp(int(n % 3 == 2 ? 3 : n % 3), o.payload_type, std::uint16_t(n), n, 0xbad00000u + n % 64, opus);
        } else if (mode == "rtcp") {
            // Sender report: V=2, RC=0, PT=200, length 6 words, SSRC, NTP, RTP ts, counts.
            p.assign(28, 0);
            p[0] = 0x80;
            p[1] = 200;
            put16(p, 2, 6);
            put32(p, 4, 0xc0c00000u + n % 64);
        } else if (mode == "non-opus") {
            // A configured payload type around bytes no Opus decoder accepts
            // (TOC code 3 with a zero frame count), or text under another type.
            if (n % 2 == 0) p = rtp(2, o.payload_type, std::uint16_t(n), n, 0x0e000000u + n % 1000, {0x03, 0x00});
            else p = rtp(2, 0, std::uint16_t(n), n, 0x0e100000u + n % 1000, {'h', 'e', 'l', 'l', 'o'});
        } else {
            throw std::runtime_error("--mode " + o.mode + ": unknown");
        }
        if (sendto(fd, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&d.address), d.length) < 0) {
            ++failed;  // the receiver's queue is full or it went away; a flood goes on
        } else {
            ++sent;
            bytes += std::int64_t(p.size());
        }
    }
    close(fd);
    std::printf("{\"mode\":\"%s\",\"sent\":%lld,\"send_errors\":%lld,\"bytes\":%lld}\n", o.mode.c_str(),
                static_cast<long long>(sent), static_cast<long long>(failed), static_cast<long long>(bytes));
    return 0;
}

int streams(const Options& o, const Destination& d) {
    if (o.audio.empty()) throw std::runtime_error("--mode streams needs --audio FILE");
    const auto packets = encode_file(o.audio, o.bitrate_bps);
    // One socket for every stream: streams are told apart by SSRC, as when a
    // media server relays many sources from one port.
    const int fd = open_socket(d);
    std::int64_t sent = 0, failed = 0, late_ticks = 0;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(o.seconds);
    for (std::int64_t tick = 0; sent + failed < o.count; ++tick) {
        const auto due = start + std::chrono::microseconds(20'000 * tick);
        if (due >= deadline) break;
        if (Clock::now() > due + std::chrono::milliseconds(20)) ++late_ticks;
        std::this_thread::sleep_until(due);
        const auto& payload = packets[std::size_t(tick) % packets.size()];
        for (int s = 0; s < o.streams; ++s) {
            const auto p = rtp(2, o.payload_type, std::uint16_t(tick), std::uint32_t(tick * kFrameSamples),
                               o.ssrc_base + std::uint32_t(s), payload);
            if (sendto(fd, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&d.address),
                       d.length) < 0)
                ++failed;
            else
                ++sent;
        }
    }
    close(fd);
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("{\"mode\":\"streams\",\"streams\":%d,\"sent\":%lld,\"send_errors\":%lld,\"late_ticks\":%lld,"
                "\"seconds\":%.3f}\n",
                o.streams, static_cast<long long>(sent), static_cast<long long>(failed),
                static_cast<long long>(late_ticks), elapsed_s);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"rtp_flood: hostile or heavy RTP traffic to a loopback address, bounded in count and time"};
    app.add_option("--to", o.to, "Destination, 127.x.x.x:PORT or [::1]:PORT")->required();
    app.add_option("--mode", o.mode, "ssrcs, garbage, jumbo, version, rtcp, non-opus, mixed, streams")
        ->check(CLI::IsMember({"ssrcs", "garbage", "jumbo", "version", "rtcp", "non-opus", "mixed", "streams"}));
    app.add_option("--count", o.count, "Stop after this many datagrams")->check(CLI::Range(std::int64_t(1), kMaxCount));
    app.add_option("--seconds", o.seconds, "Stop after this many seconds")->check(CLI::Range(0.001, kMaxSeconds));
    app.add_option("--rate", o.rate_per_s, "Flood modes: datagrams per second (0: unpaced)")
        ->check(CLI::Range(0.0, 1e7));
    app.add_option("--fake-ssrcs", o.fake_ssrcs, "Distinct SSRCs of the ssrcs mode")->check(CLI::Range(1, 1 << 24));
    app.add_option("--payload-type", o.payload_type, "The Opus payload type")->check(CLI::Range(0, 127));
    app.add_option("--audio", o.audio, "Speech file of the streams mode");
    app.add_option("--streams", o.streams, "Real-time streams of the streams mode")->check(CLI::Range(1, 20000));
    app.add_option("--bitrate", o.bitrate_bps, "Opus bitrate of the streams mode, bit/s")->check(CLI::Range(6000, 510000));
    app.add_option("--ssrc-base", o.ssrc_base, "First SSRC of the streams mode");
    app.add_option("--seed", o.seed, "Seed of the garbage");
    CLI11_PARSE(app, argc, argv);
    try {
        const Destination d = loopback_destination(o.to);
        return o.mode == "streams" ? streams(o, d) : flood(o, d);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rtp_flood: %s\n", e.what());
        return 1;
    }
}
