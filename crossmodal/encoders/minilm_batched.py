"""all-MiniLM-L6-v2 for many passages at once: batched by length, on ONNX Runtime or, on CPUs
with AMX (Intel Sapphire Rapids and later) and CROSSMODAL_RUNTIME=bf16, on PyTorch in bfloat16.

Why two: MiniLM is matrix products, which ONNX Runtime runs in float32 only ~1.2x faster than
PyTorch; AMX's bfloat16 tiles run them 3x faster than float32, with vectors at cosine >= 0.9999
to float32's (bench/RESULTS.md, issue 20). Queries of a few words go through minilm_numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

TEXT_BATCH = 32  # passages per forward pass, sorted by length (measured: bench/RESULTS.md)
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def amx_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in AMX tiles (Linux reports the flag)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return "amx_bf16" in line.split()
    except OSError:
        pass
    return False


def bf16_forward(model_dir: Path, threads: int) -> Forward:
    """(ids, mask) -> token vectors by the BERT encoder under bfloat16 autocast (float32 out)."""
    import torch
    from transformers import AutoModel

    from .weights import quiet_transformers

    quiet_transformers()
    torch.set_num_threads(threads)
    bert = AutoModel.from_pretrained(str(model_dir)).eval()

    def forward(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ids = torch.from_numpy(tokens)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            hidden = bert(
                input_ids=ids,
                attention_mask=torch.from_numpy(mask),
                token_type_ids=torch.zeros_like(ids),
            ).last_hidden_state
        return hidden.float().numpy()

    return forward


class BatchedMiniLM:
    """Mean-pooled, L2-normalised sentence vectors, batched by length so little is padded."""

    def __init__(self, forward: Forward, model_dir: Path, batch_size: int = TEXT_BATCH) -> None:
        from tokenizers import Tokenizer

        self.forward = forward
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()  # the file pads to 128; batches pad to their longest

    def encode(self, sentences: list[str]) -> np.ndarray:
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(sentences)]
        order = np.argsort([len(row) for row in ids], kind="stable")
        out = np.zeros((len(sentences), 384), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(ids[row]) for row in rows)
            tokens = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for place, row in enumerate(rows):
                tokens[place, : len(ids[row])] = ids[row]
                mask[place, : len(ids[row])] = 1
            hidden = self.forward(tokens, mask)
            weights = mask[..., None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
