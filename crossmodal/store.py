"""A store folder: where it is, what it holds, its settings, and the write lock.

Layout (all paths relative to the store folder):
    settings.json        schema version, the encoder sets (models) and store options, replaced
                         atomically
    catalog.sqlite       items, failures, vectors and index bookkeeping (SQLite, WAL)
    indexes/SPACE.hnsw   one hnswlib index per space, replaced atomically
    cache/               derived data that can always be recomputed (e.g. ConSE class embeddings)
    write.lock           held by ingest/embed/index so two cron runs never write at once
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .errors import StoreError, StoreLockedError, UserError
from .fsutil import atomic_write_bytes

# 2: settings list several encoder sets ("models"); version-1 files (one "encoder_set") still read,
# and are rewritten as version 2 only when a model is added or removed, so an older crossmodal
# refuses a store whose second model it would not know (instead of purging its vectors).
SCHEMA_VERSION = 2
DEFAULT_ENCODER_SET = "builtin"


def default_store_dir() -> Path:
    """`CROSSMODAL_STORE`, else `$XDG_DATA_HOME/crossmodal`, else `~/.local/share/crossmodal`."""
    env = os.environ.get("CROSSMODAL_STORE")
    if env:
        return _utf8_path(Path(env).expanduser())
    xdg = os.environ.get("XDG_DATA_HOME")
    if not xdg:
        try:
            xdg = str(Path.home() / ".local" / "share")
        except (RuntimeError, KeyError) as exc:  # HOME unset and no passwd entry
            raise StoreError(
                "no home folder for the default store: pass --store DIR or set CROSSMODAL_STORE"
            ) from exc
    return _utf8_path(Path(xdg).expanduser() / "crossmodal")


def _utf8_path(root: Path) -> Path:
    """A store path must be valid UTF-8: hnswlib cannot write an index under any other."""
    try:
        str(root).encode("utf-8")
    except UnicodeEncodeError as exc:
        shown = os.fsencode(root).decode("utf-8", "backslashreplace")
        raise StoreError(
            f"store path {shown} is not valid UTF-8; choose a folder whose name is"
        ) from exc
    return root


@dataclass
class Settings:
    """settings.json. `models` are the store's encoder sets, in embedding order: each a dict with
    at least "name" (as the user typed it, e.g. "openclip:ViT-B-32/laion2b_s34b_b79k") and, for
    models with weights outside pip packages, what rebuilds them ("checkpoint", "config") plus
    the "fingerprint" of those weights and the "spaces" they made."""

    encoder_set: str = DEFAULT_ENCODER_SET
    schema_version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.models:
            self.models = [{"name": self.encoder_set}]

    def to_json(self) -> bytes:
        payload: dict[str, Any] = {
            "schema_version": self.schema_version,
            "encoder_set": self.encoder_set,
        }
        if self.schema_version >= 2:
            payload["models"] = self.models
        payload.update(self.extra)
        return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes, source: Path) -> Settings:
        try:
            data = json.loads(raw)
            version = data.pop("schema_version")
            if isinstance(version, bool) or not isinstance(version, int) or version < 0:
                raise ValueError(f"schema_version must be a whole number, not {version!r}")
            encoder_set = str(data.pop("encoder_set"))
            models = data.pop("models", None) or [{"name": encoder_set}]
            if not all(isinstance(m, dict) and isinstance(m.get("name"), str) for m in models):
                raise ValueError("models must be a list of objects with a name")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise StoreError(f"{source} is not a crossmodal settings file ({exc})") from exc
        return cls(encoder_set=encoder_set, schema_version=version, extra=data, models=models)

    def model_names(self) -> list[str]:
        return [str(model["name"]) for model in self.models]


class Store:
    """A store folder. Opening never writes; `create` makes the folder and its settings."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self._lock: FileLock | None = None

    # -- paths ---------------------------------------------------------------------------
    @property
    def settings_path(self) -> Path:
        return self.root / "settings.json"

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def leftover_files(self) -> list[Path]:
        """Temporary files a killed run left behind (a finished write renames its own away)."""
        found: list[Path] = []
        for folder in (self.root, self.index_dir, self.cache_dir):
            if folder.is_dir():
                found.extend(
                    path
                    for path in folder.iterdir()
                    if path.name.startswith(".") and path.name.endswith(".tmp")
                )
        return sorted(found)

    def remove_leftovers(self) -> int:
        """Delete leftover temporary files; call only while holding the write lock."""
        removed = 0
        for path in self.leftover_files():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    def is_fresh_folder(self) -> bool:
        """True when the folder holds nothing but what an interrupted `create` leaves behind."""
        return all(
            entry.name == "write.lock"
            or (entry.name.startswith(".") and entry.name.endswith(".tmp"))
            for entry in self.root.iterdir()
        )

    # -- open / create -------------------------------------------------------------------
    @staticmethod
    def exists(root: Path | str | None = None) -> bool:
        """Whether `root` (default: the default store folder) holds a store."""
        folder = Path(root).expanduser() if root is not None else default_store_dir()
        return (folder / "settings.json").is_file()

    @classmethod
    def open(cls, root: Path | str | None = None) -> Store:
        """Open an existing store; a missing or foreign folder is a StoreError, never created."""
        root = _utf8_path(Path(root).expanduser()) if root is not None else default_store_dir()
        settings_path = root / "settings.json"
        if not settings_path.is_file():
            if root.exists() and not root.is_dir():
                raise StoreError(f"store path {root} is not a folder")
            raise StoreError(
                f"no crossmodal store at {root} (create one with: crossmodal update PATH --store {root})"
            )
        try:
            settings = Settings.from_json(settings_path.read_bytes(), settings_path)
        except OSError as exc:
            raise StoreError(f"cannot read {settings_path}: {exc.strerror}") from exc
        if settings.schema_version > SCHEMA_VERSION:
            raise StoreError(
                f"store {root} has schema version {settings.schema_version}, newer than this "
                f"crossmodal understands ({SCHEMA_VERSION}); upgrade crossmodal"
            )
        return cls(root.resolve(), settings)

    @classmethod
    def open_or_create(
        cls, root: Path | str | None = None, encoder_set: str | None = None
    ) -> Store:
        """Open the store, creating the folder and settings if it does not exist yet."""
        root = _utf8_path(Path(root).expanduser()) if root is not None else default_store_dir()
        if (root / "settings.json").is_file():
            store = cls.open(root)
            if encoder_set and encoder_set != store.settings.encoder_set:
                raise StoreError(
                    f"store {root} uses encoder set '{store.settings.encoder_set}', "
                    f"not '{encoder_set}'"
                )
            return store
        settings = Settings(encoder_set=encoder_set or DEFAULT_ENCODER_SET)
        if root.exists() and (not root.is_dir() or not cls(root, settings).is_fresh_folder()):
            raise StoreError(f"{root} exists and is not a crossmodal store; choose an empty folder")
        try:
            # Owner-only: the catalog holds file names, tags and text of private collections.
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            root.chmod(0o700)
        except OSError as exc:
            raise StoreError(f"cannot create store folder {root}: {exc.strerror}") from exc
        atomic_write_bytes(root / "settings.json", settings.to_json())
        return cls(root.resolve(), settings)

    def set_option(self, name: str, value: Any) -> None:
        """Record a store-wide option (e.g. ocr) in settings.json; call under the write lock."""
        if self.settings.extra.get(name) == value:
            return
        self.settings.extra[name] = value
        atomic_write_bytes(self.settings_path, self.settings.to_json())

    def option(self, name: str, default: Any = None) -> Any:
        return self.settings.extra.get(name, default)

    def set_models(self, models: list[dict[str, Any]]) -> None:
        """Replace the store's list of encoder sets (settings version 2); under the write lock."""
        if not models:
            raise UserError("a store needs at least one model")
        self.settings.models = [dict(model) for model in models]
        self.settings.encoder_set = str(models[0]["name"])
        self.settings.schema_version = max(self.settings.schema_version, 2)
        atomic_write_bytes(self.settings_path, self.settings.to_json())

    # -- locking -------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Hold the store's write lock (re-entrant within a process); StoreLockedError on timeout."""
        if not math.isfinite(wait_seconds) or wait_seconds < 0:
            raise UserError(f"--wait must be a number of seconds >= 0, not {wait_seconds}")
        if self._lock is None:
            self._lock = FileLock(str(self.root / "write.lock"))
        try:
            self._lock.acquire(timeout=wait_seconds)
        except Timeout as exc:
            raise StoreLockedError(
                f"store {self.root} is locked by another crossmodal process; try again later"
            ) from exc
        try:
            if self._lock.lock_counter == 1 and self.settings_path.is_file():
                # What the previous holder wrote (a model added or removed while we waited).
                self.settings = Settings.from_json(
                    self.settings_path.read_bytes(), self.settings_path
                )
            yield
        finally:
            self._lock.release()
