// Sweeps: profiles files and grids, seeds, and the output contract under
// parallelism, interruption (resume) and sharding (merge).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/sweep.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::TempDir;

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The three output files of a sweep folder are byte for byte those of `expected`.
void expect_same_output(const fs::path& actual, const fs::path& expected) {
    for (const char* name : {"sweep.json", "results.csv", "events.jsonl"})
        EXPECT_EQ(read_text(actual / name), read_text(expected / name)) << name << " of " << actual;
}

// --- profiles ----------------------------------------------------------------

TEST(SweepProfiles, GridsExpandInKeyOrderLastKeyFastest) {
    const SweepProfiles p = parse_sweep_profiles(R"({
        "seed": 5,
        "profiles": [{"name": "plain", "bitrate_bps": 16000, "fec": true, "expected_loss_percent": 5,
                      "loss": "bernoulli:0.05", "frame_ms": 10, "bandwidth": "wb", "rate_control": "cbr"}],
        "grids": [{"name": "ladder", "base": {"complexity": 5, "application": "audio"},
                   "vary": {"loss": ["none", "bernoulli:0.050"], "bitrate_bps": [6000, 12000, 24000]}}]
    })", "test.json");
    EXPECT_EQ(p.seed, 5u);
    ASSERT_EQ(p.profiles.size(), 7u);
    EXPECT_EQ(p.profiles[0].name, "plain");
    EXPECT_EQ(p.profiles[0].opus.bitrate_bps, 16000);
    EXPECT_TRUE(p.profiles[0].opus.inband_fec);
    EXPECT_EQ(p.profiles[0].opus.expected_loss_pct, 5);
    EXPECT_EQ(p.profiles[0].opus.frame_ms, 10.0);
    EXPECT_EQ(p.profiles[0].opus.forced_bandwidth, Bandwidth::Wideband);
    EXPECT_EQ(p.profiles[0].opus.rate_control, RateControl::Cbr);
    EXPECT_EQ(p.profiles[0].loss.kind, LossKind::Bernoulli);
    const std::vector<std::string> names = {
        "ladder/loss=none,bitrate_bps=6000",           "ladder/loss=none,bitrate_bps=12000",
        "ladder/loss=none,bitrate_bps=24000",          "ladder/loss=bernoulli:0.05,bitrate_bps=6000",
        "ladder/loss=bernoulli:0.05,bitrate_bps=12000", "ladder/loss=bernoulli:0.05,bitrate_bps=24000"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        const SweepProfile& g = p.profiles[i + 1];
        EXPECT_EQ(g.name, names[i]);
        EXPECT_EQ(g.opus.complexity, 5);  // from base
        EXPECT_EQ(g.opus.application, Application::Audio);
        const int bitrates_bps[] = {6000, 12000, 24000};
        EXPECT_EQ(g.opus.bitrate_bps, bitrates_bps[i % 3]);
        EXPECT_EQ(g.loss_spec, i < 3 ? "none" : "bernoulli:0.05");
        EXPECT_FALSE(g.opus.inband_fec);  // simulate's defaults elsewhere
        EXPECT_EQ(g.opus.max_bandwidth, Bandwidth::Fullband);
    }
}

TEST(SweepProfiles, ProfilesAndGridsKeepTheFileOrder) {
    const SweepProfiles p = parse_sweep_profiles(
        R"({"grids": [{"name": "g", "vary": {"fec": [false, true]}}], "profiles": [{"name": "p"}]})", "t.json");
    ASSERT_EQ(p.profiles.size(), 3u);
    EXPECT_EQ(p.profiles[0].name, "g/fec=false");
    EXPECT_EQ(p.profiles[1].name, "g/fec=true");
    EXPECT_EQ(p.profiles[2].name, "p");
    EXPECT_EQ(p.seed, 1u);
}

TEST(SweepProfiles, ErrorsNameTheFileTheProfileAndTheKey) {
    auto parse = [](const std::string& text) { return parse_sweep_profiles(text, "prof.json"); };
    expect_error([&] { parse("{not json"); }, {"prof.json", "not valid JSON"});
    expect_error([&] { parse("[]"); }, {"prof.json", "expected a JSON object"});
    expect_error([&] { parse(R"({"profiles": []})"); }, {"prof.json", "no profiles"});
    expect_error([&] { parse(R"({"profile": []})"); }, {"prof.json", "unknown key 'profile'"});
    expect_error([&] { parse(R"({"seed": -1, "profiles": [{"name": "a"}]})"); }, {"prof.json", "'seed'"});
    expect_error([&] { parse(R"({"profiles": [{"bitrate_bps": 6000}]})"); }, {"prof.json", "profile 1", "name"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "bitrate": 6000}]})"); },
                 {"prof.json", "profile 'a'", "key 'bitrate'", "unknown key"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "bitrate_bps": 5000}]})"); },
                 {"prof.json", "profile 'a'", "key 'bitrate_bps'", "5000", "6000"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "bitrate_bps": "16k"}]})"); },
                 {"profile 'a'", "key 'bitrate_bps'", "expected an integer"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "fec": 1}]})"); },
                 {"profile 'a'", "key 'fec'", "true or false"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "frame_ms": 15}]})"); }, {"profile 'a'", "key 'frame_ms'"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "application": "phone"}]})"); },
                 {"profile 'a'", "key 'application'", "phone"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "rate_control": "abr"}]})"); },
                 {"profile 'a'", "key 'rate_control'", "abr"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a", "loss": "bernoulli:2"}]})"); },
                 {"profile 'a'", "key 'loss'", "outside 0..1"});
    expect_error([&] { parse(R"({"profiles": [{"name": "a"}, {"name": "a"}]})"); }, {"profile 'a'", "duplicate"});
    expect_error([&] { parse(R"({"profiles": [{"name": ""}]})"); }, {"empty name"});
    expect_error([&] { parse(R"({"grids": [{"name": "g", "vary": {}}]})"); }, {"grid 'g'", "'vary'"});
    expect_error([&] { parse(R"({"grids": [{"name": "g", "vary": {"fec": []}}]})"); }, {"grid 'g'", "vary.fec"});
    expect_error([&] { parse(R"({"grids": [{"name": "g", "vary": {"speed": [1]}}]})"); },
                 {"grid 'g'", "vary.speed", "unknown setting"});
    expect_error([&] { parse(R"({"grids": [{"name": "g", "vary": {"bitrate_bps": [6000, 1]}}]})"); },
                 {"grid 'g'", "vary.bitrate_bps", "value 1"});
    expect_error([&] { parse(R"({"grids": [{"name": "g", "base": {"fec": true}, "vary": {"fec": [false]}}]})"); },
                 {"grid 'g'", "also set in base"});
    expect_error([&] { parse(R"({"grids": [{"name": "g", "vary": {"fec": [true]}, "size": 2}]})"); },
                 {"grid 'g'", "key 'size'"});
    expect_error(
        [&] { parse(R"({"profiles": [{"name": "g/fec=true"}], "grids": [{"name": "g", "vary": {"fec": [true]}}]})"); },
        {"'g/fec=true'", "duplicate"});
}

TEST(SweepProfiles, TracesAreFoundBesideTheProfilesFile) {
    TempDir dir;
    write_text(dir / "loss.txt", "0 1 0 0\n");
    write_text(dir / "p.json", R"({"profiles": [{"name": "t", "loss": "trace:loss.txt"}]})");
    const SweepProfiles p = read_sweep_profiles((dir / "p.json").string());
    EXPECT_EQ(p.profiles[0].loss_spec, "trace:loss.txt");  // as written, not the resolved path
    EXPECT_EQ(p.profiles[0].loss.trace.size(), 4u);
    EXPECT_DOUBLE_EQ(nominal_loss_percent(p.profiles[0].loss), 25.0);
    expect_error([&] { read_sweep_profiles((dir / "missing.json").string()); }, {"missing.json", "no such file"});
}

TEST(SweepProfiles, NominalLossPercent) {
    EXPECT_DOUBLE_EQ(nominal_loss_percent(parse_loss_spec("none")), 0.0);
    EXPECT_DOUBLE_EQ(nominal_loss_percent(parse_loss_spec("bernoulli:0.05")), 5.0);
    // Gilbert-Elliott: in the bad state 0.1 / (0.1 + 0.4) = 20% of the time.
    EXPECT_NEAR(nominal_loss_percent(parse_loss_spec("ge:0.1,0.4")), 20.0, 1e-12);
    EXPECT_NEAR(nominal_loss_percent(parse_loss_spec("ge:0.1,0.4,0.01,0.5")), 0.8 * 1 + 0.2 * 50, 1e-12);
}

TEST(SweepSeeds, DependOnlyOnTheBaseSeedTheFileAndTheProfile) {
    const std::uint64_t s = sweep_job_seed(1, "a.wav", "24k");
    EXPECT_EQ(s, sweep_job_seed(1, "a.wav", "24k"));
    EXPECT_NE(s, sweep_job_seed(2, "a.wav", "24k"));
    EXPECT_NE(s, sweep_job_seed(1, "b.wav", "24k"));
    EXPECT_NE(s, sweep_job_seed(1, "a.wav", "16k"));
    // Pinned (checked by hand against the documented formula): changing it
    // would change every lossy result.
    EXPECT_EQ(s, 0xE1C1D9442CAA2F15ULL) << std::hex << s;
}

TEST(SweepShard, ParsesIOverN) {
    const SweepShard s = parse_sweep_shard("2/8");
    EXPECT_EQ(s.index, 2);
    EXPECT_EQ(s.count, 8);
    for (const char* bad : {"0/3", "4/3", "1/0", "1", "a/b", "1/3x", "-1/3", ""})
        expect_error([&] { parse_sweep_shard(bad); }, {"shard", "I/N"});
}

// --- running -------------------------------------------------------------------

// A tiny corpus: two test recordings (one in a subfolder), a text file named
// .wav and a recording too short to analyse; three cheap profiles.
class SweepRun : public ::testing::Test {
protected:
    void SetUp() override {
        corpus_ = dir_ / "corpus";
        fs::create_directories(corpus_ / "sub");
        fs::copy_file(test::testdata_dir() / "speech" / "s_clusters.flac", corpus_ / "s_clusters.flac");
        fs::copy_file(test::testdata_dir() / "speech" / "sh_positions.flac", corpus_ / "sub" / "sh.flac");
        write_text(corpus_ / "broken.wav", "not audio");
        write_text(corpus_ / "notes.txt", "ignored: not audio by extension");
        write_text(corpus_ / ".hidden.wav", "ignored: hidden");
        const std::vector<float> blip = test::sine(1000, 0.02, 48000);
        write_audio_file((corpus_ / "short.wav").string(), blip, 48000, SampleFormat::Pcm16);
        profiles_ = parse_sweep_profiles(R"({"seed": 3,
            "profiles": [{"name": "6k", "bitrate_bps": 6000, "complexity": 2}],
            "grids": [{"name": "g", "base": {"complexity": 2},
                       "vary": {"bitrate_bps": [24000], "loss": ["none", "bernoulli:0.1"]}}]})",
                                         "test");
    }

    SweepOptions options(const std::string& out, unsigned threads = 2) const {
        SweepOptions o;
        o.corpus_dir = corpus_.string();
        o.out_dir = (dir_ / out).string();
        o.threads = threads;
        return o;
    }

    TempDir dir_;
    fs::path corpus_;
    SweepProfiles profiles_;
};

TEST_F(SweepRun, ListsTheCorpusSortedAndRecursively) {
    const std::vector<std::string> files = list_sweep_corpus(corpus_.string());
    EXPECT_EQ(files, (std::vector<std::string>{"broken.wav", "s_clusters.flac", "short.wav", "sub/sh.flac"}));
    expect_error([&] { list_sweep_corpus((dir_ / "nothing").string()); }, {"nothing", "no such folder"});
    fs::create_directories(dir_ / "empty");
    write_text(dir_ / "empty" / "readme.txt", "x");
    expect_error([&] { list_sweep_corpus((dir_ / "empty").string()); }, {"empty", "no audio files"});
}

TEST_F(SweepRun, WritesTheContractAndRecordsFailuresAsErrorRows) {
    const SweepReport report = run_sweep(profiles_, options("out"));
    EXPECT_EQ(report.jobs, 12u);
    EXPECT_EQ(report.skipped, 0u);
    EXPECT_EQ(report.failed, 6u);  // broken.wav and short.wav, three profiles each
    EXPECT_GT(report.simulate_cpu_s, 0.0);
    EXPECT_GT(report.analyze_cpu_s, 0.0);

    const std::vector<std::string> rows = lines_of(read_text(dir_ / "out" / "results.csv"));
    ASSERT_EQ(rows.size(), 13u);
    EXPECT_EQ(rows[0], kSweepCsvHeader);
    int ok = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const std::string& row = rows[i];
        EXPECT_EQ(row.rfind(std::to_string(i - 1) + ",", 0), 0u) << row;  // job order
        const bool failed = row.find(",error,") != std::string::npos;
        ok += failed ? 0 : 1;
        if (row.find("broken.wav") != std::string::npos) {
            EXPECT_TRUE(failed) << row;
            EXPECT_NE(row.find("broken.wav: not a recognised audio file"), std::string::npos) << row;
        }
        if (row.find("short.wav") != std::string::npos) {
            EXPECT_TRUE(failed) << row;
        }
        if (failed) {
            EXPECT_EQ(row.substr(row.size() - 14), std::string(14, ',')) << row;  // measured columns empty
        }
    }
    EXPECT_EQ(ok, 6);
    // Job 3 is s_clusters.flac x 6k; grid names are quoted (they hold commas).
    EXPECT_EQ(rows[4].rfind("3,s_clusters.flac,6k,ok,,", 0), 0u) << rows[4];
    EXPECT_NE(rows[5].find(",\"g/bitrate_bps=24000,loss=none\",ok,"), std::string::npos) << rows[5];
    EXPECT_NE(rows[6].find(",bernoulli:0.1,10.00,"), std::string::npos) << rows[6];

    const std::vector<std::string> events = lines_of(read_text(dir_ / "out" / "events.jsonl"));
    ASSERT_EQ(events.size(), 6u);
    EXPECT_EQ(events[0].rfind("{\"job\":3,\"file\":\"s_clusters.flac\",\"profile\":\"6k\",\"seed\":" +
                                  std::to_string(sweep_job_seed(3, "s_clusters.flac", "6k")) + ",\"result\":{",
                              0),
              0u)
        << events[0].substr(0, 200);
    EXPECT_NE(events[0].find("\"reference\":\"s_clusters.flac\""), std::string::npos);

    const std::string sweep = read_text(dir_ / "out" / "sweep.json");
    for (const char* key : {"\"sibilant_version\"", "\"scoring_version\": 2", "\"seed\": 3", "\"sub/sh.flac\"",
                            "\"g/bitrate_bps=24000,loss=bernoulli:0.1\"", "\"shard\": null", "\"frame_ms\": 20.0"})
        EXPECT_NE(sweep.find(key), std::string::npos) << key;
}

TEST_F(SweepRun, OutputDoesNotDependOnTheThreadCount) {
    run_sweep(profiles_, options("j1", 1));
    run_sweep(profiles_, options("j3", 3));
    expect_same_output(dir_ / "j3", dir_ / "j1");
}

TEST_F(SweepRun, AnInterruptedSweepResumesToTheSameBytes) {
    run_sweep(profiles_, options("clean"));

    // Stop after 5 jobs (the callback throws, as a crash would stop it).
    SweepOptions stopping = options("resumed");
    int seen = 0;
    stopping.on_job = [&](const SweepJobDone&) {
        if (++seen == 5) throw std::runtime_error("stop");
    };
    EXPECT_THROW(run_sweep(profiles_, stopping), std::runtime_error);
    const fs::path out = dir_ / "resumed";
    EXPECT_EQ(lines_of(read_text(out / "results.csv")).size(), 6u);  // header + 5 rows
    // A crash mid-write: an events line without its row, then half a row.
    {
        std::ofstream events(out / "events.jsonl", std::ios::app | std::ios::binary);
        events << "{\"job\":7,\"file\":\"s_clusters.flac\",\"profile\":\"6k\",\"seed\":1,\"result\":{}}\n{\"job\":8,";
        std::ofstream rows(out / "results.csv", std::ios::app | std::ios::binary);
        rows << "7,s_clusters.flac,6k,ok,,12";
    }

    SweepReport resumed = run_sweep(profiles_, options("resumed"));
    EXPECT_EQ(resumed.jobs, 12u);
    EXPECT_EQ(resumed.skipped, 2u);  // the ok jobs among the first 5 (error rows run again)
    expect_same_output(out, dir_ / "clean");

    // Once finished, a rerun runs only the failed jobs again and changes nothing.
    resumed = run_sweep(profiles_, options("resumed"));
    EXPECT_EQ(resumed.skipped, 6u);
    expect_same_output(out, dir_ / "clean");
}

TEST_F(SweepRun, ResumingRefusesAnotherSweep) {
    SweepOptions o = options("out", 1);
    o.on_job = [](const SweepJobDone&) { throw std::runtime_error("stop"); };
    EXPECT_THROW(run_sweep(profiles_, o), std::runtime_error);
    const std::string before = read_text(dir_ / "out" / "results.csv");

    SweepOptions other_seed = options("out");
    other_seed.seed = 4;
    expect_error([&] { run_sweep(profiles_, other_seed); }, {"holds another sweep", "seed (4 vs 3)", "new --out"});
    SweepProfiles fewer = profiles_;
    fewer.profiles.pop_back();
    expect_error([&] { run_sweep(fewer, options("out")); }, {"profiles (2 vs 3"});
    SweepOptions sharded = options("out");
    sharded.shard = SweepShard{1, 2};
    expect_error([&] { run_sweep(profiles_, sharded); }, {"shard (\"1/2\" vs null)"});
    EXPECT_EQ(read_text(dir_ / "out" / "results.csv"), before);  // untouched
}

TEST_F(SweepRun, ShardsMergeToTheUnshardedRun) {
    run_sweep(profiles_, options("whole"));
    std::vector<std::string> shards;
    for (int i = 1; i <= 3; ++i) {
        SweepOptions o = options("shard-" + std::to_string(i));
        o.shard = SweepShard{i, 3};
        const SweepReport r = run_sweep(profiles_, o);
        EXPECT_EQ(r.jobs, 4u);
        shards.push_back(o.out_dir);
        EXPECT_NE(read_text(o.out_dir + "/sweep.json").find("\"shard\": \"" + std::to_string(i) + "/3\""),
                  std::string::npos);
    }
    const MergeReport merged = merge_sweeps(shards, (dir_ / "merged").string());
    EXPECT_EQ(merged.jobs, 12u);
    EXPECT_EQ(merged.failed, 6u);
    expect_same_output(dir_ / "merged", dir_ / "whole");

    // Missing, duplicated and foreign shards are refused, writing nothing.
    expect_error([&] { merge_sweeps({shards[0], shards[2]}, (dir_ / "m2").string()); },
                 {"4 of 12 jobs are missing", "jobs 1 (broken.wav, g/bitrate_bps=24000,loss=none)"});
    EXPECT_FALSE(fs::exists(dir_ / "m2"));
    expect_error([&] { merge_sweeps({shards[0], shards[1], shards[2], (dir_ / "whole").string()}, (dir_ / "m3").string()); },
                 {"job 0 (broken.wav, 6k) is in both", "shard-1", "whole"});
    SweepOptions other = options("other");
    other.seed = 9;
    other.shard = SweepShard{2, 3};
    run_sweep(profiles_, other);
    expect_error([&] { merge_sweeps({shards[0], other.out_dir, shards[2]}, (dir_ / "m4").string()); },
                 {"not shards of one sweep", "seed (9 vs 3)"});
    expect_error([&] { merge_sweeps(shards, (dir_ / "merged").string()); }, {"already holds a sweep.json"});
    EXPECT_FALSE(fs::exists(dir_ / "m3"));
    EXPECT_FALSE(fs::exists(dir_ / "m4"));
}

TEST_F(SweepRun, KeepAudioWritesTheDecodedSignals) {
    SweepOptions o = options("kept");
    o.keep_audio = true;
    run_sweep(profiles_, o);
    const fs::path audio = dir_ / "kept" / "audio";
    const AudioInfo info = probe_audio_file((audio / "sub_sh__g_bitrate_bps=24000_loss=bernoulli_0.1.wav").string());
    EXPECT_EQ(info.sample_rate_hz, 48000);
    EXPECT_TRUE(fs::exists(audio / "s_clusters__6k.wav"));
    EXPECT_FALSE(fs::exists(audio / "broken__6k.wav"));
    // The results do not depend on keeping audio.
    run_sweep(profiles_, options("plain"));
    expect_same_output(dir_ / "kept", dir_ / "plain");
}

// Profiles that differ only in loss model share one encoding per file; the
// outputs (and kept audio) are the bytes of the same sweep with every job
// encoding for itself, as before the sharing. Grid "g" puts the profiles of
// one encoding side by side (FEC, DTX, four loss models), so with 3 threads
// they run at the same time; "fec-dtx" shares with profiles far from it.
TEST_F(SweepRun, SharedEncodingsGiveTheBytesOfUnsharedRuns) {
    write_text(dir_ / "loss.txt", "0 0 1 1 0 1 0 0 0 0\n");
    const SweepProfiles profiles = parse_sweep_profiles(R"({"seed": 11,
        "profiles": [{"name": "fec-dtx", "bitrate_bps": 24000, "complexity": 2, "fec": true,
                      "expected_loss_percent": 10, "dtx": true, "loss": "ge:0.05,0.3"}],
        "grids": [{"name": "g", "base": {"complexity": 2, "fec": true, "expected_loss_percent": 10, "dtx": true},
                   "vary": {"bitrate_bps": [12000, 24000],
                            "loss": ["none", "bernoulli:0.1", "ge:0.05,0.3", "trace:loss.txt"]}},
                  {"name": "h", "base": {"complexity": 2, "frame_ms": 10}, "vary": {"loss": ["none", "bernoulli:0.2"]}}]})",
                                                        "test", dir_.path().string());
    ASSERT_EQ(profiles.profiles.size(), 11u);
    SweepOptions shared = options("shared", 3);
    shared.keep_audio = true;
    std::vector<std::size_t> heard;  // jobs of one encoding start apart, but are written in job order
    shared.on_job = [&](const SweepJobDone& done) { heard.push_back(done.job); };
    const SweepReport report = run_sweep(profiles, shared);
    ASSERT_EQ(heard.size(), 44u);
    for (std::size_t k = 0; k < heard.size(); ++k) EXPECT_EQ(heard[k], k);
    EXPECT_EQ(report.jobs, 44u);
    EXPECT_EQ(report.failed, 22u);  // broken.wav and short.wav
    SweepOptions unshared = options("unshared", 1);
    unshared.keep_audio = true;
    sweep_internal::run_sweep_with(profiles, unshared, false);
    expect_same_output(dir_ / "shared", dir_ / "unshared");
    std::size_t kept = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "unshared" / "audio")) {
        EXPECT_EQ(read_text(dir_ / "shared" / "audio" / entry.path().filename()), read_text(entry.path()))
            << entry.path().filename();
        ++kept;
    }
    EXPECT_EQ(kept, 33u);  // short.wav too: decoded and kept, then too short to analyse
}

TEST_F(SweepRun, SetupErrorsLeaveNothingBehind) {
    SweepOptions o = options("o1");
    o.corpus_dir = (dir_ / "none").string();
    expect_error([&] { run_sweep(profiles_, o); }, {"none", "no such folder"});
    EXPECT_FALSE(fs::exists(dir_ / "o1"));
    o = options("o1");
    o.out_dir = (corpus_ / "results").string();
    expect_error([&] { run_sweep(profiles_, o); }, {"inside the corpus"});
    EXPECT_FALSE(fs::exists(corpus_ / "results"));
    write_text(dir_ / "file", "x");
    o.out_dir = (dir_ / "file").string();
    expect_error([&] { run_sweep(profiles_, o); }, {"file", "not a folder"});
}

}  // namespace
}  // namespace sibilant
