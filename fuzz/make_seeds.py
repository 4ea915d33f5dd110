#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that read files and datagrams
(fuzz/corpus/fuzz_rtp, fuzz_pcap, fuzz_audio_file, fuzz_sweep_profiles,
fuzz_results_csv, fuzz_analyze, fuzz_c_api): a few small valid inputs of each kind, and the edge cases
a parser has to get right, each under libFuzzer's 4096-byte -max_len. Inputs
that once broke a target are kept beside them as regression_* (each also a
unit test). Python standard library only; the files are committed, this is
how they were made:

    python3 fuzz/make_seeds.py fuzz/corpus
"""
import math
import os
import struct
import sys


def rtp(pt=111, seq=1, ts=960, ssrc=0x1234, payload=b"\x78\x01\x02", csrc=(), ext=None, pad=0, marker=False):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrc)
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrc)
    if ext is not None:
        profile, data = ext
        out += struct.pack("!HH", profile, len(data) // 4) + data
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out


def udp_ipv4_frame(payload, sport=5004, dport=5006):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    eth = b"\x00" * 12 + b"\x08\x00"
    return eth + ip + udp


def udp_ipv6_frame(payload, sport=5004, dport=5006):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!IHBB16s16s", 0x60000000, len(udp), 17, 64, b"\x00" * 15 + b"\x01", b"\x00" * 15 + b"\x01")
    return b"\x00" * 12 + b"\x86\xdd" + ip + udp


def pcap(frames, nanoseconds=False, linktype=1):
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1700000000, i * 20000, len(f), len(f)) + f
    return out


def pcapng(frames):
    def block(kind, body):
        body += b"\x00" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", kind, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for i, f in enumerate(frames):
        out += block(6, struct.pack("<IIIII", 0, 0, i * 20000, len(f), len(f)) + f)
    return out


def wav(samples, rate=48000, channels=1, fmt="pcm16"):
    if fmt == "pcm16":
        code, width = 1, 2
        data = b"".join(struct.pack("<h", max(-32768, min(32767, int(s * 32767)))) for s in samples)
    elif fmt == "float32":
        code, width = 3, 4
        data = b"".join(struct.pack("<f", s) for s in samples)
    elif fmt == "pcm24":
        code, width = 1, 3
        data = b"".join(struct.pack("<i", int(s * 8388607))[:3] for s in samples)
    else:
        code, width = 1, 1
        data = bytes(int(128 + s * 127) for s in samples)
    fmt_chunk = struct.pack("<HHIIHH", code, channels, rate, rate * channels * width, channels * width, width * 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def aiff(samples, rate=44100, channels=1):
    data = b"".join(struct.pack(">h", int(s * 32767)) for s in samples)
    frames = len(samples) // channels
    exponent = 16383 + 15 if rate else 0  # 80-bit extended: rate as mantissa
    mantissa = rate << (63 - 15) if rate else 0
    comm = struct.pack(">hIh", channels, frames, 16) + struct.pack(">HQ", exponent, mantissa)
    ssnd = struct.pack(">II", 0, 0) + data
    body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm + b"SSND" + struct.pack(">I", len(ssnd)) + ssnd
    return b"FORM" + struct.pack(">I", len(body)) + body


def tone(n, channels=1, freq=6000.0, rate=48000):
    return [0.5 * math.sin(2 * math.pi * freq * (i // channels) / rate) for i in range(n * channels)]


def opus_packets(path):
    """The packets of a fuzz_opus_packets seed (byte 0 config, then int8
    delta, uint16 length, bytes records), in order."""
    with open(path, "rb") as f:
        data = f.read()
    packets, at = [], 1
    while at + 3 <= len(data):
        n = min(struct.unpack_from("<H", data, at + 1)[0], len(data) - at - 3)
        packets.append(data[at + 3:at + 3 + n])
        at += 3 + n
    return packets


def service_record(control, data):
    return bytes([control]) + struct.pack("<H", len(data)) + data


def service_datagram_seeds(opus_folder):
    """fuzz_service_datagrams inputs (layout in fuzz_service_datagrams.cpp):
    the Opus packet seeds as RTP streams, interleaved over SSRCs, with
    another sender, raw datagrams and idle gaps."""
    seeds = {}
    silk = opus_packets(os.path.join(opus_folder, "silk_12k_20ms"))
    hybrid = opus_packets(os.path.join(opus_folder, "hybrid_32k_fec"))
    clock_20ms = 3 << 4
    # One stream, 20 ms apart, on one worker, cap 1.
    seeds["one_stream"] = b"\x00" + b"".join(service_record(clock_20ms, p) for p in silk * 3)
    # Two streams interleaved, cap 4, two workers, short idle: the gap ends them.
    two = b"".join(service_record(clock_20ms | 0, a) + service_record(1, b) for a, b in zip(silk, hybrid))
    seeds["two_streams_idle"] = b"\x17" + two + service_record(7 << 4, silk[0]) + two
    # Cap 1: the second SSRC is refused; the same SSRC from another address is dropped.
    seeds["cap_and_source"] = (b"\x00" + b"".join(service_record(clock_20ms, p) + service_record(1, p) + service_record(4, p)
                                                    for p in silk))
    # Raw datagrams: RTCP, a wrong payload type, truncated, STUN; reordering.
    raw = [bytes([0x80, 200, 0, 6]) + b"\x00" * 24, bytes([0x80, 96, 0, 1]) + b"\x00" * 8 + silk[0],
           bytes([0x80, 111, 0]), bytes([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42]) + b"\x00" * 12]
    seeds["raw_and_reordered"] = (b"\x0b" + b"".join(service_record(8 | clock_20ms, r) for r in raw)
                                  + b"".join(service_record(clock_20ms | (0x80 if i % 4 == 3 else 0), p)
                                             for i, p in enumerate(hybrid * 2)))
    return seeds


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    seeds = {
        "fuzz_rtp": {
            "opus": rtp(),
            "csrc_ext_pad": rtp(csrc=(1, 2, 3), ext=(0xBEDE, b"\x10\xaa\x00\x00"), pad=4, marker=True),
            "empty_payload": rtp(payload=b""),
            "rtcp_sr": bytes([0x80, 200, 0, 6]) + b"\x00" * 24,
            "stun": bytes([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42]) + b"\x00" * 12,
        },
        "fuzz_pcap": {
            "ipv4_rtp.pcap": pcap([udp_ipv4_frame(rtp(seq=s, ts=960 * s)) for s in range(3)]),
            "ipv6_rtp_ns.pcap": pcap([udp_ipv6_frame(rtp(seq=s)) for s in range(2)], nanoseconds=True),
            "ipv4_rtp.pcapng": pcapng([udp_ipv4_frame(rtp(seq=s)) for s in range(2)]),
            "raw_ip.pcap": pcap([udp_ipv4_frame(rtp())[14:]], linktype=101),
        },
        "fuzz_audio_file": {
            # byte 0 = options (see fuzz_audio_file.cpp), then the file
            "pcm16_mono": b"\x00" + wav(tone(200)),
            "pcm16_stereo_44k_ch1": b"\x02" + wav(tone(100, 2), rate=44100, channels=2),
            "float32_own_rate": b"\x08" + wav(tone(100), rate=16000, fmt="float32"),
            "float32_nan": b"\x00" + wav([0.1, float("nan"), 0.2] * 10, fmt="float32"),
            "pcm24_8k": b"\x10" + wav(tone(100), rate=8000, fmt="pcm24"),
            "u8_scaled": b"\x20" + wav(tone(150), rate=22050, fmt="u8"),
            "aiff": b"\x18" + aiff(tone(100), rate=44100),
            "short_header": b"\x00" + wav(tone(100))[:60],
        },
        "fuzz_sweep_profiles": {},
        # bytes 0-3 = config, then (opcode, size) pairs (see fuzz_c_api.cpp)
        "fuzz_c_api": {
            "noref_pushes": bytes([0, 100, 100, 64] + [1, 255] * 20 + [7, 0] * 4 + [8, 0, 5, 0, 0, 10, 6, 0, 0, 200, 8, 0]),
            "ref_pushes": bytes([1, 100, 100, 64] + [3, 255] * 30 + [2, 255] * 10 + [7, 0, 8, 0, 5, 0, 3, 1, 10, 0]),
            "opus_garbage": bytes([0, 100, 100, 8] + [4, 40] * 20 + [9, 4, 8, 0, 11, 3]),
            "bad_config": bytes([0, 255, 10, 0, 1, 1]),
        },
        # byte 0 = how bytes become samples and the mode (see fuzz_analyze.cpp)
        "fuzz_analyze": {
            "silence": b"\x00" + b"\x00" * 2000,
            "noise_bursts": b"\x02" + (bytes((i * 73 + 11) % 256 for i in range(400)) + b"\x00" * 400) * 4,
            "noise_bursts_blind": b"\x06" + (bytes((i * 73 + 11) % 256 for i in range(400)) + b"\x00" * 400) * 4,
            "square": b"\x01" + bytes(range(0, 256, 3)) * 2,
            "float_nan_inf": b"\x03" + (struct.pack("<f", 0.25) * 200 + struct.pack("<ff", float("nan"), float("inf"))) * 2,
            "float_denormal_blind": b"\x07" + struct.pack("<f", 1e-40) * 500,
        },
        "fuzz_results_csv": {
            "two_rows.csv": (
                "job,file,profile,status,error,seed,bitrate_bps,application,complexity,frame_ms,bandwidth,"
                "max_bandwidth,rate_control,signal,fec,expected_loss_percent,dtx,loss,loss_percent,"
                "realised_loss_percent,duration_s,sibilants,compared,flagged,lisp_flagged,smearing_flagged,dropouts,"
                "lisp_index,smearing_index,degraded_bandwidth_hz,verdict,delay_ms,gain_db\n"
                "0,a.flac,16k-fec-5,ok,,11,16000,voip,10,20,auto,auto,vbr,auto,true,5,false,bernoulli:0.05,5.00,"
                "4.80,3.125,15,14,3,2,1,0,12.50,30.25,8000,lisp,2.50,-0.10\r\n"
                "1,\"dir, with comma/b.flac\",16k-fec-5,error,\"decode failed: \"\"b\"\"\nline two\",13,16000,voip,"
                "10,20,auto,auto,vbr,auto,true,5,false,bernoulli:0.05,5.00,,,,,,,,,,,,,,\n"
            ).encode(),
            "minimal.csv": b"file,profile,status,bitrate_bps,lisp_index,smearing_index\na,p,ok,6000,1,2\n",
        },
    }
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("examples/corpus_study.json", "bench/sweep_profiles.json"):
        with open(os.path.join(here, "..", name), "rb") as f:
            seeds["fuzz_sweep_profiles"][os.path.basename(name)] = f.read()
    seeds["fuzz_sweep_profiles"]["trace_and_loss.json"] = (
        b'{"seed": 7, "profiles": [{"name": "g", "loss": "gilbert:0.02:0.3"}, '
        b'{"name": "t", "loss": "trace:loss.txt"}, {"name": "ge", "loss": "ge:0.05:0.5:0.01:0.6"}]}'
    )
    seeds["fuzz_service_datagrams"] = service_datagram_seeds(os.path.join(root, "fuzz_opus_packets"))
    for target, files in seeds.items():
        # Files are (re)written, never removed: the inputs the fuzzers found
        # (regression_*) stay beside the seeds.
        folder = os.path.join(root, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in files.items():
            assert len(data) <= 4096, (target, name, len(data))
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
