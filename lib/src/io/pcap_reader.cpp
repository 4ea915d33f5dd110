// UDP datagrams from pcap / pcapng captures (see pcap_reader.hpp).
//
// Every header is checked against the bytes left in the frame before it is
// read, so a frame cut by the snapshot length, or one whose length fields lie,
// is counted instead of over-read.
#include "io/pcap_reader.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <system_error>

#include "sibilant/error.hpp"

namespace sibilant::io {

namespace {

using Bytes = std::span<const std::uint8_t>;

std::uint16_t be16(const std::uint8_t* p) noexcept { return std::uint16_t((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le32(const std::uint8_t* p) noexcept {
    return (std::uint32_t(p[3]) << 24) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[1]) << 8) | p[0];
}

enum class FrameKind { Udp, NonIp, NonUdp, Fragment, Truncated };

constexpr std::uint8_t kProtocolUdp = 17;
constexpr std::size_t kIpv4MinHeaderBytes = 20;
constexpr std::size_t kIpv6HeaderBytes = 40;
constexpr std::size_t kUdpHeaderBytes = 8;

// `udp` is the IP payload as far as it was captured.
FrameKind decode_udp(Bytes udp, CapturedDatagram& out) noexcept {
    if (udp.size() < kUdpHeaderBytes) return FrameKind::Truncated;
    const std::size_t length = be16(&udp[4]);
    if (length < kUdpHeaderBytes || length > udp.size()) return FrameKind::Truncated;
    out.source.port = be16(&udp[0]);
    out.destination.port = be16(&udp[2]);
    out.payload = udp.subspan(kUdpHeaderBytes, length - kUdpHeaderBytes);
    return FrameKind::Udp;
}

FrameKind decode_ipv4(Bytes ip, CapturedDatagram& out) noexcept {
    if (ip.size() < kIpv4MinHeaderBytes) return FrameKind::Truncated;
    if ((ip[0] >> 4) != 4) return FrameKind::NonIp;
    const std::size_t header_bytes = 4 * std::size_t(ip[0] & 0x0f);
    if (header_bytes < kIpv4MinHeaderBytes) return FrameKind::Truncated;
    if (ip[9] != kProtocolUdp) return FrameKind::NonUdp;
    // More-fragments flag or a fragment offset; DF alone is a whole datagram.
    if ((be16(&ip[6]) & 0x3fff) != 0) return FrameKind::Fragment;
    // Ethernet pads short frames, so the captured bytes may run past the total
    // length; fewer than it means the snapshot length cut the packet.
    const std::size_t total_bytes = be16(&ip[2]);
    if (total_bytes < header_bytes || total_bytes > ip.size()) return FrameKind::Truncated;
    out.source.ipv6 = out.destination.ipv6 = false;
    std::copy_n(&ip[12], 4, out.source.address.begin());
    std::copy_n(&ip[16], 4, out.destination.address.begin());
    return decode_udp(ip.subspan(header_bytes, total_bytes - header_bytes), out);
}

bool is_ipv6_extension(std::uint8_t next_header) noexcept {
    return next_header == 0 || next_header == 43 || next_header == 44 || next_header == 51 || next_header == 60;
}

FrameKind decode_ipv6(Bytes ip, CapturedDatagram& out) noexcept {
    if (ip.size() < kIpv6HeaderBytes) return FrameKind::Truncated;
    if ((ip[0] >> 4) != 6) return FrameKind::NonIp;
    const std::size_t packet_bytes = kIpv6HeaderBytes + be16(&ip[4]);
    // The extension headers are walked within what both the payload length
    // and the capture allow, so that the protocol is known (and a cut TCP
    // segment counts as non-UDP) even when the packet itself was cut.
    const std::size_t end = std::min(packet_bytes, ip.size());
    std::uint8_t next = ip[6];
    std::size_t offset = kIpv6HeaderBytes;
    while (is_ipv6_extension(next)) {
        if (end - offset < 8) return FrameKind::Truncated;
        const std::uint8_t* h = &ip[offset];
        if (next == 44) {
            // Offset (13 bits) or more-fragments set: a real fragment, whose
            // later headers may lie in another fragment. Offset 0 without
            // more fragments is an atomic fragment (RFC 6946): a whole packet.
            if ((be16(h + 2) & 0xfff9) != 0)
                return h[0] == kProtocolUdp || is_ipv6_extension(h[0]) ? FrameKind::Fragment : FrameKind::NonUdp;
            next = h[0];
            offset += 8;
            continue;
        }
        // Hop-by-hop, routing, destination options: 8-byte units not counting
        // the first; authentication header (RFC 4302): 4-byte units not
        // counting the first two.
        const std::size_t bytes = next == 51 ? 4 * (std::size_t(h[1]) + 2) : 8 * (std::size_t(h[1]) + 1);
        if (end - offset < bytes) return FrameKind::Truncated;
        next = h[0];
        offset += bytes;
    }
    if (next != kProtocolUdp) return FrameKind::NonUdp;
    // A payload length of 0 (a jumbogram, RFC 2675) fails here too: such
    // packets never carry RTP.
    if (packet_bytes > ip.size()) return FrameKind::Truncated;
    out.source.ipv6 = out.destination.ipv6 = true;
    std::copy_n(&ip[8], 16, out.source.address.begin());
    std::copy_n(&ip[24], 16, out.destination.address.begin());
    return decode_udp(ip.subspan(offset, packet_bytes - offset), out);
}

// Raw IP: the version nibble tells v4 from v6.
FrameKind decode_ip(Bytes ip, CapturedDatagram& out) noexcept {
    if (ip.empty()) return FrameKind::Truncated;
    switch (ip[0] >> 4) {
        case 4: return decode_ipv4(ip, out);
        case 6: return decode_ipv6(ip, out);
        default: return FrameKind::NonIp;
    }
}

FrameKind decode_ethertype(std::uint16_t type, Bytes rest, CapturedDatagram& out) noexcept {
    // 802.1Q, 802.1ad and the pre-standard 0x9100 QinQ tag, any number of
    // them: 2 bytes of tag control, then the next type.
    while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
        if (rest.size() < 4) return FrameKind::Truncated;
        type = be16(&rest[2]);
        rest = rest.subspan(4);
    }
    if (type == 0x0800) return decode_ipv4(rest, out);
    if (type == 0x86dd) return decode_ipv6(rest, out);
    return FrameKind::NonIp;
}

// BSD loopback address family values for IPv6 differ by system: 24 NetBSD,
// OpenBSD; 28 FreeBSD; 30 macOS; 23 Windows (Npcap); 10 Linux.
FrameKind decode_loopback_family(std::uint32_t family, Bytes rest, CapturedDatagram& out) noexcept {
    if (family == 2) return decode_ipv4(rest, out);
    if (family == 10 || family == 23 || family == 24 || family == 28 || family == 30) return decode_ipv6(rest, out);
    return FrameKind::NonIp;
}

FrameKind decode_frame(int link_type, Bytes frame, CapturedDatagram& out) noexcept {
    switch (link_type) {
        case DLT_EN10MB:
            if (frame.size() < 14) return FrameKind::Truncated;
            return decode_ethertype(be16(&frame[12]), frame.subspan(14), out);
        case DLT_LINUX_SLL:
            if (frame.size() < 16) return FrameKind::Truncated;
            return decode_ethertype(be16(&frame[14]), frame.subspan(16), out);
        case DLT_LINUX_SLL2:
            if (frame.size() < 20) return FrameKind::Truncated;
            return decode_ethertype(be16(&frame[0]), frame.subspan(20), out);
        case DLT_NULL: {
            // The family is in the byte order of the machine that wrote the
            // file; every family value fits in 16 bits, which tells the order.
            if (frame.size() < 4) return FrameKind::Truncated;
            std::uint32_t family = le32(&frame[0]);
            if (family > 0xffff) family = be32(&frame[0]);
            return decode_loopback_family(family, frame.subspan(4), out);
        }
        case DLT_LOOP:
            if (frame.size() < 4) return FrameKind::Truncated;
            return decode_loopback_family(be32(&frame[0]), frame.subspan(4), out);
        case DLT_RAW: return decode_ip(frame, out);
        case DLT_IPV4: return decode_ipv4(frame, out);
        case DLT_IPV6: return decode_ipv6(frame, out);
        default: return FrameKind::NonIp;
    }
}

bool link_type_supported(int link_type) noexcept {
    switch (link_type) {
        case DLT_EN10MB:
        case DLT_LINUX_SLL:
        case DLT_LINUX_SLL2:
        case DLT_NULL:
        case DLT_LOOP:
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6: return true;
        default: return false;
    }
}

struct PcapCloser {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

std::unique_ptr<pcap_t, PcapCloser> open_capture(const std::filesystem::path& capture) {
    const std::string name = capture.string();
    // libpcap's own messages for these cases repeat the path or say less.
    std::error_code ec;
    const auto status = std::filesystem::status(capture, ec);
    if (!std::filesystem::exists(status)) throw Error(name + ": no such file");
    if (std::filesystem::is_directory(status)) throw Error(name + ": is a folder, not a capture file");
    if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(capture, ec) == 0)
        throw Error(name + ": empty file, not a pcap or pcapng capture");

    // libpcap reads standard input for "-"; a file of that name is meant here.
    const std::string open_name = name == "-" ? "./-" : name;
    char message[PCAP_ERRBUF_SIZE] = "";
    // Nanosecond precision loses nothing on microsecond files (libpcap scales
    // them) and keeps nanosecond ones exact.
    pcap_t* p = pcap_open_offline_with_tstamp_precision(open_name.c_str(), PCAP_TSTAMP_PRECISION_NANO, message);
    if (p == nullptr) {
        // libpcap prefixes fopen() failures with the path; it is named once.
        std::string cause = message;
        if (cause.rfind(open_name + ": ", 0) == 0) cause.erase(0, open_name.size() + 2);
        throw Error(name + ": not a capture libpcap can read (" + cause + ")");
    }
    std::unique_ptr<pcap_t, PcapCloser> handle(p);

    const int link_type = pcap_datalink(p);
    if (!link_type_supported(link_type)) {
        const char* link_name = pcap_datalink_val_to_name(link_type);
        throw Error(name + ": link type " + (link_name ? link_name : "unknown") + " (" + std::to_string(link_type) +
                    ") is not supported; sibilant reads EN10MB (Ethernet), LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW, "
                    "IPV4 and IPV6 captures");
    }
    return handle;
}

}  // namespace

CaptureReadStats read_udp_datagrams(const std::filesystem::path& capture,
                                    const std::function<void(const CapturedDatagram&)>& visit) {
    const auto handle = open_capture(capture);
    pcap_t* p = handle.get();
    const int link_type = pcap_datalink(p);
    const std::int64_t ns_per_tick = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;

    CaptureReadStats stats;
    for (;;) {
        pcap_pkthdr* header = nullptr;
        const u_char* data = nullptr;
        const int result = pcap_next_ex(p, &header, &data);
        if (result == PCAP_ERROR_BREAK) break;  // End of the file.
        if (result != 1) {
            const std::string cause = pcap_geterr(p);
            if (stats.frames == 0) throw Error(capture.string() + ": " + cause + " (in the first record)");
            // Typically tcpdump killed mid-write: the frames so far are good.
            stats.stopped_early = true;
            stats.stop_reason = capture.string() + ": " + cause + " (after frame " + std::to_string(stats.frames) + ")";
            break;
        }
        ++stats.frames;

        CapturedDatagram datagram;
        datagram.frame = stats.frames;
        const std::int64_t fraction_ns = std::int64_t(header->ts.tv_usec) * ns_per_tick;
        // A corrupt pcapng timestamp can lie beyond 2262, past int64
        // nanoseconds: saturate rather than overflow (the packet still counts).
        std::int64_t seconds_ns = 0;
        if (__builtin_mul_overflow(std::int64_t(header->ts.tv_sec), std::int64_t(1'000'000'000), &seconds_ns) ||
            __builtin_add_overflow(seconds_ns, fraction_ns, &datagram.time_ns))
            datagram.time_ns = header->ts.tv_sec < 0 ? std::numeric_limits<std::int64_t>::min()
                                                     : std::numeric_limits<std::int64_t>::max();
        datagram.time_s = double(header->ts.tv_sec) + double(fraction_ns) * 1e-9;
        switch (decode_frame(link_type, Bytes(data, header->caplen), datagram)) {
            case FrameKind::Udp:
                ++stats.udp_datagrams;
                visit(datagram);
                break;
            case FrameKind::NonIp: ++stats.skipped_non_ip; break;
            case FrameKind::NonUdp: ++stats.skipped_non_udp; break;
            case FrameKind::Fragment: ++stats.skipped_fragments; break;
            case FrameKind::Truncated: ++stats.skipped_truncated; break;
        }
    }
    return stats;
}

}  // namespace sibilant::io
