// read_udp_datagrams() (io/pcap_reader.hpp): captures written here with
// libpcap itself (pcap) or by hand (pcapng), for every supported link layer,
// IPv4 and IPv6 with extension headers; what is skipped and counted; every
// snapshot-length cut of a datagram, with libpcap's buffer exactly as long as
// the cut so that AddressSanitizer sees an over-read; and the bad files.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "capture_builder.hpp"
#include "io/pcap_reader.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using namespace test::pcap;
using io::CaptureReadStats;
using io::CapturedDatagram;

// ------------------------------------------------------------ packet builders

// `body` starts with the extension headers, if any; `next` names the first.
Bytes ipv6(std::uint8_t next, const Bytes& body) {
    Bytes b = {0x60, 0, 0, 0};
    put16(b, unsigned(body.size()));
    b.push_back(next);
    b.push_back(64);
    b.insert(b.end(), kSource6.begin(), kSource6.end());
    b.insert(b.end(), kDestination6.begin(), kDestination6.end());
    return b + body;
}
// Hop-by-hop, routing or destination options: 8 * (units + 1) bytes.
Bytes ipv6_extension(std::uint8_t next, std::uint8_t units) {
    Bytes b(8 * (std::size_t(units) + 1), 0);  // Pad1 options after the two header bytes.
    b[0] = next;
    b[1] = units;
    return b;
}
Bytes ipv6_fragment(std::uint8_t next, unsigned offset_units, bool more) {
    Bytes b = {next, 0};
    put16(b, (offset_units << 3) | (more ? 1u : 0u));
    put32(b, 0xabcdef01);
    return b;
}

Bytes cooked_v1(unsigned protocol, const Bytes& body) {
    Bytes b;
    put16(b, 0);  // Packet sent to us.
    put16(b, 1);  // ARPHRD_ETHER.
    put16(b, 6);
    for (int i = 0; i < 8; ++i) b.push_back(std::uint8_t(i));
    put16(b, protocol);
    return b + body;
}
Bytes cooked_v2(unsigned protocol, const Bytes& body) {
    Bytes b;
    put16(b, protocol);
    put16(b, 0);
    put32(b, 3);  // Interface index.
    put16(b, 1);  // ARPHRD_ETHER.
    b.push_back(0);
    b.push_back(6);
    for (int i = 0; i < 8; ++i) b.push_back(std::uint8_t(i));
    return b + body;
}
Bytes loopback_family(std::uint32_t family, bool big_endian, const Bytes& body) {
    Bytes b;
    put32(b, family);
    if (!big_endian) std::reverse(b.begin(), b.end());
    return b + body;
}

const Bytes kRtp = test::rtp_packet({.sequence = 7, .timestamp = 960}, {0x78, 0xaa, 0xbb, 0xcc});
const Bytes kArp(28, 0x11);

// ------------------------------------------------------------ captures

struct Seen {
    Bytes payload;
    RemoteEndpoint source, destination;
    double time_s = 0.0;
    std::int64_t time_ns = 0;
    std::int64_t frame = 0;
};

CaptureReadStats read_all(const std::filesystem::path& path, std::vector<Seen>& seen) {
    return io::read_udp_datagrams(path, [&](const CapturedDatagram& d) {
        seen.push_back({Bytes(d.payload.begin(), d.payload.end()), d.source, d.destination, d.time_s, d.time_ns,
                        d.frame});
    });
}

// One frame through a capture of `link_type`: the datagrams it yields.
std::vector<Seen> read_one(int link_type, const Bytes& frame, CaptureReadStats* stats_out = nullptr) {
    test::TempDir dir;
    write_capture(dir / "one.pcap", link_type, {{frame}});
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(dir / "one.pcap", seen);
    EXPECT_EQ(stats.frames, 1);
    EXPECT_EQ(stats.udp_datagrams, std::int64_t(seen.size()));
    if (stats_out) *stats_out = stats;
    return seen;
}

void expect_rtp_over_ipv4(const std::vector<Seen>& seen, std::uint16_t source_port = 40000,
                          std::uint16_t destination_port = 5004) {
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].payload, kRtp);
    EXPECT_EQ(seen[0].source, endpoint(kSource4, source_port));
    EXPECT_EQ(seen[0].destination, endpoint(kDestination4, destination_port));
}
void expect_rtp_over_ipv6(const std::vector<Seen>& seen) {
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].payload, kRtp);
    EXPECT_EQ(seen[0].source, endpoint(kSource6, 40000));
    EXPECT_EQ(seen[0].destination, endpoint(kDestination6, 5004));
}

const Bytes kUdp4 = ipv4(udp(40000, 5004, kRtp));
const Bytes kUdp6 = ipv6(kUdp, udp(40000, 5004, kRtp));

// ------------------------------------------------------------ tests

TEST(PcapReader, EthernetGivesPayloadAddressesPortsTimesAndFrameNumbers) {
    test::TempDir dir;
    const Bytes tiny = {0x55};  // Ethernet pads this frame; the padding is not payload.
    write_capture(dir / "eth.pcap", DLT_EN10MB,
                  {{ethernet(0x0806, kArp), 1'700'000'000, 0},
                   {ethernet(0x0800, kUdp4), 1'700'000'001, 250'000},
                   {ethernet(0x0800, ipv4(Bytes(20, 0), {.protocol = kTcp})), 1'700'000'002, 0},
                   {ethernet(0x0800, ipv4(Bytes(8, 0), {.protocol = kIcmp})), 1'700'000'002, 1},
                   {ethernet(0x0800, ipv4(udp(1, 2, tiny))), 1'700'000'003, 999'999}});
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(dir / "eth.pcap", seen);
    EXPECT_EQ(stats.frames, 5);
    EXPECT_EQ(stats.udp_datagrams, 2);
    EXPECT_EQ(stats.skipped_non_ip, 1);
    EXPECT_EQ(stats.skipped_non_udp, 2);
    EXPECT_EQ(stats.skipped_fragments, 0);
    EXPECT_EQ(stats.skipped_truncated, 0);
    EXPECT_FALSE(stats.stopped_early);
    ASSERT_EQ(seen.size(), 2u);

    expect_rtp_over_ipv4({seen[0]});
    EXPECT_EQ(seen[0].frame, 2);
    EXPECT_EQ(seen[0].time_ns, 1'700'000'001'250'000'000);
    EXPECT_DOUBLE_EQ(seen[0].time_s, 1'700'000'001.25);

    EXPECT_EQ(seen[1].payload, tiny);
    EXPECT_EQ(seen[1].source.port, 1);
    EXPECT_EQ(seen[1].destination.port, 2);
    EXPECT_EQ(seen[1].frame, 5);
    EXPECT_EQ(seen[1].time_ns, 1'700'000'003'999'999'000);
}

TEST(PcapReader, VlanTagsSingleAndStacked) {
    expect_rtp_over_ipv4(read_one(DLT_EN10MB, ethernet(0x0800, kUdp4, {{0x8100, 42}})));
    expect_rtp_over_ipv4(read_one(DLT_EN10MB, ethernet(0x0800, kUdp4, {{0x88a8, 100}, {0x8100, 42}})));
    expect_rtp_over_ipv6(read_one(DLT_EN10MB, ethernet(0x86dd, kUdp6, {{0x9100, 7}, {0x8100, 8}, {0x8100, 9}})));
    CaptureReadStats stats;
    EXPECT_TRUE(read_one(DLT_EN10MB, ethernet(0x0806, kArp, {{0x8100, 42}}), &stats).empty());
    EXPECT_EQ(stats.skipped_non_ip, 1);
}

TEST(PcapReader, LinuxCookedV1AndV2) {
    expect_rtp_over_ipv4(read_one(DLT_LINUX_SLL, cooked_v1(0x0800, kUdp4)));
    expect_rtp_over_ipv6(read_one(DLT_LINUX_SLL, cooked_v1(0x86dd, kUdp6)));
    expect_rtp_over_ipv4(read_one(DLT_LINUX_SLL2, cooked_v2(0x0800, kUdp4)));
    expect_rtp_over_ipv6(read_one(DLT_LINUX_SLL2, cooked_v2(0x86dd, kUdp6)));
    CaptureReadStats stats;
    EXPECT_TRUE(read_one(DLT_LINUX_SLL2, cooked_v2(0x0806, kArp), &stats).empty());
    EXPECT_EQ(stats.skipped_non_ip, 1);
}

TEST(PcapReader, BsdLoopbackInEitherByteOrder) {
    for (bool big_endian : {false, true}) {
        SCOPED_TRACE(big_endian ? "big-endian" : "little-endian");
        expect_rtp_over_ipv4(read_one(DLT_NULL, loopback_family(2, big_endian, kUdp4)));
        for (std::uint32_t inet6 : {24u, 28u, 30u})
            expect_rtp_over_ipv6(read_one(DLT_NULL, loopback_family(inet6, big_endian, kUdp6)));
        CaptureReadStats stats;
        EXPECT_TRUE(read_one(DLT_NULL, loopback_family(7, big_endian, kUdp4), &stats).empty());
        EXPECT_EQ(stats.skipped_non_ip, 1);
    }
    // DLT_LOOP is always in network order.
    expect_rtp_over_ipv4(read_one(DLT_LOOP, loopback_family(2, true, kUdp4)));
    expect_rtp_over_ipv6(read_one(DLT_LOOP, loopback_family(30, true, kUdp6)));
}

TEST(PcapReader, RawIp) {
    expect_rtp_over_ipv4(read_one(DLT_RAW, kUdp4));
    expect_rtp_over_ipv6(read_one(DLT_RAW, kUdp6));
    expect_rtp_over_ipv4(read_one(DLT_IPV4, kUdp4));
    expect_rtp_over_ipv6(read_one(DLT_IPV6, kUdp6));
    CaptureReadStats stats;
    EXPECT_TRUE(read_one(DLT_IPV4, kUdp6, &stats).empty());  // An IPv6 packet where IPv4 is promised.
    EXPECT_EQ(stats.skipped_non_ip, 1);
    EXPECT_TRUE(read_one(DLT_RAW, Bytes(30, 0x20), &stats).empty());  // Version 2.
    EXPECT_EQ(stats.skipped_non_ip, 1);
}

TEST(PcapReader, Ipv4OptionsAreSkipped) {
    expect_rtp_over_ipv4(read_one(DLT_RAW, ipv4(udp(40000, 5004, kRtp), {.option_words = 3})));
}

TEST(PcapReader, Ipv6ExtensionHeadersAreWalked) {
    // Hop-by-hop, then routing, then destination options, then UDP.
    const Bytes chain = ipv6_extension(43, 0) + ipv6_extension(60, 1) + ipv6_extension(kUdp, 2) +
                        udp(40000, 5004, kRtp);
    expect_rtp_over_ipv6(read_one(DLT_RAW, ipv6(0, chain)));
    // An authentication header (RFC 4302): 4 * (2 + 4) = 24 bytes.
    Bytes ah(24, 0x5a);
    ah[0] = kUdp;
    ah[1] = 4;
    expect_rtp_over_ipv6(read_one(DLT_RAW, ipv6(51, ah + udp(40000, 5004, kRtp))));
    // An atomic fragment (RFC 6946) is a whole datagram.
    expect_rtp_over_ipv6(read_one(DLT_RAW, ipv6(44, ipv6_fragment(kUdp, 0, false) + udp(40000, 5004, kRtp))));
    // TCP behind a destination option is still not UDP.
    CaptureReadStats stats;
    EXPECT_TRUE(read_one(DLT_RAW, ipv6(60, ipv6_extension(kTcp, 0) + Bytes(20, 0)), &stats).empty());
    EXPECT_EQ(stats.skipped_non_udp, 1);
}

TEST(PcapReader, FragmentsAreCountedNotReassembled) {
    test::TempDir dir;
    const Bytes body = udp(40000, 5004, kRtp);
    const Bytes later(24, 0x77);  // A later fragment: no UDP header.
    write_capture(dir / "fragments.pcap", DLT_RAW,
                  {{ipv4(body, {.flags_offset = 0x2000})},           // First, more fragments.
                   {ipv4(later, {.flags_offset = 0x0003})},          // Last, offset 24 bytes.
                   {ipv4(later, {.protocol = kTcp, .flags_offset = 0x2003})},
                   {ipv6(0, ipv6_extension(44, 0) + ipv6_fragment(kUdp, 0, true) + body)},
                   {ipv6(44, ipv6_fragment(kUdp, 3, false) + later)},
                   {ipv6(44, ipv6_fragment(kTcp, 3, true) + later)},
                   {kUdp4}});
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(dir / "fragments.pcap", seen);
    EXPECT_EQ(stats.frames, 7);
    EXPECT_EQ(stats.skipped_fragments, 4);
    EXPECT_EQ(stats.skipped_non_udp, 2);
    EXPECT_EQ(stats.udp_datagrams, 1);
    expect_rtp_over_ipv4(seen);
    EXPECT_EQ(seen[0].frame, 7);
}

TEST(PcapReader, NanosecondCapturesKeepNanoseconds) {
    test::TempDir dir;
    write_capture(dir / "ns.pcap", DLT_EN10MB,
                  {{ethernet(0x0800, kUdp4), 1'700'000'000, 123'456'789}, {ethernet(0x0800, kUdp4), 5, 1}}, 65535,
                  PCAP_TSTAMP_PRECISION_NANO);
    std::vector<Seen> seen;
    read_all(dir / "ns.pcap", seen);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].time_ns, 1'700'000'000'123'456'789);
    EXPECT_NEAR(seen[0].time_s, 1'700'000'000.123456789, 1e-6);
    EXPECT_EQ(seen[1].time_ns, 5'000'000'001);
    EXPECT_DOUBLE_EQ(seen[1].time_s, 5.000000001);
}

// Every cut of the frame short of its end is counted, never read past: the
// capture's snapshot length equals the cut, so libpcap's buffer ends there.
void expect_every_cut_counted(int link_type, const Bytes& frame, void (*expect_whole)(const std::vector<Seen>&)) {
    test::TempDir dir;
    for (std::size_t cut = 1; cut <= frame.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(frame.size()));
        const auto path = dir / ("cut" + std::to_string(cut) + ".pcap");
        write_capture(path, link_type, {{frame, 1, 0, cut}}, int(cut));
        std::vector<Seen> seen;
        const CaptureReadStats stats = read_all(path, seen);
        EXPECT_EQ(stats.frames, 1);
        if (cut < frame.size()) {
            EXPECT_EQ(stats.skipped_truncated, 1);
            EXPECT_TRUE(seen.empty());
        } else {
            expect_whole(seen);
        }
    }
}

TEST(PcapReader, SnapshotCutsAreCountedAndNeverOverRead) {
    expect_every_cut_counted(DLT_EN10MB, ethernet(0x0800, kUdp4, {{0x8100, 1}}),
                             [](const std::vector<Seen>& s) { expect_rtp_over_ipv4(s); });
    expect_every_cut_counted(DLT_LINUX_SLL2,
                             cooked_v2(0x86dd, ipv6(0, ipv6_extension(kUdp, 1) + udp(40000, 5004, kRtp))),
                             [](const std::vector<Seen>& s) { expect_rtp_over_ipv6(s); });
    expect_every_cut_counted(DLT_NULL, loopback_family(2, false, ipv4(udp(40000, 5004, kRtp), {.option_words = 2})),
                             [](const std::vector<Seen>& s) { expect_rtp_over_ipv4(s); });
    // A cut TCP segment is still TCP once its protocol field is in.
    test::TempDir dir;
    write_capture(dir / "tcp.pcap", DLT_RAW, {{ipv4(Bytes(400, 0), {.protocol = kTcp}), 1, 0, 40}}, 40);
    std::vector<Seen> seen;
    EXPECT_EQ(read_all(dir / "tcp.pcap", seen).skipped_non_udp, 1);
}

TEST(PcapReader, LengthsThatDisagreeAreCounted) {
    auto set16 = [](Bytes b, std::size_t at, unsigned v) {
        b[at] = std::uint8_t(v >> 8);
        b[at + 1] = std::uint8_t(v);
        return b;
    };
    const std::size_t udp_length_at = 20 + 4;
    const std::vector<Bytes> bad = {
        set16(kUdp4, 2, unsigned(kUdp4.size() + 1)),  // IPv4 total length past the frame.
        set16(kUdp4, 2, 19),                          // IPv4 total length shorter than its header.
        [] { Bytes b = kUdp4; b[0] = 0x44; return b; }(),  // IHL 4.
        set16(kUdp4, udp_length_at, unsigned(kUdp4.size() - 20 + 1)),  // UDP longer than IP's payload.
        set16(kUdp4, udp_length_at, 7),                                // UDP shorter than its header.
        set16(kUdp6, 4, unsigned(kUdp6.size() - 40 + 1)),              // IPv6 payload length past the frame.
        set16(kUdp6, 4, 0),                                            // Jumbogram without its option.
        ipv6(60, Bytes{kUdp, 5, 0, 0, 0, 0, 0, 0}),                    // Extension header past the packet.
    };
    test::TempDir dir;
    std::vector<Frame> frames;
    for (const Bytes& b : bad) frames.push_back({b});
    write_capture(dir / "bad.pcap", DLT_RAW, frames);
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(dir / "bad.pcap", seen);
    EXPECT_EQ(stats.frames, std::int64_t(bad.size()));
    EXPECT_EQ(stats.skipped_truncated, std::int64_t(bad.size()));
    EXPECT_TRUE(seen.empty());

    // A UDP length shorter than IP's payload is the datagram; the rest is trailer.
    Bytes trailer = ipv4(udp(40000, 5004, kRtp) + Bytes{9, 9, 9});
    expect_rtp_over_ipv4(read_one(DLT_RAW, trailer));
}

// ------------------------------------------------------------ pcapng, by hand

void put_le16(Bytes& b, unsigned v) {
    b.push_back(std::uint8_t(v));
    b.push_back(std::uint8_t(v >> 8));
}
void put_le32(Bytes& b, std::uint32_t v) {
    put_le16(b, v & 0xffff);
    put_le16(b, v >> 16);
}
// A block: type, total length, body padded to 32 bits, total length again.
void put_block(Bytes& file, std::uint32_t type, Bytes body) {
    body.resize((body.size() + 3) / 4 * 4, 0);
    const auto total = std::uint32_t(12 + body.size());
    put_le32(file, type);
    put_le32(file, total);
    file = file + body;
    put_le32(file, total);
}
Bytes section_header() {
    Bytes b;
    put_le32(b, 0x1A2B3C4D);  // Byte-order magic.
    put_le16(b, 1);
    put_le16(b, 0);
    put_le32(b, 0xffffffff);  // Section length unknown (-1).
    put_le32(b, 0xffffffff);
    Bytes file;
    put_block(file, 0x0A0D0D0A, b);
    return file;
}
// `resolution_exponent` < 0: no if_tsresol option (microseconds).
Bytes interface_description(unsigned link_type, int resolution_exponent) {
    Bytes b;
    put_le16(b, link_type);
    put_le16(b, 0);
    put_le32(b, 262144);
    if (resolution_exponent >= 0) {
        put_le16(b, 9);  // if_tsresol: one byte, 10^-exponent seconds, padded.
        put_le16(b, 1);
        b.push_back(std::uint8_t(resolution_exponent));
        b.resize(b.size() + 3, 0);
        put_le32(b, 0);  // opt_endofopt.
    }
    Bytes file;
    put_block(file, 1, b);
    return file;
}
Bytes enhanced_packet(std::uint64_t ticks, const Bytes& data) {
    Bytes b;
    put_le32(b, 0);  // Interface 0.
    put_le32(b, std::uint32_t(ticks >> 32));
    put_le32(b, std::uint32_t(ticks & 0xffffffff));
    put_le32(b, std::uint32_t(data.size()));
    put_le32(b, std::uint32_t(data.size()));
    b = b + data;
    Bytes file;
    put_block(file, 6, b);
    return file;
}

void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

TEST(PcapReader, ReadsPcapng) {
    test::TempDir dir;
    const Bytes odd_length = ethernet(0x0800, ipv4(udp(40000, 5004, kRtp + Bytes(40, 3)))) + Bytes{1};
    const Bytes nanosecond = section_header() + interface_description(1, 9) +
                             enhanced_packet(1'700'000'000'123'456'789, ethernet(0x0800, kUdp4)) +
                             enhanced_packet(1'700'000'001'000'000'000, ethernet(0x0800, ipv4(Bytes(20, 0), {.protocol = kTcp}))) +
                             enhanced_packet(1'700'000'002'000'000'000, odd_length);
    write_bytes(dir / "ns.pcapng", nanosecond);
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(dir / "ns.pcapng", seen);
    EXPECT_EQ(stats.frames, 3);
    EXPECT_EQ(stats.skipped_non_udp, 1);
    ASSERT_EQ(seen.size(), 2u);
    expect_rtp_over_ipv4({seen[0]});
    EXPECT_EQ(seen[0].time_ns, 1'700'000'000'123'456'789);
    EXPECT_EQ(seen[0].frame, 1);
    EXPECT_EQ(seen[1].payload, kRtp + Bytes(40, 3));
    EXPECT_EQ(seen[1].frame, 3);

    // A corrupt timestamp past 2262: nanoseconds saturate, the packet counts.
    write_bytes(dir / "far.pcapng", section_header() + interface_description(1, 9) +
                                        enhanced_packet(0xffff'ffff'ffff'fff0, ethernet(0x0800, kUdp4)));
    seen.clear();
    read_all(dir / "far.pcapng", seen);
    expect_rtp_over_ipv4(seen);
    EXPECT_EQ(seen[0].time_ns, std::numeric_limits<std::int64_t>::max());
    EXPECT_NEAR(seen[0].time_s, 18'446'744'073.7, 1.0);

    // Without if_tsresol the ticks are microseconds.
    write_bytes(dir / "us.pcapng", section_header() + interface_description(228, -1) +  // DLT_IPV4
                                       enhanced_packet(1'700'000'000'654'321, kUdp4));
    seen.clear();
    read_all(dir / "us.pcapng", seen);
    expect_rtp_over_ipv4(seen);
    EXPECT_EQ(seen[0].time_ns, 1'700'000'000'654'321'000);
}

// ------------------------------------------------------------ bad files

TEST(PcapReader, BadFilesNameTheFileAndTheCause) {
    test::TempDir dir;
    auto read = [](const std::filesystem::path& path) {
        return [path] { io::read_udp_datagrams(path, [](const CapturedDatagram&) {}); };
    };
    const std::string missing = (dir / "missing.pcap").string();
    test::expect_error(read(missing), {missing.c_str(), "no such file"});
    test::expect_error(read(dir.path()), {dir.path().c_str(), "folder"});

    const auto empty = dir / "empty.pcap";
    write_bytes(empty, {});
    test::expect_error(read(empty), {empty.c_str(), "empty"});

    const auto text = dir / "notes.pcap";
    std::ofstream(text) << "this is not a capture\n";
    test::expect_error(read(text), {text.c_str(), "not a capture", "unknown file format"});

    const auto wifi = dir / "wifi.pcap";
    write_capture(wifi, DLT_IEEE802_11, {});
    test::expect_error(read(wifi), {wifi.c_str(), "link type IEEE802_11", "not supported"});

    // The global header alone, then half a record header.
    write_capture(dir / "one.pcap", DLT_EN10MB, {{ethernet(0x0800, kUdp4)}});
    const Bytes whole = test::read_bytes(dir / "one.pcap");
    const auto cut_first = dir / "cut_first.pcap";
    write_bytes(cut_first, Bytes(whole.begin(), whole.begin() + 24 + 8));
    test::expect_error(read(cut_first), {cut_first.c_str(), "truncated", "first record"});
}

TEST(PcapReader, ACaptureCutMidRecordKeepsTheFramesBeforeIt) {
    test::TempDir dir;
    const auto path = dir / "cut.pcap";
    write_capture(path, DLT_EN10MB, {{ethernet(0x0800, kUdp4)}, {ethernet(0x0800, kUdp4)}});
    const Bytes whole = test::read_bytes(path);
    write_bytes(path, Bytes(whole.begin(), whole.end() - 10));
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(path, seen);
    EXPECT_EQ(stats.frames, 1);
    EXPECT_EQ(stats.udp_datagrams, 1);
    EXPECT_TRUE(stats.stopped_early);
    EXPECT_NE(stats.stop_reason.find(path.string()), std::string::npos) << stats.stop_reason;
    EXPECT_NE(stats.stop_reason.find("truncated"), std::string::npos) << stats.stop_reason;
    EXPECT_NE(stats.stop_reason.find("after frame 1"), std::string::npos) << stats.stop_reason;
    expect_rtp_over_ipv4(seen);
}

TEST(PcapReader, AnEmptyCaptureHasNoDatagrams) {
    test::TempDir dir;
    write_capture(dir / "empty.pcap", DLT_LINUX_SLL2, {});
    std::vector<Seen> seen;
    const CaptureReadStats stats = read_all(dir / "empty.pcap", seen);
    EXPECT_EQ(stats.frames, 0);
    EXPECT_EQ(stats.udp_datagrams, 0);
    EXPECT_FALSE(stats.stopped_early);
    EXPECT_TRUE(seen.empty());
}

TEST(PcapReader, NoAllocationPerPacket) {
    test::TempDir dir;
    write_capture(dir / "few.pcap", DLT_EN10MB, {{ethernet(0x0800, kUdp4)}});
    write_capture(dir / "many.pcap", DLT_EN10MB, std::vector<Frame>(200, Frame{ethernet(0x0800, kUdp4)}));
    std::size_t bytes_seen = 0;
    auto count = [&](const std::filesystem::path& path) {
        return test::allocations_during([&] {
            io::read_udp_datagrams(path, [&](const CapturedDatagram& d) { bytes_seen += d.payload.size(); });
        });
    };
    const auto path_few = dir / "few.pcap";
    const auto path_many = dir / "many.pcap";
    EXPECT_EQ(count(path_few), count(path_many));
    EXPECT_EQ(bytes_seen, 201 * kRtp.size());
}

TEST(PcapReader, ExceptionsFromTheCallbackPassThrough) {
    test::TempDir dir;
    write_capture(dir / "one.pcap", DLT_RAW, {{kUdp4}});
    EXPECT_THROW(io::read_udp_datagrams(dir / "one.pcap",
                                        [](const CapturedDatagram&) { throw std::runtime_error("stop"); }),
                 std::runtime_error);
}

}  // namespace
}  // namespace sibilant
