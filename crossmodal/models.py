"""The models of a store: which encoder sets it holds, adding and removing one, and the list
`crossmodal models` shows. A store can hold several encoder sets side by side; each keeps its
own spaces (named after the model and a fingerprint of its weights), so vectors of different
models or weights never share an index.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .encoders.base import EncoderSet
from .encoders.composite import CompositeEncoderSet
from .encoders.registry import (
    BUILTIN_PREFIXES,
    ModelOptions,
    available_encoder_sets,
    create_encoder_set,
    forget_encoder_set,
    plugin_entry_points,
    split_name,
)
from .errors import CrossmodalError, StoreEmptyError, UserError
from .spaces.hnsw import stray_index_files
from .store import DEFAULT_ENCODER_SET, Store


def _record(store: Store, name: str) -> dict[str, Any] | None:
    return next((m for m in store.settings.models if m["name"] == name), None)


def _normalise(name: str) -> str:
    """The name a store records: `st:` with a folder path becomes the absolute path, so the
    model does not depend on the directory a later run (cron) starts in."""
    name = name.strip()
    if not name:
        raise UserError("a model name cannot be empty (see crossmodal models)")
    prefix, argument = split_name(name)
    if prefix == "st" and argument:
        path = Path(argument).expanduser()
        if path.is_dir():
            return f"st:{path.resolve()}"
    return name


def store_encoder(
    store: Store, only: list[str] | None = None, options: ModelOptions | None = None
) -> EncoderSet:
    """The encoder of a store: all its models (or those named in `only`), combined."""
    names = store.settings.model_names()
    if only:
        wanted = [_normalise(name) for name in only]
        missing = [name for name in wanted if name not in names]
        if missing:
            raise UserError(
                f"store {store.root} has no model {', '.join(missing)} "
                f"(it has: {', '.join(names)}; add one with crossmodal embed --model NAME)"
            )
        names = [name for name in names if name in wanted]
    members = []
    for name in names:
        try:
            member = create_encoder_set(
                name, _run_options(options), store.cache_dir, _record(store, name)
            )
            member.spaces  # noqa: B018 - a vanished folder or config shows here, not mid-search
        except CrossmodalError as exc:
            others = [n for n in store.settings.model_names() if n != name]
            hint = f"search others with --model {others[0]}, " if others else ""
            raise UserError(
                f"model {name} of this store is unavailable ({exc}); restore its files, "
                f"{hint}or remove it: crossmodal models remove {name}"
            ) from exc
        members.append(member)
    return members[0] if len(members) == 1 else CompositeEncoderSet(members)


def _run_options(options: ModelOptions | None) -> ModelOptions:
    """Only run-time choices apply to models already recorded (their files are in the record)."""
    if options is None:
        return ModelOptions()
    return ModelOptions(
        device=options.device, batch_size=options.batch_size, allow_download=options.allow_download
    )


def add_model(store: Store, name: str, options: ModelOptions | None = None) -> EncoderSet:
    """Record a model in the store (call under the write lock) and return its encoder set.

    Checks its weights are here (or fetches them when downloads are allowed) and computes their
    fingerprint. The same model with other weights (a new checkpoint, an updated cache) replaces
    the old entry, and the old spaces' vectors and indexes are dropped: they cannot be compared
    with the new model's queries. Re-embedding needs only the files, which are not touched."""
    name = _normalise(name)
    options = options or ModelOptions()
    existing = _record(store, name)
    if existing is not None and not (options.checkpoint or options.config):
        encoder_set = create_encoder_set(name, _run_options(options), store.cache_dir, existing)
        current = _current_fingerprint(encoder_set)
        if current is None or current == existing.get("fingerprint"):
            return encoder_set
        forget_encoder_set(name)  # the instance holds the old fingerprint (and model)
        fresh = ModelOptions(
            checkpoint=Path(existing["checkpoint"]) if existing.get("checkpoint") else None,
            config=Path(existing["config"]) if existing.get("config") else None,
            device=options.device,
            batch_size=options.batch_size,
            allow_download=options.allow_download,
        )
        options = fresh
    encoder_set = create_encoder_set(name, options, store.cache_dir)
    encoder_set.weights_path()  # a one-line error now when the weights are not here
    encoder_set.load()  # a file that does not load is refused before the store records anything
    spaces = dict(encoder_set.spaces)
    replaced = _replaced_sibling(store, name)
    taken = {
        space
        for m in store.settings.models
        if m["name"] not in (name, replaced)
        for space in _spaces(store, m)
    }
    clash = sorted(taken & set(spaces))
    if clash:
        raise UserError(
            f"model {name} makes space {clash[0]}, which another model of this store has"
        )
    record = _new_record(name, encoder_set, spaces)
    if replaced is not None:
        # builtin <-> builtin-multilingual: the spaces they share (pictures' visual vectors,
        # sounds' features) are the same vectors and stay; the other's text space is retired.
        old = next(m for m in store.settings.models if m["name"] == replaced)
        gone = set(_spaces(store, old)) | set(old.get("retired", []))
        if gone - set(spaces):
            record["retired"] = sorted(gone - set(spaces))
        models = [record if m["name"] == replaced else m for m in store.settings.models]
    elif existing is not None:
        # The old weights' spaces stay until the new ones are embedded (embed drops them).
        retired = set(existing.get("spaces", [])) | set(existing.get("retired", []))
        if retired - set(spaces):
            record["retired"] = sorted(retired - set(spaces))
        stale = sorted(set(existing.get("spaces", [])) & set(spaces))
        if stale and existing.get("fingerprint") != record.get("fingerprint"):
            # New weights behind the same space names (a plug-in that does not put its
            # fingerprint in them): the old vectors must go now, never meet new queries.
            drop_spaces(store, stale)
        models = [record if m["name"] == name else m for m in store.settings.models]
    else:
        models = [*store.settings.models, record]
    if models != store.settings.models:
        store.set_models(models)
    return encoder_set


BUILTIN_FAMILY = ("builtin", "builtin-multilingual")


def _replaced_sibling(store: Store, name: str) -> str | None:
    """The builtin set a store holds that `name` takes the place of: builtin and
    builtin-multilingual differ only in their text model, so a store holds one of them."""
    if name not in BUILTIN_FAMILY:
        return None
    held = [m["name"] for m in store.settings.models if m["name"] in BUILTIN_FAMILY]
    return next((n for n in held if n != name), None)


def _new_record(name: str, encoder_set: EncoderSet, spaces: dict[str, Any]) -> dict[str, Any]:
    """What the store records of a model: its weights files, their fingerprint, its spaces."""
    record: dict[str, Any] = {"name": name}
    if encoder_set.checkpoint:
        record["checkpoint"] = str(encoder_set.checkpoint)
    if encoder_set.config_file:
        record["config"] = str(encoder_set.config_file)
    fingerprint = _current_fingerprint(encoder_set)
    if fingerprint is not None:
        record["fingerprint"] = fingerprint
    record["spaces"] = sorted(spaces)
    return record


def _spaces(store: Store, record: dict[str, Any]) -> list[str]:
    """A recorded model's spaces, from its record when it has them (no files needed)."""
    if record.get("spaces"):
        return list(record["spaces"])
    return list(create_encoder_set(record["name"], ModelOptions(), store.cache_dir, record).spaces)


def drop_retired(store: Store) -> list[str]:
    """Drop the spaces of weights a model no longer uses, once the new ones are embedded (a
    run killed before this leaves them for the next embed; searches never use them)."""
    retired = [space for m in store.settings.models for space in m.get("retired", [])]
    if not retired:
        return []
    drop_spaces(store, retired)
    store.set_models(
        [{k: v for k, v in m.items() if k != "retired"} for m in store.settings.models]
    )
    return retired


def _current_fingerprint(encoder_set: EncoderSet) -> str | None:
    """What the model's vectors depend on now, as the store records it: what the set tracks
    itself (openclip, st, a plug-in's current_fingerprint()), else a declared fingerprint for
    sets the store does not know by name. builtin's fingerprint describes its code, not files,
    and in-process sets registered by name (tests' fakes) have no files to change."""
    current = encoder_set.current_fingerprint()
    if current is not None:
        return current
    prefix, _ = split_name(encoder_set.name)
    if prefix in BUILTIN_PREFIXES or encoder_set.name in available_encoder_sets():
        return None
    return encoder_set.declared_fingerprint()


def remove_model(store: Store, name: str) -> list[str]:
    """Take a model out of the store (under the write lock): its vectors, passages' vectors,
    hubness penalties and index files go; items and other models stay. Returns its spaces."""
    name = _normalise(name)
    record = _record(store, name)
    if record is None:
        raise UserError(
            f"store {store.root} has no model {name} (it has: {', '.join(store.settings.model_names())})"
        )
    if len(store.settings.models) == 1:
        raise UserError(f"{name} is the store's only model; add another before removing it")
    spaces = (record.get("spaces") or _spaces(store, record)) + record.get("retired", [])
    # Settings first: a run killed after this line leaves vectors no model claims, which the
    # next removal or `check --repair` drops; never a model whose vectors are half gone.
    store.set_models([m for m in store.settings.models if m["name"] != name])
    drop_spaces(store, spaces)
    return list(spaces)


def drop_spaces(store: Store, spaces: list[str], catalog: Catalog | None = None) -> None:
    """Forget spaces: their catalog rows (one transaction), then their index files."""
    if not spaces:
        return
    own = catalog is None
    try:
        if own:
            catalog = Catalog(store.catalog_path)
    except StoreEmptyError:
        catalog = None
    if catalog is not None:
        try:
            with catalog.transaction():
                for space in spaces:
                    catalog.drop_space(space)
                _forget_no_vector(catalog, set(spaces))
        finally:
            if own:
                catalog.close()
    for space in spaces:
        for path in stray_index_files(store.index_dir, space, -1):
            with contextlib.suppress(OSError):
                path.unlink()


def _forget_no_vector(catalog: Catalog, spaces: set[str]) -> None:
    """Items noted as not encodable by a dropped space lose the note: a model added again (on
    another device, say) tries them afresh."""
    for item in catalog.items_with_meta("no_vector"):
        kept = [space for space in item.meta.get("no_vector", []) if space not in spaces]
        if kept != item.meta.get("no_vector", []):
            meta = {k: v for k, v in item.meta.items() if k != "no_vector"}
            catalog.update_item(item.id, meta={**meta, "no_vector": kept} if kept else meta)


def list_models(store: Store | None = None, show_all: bool = False) -> list[dict[str, Any]]:
    """What `crossmodal models` shows: every model a user can name here, its spaces (name,
    modalities, dimension), whether its weights are on this machine, and whether the store holds
    it. Imports no torch: configs and caches are read from disk."""
    rows: list[dict[str, Any]] = []
    in_store = set(store.settings.model_names()) if store else set()
    seen: set[str] = set()

    def add(
        name: str, encoder_set: EncoderSet | None, present: bool, where: str, **extra: Any
    ) -> None:
        if name in seen:
            return
        seen.add(name)
        spaces = []
        if encoder_set is not None and present:
            with contextlib.suppress(Exception):
                spaces = [
                    {"name": s.name, "modalities": sorted(s.modalities), "dim": s.dim}
                    for s in encoder_set.spaces.values()
                ]
        rows.append(
            {
                "name": name,
                "default": name == DEFAULT_ENCODER_SET,
                "weights": "present" if present else "absent",
                "where": where,
                "in_store": name in in_store,
                "spaces": spaces,
                **extra,
            }
        )

    for name in available_encoder_sets():
        encoder_set = create_encoder_set(name)
        present, where = encoder_set.weights_present()
        add(
            name,
            encoder_set,
            present,
            "pip packages" if name.startswith("builtin") and present else where or "registered",
        )
    if store:
        for record in store.settings.models:
            name = record["name"]
            try:
                encoder_set = create_encoder_set(name, ModelOptions(), store.cache_dir, record)
                present, where = _weights(encoder_set)
            except Exception as exc:  # listing never fails on one odd model
                encoder_set, present, where = None, False, str(exc)
            add(name, encoder_set, present, where)
    _add_openclip(add, show_all)
    _add_sentence_transformers(add)
    for prefix, entry in sorted(plugin_entry_points().items()):
        add(
            f"{prefix}:…",
            None,
            True,
            f"plug-in {entry.value} ({entry.dist.name if entry.dist else 'unknown package'})",
            plugin=True,
        )
    return rows


def _weights(encoder_set: EncoderSet) -> tuple[bool, str]:
    return encoder_set.weights_present()


def _add_openclip(add: Any, show_all: bool) -> None:
    from .encoders import openclip

    try:
        pretrained = openclip.known_pretrained()
        configs = openclip.builtin_configs()
    except Exception:
        return
    for arch, tag in pretrained:
        if arch not in configs:
            continue
        try:
            found = openclip.find_weights(arch, tag)
        except UserError:
            continue
        if found is None and not show_all:
            continue
        name = f"openclip:{arch}/{tag}"
        encoder_set = None
        if found is not None:
            with contextlib.suppress(Exception):
                encoder_set = create_encoder_set(name)
        where = str(found) if found else openclip.expected_weights(arch, tag)[0]
        if found is None:
            dim = openclip.read_config(arch, None)["embed_dim"]
            add(name, None, False, where, dim=dim)
        else:
            add(name, encoder_set, True, where)


def _add_sentence_transformers(add: Any) -> None:
    """sentence-transformers models already in the Hugging Face cache."""
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:
        return
    for repo in sorted(repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or not repo.revisions:
            continue
        revision = max(repo.revisions, key=lambda r: r.last_modified)
        if not (Path(revision.snapshot_path) / "modules.json").is_file():
            continue
        short = repo.repo_id.removeprefix("sentence-transformers/")
        name = f"st:{short}"
        with contextlib.suppress(Exception):
            add(name, create_encoder_set(name), True, str(revision.snapshot_path))


def download_model(name: str) -> Path:
    """Fetch a model's weights into the local cache: the only network call crossmodal makes, and
    only on this explicit request. Returns where they are."""
    prefix, argument = split_name(_normalise(name))
    if prefix == "openclip":
        from .encoders import openclip

        arch, tag = openclip.parse_argument(argument)
        if tag is None:
            raise UserError("download needs a tag: openclip:ARCH/TAG (see crossmodal models --all)")
        config = openclip.read_config(arch, None)
        weights = openclip.find_weights(arch, tag) or openclip.download_weights(arch, tag)
        text = config.get("text_cfg", {})
        for repo in sorted(
            {r for r in (text.get("hf_model_name"), text.get("hf_tokenizer_name")) if r}
        ):
            openclip.download_hub_part(repo)
        return weights
    if prefix == "st":
        from .encoders import sentence

        return sentence.find_folder(argument, allow_download=True)
    raise UserError(f"only openclip:ARCH/TAG and st:NAME models can be downloaded, not {name}")
