"""Hostile input: every malformed or odd file is recorded with a reason or handled correctly, the
run finishes, and the rest of the collection is indexed. The committed corpus (tests/corpus/) is
joined by inputs that cannot live in git: unreadable files and folders, a non-UTF-8 file name, a
one-hour recording, a 100-megapixel photo, and files that change under the scan."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from typer.testing import CliRunner

import crossmodal.pipeline.ingest  # noqa: F401 - the stage module, for its scan
from cli.main import app
from crossmodal.catalog import Catalog
from crossmodal.check import check
from crossmodal.pipeline import embed, ingest, update
from crossmodal.store import Store

from .conftest import write_image, write_text
from .privileges import run_unprivileged

INGEST_STAGE = sys.modules["crossmodal.pipeline.ingest"]  # `pipeline.ingest` is the function
CORPUS = Path(__file__).parent / "corpus"
MANIFEST: dict[str, dict[str, str]] = json.loads((CORPUS / "manifest.json").read_text())


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temp folder that `nobody` may use (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="crossmodal-corpus-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o777)
        shutil.rmtree(folder)


def _generated(root: Path) -> dict[str, str]:
    """Odd inputs made at test time, with their expected outcomes."""
    gen = root / "generated"
    gen.mkdir()
    # A one-hour recording: mostly silence with a tone at the start; loading is capped in length.
    rate = 8000
    hour = np.zeros(3600 * rate, dtype=np.float32)
    hour[:rate] = 0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    sf.write(gen / "one_hour.flac", hour, rate)
    # A 100-megapixel photo (under the 120 Mpx bomb guard): decoded at reduced size via draft.
    gradient = np.tile(np.linspace(0, 255, 10_000, dtype=np.uint8), (10_000, 1))
    Image.fromarray(gradient, "L").save(gen / "100_megapixels.jpg", quality=50)
    # One 1.2 MB line without a newline: read up to the 1 MB cap.
    (gen / "one_line_1_2mb.txt").write_bytes(b"word " * 240_000)
    # A name that is not valid UTF-8 (Latin-1 e-acute).
    with open(os.fsencode(gen) + b"/caf\xe9 menu.txt", "wb") as handle:
        handle.write(b"the cafe menu: coffee and croissants")
    # A PDF of 5,000 pages is read up to the page cap; an HTML page of 50 MB up to its byte cap.
    from reportlab.lib.pagesizes import A7
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(gen / "pages_5000.pdf"), pagesize=A7, invariant=1)
    for number in range(5000):
        pdf.drawString(10, 100, f"page {number + 1} of the harbour log")
        pdf.showPage()
    pdf.save()
    with open(gen / "page_50mb.html", "wb") as handle:
        handle.write(b"<!DOCTYPE html><html><head><title>Big</title></head><body>")
        for _ in range(50):
            handle.write(b"<p>a cat on a mat</p>" * 50_000)
        handle.write(b"</body></html>")
    # A zip bomb of about 1 MB whose document.xml inflates to 1 GiB (zip64): refused unread.
    with zipfile.ZipFile(gen / "gigabyte_bomb.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            zeros = bytes(1 << 24)
            for _ in range(64):
                member.write(zeros)
    # A 10-hour video (1 frame/s, 32x32, a keyframe a minute): read up to the 3-hour cap.
    from tests.corpus.video_cases import write_video

    tones = [np.full((32, 32, 3), (n * 20) % 255, np.uint8) for n in range(60)]
    shades = [tones[i // 600] for i in range(36000)]  # ten-minute shades, shared arrays
    write_video(gen / "ten_hours.mkv", shades, fps=1, options={"g": "60"})
    # Unreadable file and folder.
    write_image(gen / "no_permission.png", "red").chmod(0o000)
    write_image(gen / "locked_folder" / "inside.png", "green")
    (gen / "locked_folder").chmod(0o000)
    return {
        "generated/one_hour.flac": "audio",
        "generated/ten_hours.mkv": "video",
        "generated/100_megapixels.jpg": "image",
        "generated/one_line_1_2mb.txt": "text",
        "generated/pages_5000.pdf": "text",
        "generated/page_50mb.html": "text",
        "generated/gigabyte_bomb.docx": "failed",
        "generated/no_permission.png": "failed",
        "generated/locked_folder": "failed",
    }


def _normal_collection(root: Path) -> dict[str, str]:
    write_image(root / "normal" / "red.png", "red")
    write_image(root / "normal" / "blue.jpg", "blue")
    write_text(root / "normal" / "note.txt", "a note about the sea")
    return {"normal/red.png": "image", "normal/blue.jpg": "image", "normal/note.txt": "text"}


def test_hostile_corpus_is_recorded_and_the_rest_indexed(open_tmp: Path) -> None:
    assert len(MANIFEST) >= 30
    root = open_tmp / "collection"
    shutil.copytree(CORPUS / "files", root, symlinks=True)
    expected = {path: entry["expect"] for path, entry in MANIFEST.items()}
    expected |= _generated(root)
    expected |= _normal_collection(root)
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()]]:
        if folder.name != "locked_folder":
            folder.chmod(0o777)
    store_dir = open_tmp / "store"

    def index_it() -> dict[str, Any]:
        store = Store.open_or_create(store_dir, encoder_set="fake")
        summary = update(store, [root])
        return summary.to_dict()

    summary = run_unprivileged(index_it)
    assert summary["status"] == "partial" and summary["exit_code"] == 3

    catalog = Catalog(store_dir / "catalog.sqlite")
    real_root = os.path.realpath(root)
    try:
        wrong = []
        for relative, expect in sorted(expected.items()):
            item = catalog.item_by_path(f"{real_root}/{relative}")
            if expect in ("image", "text", "audio", "video"):
                ok = item is not None and item.status == "ok" and item.modality == expect
            elif expect == "failed":
                ok = item is not None and item.status == "failed" and bool(item.error)
            else:  # unsupported or skipped: never a failure
                ok = item is None
            if not ok:
                wrong.append((relative, expect, item and (item.status, item.modality, item.error)))
        assert not wrong, wrong
        # The non-UTF-8 name is indexed under a readable escaped path, with its raw bytes kept.
        odd = catalog.item_by_path(f"{real_root}/generated/caf\\xe9 menu.txt")
        assert odd is not None and odd.status == "ok" and odd.path_bytes is not None
        assert Path(odd.fs_path).is_file()
        failed_reasons = {Path(i.path).name: i.error for i in catalog.failures()}
        long_pdf = catalog.item_by_path(f"{real_root}/generated/pages_5000.pdf")
        big_page = catalog.item_by_path(f"{real_root}/generated/page_50mb.html")
        bomb_mail = catalog.item_by_path(f"{real_root}/formats/attachment_bomb.eml")
        videos = {Path(i.path).name: i for i in catalog.items(status="ok") if i.modality == "video"}
    finally:
        catalog.close()
    assert failed_reasons["no_permission.png"].startswith("cannot read")
    assert "bomb" in failed_reasons["bomb_20000x20000_1bit.png"]
    assert failed_reasons["dangling.jpg"] == "dangling symbolic link"
    assert failed_reasons["encrypted.pdf"] == "encrypted PDF: password needed"
    assert failed_reasons["protected.docx"] == "encrypted Office document: password needed"
    assert failed_reasons["scanned_only.pdf"] == "scanned PDF: no text layer (use --ocr)"
    for name in ("xxe.docx", "billion_laughs.docx"):
        assert failed_reasons[name].startswith("XML with entity declarations refused")
    assert failed_reasons["bomb_ratio.docx"].startswith("zip bomb guard")
    assert failed_reasons["gigabyte_bomb.docx"] == (
        "zip bomb guard: word/document.xml inflates 1,073,741,824 bytes"
    )
    assert "RAW file from an unknown camera" in failed_reasons["unknown_camera.nef"]
    assert long_pdf.meta["pages"] == 5000 and long_pdf.meta["pages_read"] == 1000
    assert long_pdf.meta["note"] == "first 1000 of 5000 pages read"
    assert big_page.meta["note"] == "first 4 MB of markup read"
    assert bomb_mail.meta["attachments"] == ["photos.docx"]
    assert "Chelsea" in bomb_mail.meta["snippet"]
    assert failed_reasons["truncated_no_moov.mp4"].startswith("not a readable video file")
    assert failed_reasons["unknown_codec.avi"] == "the video codec is not one FFmpeg decodes"
    assert failed_reasons["zero_frames.mkv"].startswith("not a readable video file")
    assert failed_reasons["all_black.mp4"] == "every frame of the video is black"
    long_video = videos["ten_hours.mkv"]
    assert long_video.meta["note"] == "first 3 hours read" and long_video.meta["scenes"] == 540
    assert videos["phone_rotated_vfr.mp4"].meta["rotation"] == 90
    assert videos["phone_rotated_vfr.mp4"].meta["width"] == 360  # upright: portrait
    assert videos["twenty_audio_tracks.mkv"].meta["audio_tracks"] == 20
    assert "dahlia" in videos["subtitled.mkv"].meta["subtitles"][0][2]
    # Every failure reported by the run is one line.
    failures = summary["ingest"]["failures"] + summary["embed"]["failures"]
    assert failures and all("\n" not in reason for _, reason in failures)
    report = check(Store.open(store_dir))
    assert report.ok and not report.pending, report.to_dict()


def test_unreadable_folder_keeps_its_items_and_a_fixed_file_is_retried(open_tmp: Path) -> None:
    root = open_tmp / "photos"
    write_image(root / "trip" / "a.png", "red")
    write_image(root / "trip" / "b.png", "blue")
    locked = write_image(root / "c.png", "green")
    for path in [root, root / "trip"]:
        path.chmod(0o777)
    store_dir = open_tmp / "store"

    def run() -> dict[str, Any]:
        return update(Store.open_or_create(store_dir, encoder_set="fake"), [root]).to_dict()

    locked.chmod(0o000)
    first = run_unprivileged(run)
    assert first["failed"] == 1 and first["ingest"]["added"] == 2

    (root / "trip").chmod(0o000)  # e.g. a permission change or a flaky mount
    locked.chmod(0o644)  # the user fixed the file: it is retried although size/mtime are equal
    second = run_unprivileged(run)
    assert second["ingest"]["deleted"] == 0 and second["ingest"]["kept"] == 2
    assert second["ingest"]["changed"] == 1 and second["failed"] == 1  # c.png ok, trip/ unreadable

    (root / "trip").chmod(0o777)
    third = run_unprivileged(run)
    assert third["failed"] == 0 and third["ingest"]["unchanged"] == 3
    catalog = Catalog(store_dir / "catalog.sqlite")
    try:
        assert sorted(Path(i.path).name for i in catalog.items()) == ["a.png", "b.png", "c.png"]
    finally:
        catalog.close()


def test_file_deleted_between_scan_and_ingest_is_gone_not_failed(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scan = INGEST_STAGE.scan
    victim = collection / "notes" / "sea.md"

    def scan_then_delete(*args: Any, **kwargs: Any) -> Iterator[Any]:
        found = list(real_scan(*args, **kwargs))
        victim.unlink()
        yield from found

    monkeypatch.setattr(INGEST_STAGE, "scan", scan_then_delete)
    summary = ingest(fake_store, [collection])
    assert summary.vanished == 1 and summary.failed == 0 and summary.added == 7


def test_folder_removed_mid_scan_is_gone_not_failed(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    update(fake_store, [collection])
    real_scan = INGEST_STAGE.scan

    def scan_removing_a_folder(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for number, found in enumerate(real_scan(*args, **kwargs)):
            if number == 0:  # "notes" is walked first; "sounds" disappears meanwhile
                shutil.rmtree(collection / "sounds")
            yield found

    monkeypatch.setattr(INGEST_STAGE, "scan", scan_removing_a_folder)
    summary = ingest(fake_store, [collection])
    assert summary.failed == 0 and summary.deleted == 2


def test_file_truncated_or_deleted_between_ingest_and_embed(
    fake_store: Store, collection: Path
) -> None:
    ingest(fake_store, [collection])
    photo = collection / "photos" / "b.jpg"
    photo.write_bytes(photo.read_bytes()[:60])  # truncated after it was probed
    (collection / "photos" / "c.webp").unlink()
    summary = embed(fake_store)
    reasons = {Path(path).name: reason for path, reason in summary.failures}
    assert set(reasons) == {"b.jpg", "c.webp"}
    assert reasons["c.webp"].startswith("cannot read")
    assert summary.embedded["fake-semantic"] >= 6  # the rest went on

    after = update(fake_store, [collection])  # the next run sorts both out
    assert after.ingest.deleted == 1 and after.ingest.unchanged == 6
    assert [Path(p).name for p, _ in after.ingest.failures] == ["b.jpg"]


def test_cli_reports_partial_runs_with_exit_3(open_tmp: Path, collection: Path) -> None:
    shutil.copy(CORPUS / "files" / "images" / "truncated_35pct.jpg", collection / "bad.jpg")
    store = str(open_tmp / "s")
    Store.open_or_create(store, encoder_set="fake")
    result = CliRunner().invoke(app, ["update", str(collection), "--store", store, "--quiet"])
    assert result.exit_code == 3
    assert "failed: " in result.output and "bad.jpg" in result.output
    again = CliRunner().invoke(app, ["update", "--store", store, "--quiet"])
    assert again.exit_code == 0 and again.output == ""  # unchanged bad file: not news
