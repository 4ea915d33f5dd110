#include "sibilant/batch.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/csv.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace fs = std::filesystem;

// --- run_batch ------------------------------------------------------------------

unsigned batch_thread_count(unsigned requested, std::size_t jobs) {
    unsigned threads = requested != 0 ? requested : std::thread::hardware_concurrency();
    threads = std::max(threads, 1u);  // hardware_concurrency() may say 0 (unknown)
    if (jobs < threads) threads = static_cast<unsigned>(std::max<std::size_t>(jobs, 1));
    return threads;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

BatchResult run_one(const BatchJob& job) {
    BatchResult result;
    const auto start = Clock::now();
    try {
        result.output = job();
        result.ok = true;
    } catch (const std::exception& e) {
        result.error = e.what();
    } catch (...) {
        result.error = "unknown error";
    }
    result.seconds = seconds_since(start);
    return result;
}

// Shared state of one run_batch() call. Workers take job indices from `next`;
// everything below `mutex` is touched only with it held.
class BatchRun {
public:
    BatchRun(const std::vector<BatchJob>& jobs, const BatchOptions& options)
        : jobs_(jobs), options_(options), results_(jobs.size()), finished_(jobs.size(), false) {}

    std::vector<BatchResult> run(unsigned threads) {
        progress_.total = jobs_.size();
        if (options_.on_progress) options_.on_progress(progress_);
        if (threads <= 1) {
            work();
        } else {
            std::vector<std::thread> workers;
            workers.reserve(threads);
            for (unsigned t = 0; t < threads; ++t) workers.emplace_back([this] { work(); });
            for (auto& w : workers) w.join();
        }
        if (callback_error_) std::rethrow_exception(callback_error_);
        return std::move(results_);
    }

private:
    void work() {
        while (!stop_.load()) {
            const std::size_t i = next_.fetch_add(1);
            if (i >= jobs_.size()) return;
            // Written without the lock: slot i belongs to this worker until it
            // is marked finished below (under the lock).
            results_[i] = run_one(jobs_[i]);
            finish(i);
        }
    }

    void finish(std::size_t i) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_[i] = true;
        ++progress_.done;
        if (!results_[i].ok) ++progress_.failed;
        progress_.elapsed_s = seconds_since(start_);
        if (callback_error_) return;
        try {
            if (options_.on_progress) options_.on_progress(progress_);
            // Hand out every result whose predecessors are all done, in order.
            while (emitted_ < jobs_.size() && finished_[emitted_]) {
                if (options_.on_result) options_.on_result(emitted_, results_[emitted_]);
                if (!options_.keep_outputs) std::string().swap(results_[emitted_].output);
                ++emitted_;
            }
        } catch (...) {
            callback_error_ = std::current_exception();
            stop_.store(true);
        }
    }

    const std::vector<BatchJob>& jobs_;
    const BatchOptions& options_;
    const Clock::time_point start_ = Clock::now();
    std::atomic<std::size_t> next_{0};
    std::atomic<bool> stop_{false};

    std::mutex mutex_;
    std::vector<BatchResult> results_;
    std::vector<bool> finished_;
    std::size_t emitted_ = 0;
    BatchProgress progress_;
    std::exception_ptr callback_error_;
};

}  // namespace

std::vector<BatchResult> run_batch(const std::vector<BatchJob>& jobs, const BatchOptions& options) {
    BatchRun batch(jobs, options);
    return batch.run(batch_thread_count(options.threads, jobs.size()));
}

// --- pair lists --------------------------------------------------------------------

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string resolve_beside(const fs::path& folder, const std::string& path) {
    const fs::path p(path);
    if (p.is_absolute() || folder.empty()) return path;
    return (folder / p).string();
}

}  // namespace

std::vector<FilePair> read_pair_list(const std::string& csv_path) {
    std::ifstream in = open_csv_file(csv_path);
    const fs::path folder = fs::path(csv_path).parent_path();
    std::vector<FilePair> pairs;
    std::size_t reference_column = 0, degraded_column = 0, needed_columns = 0;
    bool have_header = false;
    CsvRecordReader reader(in);
    std::string line;
    while (reader.next(line)) {
        if (csv_trim(line).empty()) continue;
        const std::string where = csv_path + ": line " + std::to_string(reader.line());
        const std::vector<std::string> fields = split_csv_line(line, where);

        if (!have_header) {
            bool found_reference = false, found_degraded = false;
            for (std::size_t c = 0; c < fields.size(); ++c) {
                const std::string name = lower(csv_trim(fields[c]));
                if (name == "reference" && !found_reference) {
                    reference_column = c;
                    found_reference = true;
                } else if (name == "degraded" && !found_degraded) {
                    degraded_column = c;
                    found_degraded = true;
                }
            }
            if (!found_reference || !found_degraded)
                throw Error(where + ": expected a header naming the columns reference,degraded; found '" + line +
                            "'");
            needed_columns = std::max(reference_column, degraded_column) + 1;
            have_header = true;
            continue;
        }
        if (fields.size() < needed_columns)
            throw Error(where + ": expected " + std::to_string(needed_columns) + " fields (reference,degraded), found " +
                        std::to_string(fields.size()));
        FilePair pair;
        pair.reference = fields[reference_column];
        pair.degraded = fields[degraded_column];
        if (pair.reference.empty()) throw Error(where + ": empty reference path");
        if (pair.degraded.empty()) throw Error(where + ": empty degraded path");
        pair.reference = resolve_beside(folder, pair.reference);
        pair.degraded = resolve_beside(folder, pair.degraded);
        pairs.push_back(std::move(pair));
    }
    if (in.bad()) throw Error(csv_path + ": read error");
    if (!have_header) throw Error(csv_path + ": empty; expected a header line reference,degraded and one line per pair");
    if (pairs.empty()) throw Error(csv_path + ": lists no pairs (only the header)");
    return pairs;
}

bool is_audio_file_name(const std::string& name) {
    static const std::set<std::string> extensions = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif",
                                                     ".aiff", ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64"};
    if (name.empty() || name[0] == '.') return false;
    return extensions.count(lower(fs::path(name).extension().string())) != 0;
}

namespace {

// Audio file names (not paths) directly inside `dir`, sorted.
std::set<std::string> audio_files_in(const std::string& dir, const char* role) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw Error(std::string(role) + " " + dir + ": no such folder");
    if (!fs::is_directory(dir, ec)) throw Error(std::string(role) + " " + dir + ": not a folder");
    std::set<std::string> names;
    fs::directory_iterator it(dir, ec);
    if (ec) throw Error(std::string(role) + " " + dir + ": cannot list: " + ec.message());
    for (const fs::directory_entry& entry : it) {
        const std::string name = entry.path().filename().string();
        if (is_audio_file_name(name) && entry.is_regular_file(ec)) names.insert(name);
    }
    return names;
}

}  // namespace

DirectoryPairs match_pairs_by_name(const std::string& reference_dir, const std::string& degraded_dir) {
    const std::set<std::string> references = audio_files_in(reference_dir, "reference folder");
    const std::set<std::string> degraded = audio_files_in(degraded_dir, "degraded folder");
    if (references.empty()) throw Error("reference folder " + reference_dir + ": no audio files");

    DirectoryPairs result;
    for (const std::string& name : references) {
        FilePair pair;
        pair.reference = (fs::path(reference_dir) / name).string();
        pair.degraded = (fs::path(degraded_dir) / name).string();
        if (degraded.count(name) == 0)
            pair.problem = pair.degraded + ": no such file (no match for " + name + " in the degraded folder)";
        result.pairs.push_back(std::move(pair));
    }
    for (const std::string& name : degraded)
        if (references.count(name) == 0) result.unmatched_degraded.push_back((fs::path(degraded_dir) / name).string());
    return result;
}

std::string pair_error_json(const FilePair& pair, const std::string& message) {
    nlohmann::ordered_json record = {{"reference", pair.reference}, {"degraded", pair.degraded}, {"error", message}};
    // Paths need not be UTF-8; replace bad bytes rather than fail the record.
    return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sibilant
