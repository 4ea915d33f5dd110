// Running the jobs. Each corpus file is read once and shared by its jobs; the
// profiles with the same encoder settings (every OpusSettings field: bitrate,
// FEC, expected loss, DTX ...; they differ only in loss model) share one
// encoding of each file, encode_opus() by the first of their jobs to run and
// decode_opus() per job with that job's loss model and seed, which gives what
// run_opus_channel() gives (tested sample for sample), so the outputs are the
// same bytes. Shared things are freed when their last job of this run is done;
// jobs start file by file (see start_order), so only the files and encodings
// in flight are in memory (an encoding is a few kB per second of audio), plus
// one decoded copy per running job and the text of jobs waiting to be written
// in job order.
#include <algorithm>
#include <ctime>
#include <exception>
#include <mutex>
#include <unordered_map>

#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/batch.hpp"
#include "sibilant/error.hpp"

namespace sibilant::sweep_internal {

namespace {

double thread_cpu_s() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Something several jobs need (a file's audio, an encoding), made by the first
// of them that asks and freed when the last of them is done. A job that asks
// while another makes it waits for it; if making it fails, every job asking
// fails with that message. Only keys that have jobs have a slot.
template <class T>
class SharedOnce {
public:
    explicit SharedOnce(const std::unordered_map<std::size_t, std::size_t>& jobs_per_key) {
        for (const auto& [key, jobs] : jobs_per_key) slots_[key].remaining = jobs;
    }

    // `make` returns the T or throws.
    template <class Make>
    std::shared_ptr<const T> acquire(std::size_t key, Make&& make) {
        Slot& slot = slots_.at(key);
        std::lock_guard<std::mutex> lock(slot.mutex);
        if (!slot.made) {
            slot.made = true;
            try {
                slot.value = std::make_shared<const T>(make());
            } catch (const std::exception& e) {
                slot.error = e.what();
            }
        }
        if (!slot.value) throw Error(slot.error);
        return slot.value;
    }

    // One job of `key` is done (whether or not it acquired it).
    void release(std::size_t key) {
        Slot& slot = slots_.at(key);
        std::lock_guard<std::mutex> lock(slot.mutex);
        if (slot.remaining > 0 && --slot.remaining == 0) slot.value.reset();
    }

private:
    struct Slot {
        std::mutex mutex;
        bool made = false;
        std::shared_ptr<const T> value;
        std::string error;
        std::size_t remaining = 0;
    };
    std::unordered_map<std::size_t, Slot> slots_;  // built up front; only slots change after
};

struct CorpusAudio {
    std::vector<float> samples;  // 48 kHz mono
    AudioInfo info;
};

// What a job hands to the writer (each job owns its slot until it finishes).
struct JobOutput {
    std::string row;     // results.csv, without the line end
    std::string events;  // events.jsonl, without the line end
    double read_cpu_s = 0, simulate_cpu_s = 0, analyze_cpu_s = 0;
    bool finished = false, ok = false;
    std::string error;   // the job's message when !ok
};

// encoder_group[p]: the first profile with the same encoder settings as p.
std::vector<std::size_t> encoder_groups(const std::vector<SweepProfile>& profiles) {
    std::vector<std::size_t> group(profiles.size());
    for (std::size_t p = 0; p < profiles.size(); ++p) {
        group[p] = p;
        for (std::size_t q = 0; q < p; ++q)
            if (profiles[q].opus == profiles[p].opus) {
                group[p] = q;
                break;
            }
    }
    return group;
}

// The order the jobs start in (indices into todo): for each file, the first
// job of each encoding, then the others, each part in job order. So the jobs
// of one encoding rarely start side by side (one would wait for the other's
// encoding) however the profiles are laid out, e.g. a grid with the loss
// key last. Without sharing: job order.
std::vector<std::size_t> start_order(const std::vector<std::size_t>& todo, std::size_t n_profiles,
                                     const std::vector<std::size_t>& group, bool share_encodes) {
    std::vector<std::size_t> order;
    order.reserve(todo.size());
    std::vector<std::size_t> later;
    std::vector<bool> started(n_profiles);
    for (std::size_t begin = 0; begin < todo.size();) {
        const std::size_t f = todo[begin] / n_profiles;
        std::fill(started.begin(), started.end(), false);
        later.clear();
        std::size_t end = begin;
        for (; end < todo.size() && todo[end] / n_profiles == f; ++end) {
            const std::size_t g = group[todo[end] % n_profiles];
            if (!share_encodes || !started[g]) order.push_back(end);
            else later.push_back(end);
            started[g] = true;
        }
        order.insert(order.end(), later.begin(), later.end());
        begin = end;
    }
    return order;
}

}  // namespace

void run_jobs(const JobsContext& context, const std::vector<std::size_t>& todo, SweepReport& report) {
    const std::vector<SweepProfile>& list = context.profiles;
    const std::vector<std::string>& files = context.files;
    const SweepOptions& options = context.options;
    const fs::path out_dir(options.out_dir);
    const fs::path corpus(options.corpus_dir);
    const std::size_t n_profiles = list.size();
    const std::vector<std::size_t> group = encoder_groups(list);
    // Keys: a file's index for its audio; file x n_profiles + the group's first
    // profile for an encoding. Only this run's jobs count (done ones, other
    // shards' ones and a group's finished jobs need no encoding).
    std::unordered_map<std::size_t, std::size_t> jobs_per_file, jobs_per_encoding;
    for (const std::size_t job : todo) {
        ++jobs_per_file[job / n_profiles];
        if (context.share_encodes) ++jobs_per_encoding[job / n_profiles * n_profiles + group[job % n_profiles]];
    }
    SharedOnce<CorpusAudio> audio_cache(jobs_per_file);
    SharedOnce<OpusPackets> encodings(jobs_per_encoding);

    const std::vector<std::size_t> order = start_order(todo, n_profiles, group, context.share_encodes);
    std::vector<JobOutput> outputs(todo.size());
    std::vector<BatchJob> jobs;
    jobs.reserve(todo.size());
    for (const std::size_t i : order) {
        jobs.emplace_back([&, i]() -> std::string {
            const std::size_t job = todo[i];
            const std::size_t f = job / n_profiles;
            const SweepProfile& profile = list[job % n_profiles];
            const std::size_t encoding = f * n_profiles + group[job % n_profiles];
            const std::string& file = files[f];
            JobOutput& out = outputs[i];
            struct Release {
                const JobsContext& context;
                SharedOnce<CorpusAudio>& audio;
                SharedOnce<OpusPackets>& encodings;
                std::size_t f, encoding;
                ~Release() {
                    if (context.share_encodes) encodings.release(encoding);
                    audio.release(f);
                }
            } release{context, audio_cache, encodings, f, encoding};
            const std::shared_ptr<const CorpusAudio> audio = audio_cache.acquire(f, [&] {
                const double start = thread_cpu_s();
                CorpusAudio read;
                struct Count {  // also when reading fails
                    double start;
                    double& into;
                    ~Count() { into = thread_cpu_s() - start; }
                } count{start, out.read_cpu_s};
                read.samples = read_audio_file((corpus / file).string(), ReadOptions{}, &read.info);
                return read;
            });

            const std::uint64_t seed = sweep_job_seed(context.base_seed, file, profile.name);
            OpusSettings opus = profile.opus;
            // As simulate_file: the opus_demo path for 16-bit sources.
            opus.input_depth_bits = audio->info.sample_format == SampleFormat::Pcm16 ? 16 : 24;
            const double t0 = thread_cpu_s();
            ChannelStats channel;
            std::vector<float> decoded;
            if (context.share_encodes) {
                const std::shared_ptr<const OpusPackets> packets =
                    encodings.acquire(encoding, [&] { return encode_opus(audio->samples, opus); });
                decoded = decode_opus(*packets, profile.loss, seed, &channel);
            } else {
                decoded = run_opus_channel(audio->samples, opus, profile.loss, seed, &channel);
            }
            const double t1 = thread_cpu_s();
            out.simulate_cpu_s = t1 - t0;
            if (options.keep_audio)
                write_audio_file((out_dir / "audio" / audio_name(file, profile.name)).string(), decoded,
                                 kInternalRateHz, audio->info.sample_format);
            const double t2 = thread_cpu_s();
            AnalysisResult result = analyze(audio->samples, decoded);
            out.analyze_cpu_s = thread_cpu_s() - t2;
            result.reference = file;
            result.degraded.clear();

            out.row = ok_row(job, file, profile, seed, channel, audio->info, result);
            out.events = events_line(job, file, profile, seed, result);
            return {};
        });
    }

    AppendFile events(out_dir / kEventsJsonl);
    AppendFile rows(out_dir / kResultsCsv);
    BatchOptions batch;
    batch.threads = options.threads;
    batch.on_progress = options.on_progress;
    // Rows go out in job order: a job that finished before an earlier one
    // (which started later) waits in `outputs`.
    std::size_t next_to_write = 0;
    batch.on_result = [&](std::size_t task, const BatchResult& r) {
        JobOutput& finished = outputs[order[task]];
        finished.finished = true;
        finished.ok = r.ok;
        finished.error = r.error;
        for (; next_to_write < todo.size() && outputs[next_to_write].finished; ++next_to_write) {
            const std::size_t job = todo[next_to_write];
            const std::string& file = files[job / n_profiles];
            const SweepProfile& profile = list[job % n_profiles];
            JobOutput& out = outputs[next_to_write];
            report.read_cpu_s += out.read_cpu_s;
            report.simulate_cpu_s += out.simulate_cpu_s;
            report.analyze_cpu_s += out.analyze_cpu_s;
            if (out.ok) {
                events.write_line(out.events);  // first: the row below marks the job done
                rows.write_line(out.row);
            } else {
                rows.write_line(
                    error_row(job, file, profile, sweep_job_seed(context.base_seed, file, profile.name), out.error));
            }
            const SweepJobDone done{job, file, profile.name, out.ok, out.ok ? "" : out.error};
            out = JobOutput{};  // free the text
            out.finished = true;
            if (options.on_job) options.on_job(done);
        }
    };
    run_batch(jobs, batch);
}

}  // namespace sibilant::sweep_internal
