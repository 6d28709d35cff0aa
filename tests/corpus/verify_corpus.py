"""Check every expectation in manifest.json against the decoders themselves.

    .venv/bin/python tests/corpus/verify_corpus.py [--project]

The reference rules (independent of crossmodal): hidden names and symlink loops are skipped; a path
that cannot be stat'ed or a zero-byte file fails; the first 4096 bytes pick the modality by magic
number (or, for a text suffix, by looking like UTF-8 text); then Pillow (Image.open + load, with
MAX_IMAGE_PIXELS = 120_000_000 and the bomb warning treated as an error), soundfile (sf.info + sf.read,
at least one frame) or strict UTF-8 (BOM allowed, no NUL, not blank, 1 MB cap) has the last word.

With --project it also runs crossmodal's own scan, sniff and probe/load functions over the corpus and
prints where they disagree with the manifest (information for a reviewer, not a failure here).
Exit status 1 if the reference outcome differs from the manifest, or the size budget is exceeded.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
MAX_PIXELS = 120_000_000
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text", ".org", ".adoc", ".lrc", ""}
MAX_TEXT = 1_000_000


def sniff(head: bytes, suffix: str) -> str | None:
    if (
        head[:3] == b"\xff\xd8\xff"
        or head[:8] == b"\x89PNG\r\n\x1a\n"
        or head[:6] in (b"GIF87a", b"GIF89a")
    ):
        return "image"
    if (head[:2] == b"BM" and len(head) >= 26) or head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio"
    if head[:4] in (b"fLaC", b"OggS") or head[:3] == b"ID3":
        return "audio"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio"
    if suffix == ".mp3" and len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio"
    if suffix in TEXT_SUFFIXES and head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                from charset_normalizer import from_bytes

                best = from_bytes(head).best()  # a legacy encoding it is sure of
                return "text" if best is not None and best.chaos <= 0.2 else None
        controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
        if controls <= len(head) // 100:
            return "text"
    return None


def check_image(path: Path) -> tuple[str, str]:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return "failed", f"declares {width}x{height} > {MAX_PIXELS} px"
                image.load()
                frames = getattr(image, "n_frames", 1)
                for index in range(1, frames):
                    image.seek(index)
                    image.load()
                return "image", f"{image.format} {width}x{height} {image.mode} frames={frames}"
    except Exception as exc:  # Pillow raises many types
        return "failed", f"{type(exc).__name__}: {exc}"


def check_audio(path: Path) -> tuple[str, str]:
    try:
        info = sf.info(str(path))
        if info.frames <= 0:
            return "failed", f"sf.info: {info.frames} frames"
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        return "failed", f"{type(exc).__name__}: {exc}".replace("\n", " ")
    if data.shape[0] == 0:
        return "failed", "sf.read returned 0 frames"
    finite = bool(np.all(np.isfinite(data)))
    return "audio", (
        f"{info.format}/{info.subtype} {info.channels}ch {rate}Hz declared={info.frames} "
        f"read={data.shape[0]} finite={finite}"
    )


def check_text(path: Path) -> tuple[str, str]:
    with open(path, "rb") as handle:
        raw = handle.read(MAX_TEXT + 1)
    raw = raw[:MAX_TEXT]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 4:
            text = raw[: exc.start].decode("utf-8-sig")  # a character cut at the end
        elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw[: len(raw) // 2 * 2].decode("utf-16", errors="replace")
        else:  # a legacy encoding, by charset-normalizer's best guess
            from charset_normalizer import from_bytes

            best = from_bytes(raw).best()
            if best is None:
                return "failed", f"not UTF-8 at byte {exc.start}, no encoding found"
            text = str(best)
    if "\x00" in text:
        return "failed", "NUL in text"
    if not text.strip():
        return "failed", "blank"
    return "text", f"{len(text)} chars"


def is_loop(path: Path) -> bool:
    if not path.is_symlink() or not path.is_dir():
        return False
    target = Path(os.path.realpath(path))
    parent = Path(os.path.realpath(path.parent))
    return parent == target or target in parent.parents


def reference(rel: str) -> tuple[str, str]:
    path = FILES / rel
    if any(part.startswith(".") for part in Path(rel).parts):
        return "skipped", "hidden name"
    if is_loop(path):
        return "skipped", "symlink to an ancestor folder"
    try:
        info = os.stat(path)
    except OSError as exc:
        return "failed", f"stat: {exc.strerror}"
    if info.st_size == 0:
        return "failed", "empty file"
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if rel.startswith("formats/"):
        return "by-test", "issue 15's formats: checked through crossmodal by tests/test_corpus.py"
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return check_text(path)  # HTML by content; its text is what is indexed
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) and path.suffix.lower() in TEXT_SUFFIXES:
        return check_text(path)
    modality = sniff(head, path.suffix.lower())
    if modality is None:
        return "unsupported", f"head {head[:8]!r}"
    return {"image": check_image, "audio": check_audio, "text": check_text}[modality](path)


def every_path_is_listed(manifest: dict) -> list[str]:
    """Entries on disk (files and symlinks, hidden ones included) missing from the manifest."""
    missing = []
    for folder, dirs, files in os.walk(FILES):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            rel = os.path.relpath(os.path.join(folder, name), FILES)
            if rel not in manifest:
                missing.append(rel)
    return missing


def project_check(manifest: dict) -> None:
    """What crossmodal itself does with each file (scan, then sniff and probe/load)."""
    sys.path.insert(0, str(HERE.parent.parent))
    from crossmodal.errors import MediaError
    from crossmodal.media.audio import load_audio, probe_audio
    from crossmodal.media.image import load_image, probe_image
    from crossmodal.media.scan import scan
    from crossmodal.media.sniff import sniff_modality
    from crossmodal.media.text import probe_text

    errors: dict[str, str] = {}
    root = os.path.realpath(FILES)
    found = {
        os.path.relpath(f.path, root): f
        for f in scan([FILES], on_error=lambda p, r: errors.setdefault(os.path.relpath(p, root), r))
    }
    print("\n--project: crossmodal's own outcome where it differs from the manifest")
    differences = 0
    for rel, entry in manifest.items():
        if rel in errors:
            outcome, detail = "failed", f"scan error: {errors[rel]}"
        elif rel not in found:
            outcome, detail = "skipped", "not yielded by scan"
        elif found[rel].size == 0:
            outcome, detail = "failed", "empty file"
        else:
            path = Path(found[rel].path)
            sniffed = sniff_modality(path)
            if sniffed is None:
                outcome, detail = "unsupported", ""
            else:
                outcome, detail = sniffed[0], ""
                try:
                    if outcome == "image":
                        probe_image(path)
                        load_image(path)
                    elif outcome == "audio":
                        probe_audio(path)
                        load_audio(path)
                    else:
                        probe_text(path)
                except MediaError as exc:
                    outcome, detail = "failed", str(exc)
                except Exception as exc:  # an unexpected crash is itself a finding
                    outcome, detail = "CRASH", f"{type(exc).__name__}: {exc}"
        if outcome != entry["expect"]:
            differences += 1
            print(f"  {rel}: manifest={entry['expect']} crossmodal={outcome} {detail}")
    extra = sorted(set(found) - set(manifest))
    for rel in extra:
        differences += 1
        print(f"  {rel}: yielded by scan but not in the manifest (e.g. walked through a loop)")
    print(f"  {differences} difference(s)")


def main() -> int:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    bad = 0
    for rel, entry in manifest.items():
        outcome, detail = reference(rel)
        mark = "ok " if outcome == entry["expect"] else "n/a" if outcome == "by-test" else "BAD"
        bad += mark == "BAD"
        print(f"{mark} {entry['expect']:<11} {rel[:70]:<70} {detail[:150]}")
    missing = every_path_is_listed(manifest)
    for rel in missing:
        print(f"BAD not in manifest: {rel}")
    sizes = [os.lstat(FILES / rel).st_size for rel in manifest if not os.path.islink(FILES / rel)]
    over = [
        rel
        for rel in manifest
        if not os.path.islink(FILES / rel) and os.lstat(FILES / rel).st_size >= 400_000
    ]
    total = sum(sizes)
    print(
        f"\n{len(manifest)} entries, {len(sizes)} regular files, {total:,} bytes, largest {max(sizes):,}"
    )
    if total >= 1_500_000 or over:
        print(f"BAD size budget: total {total:,}, over 400 KB: {over}")
        bad += 1
    if "--project" in sys.argv:
        project_check(manifest)
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
