// RtpMonitor: RTP datagrams to per-SSRC no-reference probes.
#include "sibilant/rtp_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include "sibilant/error.hpp"
#include "sibilant/opus_channel.hpp"

namespace sibilant {

const char* to_string(DatagramOutcome outcome) noexcept {
    switch (outcome) {
        case DatagramOutcome::Accepted: return "accepted";
        case DatagramOutcome::Truncated: return "truncated";
        case DatagramOutcome::WrongVersion: return "wrong_version";
        case DatagramOutcome::Rtcp: return "rtcp";
        case DatagramOutcome::BadPadding: return "bad_padding";
        case DatagramOutcome::PayloadType: return "payload_type";
        case DatagramOutcome::NotOpus: return "not_opus";
        case DatagramOutcome::Oversize: return "oversize";
        case DatagramOutcome::SourceMismatch: return "source_mismatch";
        case DatagramOutcome::StreamCap: return "stream_cap";
        case DatagramOutcome::OutOfMemory: return "out_of_memory";
    }
    return "unknown";
}

void validate(const RtpMonitorConfig& c) {
    if (c.opus_payload_types.empty()) throw Error("payload types: at least one is needed");
    for (int pt : c.opus_payload_types)
        if (pt < 0 || pt > 127)
            throw Error("payload type " + std::to_string(pt) + " is outside the RTP range [0, 127]");
    if (c.max_streams < 1 || c.max_streams > 100000)
        throw Error("max streams " + std::to_string(c.max_streams) + " is outside [1, 100000]");
    if (!(c.idle_s > 0.0 && c.idle_s <= 86400.0))
        throw Error("idle timeout " + std::to_string(c.idle_s) + " s is outside (0, 86400] s");
    if (!(c.window_s >= 1.0 && c.window_s <= 3600.0))
        throw Error("index window " + std::to_string(c.window_s) + " s is outside [1, 3600] s");
    if (c.probe.mode != ProbeMode::NoReference)
        throw Error("RTP streams are probed without a reference: probe mode must be NoReference");
    if (c.probe.packets.output_rate_hz != 48000 || c.probe.packets.channels != 1)
        throw Error("RTP stream probes decode to 48 kHz mono");
}

// Sibilants are at most a few per second of speech; ten per second of window
// is room to spare. A fuller ring forgets its oldest, which only shortens the
// window for that burst.
static std::size_t window_capacity(double window_s) {
    return static_cast<std::size_t>(std::ceil(window_s * 10.0)) + 16;
}

void RtpStream::add_to_window(const SibilantEventResult& e) noexcept {
    const std::size_t capacity = window_events_.size();
    WindowEvent w{e.end_s, std::max(e.end_s - e.start_s, 1e-3), e.lisp, e.smearing, e.compared};
    if (window_count_ == capacity) {
        window_first_ = (window_first_ + 1) % capacity;
        --window_count_;
    }
    window_events_[(window_first_ + window_count_) % capacity] = w;
    ++window_count_;
    // Forget what has left the window, so the ring holds only its events.
    const double oldest_s = e.end_s - window_s_;
    while (window_count_ > 0 && window_events_[window_first_].end_s < oldest_s) {
        window_first_ = (window_first_ + 1) % capacity;
        --window_count_;
    }
}

WindowIndices RtpStream::window() const noexcept {
    WindowIndices out;
    // The window ends at the stream's present, which moves with its audio
    // even when no sibilant ends.
    const double oldest_s = probe_->packet_stats().pcm_s - window_s_;
    double weight_s = 0, lisp = 0, smearing = 0;
    const std::size_t capacity = window_events_.size();
    for (std::size_t i = 0; i < window_count_; ++i) {
        const WindowEvent& w = window_events_[(window_first_ + i) % capacity];
        if (w.end_s < oldest_s) continue;
        ++out.sibilants;
        if (!w.compared) continue;
        ++out.compared;
        weight_s += w.weight_s;
        lisp += w.weight_s * w.lisp;
        smearing += w.weight_s * w.smearing;
    }
    if (weight_s > 0) {
        out.lisp_index = lisp / weight_s;
        out.smearing_index = smearing / weight_s;
    }
    return out;
}

namespace {

// SSRC -> slot: open addressing with linear probing and backward-shift
// deletion, sized at construction (twice the stream cap, a power of two) so
// that lookups stay short and nothing is allocated afterwards.
class SsrcTable {
public:
    explicit SsrcTable(std::size_t max_entries) {
        std::size_t size = 16;
        while (size < 2 * max_entries) size *= 2;
        entries_.assign(size, Entry{});
        mask_ = size - 1;
    }
    int find(std::uint32_t ssrc) const noexcept {
        for (std::size_t i = home(ssrc);; i = (i + 1) & mask_) {
            const Entry& e = entries_[i];
            if (e.slot < 0) return -1;
            if (e.ssrc == ssrc) return e.slot;
        }
    }
    void insert(std::uint32_t ssrc, int slot) noexcept {
        std::size_t i = home(ssrc);
        while (entries_[i].slot >= 0) i = (i + 1) & mask_;
        entries_[i] = Entry{ssrc, slot};
    }
    void erase(std::uint32_t ssrc) noexcept {
        std::size_t i = home(ssrc);
        while (entries_[i].slot >= 0 && entries_[i].ssrc != ssrc) i = (i + 1) & mask_;
        if (entries_[i].slot < 0) return;
        // Shift back later entries of the run that hashed at or before the hole.
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & mask_; entries_[j].slot >= 0; j = (j + 1) & mask_) {
            const std::size_t h = home(entries_[j].ssrc);
            const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
            if (movable) {
                entries_[hole] = entries_[j];
                hole = j;
            }
        }
        entries_[hole] = Entry{};
    }

private:
    struct Entry {
        std::uint32_t ssrc = 0;
        int slot = -1;
    };
    std::size_t home(std::uint32_t ssrc) const noexcept {
        // SSRCs are meant to be random, but a flood picks them: mix first.
        std::uint32_t x = ssrc * 0x9E3779B1u;
        x ^= x >> 15;
        return x & mask_;
    }
    std::vector<Entry> entries_;
    std::size_t mask_ = 0;
};

}  // namespace

struct RtpMonitor::Impl {
    RtpMonitorConfig config;
    RtpMonitorSinks sinks;
    RtpMonitorCounters counters;
    std::array<bool, 128> opus_type{};
    std::vector<std::unique_ptr<RtpStream>> slots;
    std::vector<int> free_slots;  // a stack of unused slot indices
    SsrcTable table;
    // Refused SSRCs, direct-mapped: one refusal per SSRC while it stays here.
    static constexpr std::size_t kRefusedMemory = 4096;
    std::vector<std::uint64_t> refused;  // ssrc + 1; 0 = empty
    std::int64_t next_serial = 0;

    Impl(const RtpMonitorConfig& c, RtpMonitorSinks s)
        : config(c), sinks(s), table(static_cast<std::size_t>(c.max_streams)), refused(kRefusedMemory, 0) {
        for (int pt : config.opus_payload_types) opus_type[static_cast<std::size_t>(pt)] = true;
        slots.resize(static_cast<std::size_t>(config.max_streams));
        free_slots.reserve(slots.size());
        for (std::size_t i = slots.size(); i-- > 0;) free_slots.push_back(static_cast<int>(i));
    }

    void drain(RtpStream& stream, double arrival_s) noexcept {
        while (const SibilantEventResult* e = stream.probe_->peek_event()) {
            stream.add_to_window(*e);
            ++counters.events;
            if (sinks.event) sinks.event(sinks.context, stream, *e, arrival_s);
            stream.probe_->drop_event();
        }
    }

    RtpStream* create(const RtpHeader& h, const RemoteEndpoint& from, double arrival_s) noexcept {
        try {
            auto stream = std::make_unique<RtpStream>();
            stream->ssrc_ = h.ssrc;
            stream->remote_ = from;
            format_endpoint(from, stream->remote_text_.data(), stream->remote_text_.size());
            stream->payload_type_ = h.payload_type;
            stream->serial_ = next_serial;
            stream->first_arrival_s_ = stream->last_arrival_s_ = arrival_s;
            stream->window_s_ = config.window_s;
            stream->window_events_.resize(window_capacity(config.window_s));
            stream->probe_ = std::make_unique<Probe>(config.probe);
            const int slot = free_slots.back();
            free_slots.pop_back();
            table.insert(h.ssrc, slot);
            slots[static_cast<std::size_t>(slot)] = std::move(stream);
            ++next_serial;
            ++counters.streams_created;
            RtpStream* created = slots[static_cast<std::size_t>(slot)].get();
            if (sinks.stream_started) sinks.stream_started(sinks.context, *created);
            return created;
        } catch (...) {
            // bad_alloc, or libopus refusing a decoder: either way no stream.
            return nullptr;
        }
    }

    void end(std::size_t slot, double now_s, StreamEnd why) noexcept {
        RtpStream& stream = *slots[slot];
        stream.probe_->finish();
        drain(stream, now_s);
        if (sinks.stream_ended) sinks.stream_ended(sinks.context, stream, why);
        table.erase(stream.ssrc_);
        slots[slot].reset();
        free_slots.push_back(static_cast<int>(slot));  // capacity reserved: no allocation
        ++counters.streams_ended;
    }

    void note_refused(std::uint32_t ssrc) noexcept {
        const std::size_t i = (ssrc * 0x9E3779B1u >> 20) & (kRefusedMemory - 1);
        if (refused[i] == std::uint64_t(ssrc) + 1) return;
        refused[i] = std::uint64_t(ssrc) + 1;
        ++counters.streams_refused;
    }

    DatagramOutcome classify(std::span<const std::uint8_t> d, const RemoteEndpoint& from, double arrival_s) noexcept {
        RtpHeader h;
        switch (parse_rtp(d, h)) {
            case RtpParseResult::Ok: break;
            case RtpParseResult::Truncated: return DatagramOutcome::Truncated;
            case RtpParseResult::WrongVersion: return DatagramOutcome::WrongVersion;
            case RtpParseResult::Rtcp: return DatagramOutcome::Rtcp;
            case RtpParseResult::BadPadding: return DatagramOutcome::BadPadding;
        }
        if (!opus_type[static_cast<std::size_t>(h.payload_type)]) return DatagramOutcome::PayloadType;
        const auto payload = rtp_payload(d, h);
        if (payload.size() > OpusPacketDecoder::kMaxPacketBytes) return DatagramOutcome::Oversize;

        RtpStream* stream = nullptr;
        if (const int slot = table.find(h.ssrc); slot >= 0) {
            stream = slots[static_cast<std::size_t>(slot)].get();
            if (!(stream->remote_ == from)) return DatagramOutcome::SourceMismatch;
        } else {
            TocInfo toc;
            if (!parse_toc(payload, toc)) return DatagramOutcome::NotOpus;
            if (free_slots.empty()) {
                note_refused(h.ssrc);
                return DatagramOutcome::StreamCap;
            }
            stream = create(h, from, arrival_s);
            if (!stream) return DatagramOutcome::OutOfMemory;
        }
        stream->last_arrival_s_ = std::max(stream->last_arrival_s_, arrival_s);
        struct Tap {
            Impl* impl;
            RtpStream* stream;
            static void call(void* c, const PcmBlock& block) {
                auto* t = static_cast<Tap*>(c);
                t->impl->sinks.pcm(t->impl->sinks.context, *t->stream, block);
            }
        } tap{this, stream};
        stream->probe_->push_packet(h.sequence, payload,
                                    sinks.pcm ? PcmSink{&Tap::call, &tap} : PcmSink{});
        drain(*stream, arrival_s);
        return DatagramOutcome::Accepted;
    }
};

RtpMonitor::RtpMonitor(const RtpMonitorConfig& config, RtpMonitorSinks sinks) {
    validate(config);
    impl_ = std::make_unique<Impl>(config, sinks);
}

RtpMonitor::~RtpMonitor() = default;

DatagramOutcome RtpMonitor::push(std::span<const std::uint8_t> datagram, const RemoteEndpoint& from,
                                 double arrival_s) noexcept {
    const DatagramOutcome outcome = impl_->classify(datagram, from, arrival_s);
    ++impl_->counters.datagrams;
    ++impl_->counters.outcomes[static_cast<int>(outcome)];
    return outcome;
}

int RtpMonitor::expire_idle(double now_s) noexcept {
    int ended = 0;
    for (std::size_t i = 0; i < impl_->slots.size(); ++i) {
        const RtpStream* s = impl_->slots[i].get();
        if (s && now_s - s->last_arrival_s_ > impl_->config.idle_s) {
            impl_->end(i, now_s, StreamEnd::Idle);
            ++ended;
        }
    }
    return ended;
}

void RtpMonitor::finish(double now_s) noexcept {
    for (std::size_t i = 0; i < impl_->slots.size(); ++i)
        if (impl_->slots[i]) impl_->end(i, now_s, StreamEnd::Finished);
}

std::size_t RtpMonitor::active_streams() const noexcept { return impl_->slots.size() - impl_->free_slots.size(); }
std::size_t RtpMonitor::slot_count() const noexcept { return impl_->slots.size(); }
const RtpStream* RtpMonitor::stream_at(std::size_t slot) const noexcept {
    return slot < impl_->slots.size() ? impl_->slots[slot].get() : nullptr;
}
const RtpStream* RtpMonitor::find(std::uint32_t ssrc) const noexcept {
    const int slot = impl_->table.find(ssrc);
    return slot >= 0 ? impl_->slots[static_cast<std::size_t>(slot)].get() : nullptr;
}
const RtpMonitorCounters& RtpMonitor::counters() const noexcept { return impl_->counters; }
const RtpMonitorConfig& RtpMonitor::config() const noexcept { return impl_->config; }

}  // namespace sibilant
