"""Words read from media: speech written down (a Transcriber), text in pictures and scanned
PDFs (a TextReader, when the store has --ocr). They join the item's text side, which embed then
encodes in the text spaces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..catalog import Catalog
from ..encoders import EncoderSet
from ..media.language import detect_language
from .reading import NEEDS_OCR, text_key
from .summaries import EmbedSummary

if TYPE_CHECKING:
    from .embed import Job


def save_words(
    catalog: Catalog,
    encoder: EncoderSet,
    kind: str,
    jobs: list[Job],
    values: list[Any],
    summary: EmbedSummary,
) -> None:
    """Read the words in decoded clips (speech) or pictures (OCR) and put them into the text side
    of every item with that content; the text-side pass then embeds them."""
    from ..media.audio import with_transcript

    if kind == "transcribe":
        transcriber = encoder.transcriber
        assert transcriber is not None  # planned only for a set that has one
        model_id, field_name, marker = transcriber.transcriber_id, "transcript", "transcriber"
        words = transcriber.transcribe(values) if values else []
    else:
        reader = encoder.reader
        assert reader is not None
        model_id, field_name, marker = reader.reader_id, "ocr_text", "ocr"
        words = read_pictures(reader.read_text, values)
    with catalog.transaction():
        for job, text in zip(jobs, words, strict=True):
            for item in catalog.items_with("content_hash", job.key):
                side = with_transcript(item.text_side, item.meta.get(field_name), text)
                meta = {**item.meta, field_name: text, marker: model_id}
                if kind == "transcribe" and item.modality == "audio":
                    meta.pop("lang", None)  # what is said decides a clip's language (--lang)
                    if text and (lang := detect_language(text)) is not None:
                        meta["lang"] = lang
                catalog.update_item(
                    item.id, meta=meta, text_side=side, text_key=text_key(side) if side else None
                )
            if kind == "transcribe":
                summary.transcribed += 1 if text else 0
            else:
                summary.read += 1 if text else 0


def read_pictures(read_text: Any, values: list[Any]) -> list[str]:
    """OCR one text per job: a job's value is a picture, or a list of a PDF's scanned pages."""
    pictures: list[Any] = []
    owners: list[int] = []
    for index, value in enumerate(values):
        pages = value if isinstance(value, list) else [value]
        pictures.extend(pages)
        owners.extend([index] * len(pages))
    read = read_text(pictures) if pictures else []
    texts: list[list[str]] = [[] for _ in values]
    for owner, text in zip(owners, read, strict=True):
        if text:
            texts[owner].append(text)
    return [" ".join(parts) for parts in texts]


def drop_image_text(catalog: Catalog) -> None:
    """OCR was turned off: pictures and scanned PDFs lose the words read from them (their
    vectors are purged with other unreferenced vectors)."""
    items = catalog.items_with_meta("ocr", modalities=("image", "text"))
    with catalog.transaction():
        for item in items:
            if "ocr" not in item.meta:
                continue
            meta = {k: v for k, v in item.meta.items() if k not in ("ocr", "ocr_text")}
            catalog.update_item(item.id, meta=meta, text_side=None, text_key=None)
            if item.modality == "text" and meta.get("chars") == 0:
                # A PDF of scanned pages has nothing left to find it by: failed, as it would
                # have been without --ocr, and read again if OCR comes back.
                catalog.update_item(item.id, status="failed", error=NEEDS_OCR)


def detect_missing_languages(catalog: Catalog) -> int:
    """Documents indexed before languages were detected get theirs from their snippet (the first
    300 characters), once: `lang` is then recorded, null where it cannot be told."""
    items = [i for i in catalog.items_without_meta("lang", "text") if "lang" not in i.meta]
    if not items:
        return 0
    with catalog.transaction():
        for item in items:
            lang = detect_language(str(item.meta.get("snippet") or ""))
            catalog.update_item(item.id, meta={**item.meta, "lang": lang})
    return len(items)
