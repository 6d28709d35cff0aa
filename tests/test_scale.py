"""Beyond one machine, on real engines started here on loopback: embedding on a Ray cluster
(`update --ray`) and vectors in Milvus (`--vectors milvus-lite:PATH.db`, and a `milvus-lite
server` reached over the network client path a Milvus cluster uses). Results must match the
hnswlib store built from the same content."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.engines import RAY_ENV, MilvusLiteServer, RayHead, non_loopback

# Found, not imported: Ray reads its environment (RAY_ENV) once, when first imported.
if not all(importlib.util.find_spec(name) for name in ("ray", "pymilvus", "milvus_lite")):
    pytest.skip("crossmodal[scale] is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
pytestmark = pytest.mark.e2e
QUERIES = [json.loads(line) for line in (SAMPLE / "queries.jsonl").read_text().splitlines() if line]


def crossmodal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossmodal", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        cwd=ROOT,
        timeout=900,
    )


def vectors(store: Path) -> dict[tuple[str, str], np.ndarray]:
    with sqlite3.connect(f"file:{store / 'catalog.sqlite'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT space, key, vector FROM vectors").fetchall()
    return {(space, key): np.frombuffer(blob, dtype=np.float32) for space, key, blob in rows}


def top(store: Path, query: str, k: int = 10, *extra: str) -> list[str]:
    result = crossmodal("search", query, "--store", str(store), "-k", str(k), "--json", *extra)
    assert result.returncode == 0, result.stderr
    return [hit["path"] for hit in json.loads(result.stdout)["results"]]


@pytest.fixture(scope="module")
def local_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sample_data embedded and indexed here, on hnswlib: what every other store must match."""
    path = tmp_path_factory.mktemp("scale") / "local"
    result = crossmodal("update", str(SAMPLE), "--store", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def ray_head():  # type: ignore[no-untyped-def]
    head = RayHead(cpus=3)  # 2 encode actors and a CPU for the decode tasks
    try:
        yield head
    finally:
        head.stop()


def copy_ingested(source: Path, target: Path) -> Path:
    """A copy of a store with its items but none of its vectors (to embed them again here)."""
    copy_store(source, target)
    with sqlite3.connect(target / "catalog.sqlite") as conn:
        for table in (
            "vectors",
            "passages",
            "index_members",
            "index_state",
            "hubness",
            "hubness_state",
        ):
            conn.execute(f"DELETE FROM {table}")
    shutil.rmtree(target / "indexes", ignore_errors=True)
    return target


def copy_store(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# -- Ray ---------------------------------------------------------------------------------
def test_ray_embeds_what_the_local_pipeline_embeds(
    ray_head: RayHead, local_store: Path, tmp_path: Path
) -> None:
    """Pictures, documents and sounds encoded by 2 actors on a real cluster: the same vectors
    (cosine >= 0.9999) as the local pipeline's, for the same content; every Ray process on
    loopback only."""
    folder = tmp_path / "files"
    for sub in ("images", "text", "audio"):
        shutil.copytree(SAMPLE / sub, folder / sub)
    store = tmp_path / "ray-store"
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:  # every socket of the cluster's processes, during the run
        while not done.is_set():
            seen.extend(non_loopback(ray_head.pids()))
            done.wait(1.0)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = crossmodal(
            "update",
            str(folder),
            "--store",
            str(store),
            "--ray",
            ray_head.address,
            "--json",
            env=RAY_ENV,
        )
    finally:
        done.set()
        watcher.join()
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ingest"]["failed"] == 0 and summary["embed"]["failed"] == 0
    assert not seen, seen
    ours, theirs = vectors(store), vectors(local_store)
    assert len(ours) >= 23 + 17 + 25  # each picture, document and sound in its spaces
    assert ours.keys() <= theirs.keys()
    worst = min(float(ours[key] @ theirs[key]) for key in ours)
    assert worst >= 0.9999, worst
    assert top(store, "a cat")[0].endswith("cat_chelsea.png")


def test_ray_survives_a_killed_actor(ray_head: RayHead, tmp_path: Path) -> None:
    """An encode actor killed (SIGKILL) mid-run: Ray restarts it and retries its batch, the run
    ends with every picture embedded, as the local pipeline embeds it."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_embed import make_photos  # sample_data's photos, perturbed: each its own content

    folder = tmp_path / "images"
    make_photos(folder, 60, 1.0)
    store = tmp_path / "ray-store"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crossmodal",
            "update",
            str(folder),
            "--store",
            str(store),
            "--ray",
            ray_head.address,
            "--batch-size",
            "1",
            "--json",
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **RAY_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        done = 0
        if (store / "catalog.sqlite").exists():
            try:
                done = len(vectors(store))
            except sqlite3.Error:
                continue
        actors = ray_head.actor_pids()
        if done >= 4 and actors:  # vectors are coming back: the pool is at work
            killed = actors[0]
            os.kill(killed, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert killed is not None, f"no actor seen at work: {err[-2000:]}"
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["embed"]["failed"] == 0 and summary["ingest"]["added"] == 60
    assert killed not in ray_head.actor_pids()
    ours = vectors(store)
    assert sum(1 for space, _ in ours if space == "builtin-visual") == 60
    # Against the same photos embedded here, without Ray.
    local = tmp_path / "local-store"
    assert crossmodal("embed", "--store", str(copy_ingested(store, local))).returncode == 0
    theirs = vectors(local)
    assert ours.keys() == theirs.keys()
    assert min(float(ours[key] @ theirs[key]) for key in ours) >= 0.9999


def test_ray_refuses_files_a_node_cannot_read(ray_head: RayHead, tmp_path: Path) -> None:
    """The files must be on a file system every node mounts at the same path: a file the node
    cannot read stops the run with one line naming it, before anything is encoded (in its own
    process: Ray reads RAY_ENV when first imported)."""
    script = f"""
import sys
from crossmodal.catalog import Item
from crossmodal.errors import UserError
from crossmodal.pipeline.embed import Job
from crossmodal.pipeline.ray_embed import RayCluster
from crossmodal.store import Store

store = Store.open_or_create({str(tmp_path / "store")!r})
item = Item(1, {str(tmp_path / "not-there.jpg")!r}, "image", 1, 0, "x", None, None, {{}}, "ok", None)
cluster = RayCluster({ray_head.address!r}, store, None)
try:
    cluster.check_shared_paths([Job(item, "image", "x")])
except UserError as exc:
    print(exc)
finally:
    cluster.close()
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **RAY_ENV},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cannot read" in result.stdout and "not-there.jpg" in result.stdout
    assert "every node mounts at the same path" in result.stdout


def test_unreachable_ray_cluster_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("words about a cat")
    result = crossmodal(
        "update",
        str(tmp_path / "a.txt"),
        "--store",
        str(tmp_path / "s"),
        "--ray",
        "127.0.0.1:9",
        env=RAY_ENV,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("crossmodal: error: cannot connect to the Ray cluster")
    assert "Traceback" not in result.stderr


# -- Milvus ------------------------------------------------------------------------------
def batch_tops(store: Path) -> list[list[str]]:
    """Top-10 paths of each of sample_data's text queries (with its type), in one process."""
    lines = [
        json.dumps({"text": q["query"], "k": 10, **({"type": q["type"]} if q.get("type") else {})})
        for q in QUERIES
        if q["kind"].startswith("text->")
    ]
    result = subprocess.run(
        [sys.executable, "-m", "crossmodal", "search", "--batch", "-", "--store", str(store)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(lines) >= 50
    return [[hit["path"] for hit in answer["results"]] for answer in answers]


def overlap(a: Path, b: Path) -> float:
    """Mean top-10 overlap over sample_data's text queries."""
    shares = [
        len(set(ours) & set(theirs)) / max(1, len(theirs))
        for ours, theirs in zip(batch_tops(a), batch_tops(b), strict=True)
    ]
    return float(np.mean(shares))


@pytest.fixture(scope="module")
def lite_store(local_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local store's content moved to a Milvus Lite file by `update --vectors`."""
    base = tmp_path_factory.mktemp("lite")
    store = copy_store(local_store, base / "store")
    result = crossmodal(
        "update",
        str(SAMPLE),
        "--store",
        str(store),
        "--vectors",
        f"milvus-lite:{base / 'vectors.db'}",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["embed"]["embedded"] == {}  # nothing re-embedded: uploaded from the catalog
    assert {r["space"]: r["rebuilt"] for r in summary["index"]} == {
        "builtin-semantic": True,
        "builtin-visual": True,
        "builtin-audio": True,
    }
    return store


def test_milvus_lite_store_answers_as_hnswlib(lite_store: Path, local_store: Path) -> None:
    settings = json.loads((lite_store / "settings.json").read_text())
    assert settings["vectors"].startswith("milvus-lite:")
    assert top(lite_store, "a cat")[0].endswith("cat_chelsea.png")
    share = overlap(lite_store, local_store)
    assert share >= 0.95, share
    check = crossmodal("check", "--store", str(lite_store), "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout


def test_milvus_server_store_answers_as_hnswlib(local_store: Path, tmp_path: Path) -> None:
    """Over the network client path (http://host:port), as against a Milvus cluster; delete,
    move and check --repair follow the catalog."""
    server = MilvusLiteServer(tmp_path / "milvus-data")
    try:
        folder = tmp_path / "files"
        for sub in ("images", "text"):
            shutil.copytree(SAMPLE / sub, folder / sub)
        store = tmp_path / "store"
        first = crossmodal(
            "update", str(folder), "--store", str(store), "--vectors", server.uri, "--json"
        )
        assert first.returncode == 0, first.stderr
        assert not non_loopback([server.proc.pid])
        assert top(store, "a cat")[0].endswith("images/cat_chelsea.png")
        assert top(store, "a cup of coffee", 3, "--type", "text")[0].endswith("coffee_cup.txt")

        # Delete: the file's vector leaves Milvus; move: the same vector, a new path.
        (folder / "images/cat_chelsea.png").unlink()
        (folder / "text/coffee_cup.txt").rename(folder / "text/moved_cup.txt")
        second = crossmodal("update", str(folder), "--store", str(store), "--json")
        assert second.returncode == 0, second.stderr
        summary = json.loads(second.stdout)
        assert summary["ingest"]["deleted"] == 1 and summary["ingest"]["moved"] == 1
        assert summary["embed"]["embedded"] == {}
        assert not any(p.endswith("cat_chelsea.png") for p in top(store, "a cat", 30))
        assert top(store, "a cup of coffee", 3, "--type", "text")[0].endswith("moved_cup.txt")
        check = crossmodal("check", "--store", str(store), "--json")
        assert json.loads(check.stdout)["ok"], check.stdout

        # The collections lost (a wiped server): check finds it, --repair re-uploads.
        from pymilvus import MilvusClient

        client = MilvusClient(uri=server.uri.replace("milvus://", "http://"))
        names = [n for n in client.list_collections() if n.startswith("crossmodal_")]
        assert len(names) == 3
        client.drop_collection(names[0])
        client.close()
        damaged = crossmodal("check", "--store", str(store), "--json")
        assert damaged.returncode != 0
        assert "is missing" in damaged.stdout
        repaired = crossmodal("check", "--repair", "--store", str(store), "--json")
        assert json.loads(repaired.stdout)["ok"], repaired.stdout
        assert crossmodal("check", "--store", str(store)).returncode == 0
        assert top(store, "a dog", 5)
    finally:
        server.stop()
    # The server gone: a search is one line and exit 1, never a traceback.
    gone = crossmodal("search", "a cat", "--store", str(store))
    assert gone.returncode == 1
    assert gone.stderr.startswith("crossmodal: error: cannot reach Milvus at milvus://127.0.0.1:")


def test_a_killed_upload_is_redone_from_the_catalog(lite_store: Path, tmp_path: Path) -> None:
    """A sync killed between its Milvus writes and the catalog commit leaves the "being
    written" marker: the next index re-uploads the space instead of trusting it."""
    store = copy_store(lite_store, tmp_path / "store")
    settings = json.loads((store / "settings.json").read_text())
    db = tmp_path / "copy.db"
    shutil.copytree(settings["vectors"].split(":", 1)[1], db)
    settings["vectors"] = f"milvus-lite:{db}"
    (store / "settings.json").write_text(json.dumps(settings))
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        conn.execute(
            "UPDATE index_state SET generation = -generation - 1 WHERE space = ?",
            ("builtin-visual",),
        )
    check = crossmodal("check", "--store", str(store))
    assert check.returncode != 0 and "interrupted" in check.stdout
    result = crossmodal("index", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    reports = {r["space"]: r for r in json.loads(result.stdout)["index"]}
    assert reports["builtin-visual"]["rebuilt"] is True
    assert reports["builtin-semantic"]["rebuilt"] is False
    assert crossmodal("check", "--store", str(store)).returncode == 0


def test_bad_vectors_values_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("words about a cat")
    for value, says in (
        ("milvus-lite:x.sqlite", "ending in .db"),
        ("milvus://nohost", "expected milvus://HOST:PORT"),
        ("redis://a:1", "expected hnswlib"),
        (f"milvus-lite:{tmp_path}/missing/x.db", "does not exist"),
    ):
        result = crossmodal(
            "update", str(tmp_path / "a.txt"), "--store", str(tmp_path / "s"), "--vectors", value
        )
        assert result.returncode == 1, value
        assert says in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_switching_back_to_hnswlib_rebuilds_from_the_catalog(
    lite_store: Path, tmp_path: Path
) -> None:
    """`--vectors hnswlib` moves a Milvus store back: every space is rebuilt from the stored
    vectors (nothing the files held before is trusted), then the store records it."""
    store = copy_store(lite_store, tmp_path / "store")
    result = crossmodal("index", "--store", str(store), "--json")  # in line: nothing to do
    assert result.returncode == 0, result.stderr
    back = crossmodal(
        "update", str(SAMPLE), "--store", str(store), "--vectors", "hnswlib", "--json"
    )
    assert back.returncode == 0, back.stderr
    assert all(report["rebuilt"] for report in json.loads(back.stdout)["index"])
    assert json.loads((store / "settings.json").read_text())["vectors"] == "hnswlib"
    assert top(store, "a cat")[0].endswith("cat_chelsea.png")
    check = crossmodal("check", "--store", str(store), "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout
