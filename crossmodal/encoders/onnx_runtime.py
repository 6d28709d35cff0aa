"""The builtin models on ONNX Runtime: exported once from the shipped PyTorch weights into the
store's cache, then run without importing torch.

Why: on CPUs PyTorch eager runs EfficientNet-Lite0's depthwise convolutions far below what the
cores can do; ONNX Runtime's fused kernels run the same graph about 4x faster on these 2 cores,
with vectors equal to float rounding (bench/RESULTS.md, issue 20). Exporting needs torch and the
`onnx` package once per store (~3 s); every later run loads the cached graph in ~0.1 s and never
pays torch's import. CROSSMODAL_RUNTIME=torch (or a missing onnxruntime) keeps PyTorch.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError, UserError
from ..fsutil import atomic_write_bytes
from .weights import first_line

RUNTIME_ENV = "CROSSMODAL_RUNTIME"
RUNTIMES = ("auto", "onnx", "bf16", "torch")
# Bump when an export changes the graph (inputs, outputs, opset), so old cached files are not read.
EXPORT_REVISION = 1
OPSET = 17
# Whether idle intra-op threads spin waiting for work: faster alone, but a spinning thread takes
# a core from the decode workers on a 2-core machine (measured both: bench/RESULTS.md, issue 20).
ALLOW_SPINNING = True


def runtime_asked() -> str:
    """CROSSMODAL_RUNTIME as the user wrote it, normalised: 'auto' (also when unset or empty),
    'onnx', 'bf16' (onnx, and many passages in bfloat16 on an AMX CPU) or 'torch'; anything
    else is a one-line error."""
    asked = os.environ.get(RUNTIME_ENV, "").strip().lower() or "auto"
    if asked not in RUNTIMES:
        raise UserError(f"{RUNTIME_ENV} must be one of {', '.join(RUNTIMES)}, not '{asked}'")
    return asked


def runtime_wanted() -> str:
    """'onnx' or 'torch', from CROSSMODAL_RUNTIME (auto: onnx where onnxruntime is installed)."""
    asked = runtime_asked()
    installed = importlib.util.find_spec("onnxruntime") is not None
    if asked == "auto":
        return "onnx" if installed else "torch"
    if asked == "bf16":
        asked = "onnx"
    if asked == "onnx" and not installed:
        raise EncoderError(f"{RUNTIME_ENV}=onnx, but onnxruntime is not installed")
    return asked


def session(model: Path | bytes, threads: int) -> Any:
    """An ONNX Runtime CPU session with every graph optimisation, `threads` intra-op threads and
    no inter-op pool (one graph at a time)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the library never prints
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if ALLOW_SPINNING else "0"
    )
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def graph_file(cache_dir: Path, name: str, digest: str) -> Path:
    return cache_dir / "onnx" / f"{name}-{digest[:16]}-r{EXPORT_REVISION}.onnx"


def exported(name: str, export: Callable[[io.BytesIO], None]) -> bytes:
    """The graph, exported now; any failure (no `onnx`, a torch/onnx mismatch) is one line."""
    buffer = io.BytesIO()
    try:
        export(buffer)
    except Exception as exc:
        raise EncoderError(
            f"cannot export {name} to ONNX: {first_line(exc)} (install onnx, or set "
            f"{RUNTIME_ENV}=torch)"
        ) from exc
    return buffer.getvalue()


def cached_graph(
    cache_dir: Path | None, name: str, digest: str, export: Callable[[io.BytesIO], None]
) -> Path | bytes:
    """The exported graph of `name` (weights `digest`): the store's cached file when it is there,
    else exported now and kept in the cache, in place of graphs of other weights or revisions (a
    read-only store just exports again next time)."""
    cache = graph_file(cache_dir, name, digest) if cache_dir else None
    if cache is not None and cache.is_file():
        return cache
    data = exported(name, export)
    if cache is not None:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(cache, data)
            for old in cache.parent.glob(f"{name}-*.onnx"):
                if old != cache:
                    old.unlink()
    return data


def open_session(
    cache_dir: Path | None,
    name: str,
    digest: str,
    export: Callable[[io.BytesIO], None],
    threads: int,
) -> Any:
    """A session on the cached graph. A cached file that does not load (cut short, garbled) is
    exported again: into the cache where it can be written, else into memory. Errors are
    EncoderError, so `auto` can fall back to PyTorch."""
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as state
    except ImportError as exc:
        raise EncoderError(f"ONNX Runtime is not usable: {first_line(exc)}") from exc
    garbled = (state.InvalidProtobuf, state.InvalidGraph, state.Fail, state.NoSuchFile)
    graph = cached_graph(cache_dir, name, digest, export)
    try:
        return session(graph, threads)
    except Exception as exc:
        if not isinstance(graph, Path) or not isinstance(exc, garbled):
            raise EncoderError(f"ONNX Runtime cannot load {name}: {first_line(exc)}") from exc
    with contextlib.suppress(OSError):
        graph.unlink()
    fresh = cached_graph(cache_dir, name, digest, export)
    try:
        return session(fresh if isinstance(fresh, bytes) else exported(name, export), threads)
    except Exception as exc:
        raise EncoderError(f"ONNX Runtime cannot load {name}: {first_line(exc)}") from exc


# -- EfficientNet-Lite0 --------------------------------------------------------------------
def export_image_model(model: Any, handle: io.BytesIO) -> None:
    """pixels (n, 3, 224, 224) -> pooled features (n, 1280) and ImageNet probabilities (n, 1000),
    the two things encode_images reads, in one graph."""
    import onnx  # noqa: F401  (torch's exporter needs it; fail here with a clear message)
    import torch

    class Heads(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, pixels: Any) -> tuple[Any, Any]:
            pooled = self.net.extract_features(pixels).mean(dim=(2, 3))
            return pooled, self.net._fc(pooled).softmax(dim=-1)

    example = torch.zeros(2, 3, 224, 224)
    batch = {0: "n"}
    with warnings_quiet():
        torch.onnx.export(
            Heads(model).eval(),
            (example,),
            handle,
            input_names=["pixels"],
            output_names=["pooled", "probabilities"],
            dynamic_axes={"pixels": batch, "pooled": batch, "probabilities": batch},
            opset_version=OPSET,
            dynamo=False,
        )


class OnnxImageModel:
    """EfficientNet-Lite0 on ONNX Runtime: preprocessed pixels in, (pooled, probabilities) out."""

    def __init__(self, onnx_session: Any) -> None:
        self.session = onnx_session

    def run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pooled, probabilities = self.session.run(None, {"pixels": pixels})
        return pooled, probabilities


# -- all-MiniLM-L6-v2 ----------------------------------------------------------------------
def export_text_model(model_dir: Path, handle: io.BytesIO) -> None:
    """token ids and mask (n, t) -> token vectors (n, t, 384) of the BERT encoder; pooling is
    done outside, in numpy, as sentence-transformers does it (mean over the mask)."""
    import onnx  # noqa: F401
    import torch
    from transformers import AutoModel

    from .weights import quiet_transformers

    quiet_transformers()
    # eager attention: the traced SDPA path bakes the example's sequence length into its mask.
    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Tokens(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, ids: Any, mask: Any) -> Any:
            return self.net(
                input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
            ).last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "n", 1: "t"}
    with warnings_quiet():
        torch.onnx.export(
            Tokens(bert),
            (ids, torch.ones_like(ids)),
            handle,
            input_names=["ids", "mask"],
            output_names=["tokens"],
            dynamic_axes={"ids": axes, "mask": axes, "tokens": axes},
            opset_version=OPSET,
            dynamo=False,
        )


def text_forward(onnx_session: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(ids, mask) -> token vectors, for minilm_batched.BatchedMiniLM."""

    def forward(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return onnx_session.run(None, {"ids": tokens, "mask": mask})[0]

    return forward


@contextlib.contextmanager
def warnings_quiet() -> Iterator[None]:
    """torch's exporter warns about tracing; the library never prints."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
