// Packets and capture files for the capture tests: UDP in IPv4 in Ethernet,
// built byte by byte, and pcap files written with libpcap itself.
#pragma once

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>

#include "sibilant/rtp.hpp"

namespace sibilant::test::pcap {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, unsigned v) {
    b.push_back(std::uint8_t(v >> 8));
    b.push_back(std::uint8_t(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kIcmp = 1;

inline const std::array<std::uint8_t, 4> kSource4 = {192, 0, 2, 10};
inline const std::array<std::uint8_t, 4> kDestination4 = {198, 51, 100, 20};
inline const std::array<std::uint8_t, 16> kSource6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
inline const std::array<std::uint8_t, 16> kDestination6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd};

inline RemoteEndpoint endpoint(const std::array<std::uint8_t, 4>& address, std::uint16_t port) {
    RemoteEndpoint e;
    std::copy(address.begin(), address.end(), e.address.begin());
    e.port = port;
    return e;
}
inline RemoteEndpoint endpoint(const std::array<std::uint8_t, 16>& address, std::uint16_t port) {
    RemoteEndpoint e;
    e.ipv6 = true;
    e.address = address;
    e.port = port;
    return e;
}

inline Bytes udp(std::uint16_t source_port, std::uint16_t destination_port, const Bytes& payload) {
    Bytes b;
    put16(b, source_port);
    put16(b, destination_port);
    put16(b, unsigned(8 + payload.size()));
    put16(b, 0);  // No checksum.
    return b + payload;
}

struct Ipv4Fields {
    std::uint8_t protocol = kUdp;
    unsigned flags_offset = 0x4000;  ///< DF set, not a fragment.
    int option_words = 0;
    std::array<std::uint8_t, 4> source = kSource4;
    std::array<std::uint8_t, 4> destination = kDestination4;
};
inline Bytes ipv4(const Bytes& body, const Ipv4Fields& f = {}) {
    Bytes b;
    b.push_back(std::uint8_t(0x40 | (5 + f.option_words)));
    b.push_back(0);
    put16(b, unsigned(20 + 4 * f.option_words + body.size()));
    put16(b, 0x1234);
    put16(b, f.flags_offset);
    b.push_back(64);
    b.push_back(f.protocol);
    put16(b, 0);
    b.insert(b.end(), f.source.begin(), f.source.end());
    b.insert(b.end(), f.destination.begin(), f.destination.end());
    for (int i = 0; i < 4 * f.option_words; ++i) b.push_back(1);  // NOP options.
    return b + body;
}

struct Tag {
    unsigned tpid;
    unsigned vlan;
};
inline Bytes ethernet(unsigned type, const Bytes& body, const std::vector<Tag>& tags = {}) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    for (const Tag& t : tags) {
        put16(b, t.tpid);
        put16(b, t.vlan);
    }
    put16(b, type);
    b = b + body;
    if (b.size() < 60) b.resize(60, 0);  // Ethernet's minimum frame, as captured.
    return b;
}

struct Frame {
    Bytes bytes;
    long seconds = 1'700'000'000;
    long fraction = 0;  ///< Microseconds or nanoseconds, as the capture is written.
    std::size_t captured = std::numeric_limits<std::size_t>::max();  ///< Cut to this many bytes.
};

inline void write_capture(const std::filesystem::path& path, int link_type, const std::vector<Frame>& frames,
                          int snaplen = 65535, unsigned precision = PCAP_TSTAMP_PRECISION_MICRO) {
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(link_type, snaplen, precision);
    ASSERT_NE(dead, nullptr);
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
    for (const Frame& f : frames) {
        pcap_pkthdr header{};
        header.ts.tv_sec = f.seconds;
        header.ts.tv_usec = f.fraction;
        header.len = bpf_u_int32(f.bytes.size());
        header.caplen = bpf_u_int32(std::min(f.captured, f.bytes.size()));
        pcap_dump(reinterpret_cast<u_char*>(dumper), &header, f.bytes.data());
    }
    pcap_dump_close(dumper);
    pcap_close(dead);
}

}  // namespace sibilant::test::pcap
