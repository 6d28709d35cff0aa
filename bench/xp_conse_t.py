"""Experiment (issue 8): ConSE's T (how many top ImageNet classes make an image's semantic vector)
and a softmax temperature (probabilities p^(1/tau), renormalised), plus which spaces answer
image->image. Works on a copy of an existing store: the photos' class probabilities are computed
once, each variant rewrites their semantic vectors in the copy (small spaces are searched exactly
from the catalog) and recomputes the CSLS penalties; prints MRR per kind.

Usage: python bench/xp_conse_t.py STORE QUERIES
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

KINDS = ("text->image", "image->text", "image->image", "fused", "text-in-image", "overall")


def main() -> None:
    import torch

    from crossmodal.catalog import Catalog
    from crossmodal.encoders import builtin, l2_normalize, load_encoder_set
    from crossmodal.evaluate import evaluate, load_queries
    from crossmodal.hubness import refresh_hubness
    from crossmodal.media.image import load_image
    from crossmodal.search import SearchEngine
    from crossmodal.store import Store

    folder = Path(tempfile.mkdtemp(prefix="crossmodal-conse-t-"))
    try:
        shutil.copytree(sys.argv[1], folder / "store")
        store = Store.open(folder / "store")
        queries = load_queries(Path(sys.argv[2]))
        encoder = load_encoder_set("builtin", store.cache_dir)
        catalog = Catalog(store.catalog_path)
        photos = list(catalog.items(modality="image"))
        model = encoder.image_model()
        batch = torch.from_numpy(
            np.stack([encoder.transform()(load_image(Path(p.path))) for p in photos])
        )
        with torch.inference_mode():
            pooled = model.extract_features(batch).mean(dim=(2, 3))
            probabilities = model._fc(pooled).softmax(dim=-1).numpy().astype(np.float64)
        classes = encoder.class_matrix()

        def rewrite(top_t: int, tau: float) -> None:
            sharpened = probabilities ** (1.0 / tau)
            sharpened /= sharpened.sum(axis=1, keepdims=True)
            order = np.argsort(-sharpened, axis=1)[:, :top_t]
            weights = np.take_along_axis(sharpened, order, axis=1)
            semantic = l2_normalize(np.einsum("nt,ntd->nd", weights, classes[order]))
            with catalog.transaction():
                for photo, vector in zip(photos, semantic, strict=True):
                    catalog.conn.execute(
                        "UPDATE vectors SET vector = ? WHERE space = ? AND key = ?",
                        (vector.astype(np.float32).tobytes(), builtin.SEMANTIC, photo.content_hash),
                    )
                catalog.conn.execute("DELETE FROM hubness_state")
            refresh_hubness(catalog, builtin.SEMANTIC)

        def run(label: str) -> None:
            report = evaluate(SearchEngine(store, cache_queries=False), queries)["kinds"]
            print(label.ljust(22), " ".join(f"{report[k]['mrr']:13.3f}" for k in KINDS), flush=True)

        print("variant".ljust(22), " ".join(k.rjust(13) for k in KINDS))
        for top_t in (1, 3, 5, 10, 20, 50):
            rewrite(top_t, 1.0)
            run(f"T={top_t}" + (" (now)" if top_t == builtin.CONSE_TOP_T else ""))
        for tau in (0.5, 2.0, 4.0):
            rewrite(builtin.CONSE_TOP_T, tau)
            run(f"T={builtin.CONSE_TOP_T}, tau={tau}")
        rewrite(builtin.CONSE_TOP_T, 1.0)
        original = SearchEngine.part_lists
        for keep in (builtin.VISUAL, builtin.SEMANTIC):

            def only(self, query, keep=keep):  # type: ignore[no-untyped-def]
                lists = original(self, query)
                images = [ql for ql in lists if query.parts[ql.part].modality == "image"]
                if len(images) == len(lists) and len(lists) > 1:
                    return [ql for ql in lists if ql.space == keep]
                return lists

            SearchEngine.part_lists = only  # type: ignore[method-assign]
            run(f"image query: {keep.split('-')[1]} only")
        SearchEngine.part_lists = original  # type: ignore[method-assign]
        catalog.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
