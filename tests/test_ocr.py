"""Text in images (--ocr), with the fake reader (a banner-shaped picture 'shows' a sentence): the
store remembers the option, words are stored and searchable, read once, dropped when turned off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal.catalog import Catalog
from crossmodal.errors import UserError
from crossmodal.pipeline import update
from crossmodal.query import SearchEngine, build_query
from crossmodal.store import Store
from tests.conftest import FakeEncoderSet, write_image

WRITTEN = FakeEncoderSet.WRITTEN


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    write_image(root / "z_banner.png", "red", size=(150, 40))
    write_image(root / "photo.png", "red", size=(64, 48))
    write_image(root / "sky.png", "blue", size=(64, 48))
    return root


def _words(store: Store) -> dict[str, tuple[str | None, str | None]]:
    catalog = Catalog(store.catalog_path)
    try:
        return {
            Path(i.path).name: (i.meta.get("ocr_text"), i.text_side)
            for i in catalog.items(modality="image")
        }
    finally:
        catalog.close()


def _first(store: Store, text: str) -> str:
    engine = SearchEngine(store, encoder=FakeEncoderSet(), cache_queries=False)
    try:
        return Path(engine.search(build_query(text, type="image", k=3))[0].item.path).name
    finally:
        engine.close()


def test_words_in_pictures_are_read_stored_and_found(fake_store: Store, pictures: Path) -> None:
    encoder = FakeEncoderSet()
    update(fake_store, [pictures], encoder=encoder)
    assert not any(kind == "ocr" for kind, _ in encoder.calls)  # off unless asked for
    assert _first(fake_store, "sale friday") != "z_banner.png"
    summary = update(fake_store, encoder=encoder, ocr=True)
    assert summary.embed.read == 1 and fake_store.option("ocr") is True
    assert _words(fake_store) == {
        "z_banner.png": (WRITTEN, WRITTEN),
        "photo.png": ("", None),
        "sky.png": ("", None),
    }
    assert _first(fake_store, "sale friday") == "z_banner.png"
    again = FakeEncoderSet()
    update(fake_store, encoder=again)  # the store remembers --ocr; nothing is read twice
    assert again.calls == []
    write_image(pictures / "poster.png", "green", size=(200, 50))
    update(fake_store, encoder=again)
    assert again.calls.count(("ocr", 1)) == 1 and _words(fake_store)["poster.png"][0] == WRITTEN


def test_turning_ocr_off_drops_the_words(fake_store: Store, pictures: Path) -> None:
    update(fake_store, [pictures], encoder=FakeEncoderSet(), ocr=True)
    update(fake_store, encoder=FakeEncoderSet(), ocr=False)
    assert fake_store.option("ocr") is False
    assert _words(fake_store)["z_banner.png"] == (None, None)
    engine = SearchEngine(fake_store, encoder=FakeEncoderSet(), cache_queries=False)
    hits = engine.search(build_query("sale ends friday", type="image", k=3))
    assert all(hit.item.text_side is None for hit in hits)


class NoReader(FakeEncoderSet):
    reader_id = None  # type: ignore[assignment]


def test_ocr_without_a_reader_is_a_clear_error(fake_store: Store, pictures: Path) -> None:
    with pytest.raises(UserError, match="cannot read text in images"):
        update(fake_store, [pictures], encoder=NoReader(), ocr=True)
    assert fake_store.option("ocr") is None


def test_cli_flag_is_remembered_in_settings(fake_store: Store, pictures: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["update", str(pictures), "--store", str(fake_store.root), "--ocr", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["embed"]["read"] == 1
    assert json.loads((fake_store.root / "settings.json").read_text())["ocr"] is True
    result = runner.invoke(app, ["embed", "--store", str(fake_store.root), "--no-ocr"])
    assert result.exit_code == 0, result.output
    assert json.loads((fake_store.root / "settings.json").read_text())["ocr"] is False


def test_a_copied_picture_is_not_read_again(fake_store: Store, pictures: Path) -> None:
    update(fake_store, [pictures], encoder=FakeEncoderSet(), ocr=True)
    (pictures / "again.png").write_bytes((pictures / "z_banner.png").read_bytes())
    encoder = FakeEncoderSet()
    update(fake_store, encoder=encoder)
    assert not any(kind == "ocr" for kind, _ in encoder.calls)
    assert _words(fake_store)["again.png"] == (WRITTEN, WRITTEN)
