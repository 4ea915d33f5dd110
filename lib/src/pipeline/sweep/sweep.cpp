// run_sweep: the stages in order (see sweep_internal.hpp for where each is).
#include <chrono>

#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace sweep_internal {

SweepReport run_sweep_with(const SweepProfiles& profiles, const SweepOptions& options, bool share_encodes) {
    const auto wall_start = std::chrono::steady_clock::now();
    if (profiles.profiles.empty()) throw Error(profiles.source + ": no profiles");
    if (options.out_dir.empty()) throw Error("no output folder given");
    const std::vector<std::string> files = list_sweep_corpus(options.corpus_dir);
    const fs::path out_dir(options.out_dir);
    if (is_inside(out_dir, options.corpus_dir))
        throw Error("output folder " + options.out_dir + " is inside the corpus " + options.corpus_dir +
                    ": its files would join the corpus; choose another --out");

    const std::uint64_t base_seed = options.seed.value_or(profiles.seed);
    const std::vector<SweepProfile>& list = profiles.profiles;
    const ordered_json description = sweep_json(options.corpus_dir, base_seed, files, list, options.shard);
    Plan plan;
    plan.files = files;
    for (const SweepProfile& p : list) plan.profiles.push_back(p.name);

    if (options.keep_audio) {
        std::map<std::string, std::size_t> names;
        for (std::size_t job = 0; job < plan.jobs(); ++job) {
            const auto [it, fresh] = names.emplace(audio_name(plan.file_of(job), plan.profile_of(job)), job);
            if (!fresh)
                throw Error("--keep-audio: jobs " + std::to_string(it->second) + " and " + std::to_string(job) +
                            " would both write audio/" + it->first + " (file and profile names too alike)");
        }
    }

    std::unique_ptr<FolderLock> lock;
    const IndexedLines done = open_output(options, description, plan, lock);

    SweepReport report;
    std::vector<std::size_t> todo;
    for (std::size_t job = 0; job < plan.jobs(); ++job) {
        if (!in_shard(job, options.shard)) continue;
        ++report.jobs;
        if (done.rows.count(job)) {
            ++report.skipped;
            continue;
        }
        todo.push_back(job);
    }

    run_jobs(JobsContext{list, files, options, base_seed, share_encodes}, todo, report);

    report.failed = finish_output(out_dir, plan);
    report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return report;
}

}  // namespace sweep_internal

SweepReport run_sweep(const SweepProfiles& profiles, const SweepOptions& options) {
    return sweep_internal::run_sweep_with(profiles, options, true);
}

}  // namespace sibilant
