"""A store copied to read-only media (a backup, a NAS share, a CD) without its -wal/-shm
files can be searched, checked, listed and shown: searching never needs to write (issue 16,
class 7). The query cache is off, said once on stderr."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from crossmodal.pipeline import update
from crossmodal.store import Store

from .privileges import run_unprivileged

runner = CliRunner()


def _read_only_copy(fake_store: Store, collection: Path, tmp_path: Path) -> Path:
    update(fake_store, [collection])
    conn = sqlite3.connect(fake_store.catalog_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = tmp_path / "backup"
    shutil.copytree(fake_store.root, copy, ignore=shutil.ignore_patterns("*-wal", "*-shm", "cache"))
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return copy


def test_a_read_only_copy_is_searched_checked_and_shown(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    copy = _read_only_copy(fake_store, collection, tmp_path)
    page = tmp_path / "gallery.html"

    def use_it() -> dict[str, object]:
        out = {}
        for name, args in {
            "search": ["search", "red", "--json"],
            "check": ["check", "--json"],
            "stats": ["stats", "--json"],
            "gallery": ["gallery", "-o", str(page)],
        }.items():
            result = runner.invoke(app, [*args, "--store", str(copy)])
            out[name] = [result.exit_code, result.stdout, result.stderr]
        return out

    try:
        results = run_unprivileged(use_it)
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    for name, (code, _stdout, stderr) in results.items():
        assert code == 0, (name, stderr)
        assert "cannot open catalog" not in stderr
    assert '"results": [' in results["search"][1] and '"path"' in results["search"][1]
    assert results["search"][2].count("query cache is off (the store is read-only)") == 1
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        p.name for p in fake_store.root.iterdir() if not p.name.endswith(("-wal", "-shm", "cache"))
    )  # nothing was written beside the catalog
