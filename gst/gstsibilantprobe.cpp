// sibilantprobe: GstBaseTransform in passthrough. transform_ip() only reads
// each buffer (it is never made writable, so never copied) and returns it
// unchanged at once: the element adds no latency. The analysis itself is
// ProbeFeed (probe_feed.hpp), which is GStreamer-free and tested on its own.
//
// Threading: the State is made in start() and freed in stop(); in between
// only the streaming thread touches it (buffers and serialized events,
// FLUSH_STOP and EOS included, come under the sink pad's stream lock).
// Properties are read under the object lock.
#include "gstsibilantprobe.h"

#include <gst/audio/audio.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>

#include "probe_feed.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"

GST_DEBUG_CATEGORY_STATIC(sibilant_probe_debug);
#define GST_CAT_DEFAULT sibilant_probe_debug

namespace {

using sibilant::gst::PcmFormat;
using sibilant::gst::ProbeFeed;

constexpr guint kDefaultSummaryIntervalMs = 1000;
const sibilant::AnalyzeOptions kDefaultOptions{};

enum { PROP_0, PROP_SUMMARY_INTERVAL_MS, PROP_LISP_THRESHOLD, PROP_SMEARING_THRESHOLD };

struct State {
    explicit State(const sibilant::ProbeConfig& config) : feed(config) {
        // Reserved once so that polling and summaries reuse their storage.
        event.cls.reserve(8);
        event.why.reserve(1024);
        summary.verdict.reserve(64);
    }

    ProbeFeed feed;
    sibilant::SibilantEventResult event;
    sibilant::AnalysisSummary summary;
    int bytes_per_frame = 0;

    // Stream time taken so far: `base_ns` at earlier rates (a caps change)
    // plus `frames` at the current one; exact in frames, so summaries fall
    // on the same samples whatever the buffer sizes.
    guint64 base_ns = 0;
    guint64 frames = 0;
    // The next periodic summary is due at next_summary * interval_ms.
    guint interval_ms = 0;
    guint64 next_summary = 1;

    GstClockTime origin = GST_CLOCK_TIME_NONE;  // stream time of the probe's first sample
    bool origin_known = false;
    bool final_posted = false;
    bool warned_nonfinite = false;

    guint64 elapsed_ns() const {
        const int rate = feed.rate_hz();
        return base_ns + (rate > 0 ? gst_util_uint64_scale_int(frames, GST_SECOND, rate) : 0);
    }

    // Frames of the current rate until the next periodic summary (0: due now).
    guint64 frames_to_summary() const {
        const guint64 due_ns = next_summary * interval_ms * GST_MSECOND;
        if (due_ns <= base_ns) return 0;
        const guint64 due_frames = gst_util_uint64_scale_int_ceil(due_ns - base_ns, feed.rate_hz(), GST_SECOND);
        return due_frames > frames ? due_frames - frames : 0;
    }

    void schedule_summaries(guint interval) {
        interval_ms = interval;
        if (interval_ms > 0) next_summary = elapsed_ns() / (interval_ms * GST_MSECOND) + 1;
    }

    void new_stream() {
        feed.reset();
        base_ns = 0;
        frames = 0;
        next_summary = 1;
        origin = GST_CLOCK_TIME_NONE;
        origin_known = false;
        final_posted = false;
        warned_nonfinite = false;
    }
};

}  // namespace

struct _GstSibilantProbe {
    GstBaseTransform parent;
    // Properties (object lock).
    guint summary_interval_ms;
    gdouble lisp_threshold;
    gdouble smearing_threshold;
    // Streaming state, from start() to stop().
    State* state;
};

G_DEFINE_TYPE(GstSibilantProbe, gst_sibilant_probe, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(sibilantprobe, "sibilantprobe", GST_RANK_NONE, GST_TYPE_SIBILANT_PROBE)

namespace {

// Native-endian only: the data is read in place, never byte-swapped.
#define SIBILANT_PROBE_CAPS                                                                            \
    "audio/x-raw, format = (string) { " GST_AUDIO_NE(F32) ", " GST_AUDIO_NE(S16) " }, "                \
    "rate = (int) [ 8000, 192000 ], channels = (int) [ 1, 2 ], layout = (string) interleaved"
static_assert(sibilant::kMinInputRateHz == 8000 && sibilant::kMaxInputRateHz == 192000,
              "the caps' rate range is sibilant's input range");
static_assert(ProbeFeed::kMaxChannels == 2, "the caps' channel range is ProbeFeed's");

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SIBILANT_PROBE_CAPS));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SIBILANT_PROBE_CAPS));

void post(GstSibilantProbe* self, GstStructure* s) {
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

void post_event(GstSibilantProbe* self, const sibilant::SibilantEventResult& e) {
    const State& st = *self->state;
    const std::string json = sibilant::event_to_json(e, /*no_reference=*/true);
    post(self, gst_structure_new("sibilant-event",
                                 "start", G_TYPE_DOUBLE, e.start_s,
                                 "end", G_TYPE_DOUBLE, e.end_s,
                                 "kind", G_TYPE_STRING, e.cls.c_str(),
                                 "lisp", G_TYPE_DOUBLE, e.lisp,
                                 "smearing", G_TYPE_DOUBLE, e.smearing,
                                 "dropout", G_TYPE_BOOLEAN, gboolean(e.dropout),
                                 "flagged", G_TYPE_BOOLEAN, gboolean(e.flagged),
                                 "reason", G_TYPE_STRING, e.why.c_str(),
                                 "json", G_TYPE_STRING, json.c_str(),
                                 "origin", G_TYPE_UINT64, guint64(st.origin),
                                 nullptr));
}

void post_events(GstSibilantProbe* self) {
    State& st = *self->state;
    while (st.feed.probe().poll_event(st.event)) post_event(self, st.event);
}

void post_summary(GstSibilantProbe* self, bool final) {
    State& st = *self->state;
    st.feed.probe().summary(st.summary);
    const sibilant::ProbeStatus status = st.feed.probe().status();
    const sibilant::AnalysisSummary& s = st.summary;
    post(self, gst_structure_new("sibilant-summary",
                                 "final", G_TYPE_BOOLEAN, gboolean(final),
                                 "seconds", G_TYPE_DOUBLE, double(st.elapsed_ns()) / double(GST_SECOND),
                                 "sibilants", G_TYPE_INT, s.sibilants,
                                 "flagged", G_TYPE_INT, s.flagged,
                                 "compared", G_TYPE_INT, s.compared,
                                 "lisp_flagged", G_TYPE_INT, s.lisp_flagged,
                                 "smearing_flagged", G_TYPE_INT, s.smearing_flagged,
                                 "dropouts", G_TYPE_INT, s.dropouts,
                                 "lisp_index", G_TYPE_DOUBLE, s.lisp_index,
                                 "smearing_index", G_TYPE_DOUBLE, s.smearing_index,
                                 "verdict", G_TYPE_STRING, s.verdict.c_str(),
                                 "events", G_TYPE_INT64, gint64(status.events),
                                 "overwritten_events", G_TYPE_INT64, gint64(status.overwritten_events),
                                 "degraded_bandwidth_hz", G_TYPE_DOUBLE, status.degraded_bandwidth_hz,
                                 "origin", G_TYPE_UINT64, guint64(st.origin),
                                 nullptr));
}

guint summary_interval(GstSibilantProbe* self) {
    GST_OBJECT_LOCK(self);
    const guint interval = self->summary_interval_ms;
    GST_OBJECT_UNLOCK(self);
    return interval;
}

// ------------------------------------------------------------ GstBaseTransform

gboolean probe_start(GstBaseTransform* trans) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(trans);
    sibilant::ProbeConfig config;
    GST_OBJECT_LOCK(self);
    config.analysis.lisp_flag_threshold = self->lisp_threshold;
    config.analysis.smearing_flag_threshold = self->smearing_threshold;
    GST_OBJECT_UNLOCK(self);
    try {
        delete self->state;
        self->state = new State(config);
    } catch (const std::exception& e) {
        self->state = nullptr;
        GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("sibilantprobe: the probe could not be set up: %s", e.what()),
                          (nullptr));
        return FALSE;
    }
    return TRUE;
}

gboolean probe_stop(GstBaseTransform* trans) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(trans);
    delete self->state;
    self->state = nullptr;
    return TRUE;
}

gboolean probe_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* /*outcaps*/) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(trans);
    if (!self->state) return FALSE;
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, incaps)) {
        gchar* text = gst_caps_to_string(incaps);
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("sibilantprobe: caps %s are not raw audio", text), (nullptr));
        g_free(text);
        return FALSE;
    }
    const GstAudioFormat f = GST_AUDIO_INFO_FORMAT(&info);
    if (f != GST_AUDIO_FORMAT_F32 && f != GST_AUDIO_FORMAT_S16) {
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                          ("sibilantprobe: sample format %s; F32 or S16 (native endian) only",
                           gst_audio_format_to_string(f)),
                          (nullptr));
        return FALSE;
    }
    State& st = *self->state;
    try {
        // A rate change keeps the stream time already taken.
        if (GST_AUDIO_INFO_RATE(&info) != st.feed.rate_hz()) {
            st.base_ns = st.elapsed_ns();
            st.frames = 0;
        }
        st.feed.configure(f == GST_AUDIO_FORMAT_F32 ? PcmFormat::F32 : PcmFormat::S16,
                          GST_AUDIO_INFO_CHANNELS(&info), GST_AUDIO_INFO_RATE(&info));
        // A rate change may have flushed the old resampler's tail.
        post_events(self);
    } catch (const std::exception& e) {
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("sibilantprobe: %s", e.what()), (nullptr));
        return FALSE;
    }
    st.bytes_per_frame = GST_AUDIO_INFO_BPF(&info);
    GST_DEBUG_OBJECT(self, "analysing %s, %d channel(s), %d Hz", gst_audio_format_to_string(f),
                     GST_AUDIO_INFO_CHANNELS(&info), GST_AUDIO_INFO_RATE(&info));
    return TRUE;
}

GstFlowReturn probe_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(trans);
    State* st = self->state;
    if (!st || !st->feed.configured()) {
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("sibilantprobe: a buffer arrived before the caps"), (nullptr));
        return GST_FLOW_NOT_NEGOTIATED;
    }
    if (st->feed.finished()) return GST_FLOW_OK;  // data after EOS without a flush: nothing to add it to

    const guint interval = summary_interval(self);
    if (interval != st->interval_ms) st->schedule_summaries(interval);
    if (!st->origin_known) {
        st->origin_known = true;
        if (GST_BUFFER_PTS_IS_VALID(buffer) && trans->segment.format == GST_FORMAT_TIME)
            st->origin = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
    }

    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
        GST_ELEMENT_ERROR(self, RESOURCE, READ, ("sibilantprobe: could not map a buffer for reading"), (nullptr));
        return GST_FLOW_ERROR;
    }
    const auto bpf = std::size_t(st->bytes_per_frame);
    const std::size_t frames = map.size / bpf;
    if (map.size % bpf != 0)
        GST_WARNING_OBJECT(self, "buffer of %" G_GSIZE_FORMAT " bytes is not a whole number of %" G_GSIZE_FORMAT
                                 "-byte frames; the partial frame is not analysed", map.size, bpf);
    std::size_t nonfinite = 0;
    try {
        for (std::size_t pos = 0; pos < frames;) {
            std::size_t take = std::min(frames - pos, ProbeFeed::kMaxFrames);
            if (st->interval_ms > 0) take = std::size_t(std::min<guint64>(take, st->frames_to_summary()));
            nonfinite += st->feed.push(map.data + pos * bpf, take);
            pos += take;
            st->frames += take;
            post_events(self);
            if (st->interval_ms > 0 && st->frames_to_summary() == 0) {
                post_summary(self, false);
                ++st->next_summary;
            }
        }
    } catch (const std::exception& e) {
        gst_buffer_unmap(buffer, &map);
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("sibilantprobe: analysis failed: %s", e.what()), (nullptr));
        return GST_FLOW_ERROR;
    }
    gst_buffer_unmap(buffer, &map);
    if (nonfinite > 0 && !st->warned_nonfinite) {
        st->warned_nonfinite = true;
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("sibilantprobe: %" G_GSIZE_FORMAT " NaN or infinite samples in the buffer at %"
                             GST_TIME_FORMAT "; analysed as silence (the buffer passes unchanged; warned once "
                             "per stream)", nonfinite, GST_TIME_ARGS(GST_BUFFER_PTS(buffer))),
                            (nullptr));
    }
    return GST_FLOW_OK;
}

gboolean probe_sink_event(GstBaseTransform* trans, GstEvent* event) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(trans);
    if (State* st = self->state) {
        try {
            switch (GST_EVENT_TYPE(event)) {
                case GST_EVENT_EOS:
                    // Posted before EOS goes on, so they reach the bus before its EOS message.
                    if (!st->final_posted) {
                        st->feed.finish();
                        post_events(self);
                        post_summary(self, true);
                        st->final_posted = true;
                    }
                    break;
                case GST_EVENT_FLUSH_STOP:
                    // A seek: the audio after it is a new stream for the probe.
                    // Events still pending from before the flush are dropped.
                    st->new_stream();
                    break;
                default: break;
            }
        } catch (const std::exception& e) {
            GST_ELEMENT_ERROR(self, STREAM, FAILED, ("sibilantprobe: %s", e.what()), (nullptr));
        }
    }
    return GST_BASE_TRANSFORM_CLASS(gst_sibilant_probe_parent_class)->sink_event(trans, event);
}

// ------------------------------------------------------------ GObject

void probe_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(object);
    GST_OBJECT_LOCK(self);
    switch (id) {
        case PROP_SUMMARY_INTERVAL_MS: self->summary_interval_ms = g_value_get_uint(value); break;
        case PROP_LISP_THRESHOLD: self->lisp_threshold = g_value_get_double(value); break;
        case PROP_SMEARING_THRESHOLD: self->smearing_threshold = g_value_get_double(value); break;
        default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

void probe_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(object);
    GST_OBJECT_LOCK(self);
    switch (id) {
        case PROP_SUMMARY_INTERVAL_MS: g_value_set_uint(value, self->summary_interval_ms); break;
        case PROP_LISP_THRESHOLD: g_value_set_double(value, self->lisp_threshold); break;
        case PROP_SMEARING_THRESHOLD: g_value_set_double(value, self->smearing_threshold); break;
        default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

void probe_finalize(GObject* object) {
    GstSibilantProbe* self = GST_SIBILANT_PROBE(object);
    delete self->state;
    self->state = nullptr;
    G_OBJECT_CLASS(gst_sibilant_probe_parent_class)->finalize(object);
}

}  // namespace

static void gst_sibilant_probe_class_init(GstSibilantProbeClass* klass) {
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

    GST_DEBUG_CATEGORY_INIT(sibilant_probe_debug, "sibilantprobe", 0, "sibilant no-reference probe");

    gobject_class->set_property = probe_set_property;
    gobject_class->get_property = probe_get_property;
    gobject_class->finalize = probe_finalize;

    const auto flags = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_property(
        gobject_class, PROP_SUMMARY_INTERVAL_MS,
        g_param_spec_uint("summary-interval-ms", "Summary interval",
                          "Stream time (ms) between sibilant-summary messages; 0: only the final one at EOS",
                          0, G_MAXUINT, kDefaultSummaryIntervalMs, GParamFlags(flags | GST_PARAM_MUTABLE_PLAYING)));
    g_object_class_install_property(
        gobject_class, PROP_LISP_THRESHOLD,
        g_param_spec_double("lisp-threshold", "Lisp threshold",
                            "Lisp score (0-100) at which an event is flagged; read when the element starts",
                            0.0, 100.0, kDefaultOptions.lisp_flag_threshold,
                            GParamFlags(flags | GST_PARAM_MUTABLE_READY)));
    g_object_class_install_property(
        gobject_class, PROP_SMEARING_THRESHOLD,
        g_param_spec_double("smearing-threshold", "Smearing threshold",
                            "Smearing score (0-100) at which an event is flagged; read when the element starts",
                            0.0, 100.0, kDefaultOptions.smearing_flag_threshold,
                            GParamFlags(flags | GST_PARAM_MUTABLE_READY)));

    gst_element_class_add_static_pad_template(element_class, &sink_template);
    gst_element_class_add_static_pad_template(element_class, &src_template);
    gst_element_class_set_static_metadata(
        element_class, "Sibilant probe", "Filter/Analyzer/Audio",
        "Detects lisp-like and smeared sibilants in decoded speech (no reference) and posts them as "
        "element messages; the audio passes unchanged",
        "sibilant");

    trans_class->start = probe_start;
    trans_class->stop = probe_stop;
    trans_class->set_caps = probe_set_caps;
    trans_class->transform_ip = probe_transform_ip;
    trans_class->sink_event = probe_sink_event;
    trans_class->passthrough_on_same_caps = TRUE;
    trans_class->transform_ip_on_passthrough = TRUE;
}

static void gst_sibilant_probe_init(GstSibilantProbe* self) {
    self->summary_interval_ms = kDefaultSummaryIntervalMs;
    self->lisp_threshold = kDefaultOptions.lisp_flag_threshold;
    self->smearing_threshold = kDefaultOptions.smearing_flag_threshold;
    self->state = nullptr;
    gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

static gboolean plugin_init(GstPlugin* plugin) { return GST_ELEMENT_REGISTER(sibilantprobe, plugin); }

// GST_PLUGIN_DEFINE's "source" field (GstPluginDesc) is the macro PACKAGE.
#define PACKAGE "sibilant"
// The project states no licence (no LICENSE file, none in the README), so
// GStreamer's "unknown" is the truthful value; change it with the project's.
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, sibilant,
                  "sibilant: lisp-like and smeared sibilants in coded speech", plugin_init,
                  SIBILANT_GST_VERSION, GST_LICENSE_UNKNOWN, "sibilant", "unknown")
