// The C API (sibilant/sibilant.h) over sibilant::Probe: handles, codes and
// caller-owned structs. Every entry point catches everything: no exception
// crosses into C.
#include "sibilant/sibilant.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <span>

#include "sibilant/error.hpp"
#include "sibilant/probe.hpp"
#include "sibilant/version.hpp"

struct sibilant_probe {
    sibilant::Probe probe;
    // Packets pushed after finish are refused as SIBILANT_ERR_FINISHED, as
    // samples are (Probe::push_packet reports them only as not taken).
    bool finished = false;
};

namespace {

int from_status(sibilant::ProbeStatusCode code) {
    switch (code) {
        case sibilant::ProbeStatusCode::Ok: return SIBILANT_OK;
        case sibilant::ProbeStatusCode::WrongMode: return SIBILANT_ERR_WRONG_MODE;
        case sibilant::ProbeStatusCode::LengthMismatch: return SIBILANT_ERR_INVALID_ARGUMENT;
        case sibilant::ProbeStatusCode::Finished: return SIBILANT_ERR_FINISHED;
    }
    return SIBILANT_ERR_INTERNAL;
}

// strncpy that always terminates.
template <std::size_t N>
void copy_text(char (&to)[N], const std::string& from) {
    const std::size_t n = std::min(N - 1, from.size());
    std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

}  // namespace

extern "C" {

const char* sibilant_strerror(int error) {
    switch (error) {
        case SIBILANT_OK: return "ok";
        case SIBILANT_ERR_INVALID_ARGUMENT: return "invalid argument (a null pointer, a length mismatch, or a config value out of range)";
        case SIBILANT_ERR_WRONG_MODE: return "wrong mode: a reference push to a no-reference probe, or the reverse";
        case SIBILANT_ERR_FINISHED: return "the stream was finished; sibilant_probe_reset() starts a new one";
        case SIBILANT_ERR_OUT_OF_MEMORY: return "out of memory";
        case SIBILANT_ERR_MALFORMED_PACKET: return "malformed Opus packet (counted and skipped)";
        case SIBILANT_ERR_INTERNAL: return "internal error";
        default: return "unknown sibilant error code";
    }
}

const char* sibilant_version(void) { return sibilant::version(); }
int sibilant_version_number(void) {
    return SIBILANT_VERSION_MAJOR * 10000 + SIBILANT_VERSION_MINOR * 100 + SIBILANT_VERSION_PATCH;
}

void sibilant_probe_config_init(sibilant_probe_config* config) {
    if (config == nullptr) return;
    const sibilant::ProbeConfig defaults;
    config->mode = SIBILANT_MODE_NO_REFERENCE;
    config->lisp_flag_threshold = defaults.analysis.lisp_flag_threshold;
    config->smearing_flag_threshold = defaults.analysis.smearing_flag_threshold;
    config->event_capacity = defaults.event_capacity;
}

int sibilant_probe_create(const sibilant_probe_config* config, sibilant_probe** probe) {
    if (config == nullptr || probe == nullptr) return SIBILANT_ERR_INVALID_ARGUMENT;
    *probe = nullptr;
    if (config->mode != SIBILANT_MODE_NO_REFERENCE && config->mode != SIBILANT_MODE_REFERENCE)
        return SIBILANT_ERR_INVALID_ARGUMENT;
    sibilant::ProbeConfig c;
    c.mode = config->mode == SIBILANT_MODE_REFERENCE ? sibilant::ProbeMode::FullReference
                                                      : sibilant::ProbeMode::NoReference;
    c.analysis.lisp_flag_threshold = config->lisp_flag_threshold;
    c.analysis.smearing_flag_threshold = config->smearing_flag_threshold;
    c.event_capacity = config->event_capacity;
    try {
        *probe = new sibilant_probe{sibilant::Probe(c), false};
        return SIBILANT_OK;
    } catch (const sibilant::Error&) {
        return SIBILANT_ERR_INVALID_ARGUMENT;
    } catch (const std::bad_alloc&) {
        return SIBILANT_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return SIBILANT_ERR_INTERNAL;
    }
}

void sibilant_probe_destroy(sibilant_probe* probe) { delete probe; }

int sibilant_probe_push_float(sibilant_probe* probe, const float* samples, size_t count) {
    if (probe == nullptr || (samples == nullptr && count > 0)) return SIBILANT_ERR_INVALID_ARGUMENT;
    return from_status(probe->probe.push(std::span<const float>(samples, count)));
}

int sibilant_probe_push_int16(sibilant_probe* probe, const int16_t* samples, size_t count) {
    if (probe == nullptr || (samples == nullptr && count > 0)) return SIBILANT_ERR_INVALID_ARGUMENT;
    return from_status(probe->probe.push(std::span<const std::int16_t>(samples, count)));
}

int sibilant_probe_push_float_ref(sibilant_probe* probe, const float* reference, const float* degraded,
                                  size_t count) {
    if (probe == nullptr || ((reference == nullptr || degraded == nullptr) && count > 0))
        return SIBILANT_ERR_INVALID_ARGUMENT;
    return from_status(
        probe->probe.push(std::span<const float>(reference, count), std::span<const float>(degraded, count)));
}

int sibilant_probe_push_int16_ref(sibilant_probe* probe, const int16_t* reference, const int16_t* degraded,
                                  size_t count) {
    if (probe == nullptr || ((reference == nullptr || degraded == nullptr) && count > 0))
        return SIBILANT_ERR_INVALID_ARGUMENT;
    return from_status(probe->probe.push(std::span<const std::int16_t>(reference, count),
                                         std::span<const std::int16_t>(degraded, count)));
}

int sibilant_probe_push_opus(sibilant_probe* probe, uint16_t sequence, const uint8_t* packet, size_t bytes) {
    if (probe == nullptr || (packet == nullptr && bytes > 0)) return SIBILANT_ERR_INVALID_ARGUMENT;
    if (probe->probe.config().mode != sibilant::ProbeMode::NoReference) return SIBILANT_ERR_WRONG_MODE;
    if (probe->finished) return SIBILANT_ERR_FINISHED;
    const sibilant::PacketOutcome outcome = probe->probe.push_packet(sequence, std::span<const std::uint8_t>(packet, bytes));
    return outcome == sibilant::PacketOutcome::Malformed ? SIBILANT_ERR_MALFORMED_PACKET : SIBILANT_OK;
}

int sibilant_probe_finish(sibilant_probe* probe) {
    if (probe == nullptr) return SIBILANT_ERR_INVALID_ARGUMENT;
    probe->probe.finish();
    probe->finished = true;
    return SIBILANT_OK;
}

int sibilant_probe_reset(sibilant_probe* probe) {
    if (probe == nullptr) return SIBILANT_ERR_INVALID_ARGUMENT;
    try {
        probe->probe.reset();
        probe->finished = false;
        return SIBILANT_OK;
    } catch (const std::bad_alloc&) {
        return SIBILANT_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return SIBILANT_ERR_INTERNAL;
    }
}

int sibilant_probe_poll_event(sibilant_probe* probe, sibilant_event* event) {
    if (probe == nullptr || event == nullptr) return SIBILANT_ERR_INVALID_ARGUMENT;
    const sibilant::SibilantEventResult* e = probe->probe.peek_event();
    if (e == nullptr) return 0;
    event->start_s = e->start_s;
    event->end_s = e->end_s;
    copy_text(event->cls, e->cls);
    event->lisp = e->lisp;
    event->smearing = e->smearing;
    event->dropout = e->dropout ? 1 : 0;
    event->flagged = e->flagged ? 1 : 0;
    event->compared = e->compared ? 1 : 0;
    event->cog_hz = e->degraded ? e->degraded->cog_hz : 0.0;
    event->bandwidth_hz = e->bandwidth_hz;
    copy_text(event->why, e->why);
    probe->probe.drop_event();
    return 1;
}

int sibilant_probe_summary(const sibilant_probe* probe, sibilant_summary* summary) {
    if (probe == nullptr || summary == nullptr) return SIBILANT_ERR_INVALID_ARGUMENT;
    try {
        const sibilant::AnalysisSummary s = probe->probe.summary();
        const sibilant::ProbeStatus st = probe->probe.status();
        summary->sibilants = s.sibilants;
        summary->flagged = s.flagged;
        summary->compared = s.compared;
        summary->dropouts = s.dropouts;
        summary->lisp_index = s.lisp_index;
        summary->smearing_index = s.smearing_index;
        copy_text(summary->verdict, s.verdict);
        summary->degraded_bandwidth_hz = st.degraded_bandwidth_hz;
        summary->max_event_latency_s = st.max_event_latency_s;
        summary->samples = st.samples;
        summary->overwritten_events = st.overwritten_events;
        summary->aligned = st.aligned ? 1 : 0;
        summary->delay_ms = st.delay_ms;
        summary->gain_db = st.gain_db;
        return SIBILANT_OK;
    } catch (const std::bad_alloc&) {
        return SIBILANT_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return SIBILANT_ERR_INTERNAL;
    }
}

int sibilant_probe_timeline(const sibilant_probe* probe, sibilant_toc_change* changes, size_t capacity) {
    if (probe == nullptr || (changes == nullptr && capacity > 0)) return SIBILANT_ERR_INVALID_ARGUMENT;
    const std::span<const sibilant::TocChange> timeline = probe->probe.timeline();
    for (std::size_t i = 0; i < timeline.size() && i < capacity; ++i) {
        const sibilant::TocChange& c = timeline[i];
        sibilant_toc_change& out = changes[i];
        out.time_s = c.time_s;
        out.packet = c.packet;
        out.kind = static_cast<int>(c.kind);
        out.mode = static_cast<int>(c.current.mode);
        out.bandwidth = static_cast<int>(c.current.bandwidth);
        out.frame_ms = c.current.frame_ms;
        out.previous_mode = static_cast<int>(c.previous.mode);
        out.previous_bandwidth = static_cast<int>(c.previous.bandwidth);
        out.previous_frame_ms = c.previous.frame_ms;
    }
    return static_cast<int>(timeline.size());
}

const char* sibilant_codec_mode_name(int mode) {
    switch (mode) {
        case SIBILANT_SILK: return "SILK";
        case SIBILANT_HYBRID: return "Hybrid";
        case SIBILANT_CELT: return "CELT";
        default: return "unknown";
    }
}

const char* sibilant_bandwidth_name(int bandwidth) {
    switch (bandwidth) {
        case SIBILANT_NB: return "NB";
        case SIBILANT_MB: return "MB";
        case SIBILANT_WB: return "WB";
        case SIBILANT_SWB: return "SWB";
        case SIBILANT_FB: return "FB";
        default: return "unknown";
    }
}

int sibilant_probe_packet_stats(const sibilant_probe* probe, sibilant_packet_stats* stats) {
    if (probe == nullptr || stats == nullptr) return SIBILANT_ERR_INVALID_ARGUMENT;
    const sibilant::OpusPacketStats& s = probe->probe.packet_stats();
    stats->received = s.packets_received;
    stats->decoded = s.packets_decoded;
    stats->lost = s.packets_lost;
    stats->fec_recovered = s.fec_recovered;
    stats->plc = s.plc_packets;
    stats->late = s.late;
    stats->duplicate = s.duplicate;
    stats->malformed = s.malformed;
    stats->restarts = s.restarts;
    stats->concealed_s = s.concealed_s;
    return SIBILANT_OK;
}

}  // extern "C"
