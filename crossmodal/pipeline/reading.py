"""Reading one scanned file into the catalog: unchanged (a stat), changed, new, moved, a
duplicate, or failed with its reason. One file never stops a run."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

from ..catalog import Catalog, Item
from ..errors import MediaError
from ..fsutil import content_hash
from ..media.documents.pdf import SCANNED_REASON
from ..media.scan import ScannedFile
from ..media.sniff import sniff_modality
from ..media.text import MAX_TEXT_BYTES
from .summaries import IngestSummary

COMMIT_EVERY = 200
# Failures worth retrying on every run even when the file did not change: the file may have
# become readable (permissions fixed, disk remounted). Decode failures of unchanged bytes are not.
RETRY_PREFIX = "cannot read"
# A scanned PDF without --ocr fails with this reason; it is read again once the store has --ocr.
NEEDS_OCR = SCANNED_REASON
# What embed derives from a file's content and records in its meta: (text field, model marker).
# Words are added to the text side; "passages" only marks that a document's passages exist.
DERIVED = (("transcript", "transcriber"), ("ocr_text", "ocr"), (None, "passages"))
# A video's: its scenes were cut, its speech written down with times (its words are timed
# parts, never its text side).
VIDEO_DERIVED = ("scenes", "speech", "transcript", "transcriber", "words", "no_vector")


def text_key(text: str) -> str:
    return "t:" + hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def media_reason(exc: BaseException) -> str | None:
    """The reason to record for a decode error; None when the file simply vanished meanwhile.
    Permission and similar I/O errors get the retry prefix, so a later run tries again."""
    cause = exc.__cause__
    if isinstance(cause, FileNotFoundError):
        return None
    if isinstance(cause, (PermissionError, IsADirectoryError)):
        return f"{RETRY_PREFIX}: {cause.strerror or cause}"
    return str(exc)


def probe(
    path: str, modality: str, ocr: bool = False, fmt: str | None = None
) -> tuple[dict[str, Any], str | None]:
    """(metadata, text side) after checking that the file decodes. A decoding library that
    fails on a hostile file in a way of its own (RecursionError, zlib.error, IndexError...)
    fails that file, with the error's name as its reason: one file never stops a run."""
    from ..media.audio import probe_audio
    from ..media.image import probe_image
    from ..media.text import probe_text
    from ..media.video import probe_video

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if modality == "image":
                meta, side = probe_image(Path(path)), None
            elif modality == "audio":
                meta, side = probe_audio(Path(path))
            elif modality == "video":
                meta, side = probe_video(Path(path))
            else:
                meta, side = probe_text(Path(path), ocr=ocr, fmt=fmt)[0], None
        # A decoder's warning (corrupt EXIF, a damaged frame it skipped) becomes the file's
        # note in the catalog, not a line on stderr.
        said = list(dict.fromkeys(" ".join(str(w.message).split())[:200] for w in caught))
        if said:
            meta["warnings"] = said[:3]
        return meta, side
    except (MediaError, OSError):
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]
        raise MediaError(
            f"{modality} file does not decode: {type(exc).__name__}: {reason}"
        ) from exc


def carry_words(
    catalog: Catalog, existing: Item | None, digest: str, meta: dict[str, Any], side: str | None
) -> tuple[dict[str, Any], str | None]:
    """Keep what was read from the same content before (speech, words in a picture, passages):
    a moved, touched or copied file must not cost another transcription or OCR pass."""
    from ..media.audio import with_transcript

    donor = existing if existing is not None and existing.content_hash == digest else None
    if donor is None or not any(marker in donor.meta for _, marker in DERIVED):
        donor = catalog.derived_donor(digest) or donor
    if donor is None:
        return meta, side
    meta = dict(meta)
    if donor.modality == "video":
        meta.update({key: donor.meta[key] for key in VIDEO_DERIVED if key in donor.meta})
        return meta, side
    for field_name, marker in DERIVED:
        if marker in donor.meta:
            meta[marker] = donor.meta[marker]
            if field_name is not None:
                words = str(donor.meta.get(field_name) or "")
                meta[field_name] = words
                side = with_transcript(side, None, words)
                if field_name == "transcript" and "lang" in donor.meta:
                    meta["lang"] = donor.meta["lang"]  # what is said decides a clip's language
    return meta, side


def record_failure(
    catalog: Catalog, existing: Item | None, base: dict[str, Any], modality: str | None, reason: str
) -> None:
    """A file that cannot be read. The last good content hash and text key stay: the vectors they
    name are kept, so a file readable again (a remounted disk, fixed permissions) comes back
    without re-embedding."""
    fields = dict(base, status="failed", error=reason)
    if modality is not None or existing is None:
        fields["modality"] = modality
    if existing is None:
        catalog.insert_item(**fields)
    else:
        fields.pop("path", None)
        catalog.update_item(existing.id, **fields)


def _unchanged(catalog: Catalog, found: ScannedFile, existing: Item | None, ocr: bool) -> bool:
    """Whether the file is as recorded (and not a failure worth retrying): then only a stat."""
    retry = (RETRY_PREFIX, NEEDS_OCR) if ocr else (RETRY_PREFIX,)
    if not (
        existing is not None
        and existing.status != "deleted"
        and existing.size == found.size
        and existing.mtime_ns == found.mtime_ns
        and (existing.ctime_ns is None or existing.ctime_ns == found.ctime_ns)
        and not (existing.status == "failed" and (existing.error or "").startswith(retry))
    ):
        return False
    if existing.ctime_ns is None:  # catalogued before ctimes and devices were recorded
        catalog.update_item(existing.id, touch=False, ctime_ns=found.ctime_ns, dev=found.dev)
    return True


def _gone(catalog: Catalog, existing: Item | None) -> None:
    if existing is not None and existing.status != "deleted":
        catalog.mark_deleted([existing.id])


def read_one(
    catalog: Catalog,
    found: ScannedFile,
    existing: Item | None,
    vanished_by_hash: dict[str, Item],
    moved_rows: set[int],
    summary: IngestSummary,
    ocr: bool = False,
) -> None:
    """Record one scanned file: unchanged (stat only), changed, new, moved, or failed."""
    if _unchanged(catalog, found, existing, ocr):
        summary.unchanged += 1
        return
    base = {
        "path": found.path,
        "size": found.size,
        "mtime_ns": found.mtime_ns,
        "ctime_ns": found.ctime_ns,
        "dev": found.dev,
    }
    modality = None
    try:
        if found.size == 0:
            raise MediaError("empty file")
        sniffed = sniff_modality(Path(found.path))
        if sniffed is None:
            summary.unsupported += 1
            _gone(catalog, existing)
            return
        modality, fmt = sniffed
        # Plain text is read to its first MAX_TEXT_BYTES: so much names its content.
        plain = modality == "text" and (fmt == "utf-8" or fmt.startswith("text:"))
        digest = content_hash(found.path, MAX_TEXT_BYTES if plain else None)
        meta, side = probe(found.path, modality, ocr, fmt)
    except FileNotFoundError:
        summary.vanished += 1  # deleted between the scan and now: simply gone, not a failure
        _gone(catalog, existing)
        return
    except (OSError, MediaError) as exc:
        if isinstance(exc, OSError):
            reason: str | None = f"{RETRY_PREFIX}: {exc.strerror or exc}"
            modality = None  # unreadable: what it is was not learnt
        else:
            reason = media_reason(exc)
        if reason is None:
            summary.vanished += 1
            _gone(catalog, existing)
            return
        summary.fail(found.path, reason)
        record_failure(catalog, existing, base, modality, reason)
        return
    meta, side = carry_words(catalog, existing, digest, meta, side)
    _record_read(
        catalog, existing, base, modality, digest, meta, side, vanished_by_hash, moved_rows, summary
    )


def _record_read(
    catalog: Catalog,
    existing: Item | None,
    base: dict[str, Any],
    modality: str,
    digest: str,
    meta: dict[str, Any],
    side: str | None,
    vanished_by_hash: dict[str, Item],
    moved_rows: set[int],
    summary: IngestSummary,
) -> None:
    """A file that read well: a move keeps its row (history and vectors), else a new, duplicate
    or changed item."""
    fields = dict(
        base,
        modality=modality,
        content_hash=digest,
        meta=meta,
        text_side=side,
        text_key=text_key(side) if side else None,
        status="ok",
        error=None,
    )
    if existing is None:
        moved_from = vanished_by_hash.pop(digest, None)
        if moved_from is not None:
            catalog.update_item(moved_from.id, **fields)
            moved_rows.add(moved_from.id)
            summary.moved += 1
            return
        if catalog.has_live_content(digest):
            summary.duplicates += 1
        summary.added += 1
        catalog.insert_item(**fields)
        return
    summary.changed += 1 if existing.status != "deleted" else 0
    summary.added += 1 if existing.status == "deleted" else 0
    fields.pop("path", None)
    catalog.update_item(existing.id, **fields)
