// What a sweep runs: the corpus's files, the jobs (file x profile), their
// seeds, shards, and sweep.json, the description a resume or a merge checks.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>

#include "dsp/stable_random.hpp"
#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/batch.hpp"
#include "sibilant/error.hpp"
#include "sibilant/version.hpp"

namespace sibilant {

namespace sweep_internal {

namespace {

std::string shard_text(const std::optional<SweepShard>& shard) {
    return shard ? std::to_string(shard->index) + "/" + std::to_string(shard->count) : "";
}

}  // namespace

ordered_json sweep_json(const std::string& corpus, std::uint64_t seed, const std::vector<std::string>& files,
                        const std::vector<SweepProfile>& profiles, const std::optional<SweepShard>& shard) {
    ordered_json j;
    j["sibilant_version"] = version();
    j["scoring_version"] = kScoringVersion;
    j["corpus"] = corpus;
    j["seed"] = seed;
    j["files"] = files;
    ordered_json list = ordered_json::array();
    for (const SweepProfile& p : profiles) list.push_back(ordered_json{{"name", p.name}, {"settings", settings_json(p)}});
    j["profiles"] = std::move(list);
    j["shard"] = shard ? ordered_json(shard_text(shard)) : ordered_json(nullptr);
    return j;
}

std::string sweep_json_text(const ordered_json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

ordered_json read_sweep_json(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open for reading");
    try {
        ordered_json j = ordered_json::parse(in);
        if (!j.is_object() || !j.contains("files") || !j.contains("profiles") || !j["files"].is_array() ||
            !j["profiles"].is_array())
            throw Error(path.string() + ": not a sweep description (no files or profiles)");
        for (const ordered_json& p : j["profiles"])
            if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
                throw Error(path.string() + ": a profile without a name");
        for (const ordered_json& f : j["files"])
            if (!f.is_string()) throw Error(path.string() + ": a file that is not a string");
        return j;
    } catch (const nlohmann::json::exception& e) {
        throw Error(path.string() + ": not valid JSON: " + e.what());
    }
}

std::string describe_difference(const ordered_json& now, const ordered_json& before, const std::string& skip) {
    std::string text;
    std::set<std::string> keys;
    for (const auto& [key, value] : now.items()) keys.insert(key);
    for (const auto& [key, value] : before.items()) keys.insert(key);
    for (const std::string& key : keys) {
        if (key == skip) continue;
        const ordered_json a = now.contains(key) ? now[key] : ordered_json();
        const ordered_json b = before.contains(key) ? before[key] : ordered_json();
        if (a == b) continue;
        std::string what = key;
        if (a.is_array() && b.is_array()) {
            std::size_t i = 0;
            while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
            what += " (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + "; first difference at #" +
                    std::to_string(i + 1);
            auto item = [](const ordered_json& list, std::size_t k) {
                if (k >= list.size()) return std::string("none");
                const ordered_json& v = list[k];
                return v.is_object() && v.contains("name") ? v["name"].dump() : v.dump();
            };
            what += ": " + item(a, i) + " vs " + item(b, i) + ")";
        } else {
            what += " (" + a.dump() + " vs " + b.dump() + ")";
        }
        text += (text.empty() ? "" : ", ") + what;
    }
    return text;
}

Plan plan_of(const ordered_json& sweep) {
    Plan plan;
    for (const ordered_json& f : sweep["files"]) plan.files.push_back(f.get<std::string>());
    for (const ordered_json& p : sweep["profiles"]) plan.profiles.push_back(p["name"].get<std::string>());
    return plan;
}

bool in_shard(std::size_t job, const std::optional<SweepShard>& shard) {
    return !shard || job % static_cast<std::size_t>(shard->count) == static_cast<std::size_t>(shard->index - 1);
}

}  // namespace sweep_internal

using namespace sweep_internal;

std::uint64_t sweep_job_seed(std::uint64_t base_seed, const std::string& file, const std::string& profile) {
    return splitmix64(splitmix64(base_seed ^ fnv1a64(file)) ^ fnv1a64(profile));
}

SweepShard parse_sweep_shard(const std::string& text) {
    const std::string bad = "shard '" + text + "': expected I/N with 1 <= I <= N (e.g. 2/8)";
    const std::size_t slash = text.find('/');
    if (slash == std::string::npos) throw Error(bad);
    auto number = [&](const std::string& part) {
        int value = 0;
        const auto r = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || r.ec != std::errc() || r.ptr != part.data() + part.size()) throw Error(bad);
        return value;
    };
    SweepShard shard{number(text.substr(0, slash)), number(text.substr(slash + 1))};
    if (shard.count < 1 || shard.index < 1 || shard.index > shard.count) throw Error(bad);
    return shard;
}

std::vector<std::string> list_sweep_corpus(const std::string& corpus_dir) {
    std::error_code ec;
    if (!fs::exists(corpus_dir, ec)) throw Error("corpus " + corpus_dir + ": no such folder");
    if (!fs::is_directory(corpus_dir, ec)) throw Error("corpus " + corpus_dir + ": not a folder");
    std::vector<std::string> files;
    fs::path base = fs::path(corpus_dir).lexically_normal();
    if (!base.has_filename()) base = base.parent_path();  // "corpus/" -> "corpus"
    fs::recursive_directory_iterator it(corpus_dir, ec), end;
    if (ec) throw Error("corpus " + corpus_dir + ": cannot list: " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error("corpus " + corpus_dir + ": cannot list: " + ec.message());
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!is_audio_file_name(name) || !it->is_regular_file(ec)) continue;
        // Lexically, not fs::relative(): that resolves symbolic links, and a
        // corpus of links to files elsewhere must keep the links' names.
        const std::string relative = it->path().lexically_normal().lexically_relative(base).generic_string();
        if (has_control_char(relative))
            throw Error("corpus " + corpus_dir + ": file name with a control character (line break, tab): " +
                        one_line(relative));
        files.push_back(relative);
    }
    if (files.empty()) throw Error("corpus " + corpus_dir + ": no audio files (by extension: .wav .flac .ogg ...)");
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace sibilant
