"""Integrity check of a store: do the catalog, the stored vectors and the index files agree?

`check` reads; `check(repair=True)` fixes what can be fixed without re-embedding: it rebuilds
index files from the stored vectors, drops damaged vectors (the next `update` re-embeds them) and
removes files left by killed runs. Work that is merely pending (vectors not indexed yet, items not
embedded yet) is reported separately: it is what the next `update` does, not damage.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import SCHEMA_VERSION, Catalog
from .errors import StoreEmptyError, StoreError
from .hubness import refresh_hubness
from .models import store_encoder
from .spaces.hnsw import (
    ADD_CHUNK,
    index_file,
    load_index,
    rebuild_space,
    stray_index_files,
    update_space,
)
from .spaces.target import HNSWLIB, open_backend, store_target
from .store import Store

NORM_TOLERANCE = 1e-3
MILVUS_SAMPLES = 64  # vectors read back from Milvus and compared with the catalog's, per space


@dataclass
class Finding:
    what: str  # catalog | vectors | index | files | pending
    message: str
    space: str | None = None
    repaired: bool = False


@dataclass
class CheckReport:
    problems: list[Finding] = field(default_factory=list)
    pending: list[Finding] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No damage left (pending work is not damage)."""
        return all(problem.repaired for problem in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": [asdict(p) for p in self.problems],
            "pending": [asdict(p) for p in self.pending],
            "counts": self.counts,
        }


def check(store: Store, repair: bool = False, wait_seconds: float = 0.0) -> CheckReport:
    """Verify the store. Repairs take the write lock; a plain check reads committed snapshots and
    can run beside a writer, whose unfinished work shows as pending, never as damage."""
    report = CheckReport()
    with contextlib.ExitStack() as stack:
        # A plain check never takes the lock, not even briefly (a cron update must never exit 75
        # because of it). Work a running writer has half done is reported as pending, not damage.
        if repair:
            stack.enter_context(store.write_lock(wait_seconds))
        if (lost := _lost_catalog(store)) is not None:
            report.problems.append(lost)  # nothing to repair from: update rebuilds it
            return report
        try:
            catalog = Catalog(store.catalog_path, readonly=not repair)
        except StoreEmptyError:
            report.pending.append(Finding("pending", "the store is empty (run update PATH)"))
            return report
        stack.callback(catalog.close)
        _check_catalog(catalog, report)
        if report.problems:  # a damaged database: nothing below can be trusted
            return report
        encoder = store_encoder(store)
        dims = {name: spec.dim for name, spec in encoder.spaces.items()}
        _check_vectors(catalog, dims, report, repair)
        _check_unclaimed_spaces(store, catalog, dims, report, repair)
        milvus = store_target(store).kind != HNSWLIB
        for space, dim in dims.items():
            if milvus:
                _check_milvus_space(store, catalog, space, dim, report, repair)
                continue
            with catalog.read_snapshot():  # state, file and members of one committed generation
                finding = _check_index(catalog, store.index_dir, space, dim)
            if finding is not None:
                _record_index_finding(catalog, store.index_dir, space, dim, finding, report, repair)
        _check_files(store, dims, catalog, report, repair)
        _check_pending_embeds(catalog, encoder, report)
        report.counts = {
            "items": catalog.counts(),
            "vectors": catalog.spaces_with_vectors(),
            "roots": catalog.roots(),
        }
    return report


def _lost_catalog(store: Store) -> Finding | None:
    """A catalog missing or empty beside index files: it held vectors and was lost (a fresh
    store, or one whose first run was killed, has no index file yet)."""
    path = store.catalog_path
    if path.exists() and path.stat().st_size > 0:
        return None
    indexes = sorted(store.index_dir.glob("*.hnsw")) if store.index_dir.is_dir() else []
    if not indexes:
        return None
    return Finding(
        "catalog",
        f"the catalog is missing or empty but {len(indexes)} index files remain: it was lost; "
        "run crossmodal update PATH to rebuild it (the files are read again)",
    )


def _check_catalog(catalog: Catalog, report: CheckReport) -> None:
    result = catalog.quick_check()
    if result != "ok":
        report.problems.append(Finding("catalog", f"SQLite reports damage: {result}"))
    if catalog.schema_version != SCHEMA_VERSION:
        report.problems.append(
            Finding("catalog", f"schema {catalog.schema_version}, expected {SCHEMA_VERSION}")
        )
    bad = catalog.unhashed_live_items()
    if bad:
        report.problems.append(Finding("catalog", f"{bad} indexed items have no content hash"))


def _check_unclaimed_spaces(
    store: Store, catalog: Catalog, dims: dict[str, int], report: CheckReport, repair: bool
) -> None:
    """Vectors of a space no model of the store makes: a `models remove` killed half way (it
    records the removal first). Repair finishes the removal."""
    retired = {space for m in store.settings.models for space in m.get("retired", [])}
    unclaimed = sorted(set(catalog.spaces_with_vectors()) - set(dims) - retired)
    for space in sorted(retired & set(catalog.spaces_with_vectors())):
        pending = Finding("pending", "vectors of a model's previous weights", space)
        if repair:
            from .models import drop_retired

            drop_retired(store)
            pending.repaired = True
            pending.message += "; dropped"
        report.pending.append(pending)
    for space in unclaimed:
        finding = Finding(
            "vectors", "vectors of a space no model of this store makes (a removed model)", space
        )
        if repair:
            from .models import drop_spaces

            drop_spaces(store, [space], catalog)
            finding.repaired = True
            finding.message += "; dropped"
        report.problems.append(finding)


def _check_vectors(
    catalog: Catalog, dims: dict[str, int], report: CheckReport, repair: bool
) -> None:
    """Every stored vector has its space's dimension, finite values and unit length."""
    for space, dim in dims.items():
        damaged: list[int] = []
        for vector_id, blob in catalog.vector_blobs(space):
            if len(blob) != 4 * dim:
                damaged.append(vector_id)
                continue
            vector = np.frombuffer(blob, dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            if not np.all(np.isfinite(vector)) or abs(norm - 1.0) > NORM_TOLERANCE:
                damaged.append(vector_id)
        if not damaged:
            continue
        finding = Finding(
            "vectors", f"{len(damaged)} damaged vectors (wrong size, NaN or not unit length)", space
        )
        if repair:
            with catalog.transaction():
                catalog.delete_vectors(damaged)
            finding.repaired = True
            finding.message += "; dropped, the next update re-embeds them"
        report.problems.append(finding)


def _check_index(catalog: Catalog, index_dir: Path, space: str, dim: int) -> Finding | None:
    """Damage (what="index") or pending work (what="pending") of one space's index, read in one
    snapshot: the committed file exists, loads, holds exactly the recorded members with the
    recorded deletion marks, and stores the same vectors as the catalog."""
    state = catalog.index_state(space)
    live = catalog.live_vector_ids(space)
    if state is None:
        return Finding("pending", f"{len(live)} vectors not indexed yet", space) if live else None
    damage = _index_damage(catalog, index_dir, space, dim, state.generation)
    if damage:
        return Finding("index", damage, space)
    members = catalog.index_members(space)
    return _behind(live, {v for v, dead in members.items() if not dead}, space)


def _behind(live: set[int], alive: set[int], space: str) -> Finding | None:
    """Pending work of any backend: vectors the catalog has live that its copy lacks, or holds
    alive that the catalog no longer has."""
    missing, extra = len(live - alive), len(alive - live)
    if missing or extra:
        return Finding(
            "pending", f"index behind the catalog: {missing} to add, {extra} to remove", space
        )
    return None


def _record_index_finding(
    catalog: Catalog,
    index_dir: Path,
    space: str,
    dim: int,
    finding: Finding,
    report: CheckReport,
    repair: bool,
) -> None:
    if finding.what == "index":
        if repair:
            rebuild_space(catalog, space, dim, index_dir)
            refresh_hubness(catalog, space)
            finding.repaired = True
            finding.message += "; rebuilt from stored vectors"
        report.problems.append(finding)
        return
    if repair:
        update_space(catalog, space, dim, index_dir)
        refresh_hubness(catalog, space)
        finding.repaired = True
    report.pending.append(finding)


def _check_milvus_space(
    store: Store, catalog: Catalog, space: str, dim: int, report: CheckReport, repair: bool
) -> None:
    """A Milvus collection against the catalog: its row count, and a sample of its vectors read
    back. Repair re-uploads from the catalog's stored vectors (never re-embeds)."""
    from .spaces.sync import rebuild, sync

    backend = open_backend(store, catalog, space, dim)
    try:
        finding = _milvus_finding(catalog, backend, space, dim)
        if finding is None:
            return
        if repair:
            (rebuild if finding.what == "index" else sync)(catalog, backend)
            refresh_hubness(catalog, space)
            finding.repaired = True
            if finding.what == "index":
                finding.message += "; uploaded again from stored vectors"
    except StoreError as exc:  # Milvus unreachable or refusing: damage nothing here repairs
        finding = Finding("index", str(exc), space)
    (report.problems if finding.what == "index" else report.pending).append(finding)


def _milvus_finding(catalog: Catalog, backend: Any, space: str, dim: int) -> Finding | None:
    with catalog.read_snapshot():
        state = catalog.index_state(space)
        live = catalog.live_vector_ids(space)
        members = catalog.index_members(space)
    if state is None:
        return Finding("pending", f"{len(live)} vectors not indexed yet", space) if live else None
    name = backend.collection
    if state.generation < 0:
        return Finding("index", f"an upload to Milvus collection {name} was interrupted", space)
    if not backend.exists():
        return Finding("index", f"Milvus collection {name} is missing", space)
    if backend.collection_dim() != dim:
        return Finding("index", f"Milvus collection {name} has another dimension", space)
    alive = sorted(v for v, dead in members.items() if not dead)
    stored = backend.stored_count()
    if stored != len(alive):
        return Finding(
            "index", f"Milvus holds {stored} vectors, the catalog records {len(alive)}", space
        )
    step = max(1, len(alive) // MILVUS_SAMPLES)
    sample = alive[::step][:MILVUS_SAMPLES]
    ids, matrix, _ = catalog.load_vectors(space, ids=sample)
    found = backend.stored_vectors(ids.tolist())
    for vector_id, vector in zip(ids.tolist(), matrix, strict=True):
        if vector_id not in found:
            return Finding("index", f"vector {vector_id} is missing from Milvus", space)
        if not np.allclose(found[vector_id], vector, atol=1e-5):
            return Finding(
                "index", f"vector {vector_id} in Milvus differs from the catalog's", space
            )
    return _behind(live, set(alive), space)


def _index_damage(
    catalog: Catalog, index_dir: Path, space: str, dim: int, generation: int
) -> str | None:
    path = index_file(index_dir, space, generation)
    if not path.is_file():
        return f"index file {path.name} is missing"
    try:
        index = load_index(path, dim, recheck=True)
    except StoreError as exc:
        return str(exc)
    members = catalog.index_members(space)
    labels = set(int(v) for v in index.get_ids_list())
    if labels != set(members):
        return f"index file holds {len(labels)} labels, the catalog records {len(members)}"
    alive = sorted(v for v, dead in members.items() if not dead)
    for vector_id in (v for v, dead in members.items() if dead):
        with contextlib.suppress(RuntimeError):
            index.get_items([vector_id])
            return f"label {vector_id} should be marked deleted but is not"
    for start in range(0, len(alive), ADD_CHUNK):  # chunked: memory stays flat on big spaces
        wanted = alive[start : start + ADD_CHUNK]
        ids, stored, _ = catalog.load_vectors(space, ids=wanted)
        if len(ids) != len(wanted):
            return f"{len(wanted) - len(ids)} indexed vectors are missing from the catalog"
        try:
            in_index = np.asarray(index.get_items(ids.tolist()), dtype=np.float32)
        except RuntimeError as exc:
            return f"an indexed label cannot be read back ({exc})"
        if not np.allclose(in_index, stored, atol=1e-5):
            return "index vectors differ from the stored vectors"
    return None


def _check_files(
    store: Store, dims: dict[str, int], catalog: Catalog, report: CheckReport, repair: bool
) -> None:
    """Temporary files and superseded index generations left by killed runs."""
    leftovers = store.leftover_files()
    for space in dims:
        state = catalog.index_state(space)
        if state is not None:
            leftovers.extend(stray_index_files(store.index_dir, space, state.generation))
    if not leftovers:
        return
    finding = Finding(
        "pending",
        f"{len(leftovers)} harmless files left by interrupted runs (next update removes them)",
    )
    if repair:
        for path in leftovers:
            with contextlib.suppress(OSError):
                path.unlink()
        finding.repaired = True
        finding.message = f"{len(leftovers)} files left by interrupted runs: removed"
    report.pending.append(finding)


def _check_pending_embeds(catalog: Catalog, encoder: Any, report: CheckReport) -> None:
    """Items whose content lacks a vector in a space that accepts it (one pass over the items)."""
    keys_by_modality: dict[str, set[str]] = {
        "text": set(),
        "image": set(),
        "audio": set(),
        "video": set(),
    }
    unencodable: dict[str, set[str]] = {}  # space -> keys a model said it cannot encode
    for item in catalog.items(status="ok"):
        if item.content_hash and item.modality in keys_by_modality:
            keys_by_modality[item.modality].add(item.content_hash)
        if item.text_key:
            keys_by_modality["text"].add(item.text_key)
        for space in item.meta.get("no_vector", ()):
            unencodable.setdefault(space, set()).update(
                key for key in (item.content_hash, item.text_key) if key
            )
    for name, spec in encoder.spaces.items():
        keys = set().union(*(keys for m, keys in keys_by_modality.items() if spec.accepts(m)))
        keys -= unencodable.get(name, set())
        lacking = len(keys - catalog.has_vector_keys(name, keys))
        if lacking:
            report.pending.append(
                Finding("pending", f"{lacking} items not embedded yet (run update)", name)
            )
