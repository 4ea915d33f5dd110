// The parallel job runner (order, errors, progress, callbacks) and the pair
// lists of batch analysis (CSV and folder matching).
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "sibilant/analyze.hpp"
#include "sibilant/batch.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using test::expect_error;
using test::TempDir;

// Jobs whose durations vary, so that with several threads they finish out of
// order; job i returns "job i", and every seventh throws.
std::vector<BatchJob> uneven_jobs(int count) {
    std::vector<BatchJob> jobs;
    for (int i = 0; i < count; ++i) {
        jobs.emplace_back([i, count] {
            std::this_thread::sleep_for(std::chrono::microseconds((count - i) % 5 * 300));
            if (i % 7 == 3) throw Error("job " + std::to_string(i) + " failed on purpose");
            return "job " + std::to_string(i);
        });
    }
    return jobs;
}

BatchOptions threads(unsigned count) {
    BatchOptions options;
    options.threads = count;
    return options;
}

std::vector<std::string> texts(const std::vector<BatchResult>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) out.push_back(r.ok ? "ok " + r.output : "error " + r.error);
    return out;
}

TEST(Batch, ResultsComeInInputOrderWhateverTheThreadCount) {
    const auto jobs = uneven_jobs(40);
    const auto one = texts(run_batch(jobs, threads(1)));
    ASSERT_EQ(one.size(), 40u);
    EXPECT_EQ(one[0], "ok job 0");
    EXPECT_EQ(one[39], "ok job 39");
    for (unsigned count : {2u, 3u, 8u, 0u}) EXPECT_EQ(texts(run_batch(jobs, threads(count))), one) << count;
}

TEST(Batch, AFailingJobGivesAnErrorRecordAndTheOthersGoOn) {
    const auto results = run_batch(uneven_jobs(20), threads(3));
    ASSERT_EQ(results.size(), 20u);
    for (int i = 0; i < 20; ++i) {
        const auto& r = results[static_cast<std::size_t>(i)];
        if (i % 7 == 3) {
            EXPECT_FALSE(r.ok);
            EXPECT_EQ(r.error, "job " + std::to_string(i) + " failed on purpose");
            EXPECT_TRUE(r.output.empty());
        } else {
            EXPECT_TRUE(r.ok) << r.error;
            EXPECT_EQ(r.output, "job " + std::to_string(i));
        }
    }
}

TEST(Batch, NonStandardExceptionsAreCaptured) {
    std::vector<BatchJob> jobs = {[]() -> std::string { throw 42; },
                                  []() -> std::string { throw std::runtime_error("plain runtime_error"); }};
    const auto results = run_batch(jobs, threads(2));
    EXPECT_EQ(results[0].error, "unknown error");
    EXPECT_EQ(results[1].error, "plain runtime_error");
}

TEST(Batch, ProgressStartsAtZeroAndReachesTotal) {
    std::vector<BatchProgress> seen;
    BatchOptions options;
    options.threads = 4;
    options.on_progress = [&seen](const BatchProgress& p) { seen.push_back(p); };  // never concurrent
    run_batch(uneven_jobs(15), options);
    ASSERT_EQ(seen.size(), 16u);
    EXPECT_EQ(seen.front().done, 0u);
    for (std::size_t k = 0; k < seen.size(); ++k) {
        EXPECT_EQ(seen[k].done, k);
        EXPECT_EQ(seen[k].total, 15u);
        if (k > 0) {
            EXPECT_GE(seen[k].elapsed_s, seen[k - 1].elapsed_s);
        }
    }
    EXPECT_EQ(seen.back().failed, 2u);  // jobs 3 and 10
}

TEST(Batch, ResultsAreHandedOutInOrderAsTheyComplete) {
    std::vector<std::size_t> order;
    std::atomic<int> inside{0};
    bool overlapped = false;
    BatchOptions options;
    options.threads = 4;
    options.on_result = [&](std::size_t i, const BatchResult&) {
        if (inside.fetch_add(1) != 0) overlapped = true;
        order.push_back(i);
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        inside.fetch_sub(1);
    };
    run_batch(uneven_jobs(30), options);
    ASSERT_EQ(order.size(), 30u);
    for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
    EXPECT_FALSE(overlapped) << "callbacks ran concurrently";
}

TEST(Batch, OutputsAreFreedOnceHandedOutWhenNotKept) {
    std::vector<std::string> seen;
    BatchOptions options;
    options.threads = 3;
    options.keep_outputs = false;
    options.on_result = [&](std::size_t, const BatchResult& r) {
        seen.push_back(r.ok ? "ok " + r.output : "error " + r.error);
    };
    const std::vector<BatchResult> results = run_batch(uneven_jobs(30), options);
    EXPECT_EQ(seen, texts(run_batch(uneven_jobs(30), threads(3))));  // on_result saw every output
    ASSERT_EQ(results.size(), 30u);
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_TRUE(results[i].output.empty()) << i;
        EXPECT_EQ(results[i].ok, i % 7 != 3) << i;
        if (!results[i].ok) {
            EXPECT_EQ(results[i].error, "job " + std::to_string(i) + " failed on purpose");
        }
    }
}

TEST(Batch, RunsJobsInParallel) {
    // Four jobs that each wait for all four to have started: they can only
    // finish if four threads run them at once.
    std::atomic<int> started{0};
    std::vector<BatchJob> jobs(4, [&started] {
        started.fetch_add(1);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started.load() < 4) {
            if (std::chrono::steady_clock::now() > deadline) throw Error("jobs did not run in parallel");
            std::this_thread::yield();
        }
        return std::string("ok");
    });
    for (const auto& r : run_batch(jobs, threads(4))) EXPECT_TRUE(r.ok) << r.error;
}

TEST(Batch, ACallbackThatThrowsStopsTheBatchAndIsRethrown) {
    std::atomic<int> ran{0};
    std::vector<BatchJob> jobs(50, [&ran] {
        ran.fetch_add(1);
        return std::string("x");
    });
    BatchOptions options;
    options.threads = 2;
    options.on_result = [](std::size_t i, const BatchResult&) {
        if (i == 2) throw Error("disk full");
    };
    expect_error([&] { run_batch(jobs, options); }, {"disk full"});
    EXPECT_LT(ran.load(), 50);
}

TEST(Batch, ThreadCount) {
    EXPECT_EQ(batch_thread_count(4, 2), 2u);
    EXPECT_EQ(batch_thread_count(2, 100), 2u);
    EXPECT_EQ(batch_thread_count(3, 0), 1u);
    EXPECT_GE(batch_thread_count(0, 1000), 1u);
    EXPECT_TRUE(run_batch({}, {}).empty());
}

// The batch analysis runs whole analyses side by side; the library must allow
// it (FFTW's planner is shared) and give the same answers as one at a time.
TEST(Batch, AnalysesRunSideBySideWithTheSameResults) {
    std::vector<BatchJob> jobs;
    for (int round = 0; round < 3; ++round) {
        for (const char* name : {"demo", "s_clusters", "sh_positions", "z_voiced", "zh_medial"}) {
            const std::string path = (test::testdata_dir() / "speech" / (std::string(name) + ".flac")).string();
            jobs.emplace_back([path] { return to_json(analyze_files(path, path), /*pretty=*/false); });
        }
    }
    const auto serial = texts(run_batch(jobs, threads(1)));
    for (const auto& line : serial) EXPECT_EQ(line.rfind("ok {", 0), 0u) << line;
    EXPECT_EQ(texts(run_batch(jobs, threads(4))), serial);
}

// --- pair lists --------------------------------------------------------------------

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

TEST(PairList, ReadsPairsRelativeToTheCsvFolder) {
    TempDir dir;
    write_text(dir / "list.csv",
               "\xEF\xBB\xBFreference, degraded\r\n"
               "a.wav,out/a_6k.wav\r\n"
               "\r\n"
               "\"with, comma.wav\",/abs/b.wav\n");
    const auto pairs = read_pair_list((dir / "list.csv").string());
    ASSERT_EQ(pairs.size(), 2u);
    EXPECT_EQ(pairs[0].reference, (dir / "a.wav").string());
    EXPECT_EQ(pairs[0].degraded, (dir / "out/a_6k.wav").string());
    EXPECT_EQ(pairs[1].reference, (dir / "with, comma.wav").string());
    EXPECT_EQ(pairs[1].degraded, "/abs/b.wav");
    EXPECT_TRUE(pairs[0].problem.empty());
}

TEST(PairList, ColumnsMayComeInAnyOrderWithOthers) {
    TempDir dir;
    write_text(dir / "list.csv", "label,degraded,reference\nx,d.wav,r.wav\n");
    const auto pairs = read_pair_list((dir / "list.csv").string());
    ASSERT_EQ(pairs.size(), 1u);
    EXPECT_EQ(pairs[0].reference, (dir / "r.wav").string());
    EXPECT_EQ(pairs[0].degraded, (dir / "d.wav").string());
}

TEST(PairList, MalformedListsNameTheFileAndLine) {
    TempDir dir;
    const std::string csv = (dir / "list.csv").string();
    write_text(csv, "ref,deg\na.wav,b.wav\n");
    expect_error([&] { read_pair_list(csv); }, {csv.c_str(), "line 1", "reference,degraded"});
    write_text(csv, "reference,degraded\na.wav,b.wav\n\nc.wav\n");
    expect_error([&] { read_pair_list(csv); }, {csv.c_str(), "line 4", "found 1"});
    write_text(csv, "reference,degraded\n\"a.wav,b.wav\n");
    expect_error([&] { read_pair_list(csv); }, {"line 2", "unterminated quote"});
    write_text(csv, "reference,degraded\na.wav,\n");
    expect_error([&] { read_pair_list(csv); }, {"line 2", "empty degraded path"});
    write_text(csv, "reference,degraded\n");
    expect_error([&] { read_pair_list(csv); }, {csv.c_str(), "no pairs"});
    write_text(csv, "");
    expect_error([&] { read_pair_list(csv); }, {csv.c_str(), "empty"});
    expect_error([&] { read_pair_list((dir / "none.csv").string()); }, {"none.csv", "no such file"});
}

TEST(PairList, MatchesFoldersByFileName) {
    TempDir dir;
    std::filesystem::create_directories(dir / "ref");
    std::filesystem::create_directories(dir / "deg");
    for (const char* name : {"b.wav", "a.flac", "c.wav", "notes.txt", ".hidden.wav"}) write_text(dir / "ref" / name, "");
    for (const char* name : {"a.flac", "b.wav", "extra.wav", "b.packets.jsonl"}) write_text(dir / "deg" / name, "");
    std::filesystem::create_directories(dir / "ref" / "sub.wav");  // a folder, not a file

    const auto matched = match_pairs_by_name((dir / "ref").string(), (dir / "deg").string());
    ASSERT_EQ(matched.pairs.size(), 3u);
    EXPECT_EQ(matched.pairs[0].reference, (dir / "ref" / "a.flac").string());
    EXPECT_EQ(matched.pairs[0].degraded, (dir / "deg" / "a.flac").string());
    EXPECT_TRUE(matched.pairs[0].problem.empty());
    EXPECT_EQ(matched.pairs[1].reference, (dir / "ref" / "b.wav").string());
    EXPECT_EQ(matched.pairs[2].reference, (dir / "ref" / "c.wav").string());
    EXPECT_NE(matched.pairs[2].problem.find((dir / "deg" / "c.wav").string()), std::string::npos);
    EXPECT_NE(matched.pairs[2].problem.find("no such file"), std::string::npos);
    EXPECT_EQ(matched.unmatched_degraded, std::vector<std::string>{(dir / "deg" / "extra.wav").string()});
}

TEST(PairList, FolderErrors) {
    TempDir dir;
    std::filesystem::create_directories(dir / "empty");
    expect_error([&] { match_pairs_by_name((dir / "nope").string(), (dir / "empty").string()); },
                 {"reference folder", "nope", "no such folder"});
    expect_error([&] { match_pairs_by_name((dir / "empty").string(), (dir / "nope").string()); },
                 {"degraded folder", "nope"});
    expect_error([&] { match_pairs_by_name((dir / "empty").string(), (dir / "empty").string()); },
                 {"empty", "no audio files"});
}

TEST(PairList, ErrorRecordIsOneJsonLine) {
    const std::string line = pair_error_json({"r \"1\".wav", "d.wav", ""}, "d.wav: no such file\nreally");
    EXPECT_EQ(line, R"({"reference":"r \"1\".wav","degraded":"d.wav","error":"d.wav: no such file\nreally"})");
}

}  // namespace
}  // namespace sibilant
