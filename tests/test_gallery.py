"""HTML pages: self-contained (no network resource, no script), escaped, and checked in a real
headless browser (Debian chromium): thumbnails decode, players exist, a screenshot is taken."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from crossmodal.gallery import results_page, store_page
from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store
from tests.conftest import write_text

runner = CliRunner()
PROBE = """<script>
window.addEventListener('load', () => {
  const images = [...document.images].map(i => i.complete ? i.naturalWidth : -1);
  document.body.setAttribute('data-probe', JSON.stringify(
    {images, audio: document.querySelectorAll('audio').length}));
});
</script>"""


def _assert_self_contained(page: str) -> None:
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']https?:""", page)


def test_results_page_embeds_thumbnails_players_and_escapes_text(
    fake_store: Store, collection: Path
) -> None:
    write_text(collection / "notes" / "x.txt", "a red <script>alert(1)</script> barn")
    (collection / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    update(fake_store, [collection])
    engine = SearchEngine(fake_store)
    query = build_query("red", type="all", k=20)
    page = results_page(query.describe(), engine.search(query))
    _assert_self_contained(page)
    assert page.count("data:image/jpeg;base64,") == 3 and page.count("<audio") == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "text: <b>red</b>" in page
    overview = store_page(fake_store)
    _assert_self_contained(overview)
    assert "images (3)" in overview and "audios (2)" in overview and "texts (4)" in overview
    assert "failed (1)" in overview and "broken.png" in overview


def test_cli_writes_pages_and_reports_an_unwritable_path(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    update(fake_store, [collection])
    out = tmp_path / "results.html"
    args = ["search", "red", "--store", str(fake_store.root), "--html", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!doctype html>") and json.loads(result.stdout)["results"]
    overview = tmp_path / "store.html"
    result = runner.invoke(app, ["gallery", "--store", str(fake_store.root), "-o", str(overview)])
    assert result.exit_code == 0 and "crossmodal store" in overview.read_text()
    bad = runner.invoke(app, [*args[:-3], "--html", str(tmp_path / "no" / "dir" / "x.html")])
    assert bad.exit_code == 1 and "cannot write" in bad.output and "Traceback" not in bad.output
    batch = runner.invoke(
        app, ["search", "--batch", "-", "--html", str(out), "--store", str(fake_store.root)]
    )
    assert batch.exit_code == 1 and "cannot be combined with --batch" in batch.output


def test_gallery_caps_the_failures_table(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crossmodal.gallery

    for n in range(5):
        (collection / "photos" / f"broken{n}.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    update(fake_store, [collection])
    monkeypatch.setattr(crossmodal.gallery, "FAILURES_MAX", 3)
    overview = store_page(fake_store)
    assert "failed (5)" in overview and overview.count("<tr><td>") == 3
    assert "2 more not shown" in overview


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (make install adds it with apt-get)")
    command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    command += ["--allow-file-access-from-files", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def render_in_browser(page: Path, screenshot: Path) -> dict[str, object]:
    probe = page.with_name(page.stem + "-probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dumped = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    found = re.search(r"data-probe=\"([^\"]*)\"", dumped.stdout)
    assert found, dumped.stderr[-2000:]
    shot = chromium(f"--screenshot={screenshot}", "--window-size=1100,800", page.as_uri())
    assert screenshot.is_file(), shot.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_pages_render_in_a_headless_browser(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    update(fake_store, [collection])
    engine = SearchEngine(fake_store)
    results = tmp_path / "results.html"
    query = build_query(None, images=[str(collection / "photos" / "a.png")], type="all", k=10)
    results.write_text(results_page(query.describe(), engine.search(query)))
    probe = render_in_browser(results, tmp_path / "results.png")
    images = probe["images"]
    assert isinstance(images, list) and len(images) >= 3 and all(w > 0 for w in images), probe
    assert probe["audio"] == 2
    with Image.open(tmp_path / "results.png") as shot:
        assert shot.size == (1100, 800) and len(shot.convert("RGB").getcolors(1 << 20) or []) > 10
    overview = tmp_path / "store.html"
    overview.write_text(store_page(fake_store))
    probe = render_in_browser(overview, tmp_path / "store.png")
    assert probe["images"] and all(w > 0 for w in probe["images"]) and probe["audio"] == 2
