"""Query parts as vectors: {space: unit vector} for a text, an image file or a sound file, from
the store when the file is indexed and unchanged, else from the query cache, else from the
models (loaded once per process, on first need)."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog
from .encoders import EncoderSet
from .errors import MediaError, UserError
from .fsutil import content_hash
from .query import QueryPart
from .query_cache import QueryCache, text_cache_key

MEMO_ENTRIES = 512  # parts remembered per process: a batch reuses its files and texts, and a
# long-running server must not grow with every query it ever answered (found measuring serve)


def _signature(path: str) -> tuple[int, int] | None:
    """A file's size and modification time: a file edited since is embedded again."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


class PartVectors:
    """Embeds query parts for one store; the last MEMO_ENTRIES results are kept for the process
    (a batch of queries reuses files and texts)."""

    def __init__(self, encoder: EncoderSet, catalog: Catalog, cache: QueryCache | None) -> None:
        self.encoder, self.catalog, self.cache = encoder, catalog, cache
        self._vectors: OrderedDict[tuple[Any, ...], dict[str, np.ndarray]] = OrderedDict()
        self._file_keys: OrderedDict[tuple[Any, ...], str | None] = OrderedDict()

    def _memo_key(self, part: QueryPart) -> tuple[Any, ...]:
        if part.modality == "text":
            return (part.modality, part.value)
        return (part.modality, part.value, _signature(part.value))

    def embed(self, part: QueryPart) -> dict[str, np.ndarray]:
        """{space: unit vector} for one part, in every space that accepts its modality (and, for
        speech, its words in the text spaces)."""
        cache_key = self._memo_key(part)
        if cache_key in self._vectors:
            self._vectors.move_to_end(cache_key)
            return self._vectors[cache_key]
        if not any(s.accepts(part.modality) for s in self.encoder.spaces.values()):
            raise UserError(f"no space of this store accepts {part.modality} queries")
        vectors = self._stored(part) or self._cached(part)
        if vectors is None:
            vectors = self._encode(part)
            if self.cache is not None and (key := self._persistent_key(part)):
                self.cache.put(key, vectors)
        self._vectors[cache_key] = vectors
        if len(self._vectors) > MEMO_ENTRIES:
            self._vectors.popitem(last=False)
        return vectors

    def _encode(self, part: QueryPart) -> dict[str, np.ndarray]:
        from .media.audio import load_audio
        from .media.image import load_image

        if part.modality == "video":
            return self._video(Path(part.value))
        try:
            if part.modality == "text":
                value: Any = part.value
            elif part.modality == "image":
                value = load_image(Path(part.value))
            else:
                value = load_audio(Path(part.value), sample_rate=self.encoder.audio_sample_rate)
        except MediaError as exc:
            raise UserError(f"cannot use query file {part.value}: {exc}") from exc
        vectors = {
            space: matrix[0]
            for space, matrix in self.encoder.encode_query(part.modality, [value]).items()
        }
        transcriber = self.encoder.transcriber
        if part.modality == "audio" and transcriber is not None:
            vectors.update(self._spoken(transcriber.transcribe([value])[0]))
        return vectors

    def _video(self, path: Path) -> dict[str, np.ndarray]:
        """A video as a query: the mean of its scenes' frames in the image spaces, its sound in
        the audio spaces (the first hour is read: a query is one video, not a collection)."""
        from .encoders.video import query_vectors

        try:
            return query_vectors(self.encoder, path, 3600.0)
        except MediaError as exc:
            raise UserError(f"cannot use query file {path}: {exc}") from exc

    def _spoken(self, transcript: str | None) -> dict[str, np.ndarray]:
        """What a clip says, in the text spaces: speech finds photos and documents by its words."""
        if not transcript or not transcript.strip():
            return {}
        return dict(self.embed(QueryPart("text", transcript, 1.0)))

    def _persistent_key(self, part: QueryPart) -> str | None:
        """Texts by their words, files by their content (a renamed photo still hits)."""
        if part.modality == "text":
            return text_cache_key(part.value)
        memo = (part.value, _signature(part.value))
        if memo not in self._file_keys:
            try:
                self._file_keys[memo] = "file:" + content_hash(part.value)
            except OSError:
                self._file_keys[memo] = None
            if len(self._file_keys) > MEMO_ENTRIES:
                self._file_keys.popitem(last=False)
        return self._file_keys[memo]

    def _cached(self, part: QueryPart) -> dict[str, np.ndarray] | None:
        """A query seen before in this store, with vectors for every space that takes it (a
        speech clip also has its words' vectors in the text spaces), of the right sizes."""
        if self.cache is None or not (key := self._persistent_key(part)):
            return None
        vectors = self.cache.get(key)
        if vectors is None:
            return None
        dims = {s.name: s.dim for s in self.encoder.spaces.values()}
        # A video's sound may be missing: its pictures' spaces are what it must have.
        takes = "image" if part.modality == "video" else part.modality
        wanted = {s.name for s in self.encoder.spaces.values() if s.accepts(takes)}
        if not wanted <= vectors.keys() or any(
            dims.get(name) != len(vector) for name, vector in vectors.items()
        ):
            return None
        return vectors

    def _stored(self, part: QueryPart) -> dict[str, np.ndarray] | None:
        """A query file already in the store reuses its stored vectors: no model load at all."""
        if part.modality == "text":
            return None
        item = self.catalog.item_by_path(part.value)
        if item is None or item.status != "ok" or not item.content_hash:
            return None
        try:
            stat = Path(part.value).stat()
        except OSError:
            return None
        if (stat.st_size, stat.st_mtime_ns) != (item.size, item.mtime_ns) or (
            item.ctime_ns is not None and stat.st_ctime_ns != item.ctime_ns
        ):
            return None  # changed since it was indexed: embed what is there now
        found = {}
        for space in self.encoder.spaces.values():
            if space.accepts(part.modality) and space.name not in item.meta.get("no_vector", ()):
                vector = self.catalog.vector_for_key(space.name, item.content_hash)
                if vector is None:
                    return None
                found[space.name] = vector
        transcriber = self.encoder.transcriber
        if part.modality == "audio" and transcriber is not None:
            if item.meta.get("transcriber") != transcriber.transcriber_id:
                return None  # not transcribed by this model yet: transcribe the file now
            found.update(self._spoken(item.meta.get("transcript")))
        return found
