// The native half of the Python module `sibilant` (python/sibilant/__init__.py
// is the other): numpy arrays in, the library's own JSON out, so that what
// Python sees is exactly what the CLI writes (one formatter, not two).
// The GIL is released around every analysis, simulation and probe push.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsp/sample_check.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/compare.hpp"
#include "sibilant/error.hpp"
#include "sibilant/probe.hpp"
#include "sibilant/resampler.hpp"
#include "sibilant/simulate.hpp"
#include "sibilant/sweep.hpp"
#include "sibilant/version.hpp"

namespace py = pybind11;

namespace {

using sibilant::Error;

// A numpy signal as mono float samples: float32/float64 as they are, int16
// as x / 32768 (as the file reader reads 16-bit audio); 2-D is (frames,
// channels), mixed down by the mean or reduced to `channel`.
struct Mono {
    std::vector<float> samples;
    sibilant::SampleFormat format = sibilant::SampleFormat::Float32;
};

template <typename T>
void to_mono(const py::array& array, int channel, double scale, std::vector<float>& out) {
    const auto a = array.unchecked<T, 2>();
    const py::ssize_t frames = a.shape(0), channels = a.shape(1);
    out.resize(static_cast<std::size_t>(frames));
    for (py::ssize_t i = 0; i < frames; ++i) {
        if (channel >= 0) {
            out[std::size_t(i)] = static_cast<float>(double(a(i, channel)) * scale);
        } else {
            double sum = 0;
            for (py::ssize_t c = 0; c < channels; ++c) sum += double(a(i, c)) * scale;
            out[std::size_t(i)] = static_cast<float>(sum / double(channels));
        }
    }
}

Mono mono_of(const py::array& input, int channel, const std::string& name) {
    py::array array = input;
    if (array.ndim() == 1) array = array.reshape({array.shape(0), py::ssize_t(1)});
    if (array.ndim() != 2)
        throw py::value_error(name + ": expected a 1-D array or a 2-D array of (frames, channels), got " +
                              std::to_string(input.ndim()) + " dimensions");
    if (array.shape(0) == 0 || array.shape(1) == 0) throw py::value_error(name + ": the array holds no samples");
    if (channel < -1 || channel >= array.shape(1))
        throw py::value_error(name + ": channel " + std::to_string(channel) + " does not exist: the array has " +
                              std::to_string(array.shape(1)) + " channel(s) (-1 mixes all)");
    Mono mono;
    if (py::isinstance<py::array_t<float>>(array)) {
        to_mono<float>(array, channel, 1.0, mono.samples);
    } else if (py::isinstance<py::array_t<double>>(array)) {
        to_mono<double>(array, channel, 1.0, mono.samples);
    } else if (py::isinstance<py::array_t<std::int16_t>>(array)) {
        to_mono<std::int16_t>(array, channel, 1.0 / 32768.0, mono.samples);
        mono.format = sibilant::SampleFormat::Pcm16;
    } else {
        throw py::type_error(name + ": samples must be float32, float64 or int16, not " +
                             std::string(py::str(array.dtype())));
    }
    return mono;
}

void check_rate(int rate_hz, const std::string& where) {
    if (rate_hz < sibilant::kMinInputRateHz || rate_hz > sibilant::kMaxInputRateHz)
        throw Error(where + ": rate " + std::to_string(rate_hz) + " Hz is outside " +
                              std::to_string(sibilant::kMinInputRateHz) + ".." +
                              std::to_string(sibilant::kMaxInputRateHz) + " Hz");
}

// Checked at the caller's rate (so a bad sample is named where the caller
// has it), then brought to the analyzer's 48 kHz.
std::vector<float> at_48k(Mono&& mono, int rate_hz, const std::string& name) {
    sibilant::dsp::require_audio(mono.samples, name, rate_hz);
    if (rate_hz == sibilant::kInternalRateHz) return std::move(mono.samples);
    return sibilant::resample(mono.samples, rate_hz, sibilant::kInternalRateHz);
}

sibilant::AnalyzeOptions analyze_options(double lisp_threshold, double smearing_threshold, int channel,
                                         const std::string& alignment) {
    sibilant::AnalyzeOptions options;
    options.lisp_flag_threshold = lisp_threshold;
    options.smearing_flag_threshold = smearing_threshold;
    options.channel = channel;
    if (alignment == "whole-file")
        options.alignment = sibilant::AlignmentMode::WholeFile;
    else if (alignment == "incremental")
        options.alignment = sibilant::AlignmentMode::Incremental;
    else
        throw Error("alignment \"" + alignment + "\" is not one of whole-file, incremental");
    return options;
}

std::string analyze_arrays(const std::optional<py::array>& reference, const py::array& degraded, int rate_hz,
                           double lisp_threshold, double smearing_threshold, int channel,
                           const std::string& alignment) {
    check_rate(rate_hz, "analyze");
    const auto options = analyze_options(lisp_threshold, smearing_threshold, -1, alignment);
    std::vector<float> deg = at_48k(mono_of(degraded, channel, "degraded"), rate_hz, "analyze: degraded");
    if (!reference) {
        py::gil_scoped_release unlocked;
        return sibilant::to_json(sibilant::analyze_no_reference(deg, options));
    }
    std::vector<float> ref = at_48k(mono_of(*reference, channel, "reference"), rate_hz, "analyze: reference");
    py::gil_scoped_release unlocked;
    return sibilant::to_json(sibilant::analyze(ref, deg, options));
}

std::string analyze_paths(const std::optional<std::string>& reference_path, const std::string& degraded_path,
                          double lisp_threshold, double smearing_threshold, int channel,
                          const std::string& alignment) {
    const auto options = analyze_options(lisp_threshold, smearing_threshold, channel, alignment);
    py::gil_scoped_release unlocked;
    if (!reference_path) return sibilant::to_json(sibilant::analyze_file_no_reference(degraded_path, options));
    return sibilant::to_json(sibilant::analyze_files(*reference_path, degraded_path, options));
}

// `profile_json` is one profile of a sweep's profiles file (the same keys and
// checks as `sibilant sweep`), so Python and the profiles file agree.
py::tuple simulate(const py::array& input, int rate_hz, const std::string& profile_json, std::uint64_t seed,
                   int output_rate_hz, int channel) {
    check_rate(rate_hz, "simulate");
    const auto profiles = sibilant::parse_sweep_profiles(R"({"profiles": [)" + profile_json + "]}",
                                                         "simulate()", ".");
    Mono mono = mono_of(input, channel, "input");
    sibilant::SimulateOptions options;
    options.opus = profiles.profiles.front().opus;
    options.loss = profiles.profiles.front().loss;
    options.seed = seed;
    options.output_rate_hz = output_rate_hz;
    std::vector<float> decoded;
    std::string report;
    {
        py::gil_scoped_release unlocked;
        report = sibilant::to_json(sibilant::simulate_samples(mono.samples, rate_hz, mono.format, decoded, options));
    }
    py::array_t<float> out(static_cast<py::ssize_t>(decoded.size()));
    std::copy(decoded.begin(), decoded.end(), out.mutable_data());
    return py::make_tuple(out, report);
}

py::tuple read_audio(const std::string& path, int rate_hz, int channel) {
    sibilant::AudioInfo info;
    std::vector<float> samples;
    {
        py::gil_scoped_release unlocked;
        samples = sibilant::read_audio_file(path, {.channel = channel, .target_rate_hz = rate_hz}, &info);
    }
    py::array_t<float> out(static_cast<py::ssize_t>(samples.size()));
    std::copy(samples.begin(), samples.end(), out.mutable_data());
    return py::make_tuple(out, rate_hz == 0 ? info.sample_rate_hz : rate_hz);
}

py::list read_sweep_results(const std::string& csv_or_folder) {
    const auto rows = sibilant::read_sweep_results(csv_or_folder);
    py::list out;
    for (const auto& r : rows) {
        py::dict d;
        d["job"] = r.job;
        d["file"] = r.file;
        d["profile"] = r.profile;
        d["status"] = r.status;
        d["error"] = r.error;
        d["seed"] = r.seed;
        d["bitrate_bps"] = r.bitrate_bps;
        d["application"] = r.application;
        d["complexity"] = r.complexity;
        d["frame_ms"] = r.frame_ms;
        d["bandwidth"] = r.bandwidth;
        d["max_bandwidth"] = r.max_bandwidth;
        d["rate_control"] = r.rate_control;
        d["signal"] = r.signal;
        d["fec"] = r.fec;
        d["expected_loss_percent"] = r.expected_loss_percent;
        d["dtx"] = r.dtx;
        d["loss"] = r.loss;
        d["loss_percent"] = r.loss_percent;
        d["realised_loss_percent"] = r.realised_loss_percent;
        d["duration_s"] = r.duration_s;
        d["sibilants"] = r.sibilants;
        d["compared"] = r.compared;
        d["flagged"] = r.flagged;
        d["lisp_flagged"] = r.lisp_flagged;
        d["smearing_flagged"] = r.smearing_flagged;
        d["dropouts"] = r.dropouts;
        d["lisp_index"] = r.lisp_index;
        d["smearing_index"] = r.smearing_index;
        d["degraded_bandwidth_hz"] = r.degraded_bandwidth_hz;
        d["verdict"] = r.verdict;
        d["delay_ms"] = r.delay_ms;
        d["gain_db"] = r.gain_db;
        out.append(d);
    }
    return out;
}

// sibilant::Probe for Python: pushes at any rate (resampled to 48 kHz on the
// way in, one converter per stream, so the two streams stay in step), events
// as the CLI's event JSON. Not for a real-time thread: Python allocates.
class PyProbe {
public:
    PyProbe(bool reference, int rate_hz, double lisp_threshold, double smearing_threshold, int event_capacity)
        : rate_hz_(rate_hz) {
        check_rate(rate_hz, "Probe");
        sibilant::ProbeConfig config;
        config.mode = reference ? sibilant::ProbeMode::FullReference : sibilant::ProbeMode::NoReference;
        config.analysis = analyze_options(lisp_threshold, smearing_threshold, -1, "whole-file");
        config.event_capacity = event_capacity;
        config.accept_packets = false;
        probe_.emplace(config);
        if (rate_hz != sibilant::kInternalRateHz) {
            deg_rate_.emplace(rate_hz, sibilant::kInternalRateHz);
            if (reference) ref_rate_.emplace(rate_hz, sibilant::kInternalRateHz);
        }
    }

    void push(const py::array& first, const std::optional<py::array>& second) {
        const bool reference = probe_->config().mode == sibilant::ProbeMode::FullReference;
        if (reference != second.has_value())
            throw py::value_error(reference ? "push: this probe has a reference: push(reference, degraded)"
                                            : "push: this probe has no reference: push(degraded)");
        std::vector<float> deg = converted(mono_of(second ? *second : first, -1, "degraded"), deg_rate_, "degraded");
        std::vector<float> ref;
        if (second) {
            ref = converted(mono_of(first, -1, "reference"), ref_rate_, "reference");
            if (ref.size() != deg.size())
                throw py::value_error("push: reference and degraded chunks have different lengths (" +
                                      std::to_string(ref.size()) + " and " + std::to_string(deg.size()) + ")");
        }
        sibilant::ProbeStatusCode code;
        {
            py::gil_scoped_release unlocked;
            code = second ? probe_->push(std::span<const float>(ref), std::span<const float>(deg))
                          : probe_->push(std::span<const float>(deg));
        }
        if (code != sibilant::ProbeStatusCode::Ok)
            throw Error(std::string("push: ") + sibilant::to_string(code) +
                        (code == sibilant::ProbeStatusCode::Finished ? " (reset() starts a new stream)" : ""));
        pushed_samples_ += static_cast<std::int64_t>(deg.size());
    }

    void finish() {
        // What the converters still hold belongs to the end of the stream.
        std::vector<float> ref_tail, deg_tail;
        if (deg_rate_) deg_rate_->flush(deg_tail);
        if (ref_rate_) ref_rate_->flush(ref_tail);
        py::gil_scoped_release unlocked;
        if (ref_rate_) {
            const std::size_t n = std::min(ref_tail.size(), deg_tail.size());
            probe_->push(std::span<const float>(ref_tail.data(), n), std::span<const float>(deg_tail.data(), n));
        } else if (!deg_tail.empty()) {
            probe_->push(std::span<const float>(deg_tail));
        }
        probe_->finish();
    }

    void reset() {
        probe_->reset();
        if (deg_rate_) deg_rate_.emplace(rate_hz_, sibilant::kInternalRateHz);
        if (ref_rate_) ref_rate_.emplace(rate_hz_, sibilant::kInternalRateHz);
        pushed_samples_ = 0;
    }

    std::vector<std::string> poll() {
        std::vector<std::string> events;
        const bool no_reference = probe_->config().mode == sibilant::ProbeMode::NoReference;
        while (const auto* e = probe_->peek_event()) {
            events.push_back(sibilant::event_to_json(*e, no_reference));
            probe_->drop_event();
        }
        return events;
    }

    py::dict summary() const {
        const auto s = probe_->summary();
        py::dict d;
        d["sibilants"] = s.sibilants;
        d["flagged"] = s.flagged;
        d["lisp_index"] = s.lisp_index;
        d["smearing_index"] = s.smearing_index;
        d["dropouts"] = s.dropouts;
        d["verdict"] = s.verdict;
        d["compared"] = s.compared;
        d["lisp_flagged"] = s.lisp_flagged;
        d["smearing_flagged"] = s.smearing_flagged;
        return d;
    }

    py::dict status() const {
        const auto s = probe_->status();
        py::dict d;
        d["samples"] = s.samples;
        d["analysed_samples"] = s.analysed_samples;
        d["events"] = s.events;
        d["overwritten_events"] = s.overwritten_events;
        d["max_event_latency_s"] = s.max_event_latency_s;
        d["degraded_bandwidth_hz"] = s.degraded_bandwidth_hz;
        d["aligned"] = s.aligned;
        d["delay_ms"] = s.delay_ms;
        d["gain_db"] = s.gain_db;
        d["alignment_status"] = std::string(s.alignment_status);
        d["skipped_samples"] = s.skipped_samples;
        return d;
    }

    bool has_reference() const { return probe_->config().mode == sibilant::ProbeMode::FullReference; }
    int rate_hz() const { return rate_hz_; }

private:
    std::vector<float> converted(Mono&& mono, std::optional<sibilant::Resampler>& to_48k, const std::string& name) {
        sibilant::dsp::require_audio(mono.samples, "push: " + name, rate_hz_);
        if (!to_48k) return std::move(mono.samples);
        std::vector<float> out;
        to_48k->process(mono.samples, out);
        return out;
    }

    int rate_hz_;
    std::optional<sibilant::Probe> probe_;
    std::optional<sibilant::Resampler> ref_rate_, deg_rate_;
    std::int64_t pushed_samples_ = 0;
};

}  // namespace

PYBIND11_MODULE(_sibilant, m) {
    m.doc() = "Native part of sibilant; use the `sibilant` package.";
    static py::exception<Error> error(m, "Error", PyExc_ValueError);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            error(e.what());
        } catch (const sibilant::OutOfMemory& e) {
            PyErr_SetString(PyExc_MemoryError, e.what());
        }
    });
    m.attr("version") = sibilant::version();
    m.attr("scoring_version") = sibilant::kScoringVersion;
    m.attr("internal_rate_hz") = sibilant::kInternalRateHz;
    m.def("analyze_arrays", &analyze_arrays, py::arg("reference"), py::arg("degraded"), py::arg("rate"),
          py::arg("lisp_threshold"), py::arg("smearing_threshold"), py::arg("channel"), py::arg("alignment"));
    m.def("analyze_paths", &analyze_paths, py::arg("reference_path"), py::arg("degraded_path"),
          py::arg("lisp_threshold"), py::arg("smearing_threshold"), py::arg("channel"), py::arg("alignment"));
    m.def("simulate", &simulate, py::arg("x"), py::arg("rate"), py::arg("profile_json"), py::arg("seed"),
          py::arg("output_rate"), py::arg("channel"));
    m.def("read_audio", &read_audio, py::arg("path"), py::arg("rate"), py::arg("channel"));
    m.def("read_sweep_results", &read_sweep_results, py::arg("path"));
    py::class_<PyProbe>(m, "Probe")
        .def(py::init<bool, int, double, double, int>(), py::arg("reference"), py::arg("rate"),
             py::arg("lisp_threshold"), py::arg("smearing_threshold"), py::arg("event_capacity"))
        .def("push", &PyProbe::push, py::arg("first"), py::arg("second") = std::nullopt)
        .def("finish", &PyProbe::finish)
        .def("reset", &PyProbe::reset)
        .def("poll", &PyProbe::poll)
        .def("summary", &PyProbe::summary)
        .def("status", &PyProbe::status)
        .def_property_readonly("has_reference", &PyProbe::has_reference)
        .def_property_readonly("rate", &PyProbe::rate_hz);
}
