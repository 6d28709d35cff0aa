"""Named encoder sets. A store records the name; the process builds the set once, lazily."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import EncoderError
from .base import EncoderSet

_FACTORIES: dict[str, Callable[[], EncoderSet]] = {}
_LOADED: dict[str, EncoderSet] = {}


def register_encoder_set(name: str, factory: Callable[[], EncoderSet]) -> None:
    """Make `name` loadable. Tests register small fake sets here; plug-ins will too."""
    _FACTORIES[name] = factory
    _LOADED.pop(name, None)


def available_encoder_sets() -> list[str]:
    return sorted(_FACTORIES)


def load_encoder_set(name: str, cache_dir: Path | None = None) -> EncoderSet:
    """The encoder set called `name`, built once per process (models load lazily inside it).

    `cache_dir` (the store's cache folder) is handed to sets that keep recomputable data there.
    """
    encoder_set = _LOADED.get(name)
    if encoder_set is None:
        factory = _FACTORIES.get(name)
        if factory is None:
            known = ", ".join(available_encoder_sets())
            raise EncoderError(f"unknown encoder set '{name}' (known: {known})")
        encoder_set = factory()
        _LOADED[name] = encoder_set
    if cache_dir is not None and getattr(encoder_set, "cache_dir", "absent") is None:
        encoder_set.cache_dir = cache_dir  # type: ignore[attr-defined]
    return encoder_set


def _builtin() -> EncoderSet:
    from .builtin import BuiltinEncoderSet

    return BuiltinEncoderSet()


register_encoder_set("builtin", _builtin)
