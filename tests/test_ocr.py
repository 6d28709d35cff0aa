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
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
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


def _pdf(path: Path, text: str | None, banner: Path) -> Path:
    """A PDF whose pages are `text` (if given) then a banner-shaped picture (no text layer)."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=(600, 160), invariant=1)
    if text:
        pdf.drawString(20, 80, text)
        pdf.showPage()
    pdf.drawImage(str(banner), 0, 0, width=600, height=160)
    pdf.showPage()
    pdf.save()
    return path


def test_scanned_pdf_pages_are_read_when_the_store_has_ocr(
    fake_store: Store, pictures: Path
) -> None:
    docs = pictures.parent / "docs"
    docs.mkdir()
    _pdf(docs / "scan.pdf", None, pictures / "z_banner.png")
    _pdf(docs / "mixed.pdf", "minutes of the harbour committee", pictures / "z_banner.png")
    first = update(fake_store, [docs], encoder=FakeEncoderSet())
    reasons = dict((Path(p).name, r) for p, r in first.ingest.failures)
    assert reasons == {"scan.pdf": "scanned PDF: no text layer (use --ocr)"}
    catalog = Catalog(fake_store.catalog_path)
    mixed = catalog.item_by_path(str((docs / "mixed.pdf").resolve()))
    catalog.close()
    assert mixed.meta["scanned_pages"] == [2] and "use --ocr" in mixed.meta["note"]

    second = update(fake_store, encoder=FakeEncoderSet(), ocr=True)  # the failed scan is retried
    assert second.failed == 0 and second.embed.read == 2
    engine = SearchEngine(fake_store, encoder=FakeEncoderSet(), cache_queries=False)
    try:
        hits = engine.search(build_query("sale friday", type="text", k=2))
    finally:
        engine.close()
    assert {Path(h.item.path).name for h in hits} == {"scan.pdf", "mixed.pdf"}

    update(fake_store, encoder=FakeEncoderSet(), ocr=False)
    catalog = Catalog(fake_store.catalog_path)
    try:
        kept = {Path(i.path).name: i.meta.get("ocr_text") for i in catalog.items(modality="text")}
    finally:
        catalog.close()
    assert kept == {"mixed.pdf": None}  # the words read go with --ocr; scan.pdf is failed:
    catalog = Catalog(fake_store.catalog_path)
    try:
        scan = catalog.item_by_path(str((docs / "scan.pdf").resolve()))
    finally:
        catalog.close()
    assert scan.status == "failed" and scan.error == "scanned PDF: no text layer (use --ocr)"
    again = update(fake_store, encoder=FakeEncoderSet(), ocr=True)
    assert again.embed.read == 2 and again.failed == 0  # both read again once OCR is back
