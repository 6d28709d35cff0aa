"""Plug-ins as full encoder sets: a plug-in (an entry point's factory, or a set registered with
`register_encoder_set`) may return any object with `name`, `spaces` and `encode`. It is checked
once, where it is loaded, and a plain object is wrapped here, so the rest of crossmodal relies
on the `EncoderSet` interface and never probes what a set has.

The wrapper is the one place a plain plug-in's optional members are looked up: what it has
(`fingerprint`, `batch_size`, `transcriber_id` + `transcribe`, `weights_present()`, ...) is used,
what it lacks gets the base class's default, and any other attribute reads through to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .base import DEFAULT_AUDIO_SAMPLE_RATE, EncoderSet, SpaceSpec


def as_encoder_set(candidate: Any) -> EncoderSet:
    """`candidate` itself when it subclasses EncoderSet, else it behind a PluginEncoderSet."""
    return candidate if isinstance(candidate, EncoderSet) else PluginEncoderSet(candidate)


class PluginEncoderSet(EncoderSet):
    """A plain plug-in object behind the whole EncoderSet interface (delegating to it)."""

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin

    def __getattr__(self, attribute: str) -> Any:
        # Only called for what the wrapper lacks: encode_documents, transcribe, read_text and a
        # plug-in's own attributes stay reachable (and hasattr still tells whether they exist).
        if attribute == "plugin" or attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self.plugin, attribute)

    def __repr__(self) -> str:
        return f"PluginEncoderSet({self.plugin!r})"

    def _optional(self, attribute: str, default: Any = None) -> Any:
        """The plug-in's own value where it has one, else the default."""
        return getattr(self.plugin, attribute, default)

    def _call(self, method: str, *args: Any) -> tuple[bool, Any]:
        """(True, result) when the plug-in has this method, else (False, None)."""
        found = self._optional(method)
        return (True, found(*args)) if callable(found) else (False, None)

    def _capable(self) -> Any:
        return self.plugin

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.plugin.name)

    @property
    def spaces(self) -> dict[str, SpaceSpec]:  # type: ignore[override]
        return self.plugin.spaces  # type: ignore[no-any-return]

    @property
    def audio_sample_rate(self) -> int:  # type: ignore[override]
        return int(self._optional("audio_sample_rate", DEFAULT_AUDIO_SAMPLE_RATE))

    @property
    def batch_size(self) -> int | None:  # type: ignore[override]
        return self._optional("batch_size")  # type: ignore[no-any-return]

    @property
    def transcriber_id(self) -> str | None:  # type: ignore[override]
        return self._optional("transcriber_id")  # type: ignore[no-any-return]

    @property
    def reader_id(self) -> str | None:  # type: ignore[override]
        return self._optional("reader_id")  # type: ignore[no-any-return]

    @property
    def checkpoint(self) -> Path | None:  # type: ignore[override]
        return self._optional("checkpoint")  # type: ignore[no-any-return]

    @property
    def config_file(self) -> Path | None:  # type: ignore[override]
        return self._optional("config_file")  # type: ignore[no-any-return]

    @property
    def cache_dir(self) -> Path | None:  # type: ignore[override]
        return self._optional("cache_dir")  # type: ignore[no-any-return]

    @property
    def fingerprint(self) -> str:
        return str(self._optional("fingerprint") or self.name)

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        return self.plugin.encode(modality, inputs)  # type: ignore[no-any-return]

    def encode_query(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        """Its own encode_query() (a model with query prefixes), else encode()."""
        has, found = self._call("encode_query", modality, inputs)
        return found if has else self.encode(modality, inputs)  # type: ignore[no-any-return]

    def load(self) -> None:
        self._call("load")

    def weights_path(self) -> Path | None:
        return self._call("weights_path")[1]  # type: ignore[no-any-return]

    def weights_present(self) -> tuple[bool, str]:
        has, found = self._call("weights_present")
        return tuple(found) if has else (True, "")  # type: ignore[return-value]

    def current_fingerprint(self) -> str | None:
        """Its own current_fingerprint(), if it has one."""
        _, found = self._call("current_fingerprint")
        return str(found) if found is not None else None

    def declared_fingerprint(self) -> str | None:
        """Its `fingerprint` attribute, if it has one (its name is no fingerprint)."""
        found = self._optional("fingerprint")
        return str(found) if found is not None else None

    def pin_fingerprint(self, fingerprint: str) -> None:
        self._call("pin_fingerprint", fingerprint)

    def offer_cache_dir(self, cache_dir: Path) -> None:
        """Its own offer_cache_dir(), else its public `cache_dir` when it has one left unset."""
        has, _ = self._call("offer_cache_dir", cache_dir)
        if not has and self._optional("cache_dir", "absent") is None:
            self.plugin.cache_dir = cache_dir
