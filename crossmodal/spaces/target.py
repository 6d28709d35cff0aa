"""Where a store's vectors are searched: its hnswlib files (the default) or a Milvus deployment.

The store records the choice in settings.json as `vectors` (`hnswlib`, `milvus-lite:PATH.db` or
`milvus://HOST:PORT`), never the token: that comes from CROSSMODAL_MILVUS_TOKEN at run time, so a
copied store folder carries no credential. The catalog stays the source of every vector; a
backend is a copy that `index` keeps in line and `check --repair` re-uploads."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..store import Store
    from .backend import VectorBackend

HNSWLIB = "hnswlib"
TOKEN_ENV = "CROSSMODAL_MILVUS_TOKEN"


@dataclass(frozen=True)
class VectorTarget:
    """A parsed `--vectors` value. `uri` is what pymilvus connects to (a .db file for Milvus
    Lite, http(s)://host:port for a server); `spec` is what settings.json records."""

    kind: str  # "hnswlib" or "milvus"
    spec: str
    uri: str = ""

    @property
    def lite(self) -> bool:
        return self.kind == "milvus" and not self.uri.startswith(("http://", "https://"))


_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


def parse_target(value: str, base: Path | None = None) -> VectorTarget:
    """`hnswlib`, `milvus-lite:PATH.db` (relative to `base`, default the current folder) or
    `milvus://HOST:PORT` / `milvus+https://HOST:PORT`; anything else is a UserError."""
    value = value.strip()
    if value in ("", HNSWLIB):
        return VectorTarget(HNSWLIB, HNSWLIB)
    if value.startswith("milvus-lite:"):
        raw = value[len("milvus-lite:") :]
        if not raw.endswith(".db") or raw.endswith("/.db"):
            raise UserError(f"--vectors {value}: Milvus Lite needs a file name ending in .db")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        path = Path(os.path.abspath(path))
        if not path.parent.is_dir():
            raise UserError(f"--vectors {value}: folder {path.parent} does not exist")
        return VectorTarget("milvus", f"milvus-lite:{path}", str(path))
    for scheme, http in (("milvus://", "http://"), ("milvus+https://", "https://")):
        if value.startswith(scheme):
            rest = value[len(scheme) :].rstrip("/")
            match = _HOST_PORT.fullmatch(rest)
            if not match or not 0 < int(match.group(2)) < 65536:
                raise UserError(f"--vectors {value}: expected {scheme}HOST:PORT")
            return VectorTarget("milvus", f"{scheme}{rest}", f"{http}{rest}")
    raise UserError(
        f"--vectors {value}: expected hnswlib, milvus-lite:PATH.db or milvus://HOST:PORT"
    )


def store_target(store: Store) -> VectorTarget:
    """The store's recorded target (hnswlib when none is recorded)."""
    return parse_target(str(store.option("vectors", HNSWLIB)))


def switch_target(store: Store, value: str | None) -> VectorTarget | None:
    """The target `--vectors` asks for when it is not the store's (None: no switch), checked
    before any work: a Milvus deployment must answer now, not after the ingest. It is recorded
    by record_target only once every space is in it, so searches meanwhile use the old one."""
    if value is None:
        return None
    target = parse_target(value)
    if target.spec == store_target(store).spec:
        return None
    if target.kind == "milvus":
        from .milvus import client_for

        client_for(target)  # connects, or a one-line StoreError
        if not store.option("store_id"):
            store.set_option("store_id", secrets.token_hex(6))
    return target


def record_target(store: Store, target: VectorTarget) -> None:
    """Make `target` the store's (under the write lock), once its spaces are in it."""
    store.set_option("vectors", target.spec)


def open_backend(
    store: Store, catalog: Catalog, space: str, dim: int, target: VectorTarget | None = None
) -> VectorBackend:
    """The backend the store's settings name (or `target`, while switching), for one space."""
    target = target or store_target(store)
    if target.kind == HNSWLIB:
        from .hnsw import HnswBackend

        return HnswBackend(catalog, space, dim, store.index_dir)
    from .milvus import MilvusBackend

    return MilvusBackend(catalog, space, dim, target, str(store.option("store_id", "")))
