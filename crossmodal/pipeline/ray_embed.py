"""The embed stage on a Ray cluster (`update --ray ADDRESS`): Ray Data reads and decodes the files
in CPU tasks, encodes them in a pool of actors that each load the model once, and streams the
vectors back to this process, which writes them into the catalog as the local pipeline does.

What stays here, single-writer: planning (which content lacks a vector), the catalog and its
commit rules, so kill safety and moved/duplicate reuse are unchanged. Every row carries its job's
key (Ray does not keep order); a file that fails to decode comes back with its reason, worded by
the same failure_reason as locally. Jobs go to Ray a window at a time and results stream back
batch by batch, so this process holds one window's small job rows, never the vectors of a run.

The files are read on the nodes at the paths this machine knows, so they must be on a file
system every node mounts at the same path; `check_shared_paths` asks every node first.
Videos, speech and text in pictures are read on this machine (their stages have their own
pipelines, video.py and words.py)."""

from __future__ import annotations

import logging
import os
import pickle
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Catalog
from ..encoders import EncoderSet
from ..encoders.registry import ModelOptions
from ..errors import EncoderError, UserError
from ..store import Store
from .embed import (
    BATCH_SIZE,
    Encoded,
    Job,
    RecordedFailure,
    decode,
    encode_batch,
    failure_reason,
    write_encoded,
)
from .summaries import EmbedSummary

WINDOW = 20_000  # jobs per Ray dataset: bounds this process's memory, amortises actor start-up
SHARED_SAMPLE = 8  # files each node is asked to see before a run
RETRIES = 3  # a decode task lost with its worker is run again this many times
# Threads per actor: each actor is one encoder on one CPU; the pool's size spreads the load.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "CROSSMODAL_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def _row_fields(job: Job) -> dict[str, Any]:
    item = job.item
    return {
        "key": job.key,
        "kind": job.kind,
        "path": os.fsencode(item.fs_path),  # bytes: a non-UTF-8 name survives Arrow's strings
        "text": (item.text_side or "") if job.kind == "text_side" else "",
    }


class _RowItem:
    """What decode() reads of an item, rebuilt on the worker from a row."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.fs_path = row["path"]
        self.text_side = row["text"]
        self.modality = row["kind"] if row["kind"] != "text_side" else "text"
        self.meta: dict[str, Any] = {}


def decode_batch(batch: dict[str, np.ndarray], recipe: dict[str, Any]) -> dict[str, np.ndarray]:
    """A Ray Data task: decode and prepare a batch of files; errors come back as reasons. The
    encoder is built once per worker process (no model loads to prepare a picture)."""
    encoder = _encoder(recipe)
    keys, errors, values = [], [], []
    for key, kind, path, text in zip(
        batch["key"], batch["kind"], batch["path"], batch["text"], strict=True
    ):
        row = {"key": str(key), "kind": str(kind), "path": os.fsdecode(path), "text": str(text)}
        job = Job(_RowItem(row), row["kind"], row["key"])  # type: ignore[arg-type]
        try:
            value = encoder.prepare(row["kind"], decode(job, encoder.audio_sample_rate))
            keys.append(row["key"])
            errors.append("")
            values.append(pickle.dumps(value, protocol=5))
        except Exception as exc:  # recorded per file, never fatal
            keys.append(row["key"])
            errors.append(failure_reason(exc))
            values.append(b"")
    return {
        "key": np.array(keys, dtype=object),
        "error": np.array(errors, dtype=object),
        "value": np.array(values, dtype=object),
    }


class EncodeActor:
    """A Ray Data actor: loads the model once, encodes batches of prepared values."""

    def __init__(self, recipe: dict[str, Any], kind: str) -> None:
        self.encoder = _encoder(recipe)
        self.kind = kind

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        keys = [str(k) for k in batch["key"]]
        errors = [str(e) for e in batch["error"]]
        good = [i for i, error in enumerate(errors) if not error]
        values = [pickle.loads(batch["value"][i]) for i in good]
        payloads = [b""] * len(keys)
        if good:
            encoded = encode_batch(self.encoder, self.kind, [None] * len(good), values)  # type: ignore[list-item]
            for row, i in enumerate(good):
                payloads[i] = pickle.dumps(_row_payload(encoded, row), protocol=5)
        return {
            "key": np.array(keys, dtype=object),
            "error": np.array(errors, dtype=object),
            "payload": np.array(payloads, dtype=object),
        }


def _row_payload(encoded: Encoded, row: int) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "vectors": {space: matrix[row] for space, matrix in encoded.vectors.items()},
        "usable": bool(encoded.usable[row]),
    }
    if encoded.passages is not None:
        spans, per_space = encoded.passages
        payload["passages"] = (spans[row], {space: m[row] for space, m in per_space.items()})
    return payload


def _encoder(recipe: dict[str, Any]) -> EncoderSet:
    """The member encoder as the store records it, built once per worker process."""
    from ..encoders.registry import create_encoder_set

    cache = recipe.get("cache_dir")
    cache_dir = Path(cache) if cache and Path(cache).is_dir() else None
    return create_encoder_set(recipe["name"], recipe["options"], cache_dir, recipe["record"])


def _first_line(exc: BaseException) -> str:
    """The cause of a Ray error in one line (Ray's own text carries the remote traceback)."""
    cause = getattr(exc, "cause", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = next((line for line in reversed(lines) if not line.startswith(("File ", "^"))), "")
    return " ".join((text or type(cause).__name__).split())[:300]


def reachable(address: str, seconds: float = 5.0) -> str | None:
    """The host of a HOST:PORT address once its port answers (Ray's own connect waits a minute
    or more on a dead address); None for addresses Ray resolves itself (auto, ray://...)."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return None
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=seconds):
            return host
    except OSError as exc:
        raise UserError(
            f"cannot connect to the Ray cluster at {address}: {exc.strerror or exc}"
        ) from exc


def regroup(
    rows: list[tuple[Job, dict[str, Any]]],
) -> Encoded:
    """Per-row payloads back into one batch's Encoded (a space a row lacks makes it unusable)."""
    spaces = sorted({space for _, payload in rows for space in payload["vectors"]})
    usable = np.array([payload["usable"] for _, payload in rows], dtype=bool)
    vectors: dict[str, np.ndarray] = {}
    for space in spaces:
        sizes = Counter(len(p["vectors"][space]) for _, p in rows if space in p["vectors"])
        dim = sizes.most_common(1)[0][0]  # the space's size: a row of another is unusable
        matrix = np.zeros((len(rows), dim), dtype=np.float32)
        for row, (_, payload) in enumerate(rows):
            vector = payload["vectors"].get(space)
            if vector is None or len(vector) != dim:
                usable[row] = False
            else:
                matrix[row] = vector
        vectors[space] = matrix
    passages = None
    if any("passages" in payload for _, payload in rows):
        spans = [payload.get("passages", ([], {}))[0] for _, payload in rows]
        per_space: dict[str, list[Any]] = {}
        for space in {s for _, p in rows for s in p.get("passages", ([], {}))[1]}:
            per_space[space] = [
                p.get("passages", ([], {}))[1].get(space, np.zeros((0, 1), dtype=np.float32))
                for _, p in rows
            ]
        passages = (spans, per_space)
    return Encoded(vectors, usable, passages)


class RayCluster:
    """A connection to a Ray cluster for one embed run."""

    KINDS = ("image", "text", "audio", "text_side")

    def __init__(self, address: str, store: Store, options: ModelOptions | None) -> None:
        host = reachable(address)
        if host in ("127.0.0.1", "localhost", "::1"):
            # A one-machine cluster: Ray would otherwise swap loopback for the outward address.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError as exc:
            raise UserError("--ray needs Ray: pip install 'crossmodal[scale]'") from exc
        self.ray = ray
        self.store, self.options = store, options
        # Ray's driver thread prints the cluster's error messages (a worker that died, which
        # Ray then retries) on this process's stdout, where they would break --json; they are
        # kept in `cluster_messages` instead (the library prints nothing).
        import ray._private.worker as ray_worker

        self.cluster_messages: list[str] = []
        self._print = ray_worker.print_to_stdstream
        ray_worker.print_to_stdstream = self._keep  # type: ignore[assignment]
        try:
            ray.init(
                address=address,
                runtime_env={"env_vars": dict(WORKER_ENV)},
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
                configure_logging=False,
            )
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError from Ray
            ray_worker.print_to_stdstream = self._print  # type: ignore[assignment]
            reason = " ".join(str(exc).split())[:300]
            raise UserError(f"cannot connect to the Ray cluster at {address}: {reason}") from exc
        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        resources = ray.cluster_resources()
        self.cpus = max(1, int(resources.get("CPU", 1)))
        gpus = int(resources.get("GPU", 0))
        # One actor per GPU; on CPUs, pools sized to the measured split of a file's CPU time
        # (bench/RESULTS.md, issue 20): a 3.8 Mpx photo's decode and resize take ~2/3 of it, so a
        # third of the CPUs encode pictures; text and sounds decode for next to nothing, so
        # three quarters encode them. Some CPU is always left to decode tasks (with every CPU
        # held by an actor, none could ever run). Ray Data restarts a lost actor and retries its
        # batch by default (max_restarts=-1).
        self.gpus = gpus
        # On one CPU, an actor holding all of it would leave no decode task room to run.
        share = 1.0 if self.cpus >= 2 else 0.5
        self.decode_cpus = share
        self.actor_resources: dict[str, Any] = {"num_gpus": 1} if gpus else {"num_cpus": share}

    def _keep(self, data: dict[str, Any], ignore_prefix: bool = False) -> None:
        self.cluster_messages.extend(str(line) for line in data.get("lines", []))

    def close(self) -> None:
        """Disconnect (the cluster itself keeps running: it is not ours to stop)."""
        import ray._private.worker as ray_worker

        if self.ray.is_initialized():
            self.ray.shutdown()
        ray_worker.print_to_stdstream = self._print  # type: ignore[assignment]

    def pool_size(self, kind: str) -> int:
        if self.gpus:
            return self.gpus
        if kind == "image":
            return max(1, self.cpus // 3)
        return max(1, self.cpus - max(1, self.cpus // 4))

    def recipe(self, encoder: EncoderSet) -> dict[str, Any]:
        from ..models import _record, _run_options

        return {
            "name": encoder.name,
            "options": _run_options(self.options),
            "record": _record(self.store, encoder.name),
            "cache_dir": str(self.store.cache_dir),
        }

    def check_shared_paths(self, jobs: list[Job]) -> None:
        """Ask every alive node whether it sees a sample of the files (first, last, spread): the
        files must be readable at the same paths everywhere. UserError names the first node
        that does not."""
        ray = self.ray
        files = [job.item.fs_path for job in jobs if job.kind != "text_side"]
        if not files:
            return
        step = max(1, len(files) // SHARED_SAMPLE)
        sample = sorted(set(files[::step][:SHARED_SAMPLE] + [files[-1]]))
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        @ray.remote(num_cpus=0)
        def unseen(paths: list[str]) -> tuple[str, list[str]]:
            import socket

            return socket.gethostname(), [p for p in paths if not os.access(p, os.R_OK)]

        # The nodes that can run our tasks (a head kept free of work has no CPU to read with).
        nodes = [
            node
            for node in ray.nodes()
            if node.get("Alive") and (node.get("Resources", {}).get("CPU", 0) > 0)
        ]
        answers = ray.get(
            [
                unseen.options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
                ).remote(sample)
                for node in nodes
            ]
        )
        for host, missing in answers:
            if missing:
                raise UserError(
                    f"Ray node {host} cannot read {missing[0]}: with --ray the files must be on a "
                    "file system every node mounts at the same path"
                )

    def run_jobs(
        self,
        catalog: Catalog,
        encoder: EncoderSet,
        kind: str,
        jobs: list[Job],
        summary: EmbedSummary,
        primary: bool,
        advance: Callable[[int], None],
    ) -> None:
        """decode (tasks) -> encode (actor pool) -> write (here), window by window."""
        import ray

        self.check_shared_paths(jobs)
        recipe = self.recipe(encoder)
        encode_as = "text" if kind == "text_side" else kind
        size = encoder.batch_size or BATCH_SIZE[encode_as]
        actors = self.pool_size(kind)
        for start in range(0, len(jobs), WINDOW):
            window = jobs[start : start + WINDOW]
            by_key = {job.key: job for job in window}
            dataset = (
                ray.data.from_items([_row_fields(job) for job in window])
                .map_batches(
                    decode_batch,
                    fn_kwargs={"recipe": recipe},
                    batch_size=size,
                    num_cpus=self.decode_cpus,
                    max_retries=RETRIES,
                )
                .map_batches(
                    EncodeActor,
                    fn_constructor_kwargs={"recipe": recipe, "kind": kind},
                    compute=ray.data.ActorPoolStrategy(size=actors),
                    batch_size=size,
                    **self.actor_resources,
                )
            )
            try:
                for batch in dataset.iter_batches(batch_size=size, batch_format="numpy"):
                    self._write(catalog, by_key, batch, summary, primary)
                    advance(len(batch["key"]))
            except ray.exceptions.RayError as exc:  # what was written so far stays written
                raise EncoderError(f"the Ray cluster failed to encode: {_first_line(exc)}") from exc

    def _write(
        self,
        catalog: Catalog,
        by_key: dict[str, Job],
        batch: dict[str, np.ndarray],
        summary: EmbedSummary,
        primary: bool,
    ) -> None:
        rows: list[tuple[Job, dict[str, Any]]] = []
        errors: list[tuple[Job, Exception]] = []
        for key, error, payload in zip(batch["key"], batch["error"], batch["payload"], strict=True):
            job = by_key[str(key)]
            if error:
                errors.append((job, RecordedFailure(str(error))))
            else:
                rows.append((job, pickle.loads(payload)))
        encoded = regroup(rows) if rows else Encoded({}, np.zeros(0, dtype=bool))
        write_encoded(catalog, [job for job, _ in rows], encoded, errors, summary, primary)
