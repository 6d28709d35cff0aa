"""Screen audio-descriptor variants on the large eval's audio->audio queries, fast.

Clips are decoded once (crossmodal's own loader, at the builtin rate) and cached; each variant is
then a descriptor per clip and a cosine ranking over the eval's sounds. Variants:
- builtin: crossmodal's descriptor (encoders/audio_features.py) as it is;
- logmel: mean and standard deviation of 64 log-mel bands and of their deltas;
- whiten: any of the above, standardised per dimension over the collection first (what a
  per-store whitening would do), then unit length.

Usage: python bench/screen_audio.py [--variants builtin,builtin+whiten,logmel,logmel+whiten]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
RATE = 22050


def waves(files: list[str], cache: Path) -> list[np.ndarray]:
    # keyed by the file list: a rebuilt eval renumbers its files
    digest = hashlib.sha256("\n".join(files).encode()).hexdigest()[:12]
    file = cache / f"waves-{digest}.pkl"
    if file.is_file():
        return pickle.loads(file.read_bytes())
    from crossmodal.media.audio import load_audio

    result = []
    for name in files:
        try:
            result.append(load_audio(EVAL / "media" / name, RATE))
        except Exception:  # the eval's few unreadable files: no query counts them
            result.append(np.zeros(RATE, dtype=np.float32))
    cache.mkdir(parents=True, exist_ok=True)
    file.write_bytes(pickle.dumps(result))
    return result


def logmel(wave: np.ndarray) -> np.ndarray:
    import librosa

    y = wave if wave.size >= 2048 else np.pad(wave, (0, 2048 - wave.size))
    peak = float(np.max(np.abs(y)))
    y = y / peak if peak > 0 else y
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=RATE, n_mels=64))
    frames = mel.shape[1]
    delta = (
        librosa.feature.delta(mel, width=min(9, frames - (frames + 1) % 2), mode="nearest")
        if frames >= 3
        else np.zeros_like(mel)
    )
    return np.concatenate([mel.mean(1), mel.std(1), delta.std(1)])


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="builtin,builtin+whiten,logmel,logmel+whiten")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/screen-audio"))
    args = parser.parse_args()
    from crossmodal.encoders.audio_features import audio_descriptor
    from crossmodal.evaluate import bootstrap_interval

    manifest = [json.loads(line) for line in (EVAL / "manifest.jsonl").read_text().splitlines()]
    files = [r["file"] for r in manifest if r["file"].startswith("audio/")]
    index = {f"media/{f}": i for i, f in enumerate(files)}
    queries = [json.loads(line) for line in (EVAL / "queries.jsonl").read_text().splitlines()]
    queries = [q for q in queries if q["kind"] == "audio->audio"]
    clips = waves(files, args.cache)
    base: dict[str, np.ndarray] = {}
    for variant in args.variants.split(","):
        kind, _, post = variant.partition("+")
        if kind not in base:
            make = (lambda w: audio_descriptor(w, RATE)) if kind == "builtin" else logmel
            base[kind] = np.stack([make(w) for w in clips]).astype(np.float64)
        matrix = base[kind]
        if post == "whiten":
            matrix = (matrix - matrix.mean(0)) / (matrix.std(0) + 1e-9)
        matrix = unit(matrix)
        reciprocal = []
        for q in queries:
            own = index[q["query"]["audio"]]
            scores = matrix @ matrix[own]
            scores[own] = -np.inf
            order = np.argsort(-scores)
            relevant = {index[r] for r in q["relevant"]}
            rank = next(i for i, j in enumerate(order) if j in relevant)
            reciprocal.append(1.0 / (rank + 1))
        values = np.asarray(reciprocal)
        low, high = bootstrap_interval(reciprocal)
        print(
            json.dumps(
                {
                    "variant": variant,
                    "audio->audio MRR": round(float(values.mean()), 3),
                    "ci95": [round(float(low), 3), round(float(high), 3)],
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
