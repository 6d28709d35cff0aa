"""Hand-crafted audio descriptors with librosa, summarised per clip so clips of any length compare.

Each group of features (timbre, its change, spectral contrast, harmony, spectral shape) is
normalised on its own before concatenation, so no group dominates by its units; the weights say how
much each group counts in the cosine similarity.
"""

from __future__ import annotations

import numpy as np

N_MFCC = 20
N_FFT = 2048
HOP = 512

# (group name, size, weight)
GROUPS = (
    ("mfcc_mean", N_MFCC - 1, 1.5),
    ("mfcc_std", N_MFCC, 1.0),
    ("delta_std", N_MFCC, 0.7),
    ("contrast_mean", 7, 1.0),
    ("contrast_std", 7, 0.5),
    ("chroma_mean", 12, 0.7),
    ("chroma_std", 12, 0.3),
    ("shape", 8, 1.0),
)
DIM = sum(size for _, size, _ in GROUPS)


def _unit(vector: np.ndarray) -> np.ndarray:
    centred = vector - vector.mean() if vector.size > 1 else vector
    norm = float(np.linalg.norm(centred))
    return centred / norm if norm > 1e-9 else np.zeros_like(centred)


def audio_descriptor(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """One fixed-size unit vector for a mono clip."""
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    peak = float(np.max(np.abs(y)))
    if peak > 0:
        y = y / peak  # loudness is not what "sounds like" means
    spectrum = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = spectrum**2
    mel = librosa.feature.melspectrogram(S=power, sr=sample_rate)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=N_MFCC)
    frames = mfcc.shape[1]
    if frames >= 3:
        width = min(9, frames if frames % 2 else frames - 1)
        delta = librosa.feature.delta(mfcc, width=max(3, width), mode="nearest")
    else:
        delta = np.zeros_like(mfcc)
    contrast = librosa.feature.spectral_contrast(S=spectrum, sr=sample_rate)
    chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate, tuning=0.0)
    nyquist = sample_rate / 2
    centroid = librosa.feature.spectral_centroid(S=spectrum, sr=sample_rate)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=spectrum, sr=sample_rate)[0]
    rolloff = librosa.feature.spectral_rolloff(S=spectrum, sr=sample_rate)[0]
    flatness = librosa.feature.spectral_flatness(S=spectrum)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)[0]
    rms = librosa.feature.rms(S=spectrum, frame_length=N_FFT)[0]
    shape = np.array(
        [
            np.mean(centroid) / nyquist,
            np.std(centroid) / nyquist,
            np.mean(bandwidth) / nyquist,
            np.mean(rolloff) / nyquist,
            np.mean(flatness),
            np.mean(zcr),
            np.std(rms) / (np.mean(rms) + 1e-9) / 4,  # how bursty the clip is
            min(y.size / sample_rate, 30.0) / 30.0,  # short blips vs long sounds
        ]
    )
    groups = {
        "mfcc_mean": mfcc[1:].mean(axis=1),
        "mfcc_std": mfcc.std(axis=1),
        "delta_std": delta.std(axis=1),
        "contrast_mean": contrast.mean(axis=1),
        "contrast_std": contrast.std(axis=1),
        "chroma_mean": chroma.mean(axis=1),
        "chroma_std": chroma.std(axis=1),
        "shape": shape,
    }
    parts = []
    for name, size, weight in GROUPS:
        values = np.nan_to_num(np.asarray(groups[name], dtype=np.float64))
        assert values.size == size, name
        unit = values / (np.abs(values).max() + 1e-9) if name == "shape" else _unit(values)
        parts.append(weight * unit)
    vector = np.concatenate(parts)
    norm = np.linalg.norm(vector)
    return (vector / norm if norm > 0 else vector).astype(np.float32)
