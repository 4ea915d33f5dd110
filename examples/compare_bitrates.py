"""Two Opus bitrates over a folder of speech: the lisp index of every file at
each, as a pandas table and a bar chart (PNG). The README's Python section.
Usage: python3 compare_bitrates.py [CORPUS_DIR] [OUT.png]"""
import pathlib, sys
import matplotlib; matplotlib.use("Agg")  # noqa: E401,E702 (no display needed)
import pandas as pd
import sibilant

corpus = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "testdata/speech")
out = sys.argv[2] if len(sys.argv) > 2 else "compare_bitrates.png"
rows = []
for path in sorted(corpus.glob("*.flac")) + sorted(corpus.glob("*.wav")):
    x, rate = sibilant.read_audio(path, rate=0)
    for bitrate_bps in (12000, 24000):
        y, _ = sibilant.simulate(x, rate, bitrate_bps=bitrate_bps, loss="ge:0.02,0.3", seed=1)
        rows.append({"file": path.stem, "bitrate_bps": bitrate_bps, **sibilant.analyze(x, y, rate).summary})
table = pd.DataFrame(rows).pivot(index="file", columns="bitrate_bps", values="lisp_index")
print(table.round(1).to_string(), "\nmean", table.mean().round(1).to_dict())
table.plot.bar(ylabel="lisp index (0..100)", title="12 vs 24 kbps, 2% bursty loss").figure.savefig(
    out, bbox_inches="tight")
