// Shards back into one sweep: sibilant merge.
#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

using namespace sweep_internal;

MergeReport merge_sweeps(const std::vector<std::string>& shard_dirs, const std::string& out_dir) {
    if (shard_dirs.empty()) throw Error("merge: no shard folders given");
    std::vector<ordered_json> descriptions;
    for (const std::string& dir : shard_dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) throw Error("shard folder " + dir + ": no such folder");
        const fs::path path = fs::path(dir) / kSweepJson;
        if (!fs::exists(path, ec)) throw Error("shard folder " + dir + ": no sweep.json (not a sweep output)");
        descriptions.push_back(read_sweep_json(path));
    }
    for (std::size_t i = 1; i < descriptions.size(); ++i) {
        const std::string difference = describe_difference(descriptions[i], descriptions[0], "shard");
        if (!difference.empty())
            throw Error(shard_dirs[i] + " and " + shard_dirs[0] + " are not shards of one sweep; they differ in " +
                        difference);
    }
    for (std::size_t i = 0; i < shard_dirs.size(); ++i)
        for (std::size_t k = i + 1; k < shard_dirs.size(); ++k)
            if (fs::equivalent(shard_dirs[i], shard_dirs[k]))
                throw Error("shard folder " + shard_dirs[k] + " is given twice");

    const Plan plan = plan_of(descriptions[0]);
    std::vector<fs::path> sources;
    std::map<std::size_t, LineRef> rows, events;
    std::map<std::size_t, std::size_t> row_owner;  // job -> shard folder index
    for (std::size_t s = 0; s < shard_dirs.size(); ++s) {
        IndexedLines lines;
        index_lines(shard_dirs[s], plan, sources.size(), sources.size() + 1, lines);
        sources.push_back(fs::path(shard_dirs[s]) / kResultsCsv);
        sources.push_back(fs::path(shard_dirs[s]) / kEventsJsonl);
        for (const auto& [job, ref] : lines.rows) {
            if (ref.ok && !lines.events.count(job)) continue;  // not committed: missing below
            const auto [it, fresh] = row_owner.emplace(job, s);
            if (!fresh)
                throw Error("job " + std::to_string(job) + " (" + plan.file_of(job) + ", " + plan.profile_of(job) +
                            ") is in both " + shard_dirs[it->second] + " and " + shard_dirs[s]);
            rows[job] = ref;
            if (ref.ok) events[job] = lines.events.at(job);
        }
    }
    std::vector<std::size_t> missing;
    for (std::size_t job = 0; job < plan.jobs(); ++job)
        if (!rows.count(job)) missing.push_back(job);
    if (!missing.empty()) {
        std::string names;
        for (std::size_t i = 0; i < missing.size() && i < 5; ++i)
            names += (i ? "; " : "") + std::to_string(missing[i]) + " (" + plan.file_of(missing[i]) + ", " +
                     plan.profile_of(missing[i]) + ")";
        if (missing.size() > 5) names += "; ...";
        throw Error(std::to_string(missing.size()) + " of " + std::to_string(plan.jobs()) +
                    " jobs are missing (a shard is absent or did not finish; rerun it): jobs " + names);
    }

    const fs::path out(out_dir);
    const bool created = make_folder(out, "output folder");
    try {
        std::error_code ec;
        if (fs::exists(out / kSweepJson, ec)) throw Error(out_dir + " already holds a sweep.json; use a new --out");
        FolderLock lock(out);
        ordered_json merged = descriptions[0];
        merged["shard"] = nullptr;
        write_sorted(out / kResultsCsv, std::string(kSweepCsvHeader) + "\n", sources, rows);
        write_sorted(out / kEventsJsonl, "", sources, events);
        write_text_file(out / kSweepJson, sweep_json_text(merged));  // last: marks the merge complete
    } catch (...) {
        std::error_code ec;
        if (created) fs::remove_all(out, ec);
        throw;
    }
    MergeReport report;
    report.jobs = rows.size();
    for (const auto& [job, ref] : rows) report.failed += ref.ok ? 0 : 1;
    return report;
}


}  // namespace sibilant
