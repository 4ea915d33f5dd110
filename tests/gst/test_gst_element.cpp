// sibilantprobe run by GStreamer itself (ctest label `gstreamer`): found by
// gst-inspect-1.0 from the build tree, lisp events from a 6 kbps narrowband
// Opus pipeline and none at 64 kbps, buffers out identical to buffers in,
// caps negotiation (16 kHz S16, stereo F32, refused formats), the summary
// messages' count and times, a flushing seek, and the element's results
// against `sibilant analyze DEG` on the same decoded audio.
//
// Each test process builds its own GStreamer registry (GST_REGISTRY in a
// temporary file) with build/gst on GST_PLUGIN_PATH, so parallel ctest runs
// and the user's own registry do not meet.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class GstEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        registry_ = fs::temp_directory_path() / ("sibilant-gst-registry-" + std::to_string(getpid()) + ".bin");
        setenv("GST_PLUGIN_PATH", SIBILANT_GST_PLUGIN_DIR, 1);
        setenv("GST_REGISTRY", registry_.c_str(), 1);
        gst_init(nullptr, nullptr);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove(registry_, ec);
    }

private:
    fs::path registry_;
};

// ------------------------------------------------------------ messages

struct Event {
    double start = 0, end = 0, lisp = 0, smearing = 0;
    bool dropout = false, flagged = false;
    std::string kind, reason, json;
    guint64 origin = 0;
};

struct Summary {
    bool final = false;
    double seconds = 0, lisp_index = 0, smearing_index = 0, degraded_bandwidth_hz = 0;
    int sibilants = 0, flagged = 0, compared = 0, lisp_flagged = 0, smearing_flagged = 0, dropouts = 0;
    gint64 events = 0, overwritten_events = 0;
    std::string verdict;
    guint64 origin = 0;
};

double get_double(const GstStructure* s, const char* field) {
    double v = NAN;
    EXPECT_TRUE(gst_structure_get_double(s, field, &v)) << gst_structure_get_name(s) << " has no double " << field;
    return v;
}
int get_int(const GstStructure* s, const char* field) {
    int v = -1;
    EXPECT_TRUE(gst_structure_get_int(s, field, &v)) << gst_structure_get_name(s) << " has no int " << field;
    return v;
}
gint64 get_int64(const GstStructure* s, const char* field) {
    gint64 v = -1;
    EXPECT_TRUE(gst_structure_get_int64(s, field, &v)) << gst_structure_get_name(s) << " has no int64 " << field;
    return v;
}
guint64 get_uint64(const GstStructure* s, const char* field) {
    guint64 v = 0;
    EXPECT_TRUE(gst_structure_get_uint64(s, field, &v)) << gst_structure_get_name(s) << " has no uint64 " << field;
    return v;
}
bool get_bool(const GstStructure* s, const char* field) {
    gboolean v = FALSE;
    EXPECT_TRUE(gst_structure_get_boolean(s, field, &v)) << gst_structure_get_name(s) << " has no boolean " << field;
    return v;
}
std::string get_string(const GstStructure* s, const char* field) {
    const char* v = gst_structure_get_string(s, field);
    EXPECT_NE(v, nullptr) << gst_structure_get_name(s) << " has no string " << field;
    return v ? v : "";
}

Event parse_event(const GstStructure* s) {
    Event e;
    e.start = get_double(s, "start");
    e.end = get_double(s, "end");
    e.kind = get_string(s, "kind");
    e.lisp = get_double(s, "lisp");
    e.smearing = get_double(s, "smearing");
    e.dropout = get_bool(s, "dropout");
    e.flagged = get_bool(s, "flagged");
    e.reason = get_string(s, "reason");
    e.json = get_string(s, "json");
    e.origin = get_uint64(s, "origin");
    return e;
}

Summary parse_summary(const GstStructure* s) {
    Summary m;
    m.final = get_bool(s, "final");
    m.seconds = get_double(s, "seconds");
    m.sibilants = get_int(s, "sibilants");
    m.flagged = get_int(s, "flagged");
    m.compared = get_int(s, "compared");
    m.lisp_flagged = get_int(s, "lisp_flagged");
    m.smearing_flagged = get_int(s, "smearing_flagged");
    m.dropouts = get_int(s, "dropouts");
    m.lisp_index = get_double(s, "lisp_index");
    m.smearing_index = get_double(s, "smearing_index");
    m.verdict = get_string(s, "verdict");
    m.events = get_int64(s, "events");
    m.overwritten_events = get_int64(s, "overwritten_events");
    m.degraded_bandwidth_hz = get_double(s, "degraded_bandwidth_hz");
    m.origin = get_uint64(s, "origin");
    return m;
}

// ------------------------------------------------------------ running a pipeline

struct BufferRecord {
    const GstBuffer* buffer = nullptr;
    GstClockTime pts = 0, dts = 0, duration = 0;
    guint64 offset = 0, offset_end = 0;
    guint flags = 0;
    std::vector<std::uint8_t> bytes;
};

// Buffers seen at the element's sink pad (in) and src pad (out), and the
// order of the two, from the streaming thread.
struct Capture {
    std::mutex mutex;
    std::vector<BufferRecord> in, out;
    std::string order;  // 'i' or 'o' per buffer
};

struct PadTap {
    Capture* capture;
    bool in;
};

GstPadProbeReturn record_buffer(GstPad*, GstPadProbeInfo* info, gpointer user) {
    const auto* tap = static_cast<const PadTap*>(user);
    GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
    BufferRecord r;
    r.buffer = b;
    r.pts = GST_BUFFER_PTS(b);
    r.dts = GST_BUFFER_DTS(b);
    r.duration = GST_BUFFER_DURATION(b);
    r.offset = GST_BUFFER_OFFSET(b);
    r.offset_end = GST_BUFFER_OFFSET_END(b);
    r.flags = GST_BUFFER_FLAGS(b);
    GstMapInfo map;
    if (gst_buffer_map(b, &map, GST_MAP_READ)) {
        r.bytes.assign(map.data, map.data + map.size);
        gst_buffer_unmap(b, &map);
    }
    std::lock_guard lock(tap->capture->mutex);
    (tap->in ? tap->capture->in : tap->capture->out).push_back(std::move(r));
    tap->capture->order.push_back(tap->in ? 'i' : 'o');
    return GST_PAD_PROBE_OK;
}

struct PipelineRun {
    std::string error;                // the first error (parse, bus ERROR, timeout)
    bool eos = false;
    std::vector<Event> events;
    std::vector<Summary> summaries;   // in bus order
    std::string kinds;                // 'e' event, 's' summary, in bus order
    std::string caps;                 // negotiated at the element's sink pad
    Capture capture;

    const Summary* final_summary() const {
        return !summaries.empty() && summaries.back().final ? &summaries.back() : nullptr;
    }
    int lisp_events(double threshold = 50.0) const {
        int n = 0;
        for (const Event& e : events) n += e.lisp >= threshold ? 1 : 0;
        return n;
    }
};

struct RunOptions {
    bool capture = false;
    GstClockTime seek_to = GST_CLOCK_TIME_NONE;  // a flushing seek after preroll
};

// Runs `description` (the element named "probe") to EOS or an error,
// collecting the element's messages in bus order.
void run_pipeline(PipelineRun& run, const std::string& description, const RunOptions& options = {}) {
    GError* parse_error = nullptr;
    GstElement* pipeline = gst_parse_launch(description.c_str(), &parse_error);
    if (parse_error) {
        run.error = std::string("parse: ") + parse_error->message;
        g_clear_error(&parse_error);
        if (pipeline) gst_object_unref(pipeline);
        return;
    }
    GstElement* probe = gst_bin_get_by_name(GST_BIN(pipeline), "probe");
    if (!probe) {
        run.error = "no element named probe in: " + description;
        gst_object_unref(pipeline);
        return;
    }
    GstPad* sink_pad = gst_element_get_static_pad(probe, "sink");
    GstPad* src_pad = gst_element_get_static_pad(probe, "src");
    PadTap in_tap{&run.capture, true}, out_tap{&run.capture, false};
    if (options.capture) {
        gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_BUFFER, record_buffer, &in_tap, nullptr);
        gst_pad_add_probe(src_pad, GST_PAD_PROBE_TYPE_BUFFER, record_buffer, &out_tap, nullptr);
    }
    GstBus* bus = gst_element_get_bus(pipeline);
    if (GST_CLOCK_TIME_IS_VALID(options.seek_to)) {
        gst_element_set_state(pipeline, GST_STATE_PAUSED);
        if (gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND) == GST_STATE_CHANGE_FAILURE ||
            !gst_element_seek_simple(pipeline, GST_FORMAT_TIME,
                                     GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), options.seek_to))
            run.error = "pause or seek failed";
    }
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    while (run.error.empty()) {
        GstMessage* m = gst_bus_timed_pop_filtered(
            bus, 60 * GST_SECOND, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_ELEMENT));
        if (!m) {
            run.error = "no EOS within 60 s";
            break;
        }
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            GError* e = nullptr;
            gchar* debug = nullptr;
            gst_message_parse_error(m, &e, &debug);
            run.error = std::string(e->message) + " (" + (debug ? debug : "") + ")";
            g_clear_error(&e);
            g_free(debug);
        } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
            run.eos = true;
            gst_message_unref(m);
            break;
        } else if (GST_MESSAGE_SRC(m) == GST_OBJECT(probe)) {
            const GstStructure* s = gst_message_get_structure(m);
            if (gst_structure_has_name(s, "sibilant-event")) {
                run.events.push_back(parse_event(s));
                run.kinds.push_back('e');
            } else if (gst_structure_has_name(s, "sibilant-summary")) {
                run.summaries.push_back(parse_summary(s));
                run.kinds.push_back('s');
            }
        }
        gst_message_unref(m);
    }
    if (GstCaps* caps = gst_pad_get_current_caps(sink_pad)) {
        gchar* text = gst_caps_to_string(caps);
        run.caps = text;
        g_free(text);
        gst_caps_unref(caps);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(sink_pad);
    gst_object_unref(src_pad);
    gst_object_unref(probe);
    gst_object_unref(pipeline);
}

std::string speech_file(const char* name = "demo") {
    return (test::testdata_dir() / "speech" / (std::string(name) + ".flac")).string();
}

// The pipeline: the bundled sample through opusenc and opusdec into
// the element. `between` goes between opusdec and the element (caps).
std::string opus_pipeline(const std::string& opusenc_settings, const std::string& element_settings = "",
                          const std::string& between = "") {
    return "filesrc location=\"" + speech_file() + "\" ! decodebin ! audioconvert ! audioresample ! opusenc " +
           opusenc_settings + " ! opusdec ! " + (between.empty() ? "" : between + " ! ") +
           "sibilantprobe name=probe " + element_settings + " ! fakesink sync=false";
}

// Checks what every run should show: EOS reached, exactly one final summary,
// last of the element's messages (so posted before EOS went on), and every
// event accounted for.
void expect_complete(const PipelineRun& run, const std::string& what) {
    ASSERT_TRUE(run.error.empty()) << what << ": " << run.error;
    ASSERT_TRUE(run.eos) << what;
    const Summary* final = run.final_summary();
    ASSERT_NE(final, nullptr) << what << ": the last message is not a final summary";
    int finals = 0;
    for (const Summary& s : run.summaries) finals += s.final ? 1 : 0;
    EXPECT_EQ(finals, 1) << what;
    EXPECT_EQ(run.kinds.back(), 's') << what;
    EXPECT_EQ(final->events, gint64(run.events.size())) << what;
    EXPECT_EQ(final->overwritten_events, 0) << what;
    EXPECT_EQ(final->sibilants, int(run.events.size())) << what;
}

// Decoded S16 mono bytes as floats the way libsndfile reads 16-bit PCM.
std::vector<float> s16_samples(const std::vector<BufferRecord>& buffers) {
    std::vector<float> x;
    for (const BufferRecord& b : buffers)
        for (std::size_t i = 0; i + 1 < b.bytes.size(); i += 2) {
            std::int16_t v;
            std::memcpy(&v, b.bytes.data() + i, 2);
            x.push_back(float(v) / 32768.0f);
        }
    return x;
}

// ------------------------------------------------------------ tests

TEST(GstElement, GstInspectFindsItInTheBuildTree) {
    ASSERT_NE(gst_element_factory_find("sibilantprobe"), nullptr);
    const std::string command = std::string("\"") + SIBILANT_GST_INSPECT + "\" sibilantprobe 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr) << command;
    std::string out;
    std::array<char, 4096> chunk{};
    while (const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) out.append(chunk.data(), n);
    const int status = pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << out;
    for (const char* part : {"Filter/Analyzer/Audio", "summary-interval-ms", "lisp-threshold", "smearing-threshold",
                             "F32LE", "S16LE", "unknown"})
        EXPECT_NE(out.find(part), std::string::npos) << part << " not in:\n" << out;
    const std::string plugin = (fs::path(SIBILANT_GST_PLUGIN_DIR) / "libgstsibilant.so").string();
    EXPECT_NE(out.find(plugin), std::string::npos) << "not loaded from " << plugin << ":\n" << out;
}

TEST(GstElement, SixKbpsNarrowbandPostsLispEventsAndSixtyFourKbpsNone) {
    PipelineRun low, high;
    run_pipeline(low, opus_pipeline("bitrate=6000 bandwidth=narrowband", "summary-interval-ms=0"));
    run_pipeline(high, opus_pipeline("bitrate=64000", "summary-interval-ms=0"));
    ASSERT_NO_FATAL_FAILURE(expect_complete(low, "6 kbps"));
    ASSERT_NO_FATAL_FAILURE(expect_complete(high, "64 kbps"));
    ASSERT_FALSE(low.events.empty());
    ASSERT_FALSE(high.events.empty());  // sibilants were found, and judged clean
    const Summary& l = *low.final_summary();
    const Summary& h = *high.final_summary();
    std::cout << "6 kbps narrowband: " << low.events.size() << " events, " << low.lisp_events()
              << " with lisp >= 50, lisp_index " << l.lisp_index << ", verdict " << l.verdict << "\n"
              << "64 kbps: " << high.events.size() << " events, " << high.lisp_events()
              << " with lisp >= 50, lisp_index " << h.lisp_index << ", verdict " << h.verdict << "\n";
    EXPECT_GT(low.lisp_events(), 0);
    EXPECT_EQ(l.lisp_flagged, low.lisp_events());
    EXPECT_NE(l.verdict.find("lisp"), std::string::npos);
    EXPECT_EQ(high.lisp_events(), 0);
    EXPECT_EQ(h.lisp_flagged, 0);
    EXPECT_GT(l.lisp_index, h.lisp_index);
    // Each message's fields are its JSON's (which rounds).
    for (const PipelineRun* run : {&low, &high})
        for (const Event& e : run->events) {
            const json j = json::parse(e.json);
            EXPECT_NEAR(j.at("start_s").get<double>(), e.start, 0.0005 + 1e-9);
            EXPECT_NEAR(j.at("end_s").get<double>(), e.end, 0.0005 + 1e-9);
            EXPECT_NEAR(j.at("lisp").get<double>(), e.lisp, 0.05 + 1e-9);
            EXPECT_NEAR(j.at("smearing").get<double>(), e.smearing, 0.05 + 1e-9);
            EXPECT_EQ(j.at("class").get<std::string>(), e.kind);
            EXPECT_EQ(j.at("why").get<std::string>(), e.reason);
            EXPECT_EQ(j.at("flagged").get<bool>(), e.flagged);
            EXPECT_EQ(j.at("dropout").get<bool>(), e.dropout);
            EXPECT_LT(e.start, e.end);
            EXPECT_EQ(e.origin, 0u);  // the stream starts at stream time 0
        }
}

// Passthrough: the very same GstBuffer leaves as came in, bytes, timestamps,
// offsets and flags unchanged, each one out before the next one in (nothing
// held back). At 48 kHz (no resampling) and at 24 kHz stereo (resampled).
TEST(GstElement, BuffersOutEqualBuffersIn) {
    for (const char* caps : {"audio/x-raw,rate=48000,channels=1", "audio/x-raw,rate=24000,channels=2"}) {
        SCOPED_TRACE(caps);
        PipelineRun run;
        run_pipeline(run, opus_pipeline("bitrate=6000 bandwidth=narrowband", "summary-interval-ms=200", caps),
                     {.capture = true});
        ASSERT_NO_FATAL_FAILURE(expect_complete(run, caps));
        const Capture& c = run.capture;
        ASSERT_GT(c.in.size(), 10u);
        ASSERT_EQ(c.in.size(), c.out.size());
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < c.in.size(); ++i) {
            const BufferRecord &a = c.in[i], &b = c.out[i];
            EXPECT_EQ(a.buffer, b.buffer) << "buffer " << i << " was replaced";
            EXPECT_TRUE(GST_CLOCK_TIME_IS_VALID(a.pts)) << i;
            EXPECT_EQ(a.pts, b.pts) << i;
            EXPECT_EQ(a.dts, b.dts) << i;
            EXPECT_EQ(a.duration, b.duration) << i;
            EXPECT_EQ(a.offset, b.offset) << i;
            EXPECT_EQ(a.offset_end, b.offset_end) << i;
            EXPECT_EQ(a.flags, b.flags) << i;
            EXPECT_EQ(a.bytes, b.bytes) << "buffer " << i << " changed";
            bytes += a.bytes.size();
        }
        std::string alternating;
        for (std::size_t i = 0; i < c.in.size(); ++i) alternating += "io";
        EXPECT_EQ(c.order, alternating);
        EXPECT_GT(bytes, 0u);
        EXPECT_GT(run.lisp_events(), 0);
        EXPECT_GE(run.summaries.size(), 20u);  // 4.6 s at 200 ms: the messages were posted meanwhile
    }
}

// 16 kHz S16 (resampled inside): the events equal those `sibilant analyze`'s
// reader gives for the same samples written to a 16 kHz file.
TEST(GstElement, NegotiatesS16At16kAndMatchesTheFileAnalysis) {
    PipelineRun run;
    run_pipeline(run, opus_pipeline("bitrate=6000 bandwidth=narrowband", "summary-interval-ms=0",
                                    "audio/x-raw,rate=16000"),
                 {.capture = true});
    ASSERT_NO_FATAL_FAILURE(expect_complete(run, "16 kHz"));
    EXPECT_NE(run.caps.find("format=(string)S16LE"), std::string::npos) << run.caps;
    EXPECT_NE(run.caps.find("rate=(int)16000"), std::string::npos) << run.caps;
    EXPECT_NE(run.caps.find("channels=(int)1"), std::string::npos) << run.caps;

    test::TempDir dir;
    const std::string wav = (dir / "decoded_16k.wav").string();
    write_audio_file(wav, s16_samples(run.capture.in), 16000, SampleFormat::Pcm16);
    const AnalysisResult file = analyze_file_no_reference(wav);
    ASSERT_EQ(run.events.size(), file.events.size());
    for (std::size_t i = 0; i < file.events.size(); ++i) {
        EXPECT_EQ(run.events[i].json, event_to_json(file.events[i], true)) << "event " << i;
        EXPECT_EQ(run.events[i].start, file.events[i].start_s) << i;
        EXPECT_EQ(run.events[i].lisp, file.events[i].lisp) << i;
    }
    EXPECT_EQ(run.final_summary()->lisp_index, file.summary.lisp_index);
    EXPECT_EQ(run.final_summary()->verdict, file.summary.verdict);
    EXPECT_GT(run.lisp_events(), 0);
}

// Stereo with both channels the same mixes down to the mono signal exactly.
TEST(GstElement, NegotiatesStereoF32AndMixesItDown) {
    const std::string source = "filesrc location=\"" + speech_file() + "\" ! decodebin ! audioconvert ! audioresample ! ";
    PipelineRun stereo, mono;
    run_pipeline(stereo, source + "audio/x-raw,format=F32LE,rate=44100,channels=2 ! sibilantprobe name=probe ! fakesink");
    run_pipeline(mono, source + "audio/x-raw,format=F32LE,rate=44100,channels=1 ! sibilantprobe name=probe ! fakesink");
    ASSERT_NO_FATAL_FAILURE(expect_complete(stereo, "stereo"));
    ASSERT_NO_FATAL_FAILURE(expect_complete(mono, "mono"));
    EXPECT_NE(stereo.caps.find("channels=(int)2"), std::string::npos) << stereo.caps;
    EXPECT_NE(stereo.caps.find("format=(string)F32LE"), std::string::npos) << stereo.caps;
    ASSERT_GT(mono.events.size(), 5u);
    ASSERT_EQ(stereo.events.size(), mono.events.size());
    for (std::size_t i = 0; i < mono.events.size(); ++i) EXPECT_EQ(stereo.events[i].json, mono.events[i].json) << i;
    ASSERT_EQ(stereo.summaries.size(), mono.summaries.size());
    for (std::size_t i = 0; i < mono.summaries.size(); ++i) {
        EXPECT_EQ(stereo.summaries[i].seconds, mono.summaries[i].seconds) << i;
        EXPECT_EQ(stereo.summaries[i].lisp_index, mono.summaries[i].lisp_index) << i;
        EXPECT_EQ(stereo.summaries[i].smearing_index, mono.summaries[i].smearing_index) << i;
    }
}

TEST(GstElement, RefusesFormatsItCannotRead) {
    for (const char* caps : {"audio/x-raw,format=S32LE,rate=48000,channels=1",
                             "audio/x-raw,format=F32LE,rate=48000,channels=3",
                             "audio/x-raw,format=S16LE,rate=4000,channels=1"}) {
        PipelineRun run;
        run_pipeline(run, std::string("audiotestsrc num-buffers=10 ! ") + caps +
                              " ! sibilantprobe name=probe ! fakesink");
        EXPECT_FALSE(run.error.empty()) << caps << " was accepted";
        EXPECT_TRUE(run.events.empty() && run.summaries.empty()) << caps;
    }
}

struct IntervalCase {
    const char* format;
    int rate;
    int channels;
    int interval_ms;  // -1: the property's default
};

// Periodic summaries at every interval_ms of stream time, each covering
// exactly that much audio (buffers of 700 frames are split where a summary
// falls), then the final one at EOS.
TEST(GstElement, SummariesArriveAtTheInterval) {
    constexpr int kBuffers = 80, kFrames = 700;
    for (const IntervalCase c : {IntervalCase{"S16LE", 16000, 1, 500}, IntervalCase{"S16LE", 16000, 1, 0},
                                 IntervalCase{"F32LE", 44100, 2, -1}, IntervalCase{"S16LE", 11025, 1, 333},
                                 IntervalCase{"F32LE", 8000, 1, 7000}}) {
        const std::string what = std::string(c.format) + " " + std::to_string(c.rate) + " Hz, interval " +
                                 std::to_string(c.interval_ms);
        SCOPED_TRACE(what);
        const std::string interval = c.interval_ms < 0 ? "" : " summary-interval-ms=" + std::to_string(c.interval_ms);
        PipelineRun run;
        run_pipeline(run, "audiotestsrc wave=pink-noise samplesperbuffer=" + std::to_string(kFrames) +
                              " num-buffers=" + std::to_string(kBuffers) + " ! audio/x-raw,format=" + c.format +
                              ",rate=" + std::to_string(c.rate) + ",channels=" + std::to_string(c.channels) +
                              " ! sibilantprobe name=probe" + interval + " ! fakesink");
        ASSERT_NO_FATAL_FAILURE(expect_complete(run, what));
        const int interval_ms = c.interval_ms < 0 ? 1000 : c.interval_ms;
        const double duration_s = double(kBuffers * kFrames) / c.rate;
        const int expected = interval_ms == 0 ? 0 : int(std::floor(duration_s * 1000.0 / interval_ms + 1e-9));
        ASSERT_EQ(int(run.summaries.size()), expected + 1);
        for (int k = 1; k <= expected; ++k) {
            const Summary& s = run.summaries[std::size_t(k - 1)];
            EXPECT_FALSE(s.final) << k;
            const double due = k * interval_ms / 1000.0;
            EXPECT_GE(s.seconds, due - 1e-9) << k;
            EXPECT_LT(s.seconds, due + 1.0 / c.rate) << k;
        }
        EXPECT_NEAR(run.final_summary()->seconds, duration_s, 1e-9);
    }
}

// A flushing seek to 2 s: the probe starts again there (its times from 0,
// `origin` the stream time where it started) and the final summary covers
// only the audio after the seek.
TEST(GstElement, AFlushingSeekStartsANewStream) {
    const std::string description = "filesrc location=\"" + speech_file() +
                                    "\" ! decodebin ! audioconvert ! sibilantprobe name=probe "
                                    "summary-interval-ms=0 ! fakesink sync=false";
    PipelineRun whole, seeked;
    run_pipeline(whole, description);
    run_pipeline(seeked, description, {.seek_to = 2 * GST_SECOND});
    ASSERT_NO_FATAL_FAILURE(expect_complete(whole, "whole"));
    ASSERT_NO_FATAL_FAILURE(expect_complete(seeked, "after the seek"));
    const Summary& w = *whole.final_summary();
    const Summary& s = *seeked.final_summary();
    std::cout << "whole: " << w.seconds << " s, " << w.sibilants << " sibilants; after the seek to 2 s: origin "
              << double(s.origin) / GST_SECOND << " s, " << s.seconds << " s, " << s.sibilants << " sibilants\n";
    EXPECT_NEAR(double(s.origin) / GST_SECOND, 2.0, 0.025);
    EXPECT_NEAR(s.seconds, w.seconds - 2.0, 0.025);
    EXPECT_GT(s.sibilants, 0);
    EXPECT_LT(s.sibilants, w.sibilants);
    for (const Event& e : seeked.events) {
        EXPECT_LT(e.end, s.seconds + 1e-9);
        EXPECT_EQ(e.origin, s.origin);
    }
}

// The element against `sibilant analyze DEG` (no reference) on the decoded
// audio it saw, written to a 48 kHz 16-bit file: the same events (their JSON
// objects equal), and the summary equal to the JSON's rounding (indices to
// 0.05, the bandwidth to 0.5 Hz).
TEST(GstElement, EqualsSibilantAnalyzeOnTheSameAudio) {
    for (const char* settings : {"bitrate=6000 bandwidth=narrowband", "bitrate=64000"}) {
        SCOPED_TRACE(settings);
        PipelineRun run;
        run_pipeline(run, opus_pipeline(settings, "summary-interval-ms=0", "audio/x-raw,rate=48000,channels=1"),
                     {.capture = true});
        ASSERT_NO_FATAL_FAILURE(expect_complete(run, settings));
        test::TempDir dir;
        const std::string wav = (dir / "decoded.wav").string(), out = (dir / "analysis.json").string();
        write_audio_file(wav, s16_samples(run.capture.in), 48000, SampleFormat::Pcm16);
        const std::string command = "\"" + test::cli_path().string() + "\" analyze -q \"" + wav + "\" --json \"" + out + "\"";
        ASSERT_EQ(std::system(command.c_str()), 0) << command;
        std::ifstream in(out);
        const json cli = json::parse(in);
        ASSERT_EQ(cli.at("mode"), "no-reference");
        const json& events = cli.at("events");
        ASSERT_EQ(events.size(), run.events.size());
        for (std::size_t i = 0; i < run.events.size(); ++i)
            EXPECT_EQ(json::parse(run.events[i].json), events[i]) << "event " << i;
        const json& cs = cli.at("summary");
        const Summary& s = *run.final_summary();
        EXPECT_EQ(cs.at("sibilants").get<int>(), s.sibilants);
        EXPECT_EQ(cs.at("flagged").get<int>(), s.flagged);
        EXPECT_EQ(cs.at("compared").get<int>(), s.compared);
        EXPECT_EQ(cs.at("lisp_flagged").get<int>(), s.lisp_flagged);
        EXPECT_EQ(cs.at("smearing_flagged").get<int>(), s.smearing_flagged);
        EXPECT_EQ(cs.at("dropouts").get<int>(), s.dropouts);
        EXPECT_EQ(cs.at("verdict").get<std::string>(), s.verdict);
        EXPECT_NEAR(cs.at("lisp_index").get<double>(), s.lisp_index, 0.05 + 1e-9);
        EXPECT_NEAR(cs.at("smearing_index").get<double>(), s.smearing_index, 0.05 + 1e-9);
        EXPECT_NEAR(cli.at("degraded_bandwidth_hz").get<double>(), s.degraded_bandwidth_hz, 0.5 + 1e-9);
        std::cout << settings << ": element lisp_index " << s.lisp_index << ", smearing_index "
                  << s.smearing_index << "; sibilant analyze " << cs.at("lisp_index") << ", "
                  << cs.at("smearing_index") << "; " << events.size() << " events, all equal\n";
    }
}

}  // namespace
}  // namespace sibilant

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new sibilant::GstEnvironment);
    return RUN_ALL_TESTS();
}
