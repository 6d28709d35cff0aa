"""Fault injection and concurrency with real processes.

`update` is killed with SIGKILL at random moments while the collection changes between rounds.
After every kill the store must open and `check` must pass (pending work and leftover temporary
files are reported, not damage); after a rerun, `check` passes with nothing pending and
search results equal those of a clean store built from scratch. `make test` runs KILL_POINTS
rounds; `make soak` runs many more (SOAK_KILLS)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from crossmodal.catalog import Catalog
from crossmodal.check import check
from crossmodal.errors import StoreEmptyError, StoreError
from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store

from .conftest import COLOURS, write_image, write_text, write_tone

REPO = Path(__file__).resolve().parent.parent
KILL_POINTS = int(os.environ.get("SOAK_KILLS", "30"))
QUERIES = ["a red picture", "a green picture", "the blue sea", "forest trees", "a low hum"]
WORDS = ["red", "green", "blue", "sea", "forest", "barn", "trees", "waves", "sun", "rain"]
WORDS += ["hum", "bell", "night", "city"]


def _default_sigint() -> None:
    """A shell starts background jobs with SIGINT ignored, and Python then never raises
    KeyboardInterrupt; the child of a test run in the background must still get Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(store: Path, *args: str, delay: float = 0.005) -> subprocess.Popen:
    env = dict(os.environ, FAKE_ENCODE_DELAY=str(delay), PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fakecli", *args, "--store", str(store)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _wait_ready(process: subprocess.Popen) -> None:
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.strip() == "ready", line


def _make_collection(root: Path, rng: random.Random, n: int = 90) -> None:
    for i in range(n):
        kind = i % 3
        if kind == 0:
            write_image(root / f"d{i % 7}" / f"img{i}.png", rng.choice(list(COLOURS)))
        elif kind == 1:
            write_text(root / f"d{i % 7}" / f"note{i}.txt", " ".join(rng.sample(WORDS, 4)))
        else:
            write_tone(root / f"d{i % 7}" / f"tone{i}.wav", rng.uniform(100, 3000), seconds=0.2)


def _mutate(root: Path, rng: random.Random, step: int) -> None:
    """Add, change, delete, move and duplicate files, as a night's changes would."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    action = step % 5
    if action == 0:
        write_text(root / "new" / f"added{step}.txt", " ".join(rng.sample(WORDS, 5)))
        write_image(root / "new" / f"added{step}.png", rng.choice(list(COLOURS)))
    elif action == 1 and files:
        victim = rng.choice([p for p in files if p.suffix == ".txt"] or files)
        victim.write_text(" ".join(rng.sample(WORDS, 3)))
    elif action == 2 and len(files) > 10:
        rng.choice(files).unlink()
    elif action == 3 and files:
        source = rng.choice(files)
        target = root / "moved" / f"{step}-{source.name}"
        target.parent.mkdir(exist_ok=True)
        source.rename(target)
    elif files:
        source = rng.choice(files)
        shutil.copy2(source, source.with_name(f"copy{step}-{source.name}"))


def _results(store: Store) -> list[list[tuple[str, float]]]:
    engine = SearchEngine(store)
    try:
        return [
            [
                (hit.item.path, round(hit.score, 5))
                for hit in engine.search(build_query(text, type="all", k=8))
            ]
            for text in QUERIES
        ]
    finally:
        engine.close()


def _stage_reached(store_dir: Path) -> str:
    """Where the killed run was, judged from what it committed (for the closing report)."""
    try:
        catalog = Catalog(store_dir / "catalog.sqlite", readonly=True)
    except StoreEmptyError:
        return "before the catalog's first commit"
    try:
        last = catalog.conn.execute("SELECT max(finished) FROM runs").fetchone()[0] or 0.0
        newest_item = catalog.conn.execute("SELECT max(updated) FROM items").fetchone()[0] or 0.0
        newest_vector = (
            catalog.conn.execute("SELECT max(created) FROM vectors").fetchone()[0] or 0.0
        )
        newest_index = (
            catalog.conn.execute("SELECT max(built) FROM index_state").fetchone()[0] or 0.0
        )
    finally:
        catalog.close()
    if max(newest_item, newest_vector, newest_index) <= last:
        return "scan/ingest, before its first commit"
    if newest_index > max(newest_item, newest_vector):
        return "index"
    if newest_vector > newest_item:
        return "embed"
    return "ingest"


def test_kill_9_at_random_points_never_damages_the_store(tmp_path: Path) -> None:
    rng = random.Random(1234)
    root = tmp_path / "media"
    _make_collection(root, rng)
    store_dir = tmp_path / "store"
    Store.open_or_create(store_dir, encoder_set="fake")

    clean_run = _cli(store_dir, "update", str(root))
    _wait_ready(clean_run)
    started = time.monotonic()
    assert clean_run.wait(timeout=120) == 0, clean_run.stderr.read() if clean_run.stderr else ""
    full_seconds = time.monotonic() - started
    shutil.rmtree(store_dir)
    Store.open_or_create(store_dir, encoder_set="fake")

    stages: Counter[str] = Counter()
    kills = completed = 0
    round_number = 0
    while kills < KILL_POINTS:
        round_number += 1
        if round_number % 4 == 1:
            # A first run: the store is rebuilt from nothing, so kills land in long stages.
            shutil.rmtree(store_dir)
            Store.open_or_create(store_dir, encoder_set="fake")
            window = full_seconds
        else:
            # A night's changes: several files added, changed, deleted, moved, duplicated.
            for step in range(rng.randint(3, 8)):
                _mutate(root, rng, round_number * 10 + step)
            window = 0.25
        process = _cli(store_dir, "update", str(root))
        _wait_ready(process)
        time.sleep(rng.uniform(0.0, window))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            stages[_stage_reached(store_dir)] += 1
        else:
            completed += 1

        store = Store.open(store_dir)
        after_kill = check(store)
        assert after_kill.ok and not after_kill.problems, (round_number, after_kill.to_dict())

        update(store, [root])
        after_rerun = check(store)
        assert after_rerun.ok and not after_rerun.problems and not after_rerun.pending, (
            round_number,
            after_rerun.to_dict(),
        )
        clean_dir = tmp_path / f"clean{round_number}"
        clean = Store.open_or_create(clean_dir, encoder_set="fake")
        update(clean, [root])
        assert _results(store) == _results(clean), round_number
        shutil.rmtree(clean_dir)

    report = ", ".join(f"{stage} {n}" for stage, n in sorted(stages.items()))
    print(
        f"\nkill -9: {kills} kill points survived ({completed} runs finished first) over "
        f"{round_number} rounds; run length {full_seconds:.2f} s; state at kill: {report}"
    )


def test_kill_9_while_a_model_is_added_or_removed(tmp_path: Path) -> None:
    """`update --model second` and `models remove second`, killed at random moments: the store
    stays consistent, and rerunning gives exactly a clean two-model store's results."""
    import tests.fakecli  # noqa: F401  (registers "second" in this process too)
    from crossmodal.models import remove_model

    rng = random.Random(99)
    root = tmp_path / "media"
    _make_collection(root, rng, n=40)
    store_dir = tmp_path / "store"
    store = Store.open_or_create(store_dir, encoder_set="fake")
    update(store, [root])
    clean = Store.open_or_create(tmp_path / "clean", encoder_set="fake")
    update(clean, [root])
    update(clean, model="second")
    expected = _results(clean)
    timing = _cli(store_dir, "update", "--model", "second")
    _wait_ready(timing)
    started = time.monotonic()
    assert timing.wait(timeout=120) == 0, timing.stderr.read() if timing.stderr else ""
    window = time.monotonic() - started
    kills = 0
    for round_number in range(max(4, KILL_POINTS // 5)):
        # The store holds both models here: remove the second one, maybe killed half way.
        remover = _cli(store_dir, "models", "remove", "second")
        _wait_ready(remover)
        time.sleep(rng.uniform(0.0, 0.05))
        if remover.poll() is None:
            remover.send_signal(signal.SIGKILL)
            remover.wait()
            kills += 1
        repaired = check(Store.open(store_dir), repair=True)
        assert repaired.ok, (round_number, repaired.to_dict())
        store = Store.open(store_dir)
        if "second" in store.settings.model_names():
            with store.write_lock():
                remove_model(store, "second")
        adder = _cli(store_dir, "update", "--model", "second")
        _wait_ready(adder)
        time.sleep(rng.uniform(0.0, window))
        if adder.poll() is None:
            adder.send_signal(signal.SIGKILL)
            adder.wait()
            kills += 1
        after_kill = check(Store.open(store_dir))
        assert not after_kill.problems, (round_number, after_kill.to_dict())
        store = Store.open(store_dir)
        update(store, model="second")
        after_rerun = check(store)
        assert after_rerun.ok and not after_rerun.problems and not after_rerun.pending, (
            round_number,
            after_rerun.to_dict(),
        )
        assert _results(store) == expected, round_number
    print(f"\nkill -9 while adding/removing a model: {kills} kills over {round_number + 1} rounds")
    assert kills >= 2


def test_two_writers_and_a_reader(tmp_path: Path) -> None:
    """Two updates at once: with --wait both finish in turn; without it the second exits 75.
    A reader searching all the while always sees a committed state, never an error."""
    rng = random.Random(7)
    root = tmp_path / "media"
    _make_collection(root, rng, n=60)
    store_dir = tmp_path / "store"
    Store.open_or_create(store_dir, encoder_set="fake")

    first = _cli(store_dir, "update", str(root), "--wait", "60", delay=0.05)  # ~3 s of embedding
    _wait_ready(first)
    impatient = _cli(store_dir, "update", str(root), delay=0.01)
    patient = _cli(store_dir, "update", str(root), "--wait", "60", delay=0.01)
    _wait_ready(impatient)
    _wait_ready(patient)
    searches = 0
    while first.poll() is None or patient.poll() is None:
        try:
            _results(Store.open(store_dir))
            searches += 1
        except StoreError as exc:  # only before the first commit of any item
            assert "no indexed items" in str(exc) or "schema" in str(exc), exc
        time.sleep(0.01)

    assert impatient.wait(timeout=60) == 75
    assert impatient.stderr is not None and "locked" in impatient.stderr.read()
    assert first.wait() == 0 and patient.wait() == 0
    assert searches > 0
    assert check(Store.open(store_dir)).ok


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_polite_signals_stop_cleanly(tmp_path: Path, signal_number: int) -> None:
    rng = random.Random(3)
    root = tmp_path / "media"
    _make_collection(root, rng, n=45)
    store_dir = tmp_path / "store"
    Store.open_or_create(store_dir, encoder_set="fake")
    process = _cli(store_dir, "update", str(root), delay=0.2)  # about 9 s of embedding
    _wait_ready(process)
    time.sleep(1.0)
    process.send_signal(signal_number)
    code = process.wait(timeout=60)
    assert code in (130, 143), code
    stderr = process.stderr.read() if process.stderr else ""
    assert "Traceback" not in stderr
    store = Store.open(store_dir)
    assert not check(store).problems
    update(store, [root])
    assert check(store).ok
