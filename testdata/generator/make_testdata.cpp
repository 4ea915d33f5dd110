// sibilant_make_testdata: renders the project's own labelled speech samples
// with the espeak-ng C library, so that the tests never need the external
// corpus.
//
// For each sample it writes, into OUTDIR:
//   NAME.flac        16-bit mono at espeak's native 22050 Hz
//   NAME.labels.tsv  one row per /s z sh zh/ phoneme, times from espeak's own
//                    phoneme events (see README.md for the format)
// and, once all samples are done, index.tsv (name, voice, text, phonemes).
//
// Usage:
//   sibilant_make_testdata OUTDIR            render every sample
//   sibilant_make_testdata OUTDIR NAME...    render only these samples
//   sibilant_make_testdata --events NAME     print every phoneme event of one
//                                            sample (for checking the labels)
//   sibilant_make_testdata --list            print the sample names
//
// Exit status is non-zero on any failure, including a mismatch between the
// number of sibilant phoneme events and the number of sibilants in espeak's
// own transcription of the text.

#include <espeak-ng/speak_lib.h>
#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct SampleSpec {
    const char* name;
    const char* voice;
    const char* text;
};

// Sentences dense in /s z sh zh/ in initial, medial and final position and in
// clusters, spread over several voices; "no_sibilants" is the negative case.
// Every sibilant sample also has both /s/ and /sh/, so the s-vs-sh spectral
// check can be made within each voice.
constexpr SampleSpec kSamples[] = {
    {"demo", "en-us",
     "She sells sea shells by the seashore, and the shells she sells are surely seashells."},
    {"s_clusters", "en-us+f3", "Six scientists showed us the first small masks and the best desks."},
    {"zh_medial", "en", "Sasha measures the usual treasure, a vision of beige leisure."},
    {"z_voiced", "en+m3", "Zoe's lazy dogs chose cosy zones, as the zoo's shy sheep sleep."},
    {"sh_positions", "en+f2", "Fresh fish shops sell sushi at the station, she said."},
    {"no_sibilants", "en-us+f3", "Around the moor a brown owl flew."},
};

// Fixed synthesis parameters: together with a fresh espeak state per sample
// (see render_in_child) they make the output byte-for-byte reproducible.
constexpr int kRateWordsPerMinute = 160;
constexpr int kPitch = 50;
constexpr int kPitchRange = 50;
constexpr int kVolume = 100;
constexpr int kExpectedSampleRate = 22050;

// espeak mnemonic -> label name. tS and dZ (church, judge) are affricates,
// not sibilant fricatives, and are deliberately not labelled.
const std::map<std::string, std::string> kSibilants = {
    {"s", "s"}, {"z", "z"}, {"S", "sh"}, {"Z", "zh"}};

struct PhonemeEvent {
    long sample;           // first output sample of the phoneme
    std::string mnemonic;  // espeak's phoneme name, e.g. "s", "S", "_:"
    int word_index;        // 1-based word number from the preceding WORD event
    std::string word;      // that word's text
};

struct Capture {
    std::string_view text;
    std::vector<short> pcm;
    std::vector<PhonemeEvent> events;
    int word_index = 0;
    std::string word;
};

// espeak's synchronous callback has no user pointer of its own besides the
// per-event one, so the capture in progress is a file-level pointer.
Capture* g_capture = nullptr;

int on_synth(short* wav, int count, espeak_EVENT* event) {
    Capture& cap = *g_capture;
    if (wav && count > 0) cap.pcm.insert(cap.pcm.end(), wav, wav + count);
    for (; event && event->type != espeakEVENT_LIST_TERMINATED; ++event) {
        if (event->type == espeakEVENT_WORD) {
            cap.word_index = event->id.number;
            // text_position is 1-based, in characters; our texts are ASCII.
            const auto pos = static_cast<std::size_t>(event->text_position - 1);
            if (pos < cap.text.size())
                cap.word = std::string(cap.text.substr(pos, static_cast<std::size_t>(event->length)));
        } else if (event->type == espeakEVENT_PHONEME) {
            // id.string is zero-terminated unless the name fills all 8 bytes.
            std::string name(event->id.string, strnlen(event->id.string, sizeof event->id.string));
            // event->sample counts from the start of this espeak_Synth call's
            // output (checked: it restarts at 0 for each call), so it indexes
            // cap.pcm directly.
            cap.events.push_back({event->sample, name, cap.word_index, cap.word});
        }
    }
    return 0;
}

// espeak's phoneme transcription of the text, phonemes separated by spaces
// (espeak_TextToPhonemes returns one clause per call).
std::string transcribe(const char* text) {
    std::string out;
    const void* ptr = text;
    while (ptr) {
        const char* clause = espeak_TextToPhonemes(&ptr, espeakCHARS_UTF8, ' ' << 8);
        if (!clause) break;
        if (!out.empty()) out += " | ";
        out += clause;
    }
    return out;
}

// Number of each sibilant in a transcription from transcribe().
std::map<std::string, int> count_sibilants(const std::string& phonemes) {
    std::map<std::string, int> counts;
    std::istringstream in(phonemes);
    std::string token;
    while (in >> token) {
        // Stress and syllable marks are written in front of the phoneme.
        while (!token.empty() && std::strchr("',%=", token.front())) token.erase(0, 1);
        if (kSibilants.count(token)) ++counts[kSibilants.at(token)];
    }
    return counts;
}

bool init_espeak() {
    const int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_PHONEME_EVENTS);
    if (rate != kExpectedSampleRate) {
        std::cerr << "espeak_Initialize returned " << rate << ", expected " << kExpectedSampleRate << "\n";
        return false;
    }
    espeak_SetSynthCallback(on_synth);
    return true;
}

bool set_voice(const SampleSpec& spec) {
    if (espeak_SetVoiceByName(spec.voice) != EE_OK) {
        std::cerr << spec.name << ": unknown espeak voice " << spec.voice << "\n";
        return false;
    }
    // Set after the voice, which may reset them.
    espeak_SetParameter(espeakRATE, kRateWordsPerMinute, 0);
    espeak_SetParameter(espeakPITCH, kPitch, 0);
    espeak_SetParameter(espeakRANGE, kPitchRange, 0);
    espeak_SetParameter(espeakVOLUME, kVolume, 0);
    espeak_SetParameter(espeakWORDGAP, 0, 0);
    espeak_SetParameter(espeakPUNCTUATION, espeakPUNCT_NONE, 0);
    return true;
}

bool write_flac(const fs::path& path, const std::vector<short>& pcm) {
    SF_INFO info{};
    info.samplerate = kExpectedSampleRate;
    info.channels = 1;
    info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) {
        std::cerr << path << ": " << sf_strerror(nullptr) << "\n";
        return false;
    }
    const auto written = sf_write_short(file, pcm.data(), static_cast<sf_count_t>(pcm.size()));
    const bool ok = written == static_cast<sf_count_t>(pcm.size());
    if (!ok) std::cerr << path << ": " << sf_strerror(file) << "\n";
    return sf_close(file) == 0 && ok;
}

struct Label {
    long start;
    long end;
    std::string phoneme;
    const PhonemeEvent* event;
};

// Mean power of the first difference x[i] - x[i-1] over [from, to): a crude
// high-pass, so that the low-frequency murmur espeak leaves in a stop
// closure counts as silence while fricative noise does not.
double diff_power(const std::vector<short>& pcm, long from, long to) {
    double sum = 0;
    for (long i = std::max(from, 1L); i < to; ++i) {
        const double d = double(pcm[i]) - double(pcm[i - 1]);
        sum += d * d;
    }
    return to > from ? sum / double(to - from) : 0.0;
}

// espeak puts a stop's phoneme event at its release burst and renders the
// closure before it (and a ~10 ms gap before some word-initial consonants) at
// the end of the preceding phoneme, so "until the next event" would give
// e.g. the /s/ of "first" ~20 ms of silence at its end. The end is moved back
// in 1 ms steps while the last 5 ms are more than 15 dB below the span's mean
// (differenced) power; spans that end in noise or voicing are left as they
// are. Onsets need no correction: they match the noise onset within about
// 1 ms (see README.md).
long trim_trailing_silence(const std::vector<short>& pcm, long start, long end) {
    constexpr long kWindow = kExpectedSampleRate / 200;    // 5 ms
    constexpr long kStep = kExpectedSampleRate / 1000;     // 1 ms
    constexpr long kMinLength = kExpectedSampleRate / 50;  // never below 20 ms
    const double threshold = diff_power(pcm, start, end) * std::pow(10.0, -15.0 / 10.0);
    while (end - kStep - start >= kMinLength && diff_power(pcm, end - kWindow, end) < threshold) end -= kStep;
    return end;
}

// A phoneme lasts from its event to the next phoneme event (pauses "_" and
// "_:" are phoneme events too), or to the end of the audio, less any
// trailing silence (see trim_trailing_silence).
std::vector<Label> make_labels(const Capture& cap) {
    std::vector<Label> labels;
    for (std::size_t i = 0; i < cap.events.size(); ++i) {
        const auto it = kSibilants.find(cap.events[i].mnemonic);
        if (it == kSibilants.end()) continue;
        const long start = cap.events[i].sample;
        const long next = i + 1 < cap.events.size() ? cap.events[i + 1].sample : static_cast<long>(cap.pcm.size());
        labels.push_back({start, trim_trailing_silence(cap.pcm, start, next), it->second, &cap.events[i]});
    }
    return labels;
}

std::string format_seconds(long sample) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(sample) / kExpectedSampleRate);
    return buf;
}

bool write_labels(const fs::path& path, const std::vector<Label>& labels) {
    std::ofstream out(path);
    out << "start_s\tend_s\tphoneme\tespeak\tword_index\tword\n";
    for (const auto& l : labels)
        out << format_seconds(l.start) << '\t' << format_seconds(l.end) << '\t' << l.phoneme << '\t'
            << l.event->mnemonic << '\t' << l.event->word_index << '\t' << l.event->word << '\n';
    return static_cast<bool>(out.flush());
}

// Renders one sample and writes its files (or, with dump_events, prints its
// events). Runs in a child process: espeak-ng 1.51 carries synthesis state
// from one espeak_Synth call to the next (the same text rendered twice in one
// process comes out a few samples different), and espeak_Terminate followed
// by espeak_Initialize hung when tried, so a fresh process per sample is the
// simple way to make each file independent of what was rendered before it.
int render_in_child(const SampleSpec& spec, const fs::path& outdir, bool dump_events) {
    if (!init_espeak() || !set_voice(spec)) return 1;

    Capture cap;
    cap.text = spec.text;
    g_capture = &cap;
    const auto size = std::strlen(spec.text) + 1;
    if (espeak_Synth(spec.text, size, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr) != EE_OK ||
        espeak_Synchronize() != EE_OK) {
        std::cerr << spec.name << ": espeak_Synth failed\n";
        return 1;
    }
    g_capture = nullptr;

    if (dump_events) {
        std::cout << "sample\tstart_s\tespeak\tword_index\tword\n";
        for (const auto& e : cap.events)
            std::cout << e.sample << '\t' << format_seconds(e.sample) << '\t' << e.mnemonic << '\t' << e.word_index
                      << '\t' << e.word << '\n';
        std::cout << cap.pcm.size() << '\t' << format_seconds(static_cast<long>(cap.pcm.size())) << "\t(end)\n";
        return 0;
    }

    bool ok = true;
    for (const auto& e : cap.events) {
        // A sibilant-like name we do not map (e.g. a language's "s2") would
        // silently go unlabelled; stop instead.
        const char c = e.mnemonic.empty() ? '\0' : e.mnemonic[0];
        if ((c == 's' || c == 'z' || c == 'S' || c == 'Z') && !kSibilants.count(e.mnemonic)) {
            std::cerr << spec.name << ": unhandled sibilant-like phoneme " << e.mnemonic << "\n";
            ok = false;
        }
        if (e.sample < 0 || e.sample > static_cast<long>(cap.pcm.size())) {
            std::cerr << spec.name << ": phoneme event outside the audio at sample " << e.sample << "\n";
            ok = false;
        }
    }

    const auto labels = make_labels(cap);
    std::map<std::string, int> from_events;
    for (const auto& l : labels) ++from_events[l.phoneme];
    const auto phonemes = transcribe(spec.text);
    const auto from_text = count_sibilants(phonemes);
    if (from_events != from_text) {
        std::cerr << spec.name << ": sibilant events do not match espeak's transcription [" << phonemes << "]\n";
        ok = false;
    }

    ok = ok && write_flac(outdir / (std::string(spec.name) + ".flac"), cap.pcm) &&
         write_labels(outdir / (std::string(spec.name) + ".labels.tsv"), labels);
    if (!ok) return 1;

    std::printf("%-14s %-9s %5.2f s  s=%d z=%d sh=%d zh=%d\n", spec.name, spec.voice,
                static_cast<double>(cap.pcm.size()) / kExpectedSampleRate, from_events["s"], from_events["z"],
                from_events["sh"], from_events["zh"]);
    return 0;
}

bool run_in_child(const SampleSpec& spec, const fs::path& outdir, bool dump_events) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
        std::perror("fork");
        return false;
    }
    if (pid == 0) {
        const int rc = render_in_child(spec, outdir, dump_events);
        std::fflush(nullptr);
        std::cout.flush();
        _exit(rc);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

const SampleSpec* find_sample(std::string_view name) {
    for (const auto& s : kSamples)
        if (name == s.name) return &s;
    std::cerr << "unknown sample " << name << " (try --list)\n";
    return nullptr;
}

// index.tsv: what each sample says and espeak's transcription of it. Made in
// the parent after all children, so it never shares espeak state with them.
bool write_index(const fs::path& outdir) {
    if (!init_espeak()) return false;
    std::ofstream out(outdir / "index.tsv");
    out << "name\tvoice\ttext\tphonemes\n";
    for (const auto& s : kSamples) {
        if (!set_voice(s)) return false;
        out << s.name << '\t' << s.voice << '\t' << s.text << '\t' << transcribe(s.text) << '\n';
    }
    return static_cast<bool>(out.flush());
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.size() == 1 && args[0] == "--list") {
        for (const auto& s : kSamples) std::cout << s.name << '\n';
        return 0;
    }
    if (args.size() == 2 && args[0] == "--events") {
        const auto* spec = find_sample(args[1]);
        return spec && run_in_child(*spec, {}, true) ? 0 : 1;
    }
    if (args.empty() || args[0].starts_with("-")) {
        std::cerr << "usage: sibilant_make_testdata OUTDIR [NAME...] | --events NAME | --list\n";
        return 2;
    }

    const fs::path outdir(args[0]);
    std::error_code ec;
    fs::create_directories(outdir, ec);
    if (ec) {
        std::cerr << outdir << ": " << ec.message() << "\n";
        return 1;
    }
    std::vector<const SampleSpec*> todo;
    if (args.size() == 1) {
        for (const auto& s : kSamples) todo.push_back(&s);
    } else {
        for (std::size_t i = 1; i < args.size(); ++i) {
            const auto* spec = find_sample(args[i]);
            if (!spec) return 1;
            todo.push_back(spec);
        }
    }

    // The audio depends on the espeak-ng version and its data; README.md says
    // which one made the committed files.
    const char* data_path = nullptr;
    std::printf("espeak-ng %s\n", espeak_Info(&data_path));

    bool ok = true;
    for (const auto* spec : todo) ok = run_in_child(*spec, outdir, false) && ok;
    ok = ok && write_index(outdir);
    if (!ok) std::cerr << "sibilant_make_testdata: failed\n";
    return ok ? 0 : 1;
}
