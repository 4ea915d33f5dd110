// Reading UDP datagrams out of a packet capture (pcap or pcapng, through
// libpcap), for `sibilant analyze CAPTURE.pcap`: every frame is unwrapped
// from its link layer, IPv4 or IPv6 and UDP, checked against the bytes the
// capture holds, and handed over with its addresses and capture time.
//
// Link layers: Ethernet (DLT_EN10MB, with any number of 802.1Q / 802.1ad VLAN
// tags), Linux cooked v1 and v2 (DLT_LINUX_SLL, DLT_LINUX_SLL2: what
// `tcpdump -i any` writes), BSD loopback (DLT_NULL in either byte order,
// DLT_LOOP), raw IP (DLT_RAW / LINKTYPE_RAW, DLT_IPV4, DLT_IPV6).
//
// Not reassembled, only counted: IPv4 fragments and IPv6 packets with a
// fragment header (an RFC 6946 "atomic fragment", offset 0 and no more
// fragments, is a whole datagram and is read). Checksums are not checked:
// checksum offload leaves them wrong in captures of a host's own traffic.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "sibilant/capture.hpp"
#include "sibilant/rtp.hpp"

namespace sibilant::io {

/// One UDP datagram as captured. A view: `payload` points into libpcap's
/// buffer and is valid only during the callback that receives it.
struct CapturedDatagram {
    std::span<const std::uint8_t> payload;  ///< The UDP payload (may be empty).
    RemoteEndpoint source;
    RemoteEndpoint destination;
    /// Capture time, seconds since the Unix epoch. A double holds about 0.24 us
    /// at present-day times, so nanosecond files need `time_ns` for exactness.
    double time_s = 0.0;
    /// Capture time, nanoseconds since the Unix epoch, exact: a microsecond
    /// capture gives multiples of 1000. Saturates at the int64 limits for a
    /// (corrupt) time beyond the years 1677-2262.
    std::int64_t time_ns = 0;
    /// 1-based frame number as Wireshark counts it: every packet record in the
    /// file, UDP or not.
    std::int64_t frame = 0;
};

/// What read_udp_datagrams() saw (sibilant/capture.hpp has it in full).
using sibilant::CaptureReadStats;

/// Reads `capture` (pcap or pcapng, microsecond or nanosecond timestamps) and
/// calls `visit` for every UDP datagram, in file order.
///
/// Throws Error naming the file and the cause when it is missing, a folder,
/// empty, not a capture libpcap can read, or of a link type not listed above
/// (naming it, e.g. "IEEE802_11"), and when its first record is already
/// unreadable. A bad record after a good one ends the reading without an
/// exception (see CaptureReadStats::stopped_early). Exceptions from `visit`
/// pass through.
///
/// Never reads past a frame's captured bytes; allocates nothing per packet.
CaptureReadStats read_udp_datagrams(const std::filesystem::path& capture,
                                    const std::function<void(const CapturedDatagram&)>& visit);

}  // namespace sibilant::io
