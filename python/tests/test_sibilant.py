"""The Python module against the CLI and the library's own guarantees."""
import ast
import json
import sys
import threading
import wave

import numpy as np
import pytest

import sibilant

from conftest import TESTDATA


def without_paths(document):
    d = dict(document)
    d.pop("reference")
    d.pop("degraded")
    return d


# --- analyze ----------------------------------------------------------------------


def test_to_dict_is_the_cli_json(cli, demo, degraded_12k):
    result = sibilant.analyze_files(demo, degraded_12k)
    cli_json = json.loads(cli("analyze", demo, degraded_12k, "--json", "-").stdout)
    assert result.to_dict() == cli_json
    assert result.sibilants == cli_json["summary"]["sibilants"] > 0
    assert result.lisp_index == cli_json["summary"]["lisp_index"]
    assert result.verdict == cli_json["summary"]["verdict"]
    assert result.events == cli_json["events"]
    assert result.mode == "full-reference"
    assert result.alignment["delay_ms"] == cli_json["alignment"]["delay_ms"]


def test_no_reference_to_dict_is_the_cli_json(cli, degraded_12k):
    result = sibilant.analyze_files(degraded_12k)
    cli_json = json.loads(cli("analyze", degraded_12k, "--json", "-").stdout)
    assert result.to_dict() == cli_json
    assert result.mode == "no-reference"


def test_options_reach_the_analysis(cli, demo, degraded_12k):
    low = sibilant.analyze_files(demo, degraded_12k, lisp_threshold=1, smearing_threshold=1)
    cli_json = json.loads(cli("analyze", demo, degraded_12k, "--lisp-threshold", "1", "--smearing-threshold", "1",
                              "--json", "-").stdout)
    assert low.to_dict() == cli_json
    assert low.flagged > sibilant.analyze_files(demo, degraded_12k).flagged


def test_arrays_give_what_the_files_give(demo, degraded_12k):
    from_files = sibilant.analyze_files(demo, degraded_12k).to_dict()
    ref, rate = sibilant.read_audio(demo, rate=0)
    deg, deg_rate = sibilant.read_audio(degraded_12k, rate=0)
    assert rate == deg_rate == 22050
    from_arrays = sibilant.analyze(ref, deg, rate).to_dict()
    assert from_arrays["reference"] == from_arrays["degraded"] == ""
    assert without_paths(from_arrays) == without_paths(from_files)


def test_every_dtype_and_layout_is_the_same_signal(demo, degraded_12k):
    # Both are 16-bit files at their own rate: their samples are exactly
    # x / 32768, so all three dtypes carry the same signal.
    ref, rate = sibilant.read_audio(demo, rate=0)
    deg, _ = sibilant.read_audio(degraded_12k, rate=0)
    expected = sibilant.analyze(ref, deg, rate).to_dict()
    as_int16 = (lambda x: np.round(x * 32768).astype(np.int16))
    assert sibilant.analyze(as_int16(ref), as_int16(deg), rate).to_dict() == expected
    assert sibilant.analyze(ref.astype(np.float64), deg.astype(np.float64), rate=rate).to_dict() == expected
    two_channels = np.stack([deg, deg], axis=1)
    assert sibilant.analyze(np.stack([ref, ref], axis=1), two_channels, rate).to_dict() == expected
    silent_left = np.stack([np.zeros_like(deg), deg], axis=1)
    assert sibilant.analyze(np.stack([np.zeros_like(ref), ref], axis=1), silent_left, rate,
                            channel=1).to_dict() == expected


def test_events_frame_has_a_row_per_event(demo, degraded_12k):
    result = sibilant.analyze_files(demo, degraded_12k)
    frame = result.events_frame()
    assert len(frame) == len(result.events) == result.sibilants
    assert list(frame["start_s"]) == [e["start_s"] for e in result.events]
    assert "reference.cog_hz" in frame.columns and "parts.lisp_top" in frame.columns


def test_analyses_in_two_threads_give_the_same_results(demo, degraded_12k):
    ref, _ = sibilant.read_audio(demo)
    deg, _ = sibilant.read_audio(degraded_12k)
    expected = [sibilant.analyze(ref, deg, 48000).to_dict(), sibilant.analyze(deg, 48000).to_dict()]
    got = {}

    def work(name):
        got[name] = [sibilant.analyze(ref, deg, 48000).to_dict(), sibilant.analyze(deg, 48000).to_dict()]

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert got["a"] == expected and got["b"] == expected


# --- errors -------------------------------------------------------------------------


def test_bad_input_raises_with_the_library_message(demo):
    x, rate = sibilant.read_audio(demo, rate=0)
    with pytest.raises(sibilant.Error, match="analyze: rate 4000 Hz is outside 8000..192000 Hz"):
        sibilant.analyze(x, x, 4000)
    bad = x.copy()
    bad[2205] = np.inf
    with pytest.raises(sibilant.Error, match=r"analyze: degraded sample 2205 at 0.100 s is not a finite number"):
        sibilant.analyze(x, bad, rate)
    with pytest.raises(TypeError, match="float32, float64 or int16"):
        sibilant.analyze(x.astype(np.int32), rate)
    with pytest.raises(ValueError, match="3 dimensions"):
        sibilant.analyze(x.reshape(1, 1, -1), rate)
    with pytest.raises(ValueError, match="no samples"):
        sibilant.analyze(x[:0], rate)
    with pytest.raises(ValueError, match="channel 2 does not exist"):
        sibilant.analyze(x, rate, channel=2)
    with pytest.raises(TypeError, match="sample rate is missing"):
        sibilant.analyze(x, x)
    with pytest.raises(sibilant.Error, match="alignment \"sideways\""):
        sibilant.analyze(x, x, rate, alignment="sideways")
    with pytest.raises(sibilant.Error, match="lisp"):
        sibilant.analyze(x, x, rate, lisp_threshold=float("nan"))
    with pytest.raises(sibilant.Error, match="missing.wav"):
        sibilant.analyze_files(demo, "missing.wav")
    assert issubclass(sibilant.Error, ValueError)


def test_unrelated_signals_are_refused_by_the_aligner(demo):
    x, rate = sibilant.read_audio(demo)
    noise = np.random.default_rng(1).normal(0, 0.1, len(x)).astype(np.float32)
    with pytest.raises(sibilant.Error):
        sibilant.analyze(x, noise, rate)


# --- simulate -------------------------------------------------------------------------


def write_wav_int16(path, samples, rate):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def test_simulate_on_int16_is_what_the_cli_writes(cli, tmp_path, demo):
    # At 48 kHz no rate conversion happens on either side, so the two must
    # agree to the sample (at other rates the file reader converts block by
    # block and the array at once, which moves a few samples by 1 LSB).
    x, _ = sibilant.read_audio(demo)
    x16 = np.round(x * 32768).astype(np.int16)
    source = tmp_path / "demo48.wav"
    write_wav_int16(source, x16, 48000)
    out = tmp_path / "cli.wav"
    report_path = tmp_path / "cli.json"
    cli("simulate", source, out, "--bitrate", "12000", "--loss", "ge:0.05,0.3", "--seed", "3", "--json", report_path)
    written, _ = sibilant.read_audio(out, rate=0)
    decoded, report = sibilant.simulate(x16, 48000, bitrate_bps=12000, loss="ge:0.05,0.3", seed=3)
    assert decoded.dtype == np.float32 and len(decoded) == len(x)
    rounded = np.clip(np.round(decoded * 32768), -32768, 32767) / 32768
    assert np.count_nonzero(rounded != written) == 0
    cli_report = json.loads(report_path.read_text())
    assert report["channel"] == cli_report["channel"]
    assert report["effective"] == cli_report["effective"]
    assert report["requested"] == cli_report["requested"]
    assert report["channel"]["loss"]["lost"] > 0


def test_simulate_is_deterministic_and_follows_its_settings(demo):
    x, rate = sibilant.read_audio(demo, rate=0)
    a, ra = sibilant.simulate(x, rate, bitrate_bps=16000, loss="bernoulli:0.1", seed=5)
    b, rb = sibilant.simulate(x, rate, bitrate_bps=16000, loss="bernoulli:0.1", seed=5)
    c, rc = sibilant.simulate(x, rate, bitrate_bps=16000, loss="bernoulli:0.1", seed=6)
    assert np.array_equal(a, b) and ra == rb
    assert not np.array_equal(a, c)
    assert ra["requested"]["input_depth_bits"] == 24  # float input: libopus's float path
    narrow, r = sibilant.simulate(x, rate, bitrate_bps=16000, bandwidth="nb", fec=True, expected_loss_percent=5)
    assert r["effective"]["inband_fec"] is True and r["requested"]["bandwidth"] == "nb"
    at_48k, r48 = sibilant.simulate(x, rate, output_rate=48000)
    assert r48["output"]["sample_rate_hz"] == 48000 and abs(len(at_48k) - len(x) * 48000 / rate) <= 1


def test_simulate_settings_are_checked_as_a_profiles_file_is(demo):
    x, rate = sibilant.read_audio(demo, rate=0)
    with pytest.raises(sibilant.Error, match="bitrate_bps"):
        sibilant.simulate(x, rate, bitrate_bps=1000)
    with pytest.raises(sibilant.Error, match="unknown"):
        sibilant.simulate(x, rate, bitrat_bps=12000)
    with pytest.raises(sibilant.Error, match="loss"):
        sibilant.simulate(x, rate, loss="ge:2,0.3")
    with pytest.raises(sibilant.Error, match="simulate: rate 1 Hz"):
        sibilant.simulate(x, 1)


# --- the probe ------------------------------------------------------------------------


def test_probe_gives_the_batch_analysis_in_any_chunking(degraded_12k):
    deg, rate = sibilant.read_audio(degraded_12k)
    batch = sibilant.analyze(deg, rate).to_dict()
    for chunk in (480, 4801):
        probe = sibilant.Probe()
        events = []
        for start in range(0, len(deg), chunk):
            probe.push(deg[start:start + chunk])
            events += probe.poll()
        probe.finish()
        events += probe.poll()
        assert events == batch["events"]
        summary = probe.summary()
        assert summary["verdict"] == batch["summary"]["verdict"]
        assert summary["sibilants"] == batch["summary"]["sibilants"]
        assert round(summary["lisp_index"], 1) == batch["summary"]["lisp_index"]
        assert probe.status()["samples"] == len(deg)


def test_reference_probe_is_the_incremental_analysis(demo, degraded_12k):
    ref, _ = sibilant.read_audio(demo)
    deg, _ = sibilant.read_audio(degraded_12k)
    batch = sibilant.analyze(ref, deg, 48000, alignment="incremental").to_dict()
    probe = sibilant.Probe(reference=True)
    for start in range(0, len(deg), 9600):
        probe.push(ref[start:start + 9600], deg[start:start + 9600])
    probe.finish()
    assert probe.poll() == batch["events"]
    assert probe.status()["aligned"]


def test_probe_at_another_rate_takes_the_whole_stream(degraded_12k):
    deg, rate = sibilant.read_audio(degraded_12k, rate=0)
    probe = sibilant.Probe(rate=rate)
    for start in range(0, len(deg), 1000):
        probe.push(deg[start:start + 1000])
    probe.finish()
    assert abs(probe.status()["samples"] - round(len(deg) * 48000 / rate)) <= 1
    assert len(probe.poll()) == probe.summary()["sibilants"] > 0


def test_probe_refuses_what_its_stream_cannot_take(degraded_12k):
    deg, _ = sibilant.read_audio(degraded_12k)
    probe = sibilant.Probe()
    with pytest.raises(ValueError, match="has no reference"):
        probe.push(deg, deg)
    probe.push(deg[:4800])
    probe.finish()
    with pytest.raises(sibilant.Error, match="reset"):
        probe.push(deg[:4800])
    probe.reset()
    probe.push(deg[:4800])
    assert probe.status()["samples"] == 4800
    with_ref = sibilant.Probe(reference=True)
    with pytest.raises(ValueError, match="different lengths"):
        with_ref.push(deg[:100], deg[:99])
    bad = deg[:100].copy()
    bad[7] = np.nan
    with pytest.raises(sibilant.Error, match="push: degraded sample 7"):
        sibilant.Probe().push(bad)


# --- sweeps -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory, cli):
    work = tmp_path_factory.mktemp("sweep")
    corpus = work / "corpus"
    corpus.mkdir()
    for name in ("s_clusters.flac", "sh_positions.flac"):
        (corpus / name).write_bytes((TESTDATA / "speech" / name).read_bytes())
    profiles = work / "profiles.json"
    profiles.write_text(json.dumps({"seed": 2, "profiles": [
        {"name": "8k", "bitrate_bps": 8000, "complexity": 1},
        {"name": "24k-loss", "bitrate_bps": 24000, "complexity": 1, "loss": "bernoulli:0.1"}]}))
    cli("sweep", "--profiles", profiles, "--corpus", corpus, "--out", work / "out", "-q")
    return work / "out"


def test_read_results_is_the_results_table(sweep_dir):
    import pandas

    table = sibilant.read_results(sweep_dir)
    csv = pandas.read_csv(sweep_dir / "results.csv", keep_default_na=False)
    assert list(table.columns) == list(csv.columns)
    assert len(table) == 4
    for column in ("file", "profile", "status", "bitrate_bps", "sibilants", "lisp_index", "verdict", "fec"):
        assert list(table[column]) == list(csv[column]), column


def test_read_results_without_pandas_is_a_list_of_dicts(sweep_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    rows = sibilant.read_results(sweep_dir / "results.csv")
    assert isinstance(rows, list) and len(rows) == 4
    assert {r["profile"] for r in rows} == {"8k", "24k-loss"}


def test_read_results_names_a_bad_file(tmp_path):
    (tmp_path / "results.csv").write_text("job,file\n0,a.wav\n")
    with pytest.raises(sibilant.Error, match="results.csv"):
        sibilant.read_results(tmp_path)


def test_version():
    assert sibilant.__version__.count(".") == 2
    assert sibilant.scoring_version >= 2


def test_the_readme_example_draws_its_chart(tmp_path):
    import subprocess
    from conftest import ROOT

    png = tmp_path / "chart.png"
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "compare_bitrates.py"), str(TESTDATA / "speech"),
                          str(png)], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    means = ast.literal_eval(run.stdout.split("mean", 1)[1].strip())  # the dict the example prints
    assert means[12000] > means[24000]  # Opus at half the bitrate lisps more
    assert "s_clusters" in run.stdout and "no_sibilants" in run.stdout


def test_views_are_read_through_their_strides(demo, degraded_12k):
    ref, rate = sibilant.read_audio(demo, rate=0)
    deg, _ = sibilant.read_audio(degraded_12k, rate=0)
    expected = sibilant.analyze(ref, deg, rate).to_dict()
    interleaved = np.empty((len(deg), 3), dtype=np.float32)
    interleaved[:, 1] = deg
    assert sibilant.analyze(ref, interleaved[:, 1], rate).to_dict() == expected  # a strided 1-D view
    fortran = np.asfortranarray(np.stack([ref, ref], axis=1))
    assert sibilant.analyze(fortran, deg, rate).to_dict() == expected


@pytest.mark.parametrize("call, error", [
    (lambda x: sibilant.Probe(event_capacity=0), sibilant.Error),
    (lambda x: sibilant.Probe(rate=0), sibilant.Error),
    (lambda x: sibilant.Probe(lisp_threshold=float("inf")), sibilant.Error),
    (lambda x: sibilant.analyze(np.zeros((100, 0), np.float32), 48000), ValueError),
    (lambda x: sibilant.analyze(np.full(4800, 3e6, np.float32), 48000), sibilant.Error),
    (lambda x: sibilant.analyze(x, x[:10], 48000), sibilant.Error),
    (lambda x: sibilant.simulate(x, 48000, output_rate=44100), sibilant.Error),
    (lambda x: sibilant.simulate(x, 48000, frame_ms=7), sibilant.Error),
    (lambda x: sibilant.simulate(x, 48000, loss="trace:/nonexistent"), sibilant.Error),
    (lambda x: sibilant.read_audio("/"), sibilant.Error),
    (lambda x: sibilant.read_audio(__file__), sibilant.Error),
    (lambda x: sibilant.read_results("/nonexistent"), sibilant.Error),
])
def test_bad_calls_raise_and_never_crash(demo, call, error):
    x, _ = sibilant.read_audio(demo)
    with pytest.raises(error):
        call(x)
